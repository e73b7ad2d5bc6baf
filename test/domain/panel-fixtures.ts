/**
 * Small fixtures for panels (two to six seats): participants, a salon of n seats, a fixed clock, a turn played
 * through startTurn/commitTurn, and a seeded PRNG for tests that drive a salon with random picks.
 */
import type { ModeratorAnswer } from '../../src/domain/order.js';
import { createSalon, nextTurn, type NewSalon, type Participant, type SalonRecord, type Turn } from '../../src/domain/salon.js';
import { commitTurn, startTurn, type ModeratorCall } from '../../src/domain/transitions.js';

export const CLAUDE: Participant = { key: 'claude', name: 'Claude Opus 4.5', model: 'anthropic/claude-opus-4.5' };
export const GLM: Participant = { key: 'glm', name: 'GLM 4.7', model: 'z-ai/glm-4.7' };
export const GLM_2: Participant = { key: 'glm', name: 'GLM 4.7 (2)', model: 'z-ai/glm-4.7' };
export const GPT: Participant = { key: 'gpt', name: 'GPT-5', model: 'openai/gpt-5' };
export const GEMINI: Participant = { key: 'gemini', name: 'Gemini 3 Pro', model: 'google/gemini-3-pro' };
export const KIMI: Participant = { key: 'kimi', name: 'Kimi K2', model: 'moonshotai/kimi-k2' };
export const DEEPSEEK: Participant = { key: 'deepseek', name: 'DeepSeek V3.2', model: 'deepseek/deepseek-v3.2' };
export const MODERATOR: Participant = { key: 'mod', name: 'Moderator', model: 'z-ai/glm-4.7-air' };

/** Six distinct participants, in seat order. */
export const PANEL: readonly Participant[] = [CLAUDE, GLM, GPT, GEMINI, KIMI, DEEPSEEK];

/** 27 December 2025, 18:00:00 UTC. */
export const T0 = Date.UTC(2025, 11, 27, 18, 0, 0);

export const ADA = { id: 'user-1', name: 'Ada' };
export const BOB = { id: 'user-2', name: 'Bob' };

/** A salon of the first `seats` participants of PANEL (or the given list). */
export function panelSalon(seats: number | Participant[], overrides: Partial<NewSalon> = {}, now = T0): SalonRecord {
  return createSalon(
    {
      id: 'thread-p',
      guildId: 'guild-1',
      channelId: 'channel-1',
      threadId: 'thread-p',
      starter: ADA,
      topic: 'Whether a conversation needs a chair.',
      seats: typeof seats === 'number' ? PANEL.slice(0, seats) : seats,
      rounds: 2,
      delaySeconds: 0,
      ...overrides,
    },
    now,
  );
}

/** A moderated salon of the first `seats` participants of PANEL. */
export function moderatedSalon(seats: number | Participant[], overrides: Partial<NewSalon> = {}, now = T0): SalonRecord {
  return panelSalon(seats, { order: 'moderated', moderator: MODERATOR, ...overrides }, now);
}

/** A moderator call that answered `answer`, costing `usd` (and 100 + 10 tokens). */
export function call(answer: ModeratorAnswer, usd = 0.001): ModeratorCall {
  return { answer, usage: { promptTokens: 100, completionTokens: 10 }, cost: { usd, source: 'endpoint' } };
}

/**
 * Starts and commits the salon's next turn (the moderator, when asked, answers `answer`); returns the turn.
 * Throws when the salon has no turn left or the turn is not committed.
 */
export function takeTurn(salon: SalonRecord, now = T0, answer?: ModeratorAnswer): Turn {
  const next = nextTurn(salon);
  if (!next) throw new Error('no turn left');
  startTurn(salon, next.index, now, answer ? call(answer) : undefined);
  const turn = commitTurn(salon, { index: next.index, text: `turn ${next.index}`, finishReason: 'stop', startedAt: now, answered: [] }, now + 1000);
  if (!turn) throw new Error(`turn ${next.index} was not committed`);
  return turn;
}

/** Takes `count` turns (see takeTurn). */
export function takeTurns(salon: SalonRecord, count: number, now = T0, answer?: ModeratorAnswer): Turn[] {
  return Array.from({ length: count }, () => takeTurn(salon, now, answer));
}

/** Turns as a parent salon would have stored them: `rounds` whole rounds of `seats` seats, in seat order. */
export function parentTurns(seats: Participant[], rounds: number): Turn[] {
  return Array.from({ length: rounds * seats.length }, (_, index) => {
    const seat = index % seats.length;
    const p = seats[seat]!;
    const at = new Date(T0 + index * 60_000).toISOString();
    return {
      index,
      seat,
      round: Math.floor(index / seats.length) + 1,
      name: p.name,
      modelKey: p.key,
      model: p.model,
      text: `parent turn ${index}`,
      startedAt: at,
      finishedAt: at,
      answered: [],
    };
  });
}

/** A fork of a parent of `parentSeats` that carries `fromRound` whole rounds and continues with `seats`. */
export function forkSalon(parentSeats: Participant[], fromRound: number, seats: Participant[], rounds: number, overrides: Partial<NewSalon> = {}): SalonRecord {
  return panelSalon(seats, {
    id: 'fork-1',
    threadId: 'fork-1',
    rounds,
    fork: {
      origin: { salonId: 'thread-p', threadId: 'thread-p', fromRound, topic: 'Whether a conversation needs a chair.' },
      turns: parentTurns(parentSeats, fromRound),
    },
    ...overrides,
  });
}
