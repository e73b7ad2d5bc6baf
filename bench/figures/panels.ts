/**
 * Figures 10 and 11: what panels cost, from relay runs (relay.ts) of salons with more seats, each against runs of
 * the same salons with fewer seats or in round-robin order, in the same bench run. The two sides run in the order
 * A B B A (each a fresh bot, half the salons) and their samples are pooled, so a load that drifts over the run (the
 * machine is shared) falls on both sides alike: run one after the other, the same code measured 3× and then 0.7×.
 *
 * Figure 10, 6 seats vs 2: two relay runs with the same number of salons and the same number of turns per salon
 * (2 seats × `turns / 2` rounds, then a round-robin panel of 6 seats × `turns / 6` rounds), so each request carries
 * about as much history; a 6-seat prompt is longer only by its system prompt (every participant named) and the
 * speaker's name above each turn of the others. CPU per turn (whole run, as figure 2) and relay overhead (p50, p95,
 * as figure 1) of the 6-seat run ÷ the 2-seat run's, with the prompt tokens per request of each (the product's
 * estimate) beside them.
 *
 * Figure 11, the moderator's added latency: a 4-seat panel in moderated order against the same panel round-robin.
 * The moderator answers after a delay the fake draws from `moderatorDelayMs` (its seeded PRNG), with a valid pick.
 * Salons run with delay 0, so a turn is due as soon as the previous one is committed, a few ms after the previous
 * reply's last byte: per turn after a salon's first, previous reply's last byte → this turn's model request, at the
 * model server (one clock, sub-ms). In moderated order three turns of four ask the moderator (the last seat of a
 * round is the only one left) and are reported apart; "beyond the moderator" subtracts the moderator call's own
 * latency at the server (request in → last byte out) from the turn's gap.
 */
import { responseSchemaOf } from '../../test/fakes/openai-server.js';
import { contentText, type ModelCall } from '../lib/models.js';
import { mean, median, p95 } from '../lib/stats.js';
import { relayRun, type RelayOptions, type RelayRun } from './relay.js';

export type PanelRunOptions = Pick<RelayOptions, 'salons' | 'firstTokenMs' | 'tokensPerSecond' | 'latencyMs' | 'spacingMs'>;

/** Relay runs of one side taken together: samples pooled, CPU summed over the turns of all of them. */
export interface PooledRuns {
  runs: number;
  turns: number;
  wallMs: number;
  overheadMs: number[];
  commitMs: number[];
  deliverMs: number[];
  cpuPerTurnMs: number;
  threadsPerTurnMs: Record<string, number>;
  promptTokensPerRequest: number;
  requestsPerTurn: number;
  turnsShownTwice: number;
  commandsUnanswered: number;
}

export function pool(runs: readonly RelayRun[]): PooledRuns {
  const turns = runs.reduce((n, r) => n + r.turns, 0);
  const weighted = (value: (r: RelayRun) => number) => runs.reduce((n, r) => n + value(r) * r.turns, 0) / turns;
  const threads: Record<string, number> = {};
  for (const r of runs) for (const [k, v] of Object.entries(r.threadsPerTurnMs)) threads[k] = (threads[k] ?? 0) + (v * r.turns) / turns;
  return {
    runs: runs.length,
    turns,
    wallMs: runs.reduce((n, r) => n + r.wallMs, 0),
    overheadMs: runs.flatMap((r) => r.overheadMs),
    commitMs: runs.flatMap((r) => r.commitMs),
    deliverMs: runs.flatMap((r) => r.deliverMs),
    cpuPerTurnMs: runs.reduce((n, r) => n + r.cpuMs, 0) / turns,
    threadsPerTurnMs: threads,
    promptTokensPerRequest: weighted((r) => r.promptTokensPerRequest),
    requestsPerTurn: weighted((r) => r.requestsPerTurn),
    turnsShownTwice: runs.reduce((n, r) => n + r.turnsShownTwice, 0),
    commandsUnanswered: runs.reduce((n, r) => n + r.commandsUnanswered, 0),
  };
}

/** Runs side A, B, B, A and pools each side's runs. */
async function abba<T>(a: () => Promise<T>, b: () => Promise<T>): Promise<{ a: T[]; b: T[] }> {
  const a1 = await a();
  const b1 = await b();
  const b2 = await b();
  const a2 = await a();
  return { a: [a1, a2], b: [b1, b2] };
}

export interface SeatsComparison {
  turnsPerSalon: number;
  two: PooledRuns;
  six: PooledRuns;
  cpuPerTurnRatio: number;
  overheadP50Ratio: number;
  overheadP95Ratio: number;
  promptTokensRatio: number;
}

/** Figure 10: salons with 2 seats and with 6 (round-robin), the same number of turns each; `salons` per run. */
export async function seatsComparison(options: PanelRunOptions & { turnsPerSalon: number }): Promise<SeatsComparison> {
  const { turnsPerSalon, ...relay } = options;
  if (turnsPerSalon % 6 !== 0) throw new Error('bench: turnsPerSalon must be a multiple of 6');
  const runs = await abba(
    () => relayRun({ ...relay, seats: 2, rounds: turnsPerSalon / 2 }),
    () => relayRun({ ...relay, seats: 6, rounds: turnsPerSalon / 6 }),
  );
  const two = pool(runs.a);
  const six = pool(runs.b);
  return {
    turnsPerSalon,
    two,
    six,
    cpuPerTurnRatio: six.cpuPerTurnMs / two.cpuPerTurnMs,
    overheadP50Ratio: median(six.overheadMs) / median(two.overheadMs),
    overheadP95Ratio: p95(six.overheadMs) / p95(two.overheadMs),
    promptTokensRatio: six.promptTokensPerRequest / two.promptTokensPerRequest,
  };
}

/** The `[s<n>]` tag of a call's salon, wherever its prompt carries the topic (a turn's system prompt, a moderator's question). */
function tagOf(call: ModelCall): number | undefined {
  for (const m of call.body.messages) {
    const tag = /\[s(\d+)\]/.exec(contentText(m.content))?.[1];
    if (tag !== undefined) return Number(tag);
  }
  return undefined;
}

export interface TurnGaps {
  /** Previous reply's last byte → the turn's model request, ms: turns that asked the moderator first. */
  askedMs: number[];
  /** The same for turns that asked no one (every turn in round-robin order; the last seat of a round when moderated). */
  plainMs: number[];
  /** For turns that asked: the gap minus the moderator call's own latency at the server. */
  beyondModeratorMs: number[];
  /** The moderator calls' latency at the server (request in → last byte out), ms. */
  moderatorMs: number[];
  moderatorCalls: number;
}

/** Per salon, the gaps between its turns' model requests, and the moderator calls between them. */
export function turnGaps(calls: readonly ModelCall[]): TurnGaps {
  const bySalon = new Map<number, ModelCall[]>();
  for (const call of calls) {
    const tag = tagOf(call);
    if (tag === undefined) continue;
    bySalon.set(tag, [...(bySalon.get(tag) ?? []), call]);
  }
  const gaps: TurnGaps = { askedMs: [], plainMs: [], beyondModeratorMs: [], moderatorMs: [], moderatorCalls: 0 };
  for (const list of bySalon.values()) {
    const sorted = [...list].sort((a, b) => a.arrivedAt - b.arrivedAt);
    const moderator = sorted.filter((c) => responseSchemaOf(c) !== undefined);
    const turns = sorted.filter((c) => responseSchemaOf(c) === undefined);
    gaps.moderatorCalls += moderator.length;
    for (const m of moderator) if (m.endAt !== undefined) gaps.moderatorMs.push(m.endAt - m.arrivedAt);
    for (let k = 1; k < turns.length; k++) {
      const before = turns[k - 1]!;
      const turn = turns[k]!;
      if (before.endAt === undefined) continue;
      const gap = turn.arrivedAt - before.endAt;
      const asked = moderator.filter((m) => m.arrivedAt > before.arrivedAt && m.arrivedAt < turn.arrivedAt);
      if (asked.length === 0) {
        gaps.plainMs.push(gap);
        continue;
      }
      gaps.askedMs.push(gap);
      gaps.beyondModeratorMs.push(gap - asked.reduce((n, m) => n + ((m.endAt ?? m.arrivedAt) - m.arrivedAt), 0));
    }
  }
  return gaps;
}

export interface ModeratorComparison {
  seats: number;
  rounds: number;
  moderatorDelayMs: [number, number];
  roundRobin: TurnGaps & { run: PooledRuns };
  moderated: TurnGaps & { run: PooledRuns };
  /** Mean gap per turn (every turn after a salon's first), moderated minus round-robin. */
  extraPerTurnMs: number;
}

/** Gaps of several runs together (each run's salons are told apart by tag within the run only). */
function poolGaps(runs: readonly RelayRun[]): TurnGaps {
  const each = runs.map((r) => turnGaps(r.calls));
  return {
    askedMs: each.flatMap((g) => g.askedMs),
    plainMs: each.flatMap((g) => g.plainMs),
    beyondModeratorMs: each.flatMap((g) => g.beyondModeratorMs),
    moderatorMs: each.flatMap((g) => g.moderatorMs),
    moderatorCalls: each.reduce((n, g) => n + g.moderatorCalls, 0),
  };
}

/** Figure 11: a panel round-robin and moderated (the moderator answering in `moderatorDelayMs`); `salons` per run. */
export async function moderatorComparison(
  options: PanelRunOptions & { seats: number; rounds: number; moderatorDelayMs: [number, number] },
): Promise<ModeratorComparison> {
  const { moderatorDelayMs, ...relay } = options;
  const runs = await abba(
    () => relayRun(relay),
    () => relayRun({ ...relay, moderatorDelayMs }),
  );
  const roundRobin = { ...poolGaps(runs.a), run: pool(runs.a) };
  const moderated = { ...poolGaps(runs.b), run: pool(runs.b) };
  return {
    seats: options.seats,
    rounds: options.rounds,
    moderatorDelayMs,
    roundRobin,
    moderated,
    extraPerTurnMs: mean([...moderated.askedMs, ...moderated.plainMs]) - mean([...roundRobin.askedMs, ...roundRobin.plainMs]),
  };
}
