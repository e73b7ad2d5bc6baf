/**
 * The salon record and the pure rules that move it forward.
 *
 * Nothing here knows about Discord, HTTP or storage: every function takes a record and
 * returns what changed, so the engine can apply changes one at a time and save after each.
 */

import type { Tally } from './ledger.js';
import type { NextSpeaker, Order } from './order.js';

export const SCHEMA_VERSION = 3;

/**
 * A seat at the salon: its place in the list of participants, from 0 (`model_a`). Round-robin order is seat order;
 * a seat, not a model, is what speaks, so one model may hold two seats.
 */
export type Seat = number;
export type SalonStatus = 'running' | 'paused' | 'finished' | 'closed';

/** A participant as it was when the salon started, so later config edits never rewrite history. */
export interface Participant {
  /** Key of the model in the config (`models.<key>`). */
  key: string;
  /** Display name shown in the thread and transcript. */
  name: string;
  /** Model id sent to the endpoint, e.g. `z-ai/glm-4.7`. */
  model: string;
}

export interface Usage {
  promptTokens?: number;
  completionTokens?: number;
  totalTokens?: number;
  cachedPromptTokens?: number;
  /** The endpoint's own cost figure in USD (OpenRouter's usage accounting). */
  costUSD?: number;
  /** The endpoint reported no usage: these counts are salon's estimates. */
  estimated?: boolean;
}

/** What a turn (or the synthesis) cost, in USD; ledger.ts works it out and sums it. */
export interface Cost {
  usd: number;
  source: 'endpoint' | 'pricing';
  /** Priced from estimated token counts (the endpoint reported no usage). */
  estimated?: boolean;
}

export interface Person {
  id: string;
  name: string;
}

export interface Turn {
  /** Position in the dialogue, from 0. Every round gives each seat one turn, in the order the salon's order picks. */
  index: number;
  seat: Seat;
  /** Round number, from 1. */
  round: number;
  name: string;
  modelKey: string;
  model: string;
  text: string;
  /** The endpoint's finish reason; `length` means the reply was cut off at maxTokens. */
  finishReason?: string;
  usage?: Usage;
  startedAt: string;
  finishedAt: string;
  /** Ids of the interjections this turn was the first to answer. */
  answered: string[];
  /** Discord (or other) message ids the turn was posted as, once delivered. */
  messageIds?: string[];
  cost?: Cost;
  latencyMs?: number;
  /** How much the turn repeated the salon's recent turns, 0..1 (word-shingle Jaccard). */
  repetition?: number;
}

export type Synthesis =
  | { status: 'pending'; modelKey: string }
  | { status: 'done'; modelKey: string; name: string; model: string; text: string; usage?: Usage; cost?: Cost; at: string }
  | { status: 'failed'; modelKey: string; name: string; model: string; reason: string; at: string };

export interface Interjection {
  /** Unique per salon; the Discord message or interaction id, so a redelivered event counts once. */
  id: string;
  author: Person;
  text: string;
  at: string;
  /** Turns taken (or being written) when it was asked: it is shown after turn `afterTurns - 1`. */
  afterTurns: number;
  /** Index of the turn that answered it; absent while it waits. */
  answeredBy?: number;
  /** The seat it was put to; absent for a question to whoever speaks next. */
  to?: Seat;
}

/** Where a forked salon came from. */
export interface ForkOrigin {
  salonId: string;
  threadId?: string;
  /** The parent's last round carried over (0: none). */
  fromRound: number;
  topic: string;
}

/** A turn being streamed: the messages showing it so far, saved as they are created. */
export interface Draft {
  turnIndex: number;
  messageIds: string[];
}

/** Something the salon owes the thread. Outbox entries are saved with the change that made them and removed once delivered. */
export type Post =
  /** The opening post of the thread: topic, participants, rounds, delay. */
  | { key: string; kind: 'header'; messageIds: string[] }
  /** `draftIds` are messages that showed the turn while it streamed: edited to the final text, never posted again. */
  | { key: string; kind: 'turn'; turnIndex: number; messageIds: string[]; draftIds?: string[] }
  | { key: string; kind: 'notice'; notice: Notice; messageIds: string[] }
  /** Messages of a turn that streamed but will never be finished (closed mid-stream): deleted. */
  | { key: string; kind: 'retract'; turnIndex: number; draftIds: string[]; messageIds: string[] }
  /** The synthesis written at close, posted before the transcript. */
  | { key: string; kind: 'synthesis'; messageIds: string[] }
  /** The transcript as a file, then the thread archived. */
  | { key: string; kind: 'archive'; messageIds: string[] };

/** What a notice tells the thread, as data; src/wording words it. */
export type Notice =
  /** `unanswered`: questions asked too late; `closing`: the transcript follows at once. */
  | { code: 'finished'; rounds: number; endedEarly?: string; unanswered: number; closing: boolean }
  /** `attempts`: the tries it took before the salon gave up (absent in records saved before it was kept). */
  | { code: 'model_failed'; name: string; reason: string; attempts?: number }
  | { code: 'budget_spent'; spent: number; budget: number }
  /** Saved by schema 1, which stored a notice's words: posted as they are. `was` is what it was about. */
  | { code: 'legacy'; was: 'finished' | 'failure' | 'info'; text: string };

/** Why the salon paused itself (or closed, for a deleted thread); src/wording writes the words. */
export type PauseReason =
  | { code: 'budget_reached'; spent: number; budget: number }
  | { code: 'model_failed'; name: string; reason: string }
  /** `reason` is the publisher's own account (Discord's error message), shown as it is. */
  | { code: 'undeliverable'; reason: string }
  | { code: 'thread_deleted' }
  /** Saved by schema 1, which stored the words. */
  | { code: 'legacy'; text: string };

/**
 * The last failure of the turn to be taken next. While the salon runs, the turn is being retried: the next try is
 * due at `nextTurnAt`. Kept in the record so `/salon status` shows it on any process, and across a restart.
 */
export interface FailureInfo {
  seat: Seat;
  name: string;
  /** The model client's account, safe to show: never holds a key. */
  reason: string;
  at: string;
  /** Model attempts that failed in a row, across engine-level retries. */
  attempts: number;
  /** Attempts allowed before the salon pauses (absent in records saved before it was kept). */
  maxAttempts?: number;
}

export interface SalonRecord {
  schema: number;
  /** Stable id: in Discord, the thread id. */
  id: string;
  guildId?: string;
  channelId?: string;
  threadId?: string;
  starter: Person;
  topic: string;
  /** Two to six participants, in seat order. */
  seats: Participant[];
  /** How the next speaker is chosen; absent (salons from before panels): round-robin. */
  order?: Order;
  /** The model that picks the next speaker when the order is moderated. */
  moderator?: Participant;
  /** What the moderator's calls have cost so far (its calls are `count`). */
  moderation?: Tally;
  /**
   * Who speaks in turn `next.index`, and why: saved before that turn starts, so a restart or a retry never picks
   * again (or differently). Cleared when the turn is committed.
   */
  next?: NextSpeaker;
  /** A person's choice of the next speaker (`/salon next`), used by the first turn not yet picked. */
  chosen?: { seat: Seat; person: Person };
  rounds: number;
  delaySeconds: number;
  status: SalonStatus;
  /** Why the salon is paused, when it was paused by the salon itself rather than a person. */
  pausedReason?: PauseReason;
  failure?: FailureInfo;
  turns: Turn[];
  interjections: Interjection[];
  outbox: Post[];
  /** Set for a fork: the parent salon, and how many of `turns` were carried over from it (never re-posted). */
  parent?: ForkOrigin;
  carried?: number;
  /** The turn being streamed, if any. */
  draft?: Draft;
  /**
   * The turn being written: saved before its model is called, so a question saved after it (on any process) knows
   * that turn cannot see it. Cleared when the turn is committed or fails, and when the salon closes.
   */
  writing?: { index: number; since: string };
  /** Shared on the web (`/salon share`): absent while it is not, and again as soon as it is unshared. */
  share?: Share;
  /** The most this salon may spend, in USD; absent: no cap. */
  budgetUSD?: number;
  /** Repetitive turns in a row (see repetition.ts); the next prompts carry a nudge while it is above 0. */
  repetitive?: number;
  /** Why the salon finished before its last round, if it did. */
  endedEarly?: string;
  synthesis?: Synthesis;
  /** Epoch ms when the next turn is due; absent when no turn is scheduled. */
  nextTurnAt?: number;
  createdAt: string;
  updatedAt: string;
  finishedAt?: string;
  closedAt?: string;
  /** Incremented on every saved change; a save is conditional on it, so two processes never both change one version. */
  version: number;
  /** Which worker drives the salon, when several share the store (see lease.ts); absent for a single process. */
  lease?: Lease;
}

/**
 * A worker's claim to drive a salon until `until` (epoch ms). `epoch` goes up by one at each take-over, so a worker
 * that finds another epoch in the store knows it was replaced. `released` says the last holder let go cleanly, with
 * nothing in flight, so the next one need not look for posts whose ids were lost.
 */
export interface Lease {
  owner: string;
  epoch: number;
  until: number;
  released?: boolean;
}

/**
 * A salon shared on the web. `token` is the link's only secret: random (at least 128 bits), never a Discord id, and
 * the same for as long as the salon stays shared. `listed`: shown on the gallery's index page.
 */
export interface Share {
  token: string;
  listed: boolean;
  since: string;
}

/** A salon without its turns: what a list of many salons needs, at a fraction of the cost. */
export type SalonHead = Omit<SalonRecord, 'turns'>;

/** What a new salon is made from: the record's own fields as the starter chose them, and for a fork where it comes from. */
export type NewSalon = Pick<
  SalonRecord,
  'id' | 'guildId' | 'channelId' | 'threadId' | 'starter' | 'topic' | 'seats' | 'rounds' | 'delaySeconds' | 'budgetUSD' | 'order' | 'moderator'
> & {
  /** For a fork: the parent, the turns carried over from it, and the forker's opening question. */
  fork?: { origin: ForkOrigin; turns: Turn[]; direction?: Pick<Interjection, 'id' | 'author' | 'text'> };
};

export function createSalon(input: NewSalon, now: number): SalonRecord {
  const at = new Date(now).toISOString();
  const { fork, ...rest } = input;
  const turns = fork ? fork.turns.map((t) => ({ ...t, answered: [], messageIds: undefined })) : [];
  return {
    schema: SCHEMA_VERSION,
    ...rest,
    ...(fork ? { parent: fork.origin, carried: turns.length } : {}),
    status: 'running',
    turns,
    interjections: fork?.direction ? [{ ...fork.direction, at, afterTurns: turns.length }] : [],
    outbox: [{ key: `${input.id}:header`, kind: 'header', messageIds: [] }],
    // The opening turn starts at once; the delay is the pause *between* turns.
    nextTurnAt: now,
    createdAt: at,
    updatedAt: at,
    version: 0,
  };
}

/**
 * Rounds and turns. A round gives every seat one turn; a fork's carried turns keep the rounds they had in the parent
 * (which may have had other seats), and its own rounds follow them.
 */
type Counted = Pick<SalonRecord, 'seats' | 'rounds' | 'carried' | 'parent'>;

/** Rounds carried over from a fork's parent (0 for a salon that is not a fork). */
function carriedRounds(salon: Counted): number {
  return salon.carried ? (salon.parent?.fromRound ?? 0) : 0;
}

export function totalTurns(salon: Counted): number {
  return (salon.carried ?? 0) + (salon.rounds - carriedRounds(salon)) * salon.seats.length;
}

/** The round turn `index` belongs to, from 1. */
export function roundOf(salon: Counted & Pick<SalonRecord, 'turns'>, index: number): number {
  const carried = salon.carried ?? 0;
  if (index < carried) return salon.turns[index]?.round ?? 1;
  return carriedRounds(salon) + Math.floor((index - carried) / salon.seats.length) + 1;
}

/** The index of the first turn of `round`. */
export function roundStart(salon: Counted, round: number): number {
  return (salon.carried ?? 0) + (round - carriedRounds(salon) - 1) * salon.seats.length;
}

/** The turn to be taken next (who takes it is order.ts's to say), or undefined when every round is done. */
export function nextTurn(salon: SalonRecord): { index: number; round: number; last: boolean; final: boolean } | undefined {
  const index = salon.turns.length;
  const total = totalTurns(salon);
  if (index >= total) return undefined;
  const round = roundOf(salon, index);
  return { index, round, last: round === salon.rounds, final: index === total - 1 };
}

/** Whole rounds taken. */
export function roundsDone(salon: SalonRecord): number {
  const carried = salon.carried ?? 0;
  if (salon.turns.length <= carried) return carriedRounds(salon);
  return carriedRounds(salon) + Math.floor((salon.turns.length - carried) / salon.seats.length);
}

export function pendingInterjections(salon: SalonRecord): Interjection[] {
  return salon.interjections.filter((q) => q.answeredBy === undefined);
}

/**
 * The salon's questions grouped by the turn they go with, in the order they were asked. `at` says which turn
 * index a question belongs to (by default the turn that answered it); a question it gives no index is left out.
 */
export function questionsByTurn(salon: SalonRecord, at: (q: Interjection) => number | undefined = (q) => q.answeredBy): Map<number, Interjection[]> {
  const byTurn = new Map<number, Interjection[]>();
  for (const q of salon.interjections) {
    const index = at(q);
    if (index === undefined) continue;
    const list = byTurn.get(index);
    if (list) list.push(q);
    else byTurn.set(index, [q]);
  }
  return byTurn;
}

/**
 * The questions `seat` answers in turn `index`: those put to it or to no one in particular, asked before that turn
 * was being written (a question asked during turn i waits for turn i + 1 even if turn i is written again).
 */
export function questionsFor(salon: SalonRecord, seat: Seat, index = salon.turns.length): Interjection[] {
  return pendingInterjections(salon).filter((q) => (q.to === undefined || q.to === seat) && q.afterTurns <= index);
}

/** The participant in `seat`; a seat the salon does not have is a bug, not a case. */
export function seatAt(salon: Pick<SalonRecord, 'seats'>, seat: Seat): Participant {
  const participant = salon.seats[seat];
  if (!participant) throw new RangeError(`salon has no seat ${seat}`);
  return participant;
}

export function isActive(salon: Pick<SalonRecord, 'status'>): boolean {
  return salon.status === 'running' || salon.status === 'paused';
}

/**
 * Whether the salon is live: it may still take turns, or still owes its thread a post (or the closing synthesis).
 * Live salons are the ones the engine keeps loaded and the store lists as active.
 */
export function isLive(salon: SalonRecord): boolean {
  return isActive(salon) || salon.outbox.length > 0 || salon.synthesis?.status === 'pending';
}

/**
 * When the salon next needs driving, in epoch ms: at once (0) while it owes its thread a post or a synthesis, at its
 * next turn while it runs; undefined while nothing happens until someone acts (paused, finished, or a thread that
 * refused posts, which waits for a resume).
 */
export function dueAt(salon: SalonRecord): number | undefined {
  if (salon.status === 'paused' && salon.pausedReason?.code === 'undeliverable') return undefined;
  if (salon.outbox.length > 0 || salon.synthesis?.status === 'pending') return 0;
  if (salon.status === 'running' && nextTurn(salon) && salon.nextTurnAt !== undefined) return salon.nextTurnAt;
  return undefined;
}

/** A "finished" notice, of this schema or saved by an older one. */
export function isFinishedNotice(notice: Notice): boolean {
  return notice.code === 'finished' || (notice.code === 'legacy' && notice.was === 'finished');
}

export function turnKey(salonId: string, index: number): string {
  return `${salonId}:turn:${index}`;
}
