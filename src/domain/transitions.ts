/**
 * Every change a salon can undergo, as functions that edit a draft record in place.
 * The engine clones the stored record, applies one of these, bumps the version and saves,
 * one change at a time per salon.
 */
import { SalonError } from './errors.js';
import {
  nextTurn,
  pendingInterjections,
  roundsDone,
  turnKey,
  type Interjection,
  type Person,
  type SalonRecord,
  type Seat,
  type Turn,
  type Usage,
} from './salon.js';

function iso(now: number): string {
  return new Date(now).toISOString();
}

function assertOpen(salon: SalonRecord): void {
  if (salon.status === 'closed') throw new SalonError('closed', 'This salon is closed; its transcript has been posted.');
}

export interface InterjectionInput {
  id: string;
  author: Person;
  text: string;
}

/** Records a question from a person watching; the next turn answers it. */
export function addInterjection(salon: SalonRecord, input: InterjectionInput, now: number, options: { turnInFlight?: boolean } = {}): Interjection {
  assertOpen(salon);
  if (salon.interjections.some((q) => q.id === input.id)) {
    throw new SalonError('duplicate', 'That question is already in the salon.');
  }
  if (!nextTurn(salon)) {
    throw new SalonError('finished', 'This salon has finished all its rounds, so no model will answer. Close it with `/salon close`.');
  }
  const q: Interjection = {
    id: input.id,
    author: input.author,
    text: input.text,
    at: iso(now),
    // A turn already being written cannot see the question; it reads as asked after that turn.
    afterTurns: salon.turns.length + (options.turnInFlight ? 1 : 0),
  };
  salon.interjections.push(q);
  return q;
}

export function pause(salon: SalonRecord, now: number, reason?: string): void {
  assertOpen(salon);
  if (salon.status === 'paused') throw new SalonError('not_running', 'This salon is already paused. Use `/salon resume` to carry on.');
  if (salon.status !== 'running') throw new SalonError('not_running', 'This salon has finished; there is nothing to pause.');
  salon.status = 'paused';
  salon.pausedReason = reason;
  salon.nextTurnAt = undefined;
  salon.updatedAt = iso(now);
}

export function resume(salon: SalonRecord, now: number): void {
  assertOpen(salon);
  if (salon.status !== 'paused') {
    throw new SalonError('not_paused', salon.status === 'running' ? 'This salon is already running.' : 'This salon has finished all its rounds.');
  }
  salon.status = 'running';
  salon.pausedReason = undefined;
  salon.failure = undefined;
  // A resumed salon speaks at once: the person who resumed it is waiting to see it move.
  salon.nextTurnAt = now;
  salon.updatedAt = iso(now);
}

/** Closes the salon; the archive post (transcript file, then the thread archived) goes out after anything still owed. */
export function close(salon: SalonRecord, now: number): void {
  assertOpen(salon);
  salon.status = 'closed';
  salon.nextTurnAt = undefined;
  salon.closedAt = iso(now);
  salon.finishedAt ??= iso(now);
  salon.updatedAt = iso(now);
  salon.outbox.push({ key: `${salon.id}:archive`, kind: 'archive', messageIds: [] });
}

export interface GeneratedTurn {
  index: number;
  text: string;
  finishReason?: string;
  usage?: Usage;
  startedAt: number;
  /** Interjections that were in the prompt: the turn answers them. */
  answered: string[];
}

/**
 * Adds a generated turn. Returns false when the salon moved on while the model was writing
 * (closed, or the turn was already taken): the result is then dropped, never duplicated.
 */
export function commitTurn(salon: SalonRecord, generated: GeneratedTurn, now: number, options: { autoClose?: boolean } = {}): Turn | undefined {
  const next = nextTurn(salon);
  if (salon.status === 'closed' || !next || next.index !== generated.index) return undefined;
  const seat = salon.seats[next.seat];
  const turn: Turn = {
    index: next.index,
    seat: next.seat,
    round: next.round,
    name: seat.name,
    modelKey: seat.key,
    model: seat.model,
    text: generated.text,
    finishReason: generated.finishReason,
    usage: generated.usage,
    startedAt: iso(generated.startedAt),
    finishedAt: iso(now),
    answered: generated.answered,
  };
  salon.turns.push(turn);
  for (const q of salon.interjections) {
    if (q.answeredBy === undefined && generated.answered.includes(q.id)) q.answeredBy = turn.index;
  }
  salon.outbox.push({ key: turnKey(salon.id, turn.index), kind: 'turn', turnIndex: turn.index, messageIds: [] });
  salon.failure = undefined;
  salon.updatedAt = iso(now);
  if (next.last && next.seat === 'B') {
    finish(salon, now, options.autoClose ?? false);
    if (options.autoClose) close(salon, now);
  } else if (salon.status === 'running') {
    salon.nextTurnAt = now + salon.delaySeconds * 1000;
  }
  // A salon paused mid-turn keeps the turn that was already being written, and takes no more.
  return turn;
}

function finish(salon: SalonRecord, now: number, closing: boolean): void {
  salon.status = 'finished';
  salon.nextTurnAt = undefined;
  salon.finishedAt = iso(now);
  const waiting = pendingInterjections(salon).length;
  const unanswered = waiting > 0 ? ` ${waiting === 1 ? 'One question was' : `${waiting} questions were`} asked too late to be answered.` : '';
  salon.outbox.push({
    key: `${salon.id}:finished:${salon.turns.length}`,
    kind: 'notice',
    notice: 'finished',
    text: `The salon has finished after ${roundsDone(salon)} ${roundsDone(salon) === 1 ? 'round' : 'rounds'}.${unanswered}${closing ? ' The transcript follows and the thread will be archived.' : ' Use `/salon close` to post the transcript and archive the thread.'}`,
    messageIds: [],
  });
}

export interface FailureInput {
  seat: Seat;
  reason: string;
  /** A failure that waiting will not fix (bad key, unknown model, bad request). */
  permanent: boolean;
}

export interface RetryPolicy {
  /** Engine-level attempts after the client's own retries are spent, before the salon pauses. */
  maxAttempts: number;
  /** Delay before engine-level attempt n (from 1), in ms. */
  backoffMs(attempt: number): number;
}

/** A model turn failed after the client's retries. Either schedule another attempt or pause with one notice. */
export function recordFailure(salon: SalonRecord, input: FailureInput, now: number, policy: RetryPolicy): 'retry' | 'paused' {
  const attempts = (salon.failure?.seat === input.seat ? salon.failure.attempts : 0) + 1;
  const name = salon.seats[input.seat].name;
  salon.failure = { seat: input.seat, name, reason: input.reason, at: iso(now), attempts };
  salon.updatedAt = iso(now);
  if (!input.permanent && attempts < policy.maxAttempts && salon.status === 'running') {
    salon.nextTurnAt = now + policy.backoffMs(attempts);
    return 'retry';
  }
  if (salon.status === 'running') {
    salon.status = 'paused';
    salon.nextTurnAt = undefined;
  }
  salon.pausedReason = `${name} failed: ${input.reason}`;
  salon.outbox.push({
    // The time makes the key unique even when the same turn fails again after a resume.
    key: `${salon.id}:failure:${salon.turns.length}:${now}`,
    kind: 'notice',
    notice: 'failure',
    text: `⚠️ ${name} could not take its turn: ${input.reason}. The salon is paused; use \`/salon resume\` to try again.`,
    messageIds: [],
  });
  return 'paused';
}

/** Publishing failed in a way retrying will not fix (thread deleted, permission lost). */
export function pauseUndeliverable(salon: SalonRecord, reason: string, now: number): void {
  if (salon.status === 'running') {
    salon.status = 'paused';
    salon.nextTurnAt = undefined;
  }
  salon.pausedReason = reason;
  salon.updatedAt = iso(now);
}

export function markDelivered(salon: SalonRecord, key: string): void {
  const post = salon.outbox.find((p) => p.key === key);
  if (post?.kind === 'turn') {
    const turn = salon.turns[post.turnIndex];
    if (turn) turn.messageIds = post.messageIds;
  }
  salon.outbox = salon.outbox.filter((p) => p.key !== key);
}

export function recordPostedPart(salon: SalonRecord, key: string, part: number, messageId: string): void {
  const post = salon.outbox.find((p) => p.key === key);
  if (post) post.messageIds[part] = messageId;
}
