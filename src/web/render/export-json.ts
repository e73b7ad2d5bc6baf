/**
 * A salon as JSON, format `salon.v1`: what the transcript shows, as data. Documented by its TypeScript type and by
 * SALON_EXPORT_SCHEMA (JSON Schema, draft 2020-12), which describes it exactly: every property is present (null when
 * it does not apply) and no other is allowed. It holds display names and model ids, never a Discord id, the share
 * token or anything from the config.
 *
 * Tokens and costs: a seat counts the turns it wrote in this salon (turns carried into a fork were paid for by its
 * parent); the synthesis and the moderator count apart; `totals` is everything, as the transcript's ledger sums it.
 * `costUSD` is null when no cost is known; `unpriced` says how many items had no known cost.
 */
import { ledgerOf, type Tally } from '../../domain/ledger.js';
import { orderOf, type Order } from '../../domain/order.js';
import { roundsDone, type SalonRecord, type SalonStatus, type Usage } from '../../domain/salon.js';
import { salonTitle } from './page.js';

export const SALON_EXPORT_FORMAT = 'salon.v1';

export interface ExportTokens {
  prompt: number;
  /** Of `prompt`, served from the provider's cache. */
  cachedPrompt: number;
  completion: number;
  /** Some count is salon's estimate (the endpoint reported no usage). */
  estimated: boolean;
}

export interface ExportSeat {
  name: string;
  model: string;
  /** Turns written in this salon. */
  turns: number;
  tokens: ExportTokens;
  costUSD: number | null;
  unpriced: number;
}

export interface ExportModerator {
  name: string;
  model: string;
  /** Calls to pick a speaker. */
  picks: number;
  tokens: ExportTokens;
  costUSD: number | null;
  unpriced: number;
}

export interface ExportTurn {
  index: number;
  round: number;
  /** The speaker's display name. */
  speaker: string;
  model: string;
  text: string;
  startedAt: string;
  finishedAt: string;
  /** The endpoint's finish reason; `length`: cut off at the length limit. */
  finishReason: string | null;
  tokens: ExportTokens | null;
  costUSD: number | null;
  /** Carried over from the parent salon (a fork). */
  carried: boolean;
}

export interface ExportQuestion {
  /** The asker's display name. */
  asker: string;
  text: string;
  askedAt: string;
  /** The display name of the participant it was put to; null: whoever spoke next. */
  to: string | null;
  /** The index of the turn that answered it; null: unanswered. */
  answeredInTurn: number | null;
}

export type ExportSynthesis =
  | { by: string; model: string; text: string; writtenAt: string; tokens: ExportTokens | null; costUSD: number | null }
  | { failed: string; by: string; model: string };

export interface SalonExport {
  format: typeof SALON_EXPORT_FORMAT;
  exportedAt: string;
  /** As the transcript's title: `Salon: A, B and C — topic`. */
  title: string;
  topic: string;
  status: SalonStatus;
  /** The starter's display name. */
  startedBy: string;
  createdAt: string;
  finishedAt: string | null;
  closedAt: string | null;
  /** Why the salon finished before its last round, if it did. */
  endedEarly: string | null;
  order: Order;
  rounds: { planned: number; done: number };
  seats: ExportSeat[];
  moderator: ExportModerator | null;
  turns: ExportTurn[];
  questions: ExportQuestion[];
  synthesis: ExportSynthesis | null;
  /** For a fork: the parent's topic and the last round carried over (its turns are the first `carriedTurns`). */
  parent: { topic: string; fromRound: number; carriedTurns: number } | null;
  totals: { turns: number; tokens: ExportTokens; costUSD: number | null; unpriced: number };
}

function tokensOf(usage: Usage | undefined): ExportTokens | null {
  if (!usage) return null;
  return {
    prompt: usage.promptTokens ?? 0,
    cachedPrompt: usage.cachedPromptTokens ?? 0,
    completion: usage.completionTokens ?? 0,
    estimated: usage.estimated === true,
  };
}

function tallyTokens(t: Tally): ExportTokens {
  return { prompt: t.promptTokens, cachedPrompt: t.cachedPromptTokens, completion: t.completionTokens, estimated: t.estimated };
}

/** The known cost, or null when nothing counted had one. */
function tallyCost(t: Tally): number | null {
  return t.unpriced > 0 && t.usd === 0 ? null : t.usd;
}

export function exportJson(salon: SalonRecord, now: Date): SalonExport {
  const carried = salon.carried ?? 0;
  const seats = salon.seats.map((seat, i): ExportSeat => {
    const tokens: ExportTokens = { prompt: 0, cachedPrompt: 0, completion: 0, estimated: false };
    let usd = 0;
    let unpriced = 0;
    let turns = 0;
    for (const turn of salon.turns.slice(carried)) {
      if (turn.seat !== i) continue;
      turns += 1;
      tokens.prompt += turn.usage?.promptTokens ?? 0;
      tokens.cachedPrompt += turn.usage?.cachedPromptTokens ?? 0;
      tokens.completion += turn.usage?.completionTokens ?? 0;
      tokens.estimated ||= turn.usage?.estimated === true;
      if (turn.cost) usd += turn.cost.usd;
      else unpriced += 1;
    }
    return { name: seat.name, model: seat.model, turns, tokens, costUSD: unpriced > 0 && usd === 0 ? null : usd, unpriced };
  });
  const ledger = ledgerOf(salon);
  const moderator: ExportModerator | null = ledger.moderator
    ? {
        name: ledger.moderator.name,
        model: ledger.moderator.model,
        picks: ledger.moderator.tally.count,
        tokens: tallyTokens(ledger.moderator.tally),
        costUSD: tallyCost(ledger.moderator.tally),
        unpriced: ledger.moderator.tally.unpriced,
      }
    : null;
  const s = salon.synthesis;
  const synthesis: ExportSynthesis | null =
    s?.status === 'done'
      ? { by: s.name, model: s.model, text: s.text, writtenAt: s.at, tokens: tokensOf(s.usage), costUSD: s.cost?.usd ?? null }
      : s?.status === 'failed'
        ? { failed: s.reason, by: s.name, model: s.model }
        : null;
  return {
    format: SALON_EXPORT_FORMAT,
    exportedAt: now.toISOString(),
    title: salonTitle(salon),
    topic: salon.topic,
    status: salon.status,
    startedBy: salon.starter.name,
    createdAt: salon.createdAt,
    finishedAt: salon.finishedAt ?? null,
    closedAt: salon.closedAt ?? null,
    endedEarly: salon.endedEarly ?? null,
    order: orderOf(salon),
    rounds: { planned: salon.rounds, done: roundsDone(salon) },
    seats,
    moderator,
    turns: salon.turns.map((t) => ({
      index: t.index,
      round: t.round,
      speaker: t.name,
      model: t.model,
      text: t.text,
      startedAt: t.startedAt,
      finishedAt: t.finishedAt,
      finishReason: t.finishReason ?? null,
      tokens: tokensOf(t.usage),
      costUSD: t.cost?.usd ?? null,
      carried: t.index < carried,
    })),
    questions: salon.interjections.map((q) => ({
      asker: q.author.name,
      text: q.text,
      askedAt: q.at,
      to: q.to !== undefined ? (salon.seats[q.to]?.name ?? null) : null,
      answeredInTurn: q.answeredBy ?? null,
    })),
    synthesis,
    parent: salon.parent ? { topic: salon.parent.topic, fromRound: salon.parent.fromRound, carriedTurns: carried } : null,
    totals: { turns: ledger.total.count, tokens: tallyTokens(ledger.total), costUSD: tallyCost(ledger.total), unpriced: ledger.total.unpriced },
  };
}

/** An object whose every property is required and no other allowed. */
function exact(properties: Record<string, unknown>): Record<string, unknown> {
  return { type: 'object', additionalProperties: false, required: Object.keys(properties), properties };
}

const str = { type: 'string' } as const;
const time = { type: 'string', format: 'date-time' } as const;
const count = { type: 'integer', minimum: 0 } as const;
const usd = { type: ['number', 'null'], minimum: 0 } as const;
const nullable = (schema: Record<string, unknown>) => ({ anyOf: [schema, { type: 'null' }] });
const tokens = { $ref: '#/$defs/tokens' } as const;

/** JSON Schema (draft 2020-12) of SalonExport, exactly. */
export const SALON_EXPORT_SCHEMA = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'urn:salon:export:v1',
  title: 'A salon exported as JSON (salon.v1)',
  $defs: {
    tokens: exact({ prompt: count, cachedPrompt: count, completion: count, estimated: { type: 'boolean' } }),
  },
  ...exact({
    format: { const: SALON_EXPORT_FORMAT },
    exportedAt: time,
    title: str,
    topic: str,
    status: { enum: ['running', 'paused', 'finished', 'closed'] },
    startedBy: str,
    createdAt: time,
    finishedAt: nullable(time),
    closedAt: nullable(time),
    endedEarly: { type: ['string', 'null'] },
    order: { enum: ['round-robin', 'moderated'] },
    rounds: exact({ planned: count, done: count }),
    seats: {
      type: 'array',
      minItems: 1,
      items: exact({ name: str, model: str, turns: count, tokens, costUSD: usd, unpriced: count }),
    },
    moderator: nullable(exact({ name: str, model: str, picks: count, tokens, costUSD: usd, unpriced: count })),
    turns: {
      type: 'array',
      items: exact({
        index: count,
        round: { type: 'integer', minimum: 1 },
        speaker: str,
        model: str,
        text: str,
        startedAt: time,
        finishedAt: time,
        finishReason: { type: ['string', 'null'] },
        tokens: nullable(tokens),
        costUSD: usd,
        carried: { type: 'boolean' },
      }),
    },
    questions: {
      type: 'array',
      items: exact({ asker: str, text: str, askedAt: time, to: { type: ['string', 'null'] }, answeredInTurn: { type: ['integer', 'null'], minimum: 0 } }),
    },
    synthesis: {
      anyOf: [
        exact({ by: str, model: str, text: str, writtenAt: time, tokens: nullable(tokens), costUSD: usd }),
        exact({ failed: str, by: str, model: str }),
        { type: 'null' },
      ],
    },
    parent: nullable(exact({ topic: str, fromRound: count, carriedTurns: count })),
    totals: exact({ turns: count, tokens, costUSD: usd, unpriced: count }),
  }),
} as const;
