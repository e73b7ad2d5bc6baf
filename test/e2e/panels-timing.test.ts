/**
 * A moderated panel under random timing: the moderator slow or quick, answering well, badly, with a 500 or not at all
 * in time; turns slow and fast; and people choosing the next speaker and putting questions to seats at random
 * moments. Judged by the thread: every turn shown once, every seat once a round, and each choice a reply promised
 * kept. Seeded: SALON_PANEL_TIMING_SEED replays a run; a seed that ever failed stays in REGRESSION_SEEDS.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config/index.js';
import { deriveRandom, seededRandom } from '../fakes/random.js';
import { responseSchemaOf, type ChatRequest, type Reply } from '../fakes/openai-server.js';
import { command } from '../helpers/command.js';
import { whenSalon } from '../helpers/engine-events.js';
import { endWorld, startSalon, startWorld, turnMessages, type World } from './harness.js';

const DRAWN = Number(process.env.SALON_PANEL_TIMING_SEED ?? Math.floor(Math.random() * 2 ** 31));
const REGRESSION_SEEDS: number[] = [];
const ROUNDS = 3;
const NAMES = ['Claude Opus 4.5', 'GLM 4.7', 'GPT 5', 'Gemini 3'];
const LETTERS = ['A', 'B', 'C', 'D'];

function panel(config: Config): void {
  const base = config.models.glm!;
  config.models.gpt = { ...base, key: 'gpt', name: 'GPT 5', model: 'openai/gpt-5' };
  config.models.gemini = { ...base, key: 'gemini', name: 'Gemini 3', model: 'google/gemini-3-pro' };
  config.models.mod = { ...base, key: 'mod', name: 'Moderator Mini', model: 'openai/gpt-5-mini' };
  config.panels = { four: ['claude', 'glm', 'gpt', 'gemini'] };
  config.salon.order = 'moderated';
  config.salon.moderator = 'mod';
  config.salon.moderatorTimeoutSeconds = 0.4;
}

describe.each([...new Set([DRAWN, ...REGRESSION_SEEDS])])('a moderated panel under random timing (seed %s)', (SEED) => {
  let world: World | undefined;
  afterEach(async () => (world = await endWorld(world)));

  it('shows each turn once, every seat once a round, and keeps every choice it accepted', async () => {
    const random = seededRandom(SEED);
    world = await startWorld({ rounds: ROUNDS, discord: { seed: SEED }, models: { seed: SEED }, configure: panel });
    world.models.setScript((req: ChatRequest): Reply => {
      const r = deriveRandom(SEED, req.index);
      const schema = responseSchemaOf(req) as { properties: { speaker: { enum: string[] } } } | undefined;
      if (schema) {
        const names = schema.properties.speaker.enum;
        const roll = r();
        const delayMs = r() * 300;
        if (roll < 0.5) return { json: { speaker: names[Math.floor(r() * names.length)], reason: 'r' }, delayMs };
        if (roll < 0.6) return { json: { speaker: NAMES[Math.floor(r() * NAMES.length)], reason: 'maybe spoke' }, delayMs };
        if (roll < 0.7) return { text: names.join(' and '), delayMs };
        if (roll < 0.8) return { status: 500, error: 'down' };
        if (roll < 0.9) return { hang: true };
        return { text: '', delayMs };
      }
      return { text: `Turn ${req.index}.`, delayMs: r() * 400, ...(r() < 0.1 ? { failAttempts: { status: 500 } } : {}) };
    });
    const threadId = await startSalon(world, { panel: 'four' });
    // People act at random moments while the salon runs: a choice of the next speaker, or a question to a seat.
    const promised: { name: string; round: number }[] = [];
    for (let i = 0; i < 5; i++) {
      const salon = await world.bot.engine.get(threadId);
      if (!salon || salon.status !== 'running') break;
      const seat = Math.floor(random() * NAMES.length);
      if (random() < 0.6) {
        const reply = await command(world.discord, world.ada, threadId, 'next', { speaker: LETTERS[seat]! }).response();
        const kept = /chose \*\*(.+?)\*\* to speak .*\(round (\d+)\)/.exec(reply.content);
        if (kept) promised.push({ name: kept[1]!, round: Number(kept[2]) });
        else expect(reply.ephemeral, reply.content).toBe(true);
      } else {
        await command(world.discord, world.bob, threadId, 'ask', { question: `Question ${i}?`, to: LETTERS[seat]! }).response();
      }
      await whenSalon(world.bot.engine, threadId, (s) => s.turns.length > salon.turns.length || s.status !== 'running', 10_000);
    }
    const done = await whenSalon(world.bot.engine, threadId, (s) => s.status === 'finished' && s.outbox.length === 0, 60_000);
    const replay = `seed ${SEED} (replay with SALON_PANEL_TIMING_SEED=${SEED})`;

    // What the thread shows: every turn once, in order, each seat once a round.
    const shown = turnMessages(world, threadId);
    expect(
      shown.map((m) => m.content),
      replay,
    ).toEqual(done.turns.map((t) => t.text));
    expect(
      shown.map((m) => m.author.username),
      replay,
    ).toEqual(done.turns.map((t) => t.name));
    for (let round = 1; round <= ROUNDS; round++) {
      expect(
        done.turns
          .filter((t) => t.round === round)
          .map((t) => t.name)
          .sort(),
        replay,
      ).toEqual([...NAMES].sort());
    }
    // Each choice the bot accepted was kept: that seat spoke in the round it said.
    for (const { name, round } of promised) {
      expect(
        done.turns.some((t) => t.name === name && t.round === round),
        `${replay}: ${name} in round ${round}`,
      ).toBe(true);
    }
    // Every question was answered by the seat it was put to.
    for (const q of done.interjections) {
      if (q.answeredBy !== undefined) expect(done.turns[q.answeredBy]!.seat, replay).toBe(q.to);
    }
  }, 120_000);
});
