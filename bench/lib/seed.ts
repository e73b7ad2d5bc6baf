/**
 * Writes salon records straight into a SQLite store with the project's own store code (openKeyv +
 * KeyvSalonStore) and domain rules (createSalon, commitTurn, markDelivered, close), so they are exactly what the
 * bot itself would have saved.
 */
import { openKeyv } from '../../src/store/keyv-factory.js';
import { KeyvSalonStore } from '../../src/store/keyv-salon-store.js';
import { createSalon, type SalonRecord } from '../../src/domain/salon.js';
import * as T from '../../src/domain/transitions.js';
import * as outbox from '../../src/domain/outbox.js';
import { prose, turnText } from './texts.js';

export interface SalonSpec {
  id: string;
  /** Channel and guild of the fake Discord (for live salons). */
  channelId?: string;
  guildId?: string;
  /** Tag put in the topic as `[s<n>]`, so model requests can be traced to their salon. */
  tag: number;
  rounds: number;
  delaySeconds?: number;
  /** Turns already taken (and delivered). */
  turnsDone: number;
  /** Length of each turn's text; default: the archive's lengths. */
  turnChars?: number;
  /** Close the salon (transcript posted) after its turns. */
  closed?: boolean;
  /** Epoch ms the salon was created; turns follow a minute apart. */
  createdAt: number;
}

export const SEATS = {
  A: { key: 'claude', name: 'Claude Opus 4.5', model: 'anthropic/claude-opus-4.5' },
  B: { key: 'glm', name: 'GLM 4.7', model: 'z-ai/glm-4.7' },
} as const;

/** Six seats of distinct models for panels, in seat order: SEATS.A and SEATS.B first (every model the same fake). */
export const PANEL_SEATS = [
  SEATS.A,
  SEATS.B,
  { key: 'gpt', name: 'GPT 5', model: 'openai/gpt-5' },
  { key: 'gemini', name: 'Gemini 3', model: 'google/gemini-3-pro' },
  { key: 'kimi', name: 'Kimi K2', model: 'moonshotai/kimi-k2' },
  { key: 'qwen', name: 'Qwen3 Max', model: 'qwen/qwen3-max' },
] as const;

/** A small model as the moderator of a moderated panel. */
export const MODERATOR = { key: 'mod', name: 'Moderator Mini', model: 'openai/gpt-5-mini' } as const;

export function topicFor(tag: number): string {
  return `[s${tag}] Do language models want their words to persist? What would it mean for a pattern to want its own continuation?`;
}

/** A record as the engine would have left it after `turnsDone` delivered turns (running unless all rounds are done). */
export function buildRecord(spec: SalonSpec): SalonRecord {
  let t = spec.createdAt;
  const salon = createSalon(
    {
      id: spec.id,
      threadId: spec.id,
      channelId: spec.channelId,
      guildId: spec.guildId,
      starter: { id: '100000000000000001', name: 'Ada' },
      topic: topicFor(spec.tag),
      seats: [{ ...SEATS.A }, { ...SEATS.B }],
      rounds: spec.rounds,
      delaySeconds: spec.delaySeconds ?? 0,
    },
    t,
  );
  salon.outbox[0]!.messageIds.push(`${spec.id}1`);
  outbox.markDelivered(salon, salon.outbox[0]!.key);
  for (let i = 0; i < spec.turnsDone; i++) {
    t += 60_000;
    const text = spec.turnChars ? prose(spec.turnChars, spec.tag * 131 + i) : turnText(i, spec.tag);
    T.commitTurn(
      salon,
      {
        index: i,
        text,
        finishReason: 'stop',
        usage: { promptTokens: 1000 + i * 600, completionTokens: Math.ceil(text.length / 4) },
        startedAt: t - 30_000,
        answered: [],
      },
      t,
    );
    for (const post of [...salon.outbox]) {
      post.messageIds.push(`${spec.id}${i + 2}`);
      outbox.markDelivered(salon, post.key);
    }
  }
  if (spec.closed) {
    T.close(salon, t + 60_000);
    for (const post of [...salon.outbox]) outbox.markDelivered(salon, post.key);
  }
  // Due now: a resumed running salon takes its next turn at once.
  if (salon.status === 'running') salon.nextTurnAt = spec.createdAt;
  salon.version = spec.turnsDone * 3 + 2;
  return salon;
}

/** Saves records through KeyvSalonStore, in transactions of `batch`, and returns how long it took. */
export async function seedStore(storeUrl: string, records: Iterable<SalonRecord>, batch = 2_000): Promise<number> {
  const started = performance.now();
  const opened = await openKeyv(storeUrl);
  const store = new KeyvSalonStore(opened.keyv, opened.close);
  const adapter = (opened.keyv as unknown as { store?: { query?: (sql: string) => Promise<unknown> } }).store;
  const query = adapter?.query?.bind(adapter);
  const write = async (chunk: SalonRecord[]) => {
    // One transaction per chunk: the bot's own saves are one statement each, which would take minutes here.
    await query?.('BEGIN');
    await Promise.all(chunk.map((r) => store.save(r)));
    await query?.('COMMIT');
  };
  let chunk: SalonRecord[] = [];
  for (const record of records) {
    chunk.push(record);
    if (chunk.length >= batch) {
      await write(chunk);
      chunk = [];
    }
  }
  if (chunk.length > 0) await write(chunk);
  await store.close();
  return performance.now() - started;
}
