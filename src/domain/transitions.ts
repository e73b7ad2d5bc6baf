/**
 * Every change a salon can undergo, as functions that edit a draft record in place.
 * The engine clones the stored record, applies one of these, bumps the version and saves,
 * one change at a time per salon.
 */
import { SalonError } from './errors.js';
import { addToTally, emptyTally, overBudget, spentUSD } from './ledger.js';
import { pushArchive, retractDraft } from './outbox.js';
import { LIMITS } from './limits.js';
import { answeringRound, eligibleSeats, type AnsweredIn, firstUnpicked, moderatedPick, planNext, type ModeratorAnswer } from './order.js';
import {
  isFinishedNotice,
  nextTurn,
  pendingInterjections,
  roundOf,
  seatAt,
  totalTurns,
  roundsDone,
  turnKey,
  type Interjection,
  type Participant,
  type Person,
  type SalonRecord,
  type Seat,
  type Share,
  type Turn,
  type Usage,
  type Cost,
} from './salon.js';
// Reasons the record keeps in words (the transcript quotes them) are worded where all the bot's words are.
import { modelFailureText, repetitionText } from '../wording/index.js';

function iso(now: number): string {
  return new Date(now).toISOString();
}

function assertOpen(salon: SalonRecord): void {
  if (salon.status === 'closed') throw new SalonError({ code: 'closed' });
}

export interface InterjectionInput {
  id: string;
  author: Person;
  text: string;
  /** Put the question to one seat; it then waits for that seat's next turn. */
  to?: Seat;
}

export interface InterjectionOptions {
  /** At most this many questions may wait at once. */
  maxPending?: number;
}

/** Records a question from a person watching, and says which turn will answer it. */
export function addInterjection(
  salon: SalonRecord,
  input: InterjectionInput,
  now: number,
  options: InterjectionOptions = {},
): { interjection: Interjection; answeredIn: AnsweredIn } {
  assertOpen(salon);
  if (salon.interjections.some((q) => q.id === input.id)) {
    throw new SalonError({ code: 'question_duplicate' });
  }
  // A turn already being written cannot see the question; the first turn that can is the one after it.
  const inFlight = salon.writing?.index === salon.turns.length;
  const from = salon.turns.length + (inFlight ? 1 : 0);
  if (!answeringRound(salon, from, input.to)) {
    const lastInFlight = inFlight && from >= totalTurns(salon) ? { lastInFlight: true } : {};
    throw new SalonError({ code: 'no_turn_left', ...(input.to !== undefined ? { to: seatAt(salon, input.to).name } : {}), ...lastInFlight });
  }
  const max = options.maxPending ?? Infinity;
  if (pendingInterjections(salon).length >= max) {
    throw new SalonError({ code: 'questions_waiting', max });
  }
  const interjection: Interjection = {
    id: input.id,
    author: input.author,
    text: input.text,
    at: iso(now),
    afterTurns: from,
    ...(input.to !== undefined ? { to: input.to } : {}),
  };
  salon.interjections.push(interjection);
  // Worked out again with the question in place: in moderated order, a question put to a seat makes it the next pick.
  const answeredIn = answeringRound(salon, from, input.to)!;
  return { interjection, answeredIn };
}

/** What one call to the moderator cost, and what it answered (read by moderator.ts). */
export interface ModeratorCall {
  answer: ModeratorAnswer;
  usage?: Usage;
  cost?: Cost;
}

/**
 * Turn `index` is about to be written: its speaker is picked (once: a pick saved earlier stands) and saved with
 * the mark that it is being written, so questions saved from now on wait for the turn after it. `moderated` is the
 * moderator's answer when the pick needed one; its cost is counted whatever becomes of the turn.
 */
export function startTurn(salon: SalonRecord, index: number, now: number, moderated?: ModeratorCall): void {
  if (moderated) salon.moderation = addToTally({ ...(salon.moderation ?? emptyTally()) }, { ...moderated, isTurn: true });
  salon.updatedAt = iso(now);
  if ((salon.status !== 'running' && salon.status !== 'paused') || nextTurn(salon)?.index !== index) return;
  if (salon.next?.index !== index) {
    const plan = planNext(salon, index);
    // Without an answer (a record picked by an older version, or a moderator call lost), the fallback picks.
    salon.next = 'pick' in plan ? plan.pick : moderatedPick(salon, index, plan.ask, moderated?.answer ?? { miss: 'failed' });
    if (salon.chosen && (salon.next.by === 'person' || !eligibleSeats(salon, index).includes(salon.chosen.seat))) salon.chosen = undefined;
  }
  // A pick made while the salon was paused is kept for when it resumes; nothing is written meanwhile.
  if (salon.status === 'running') salon.writing = { index, since: iso(now) };
}

/**
 * A person chose who speaks next (`/salon next`): that seat takes the first turn not yet picked, once, if it has not
 * spoken in that turn's round. Returns the round it will speak in.
 */
export function chooseNext(salon: SalonRecord, seat: Seat, person: Person, now: number): { round: number } {
  assertOpen(salon);
  const index = firstUnpicked(salon);
  if (index >= totalTurns(salon)) throw new SalonError({ code: 'no_turn_to_choose' });
  const round = roundOf(salon, index);
  const name = seatAt(salon, seat).name;
  if (!eligibleSeats(salon, index).includes(seat)) {
    const speaking = salon.next?.index === salon.turns.length && salon.next.seat === seat;
    throw new SalonError({ code: 'seat_spoke', name, round, speaking });
  }
  salon.chosen = { seat, person };
  salon.updatedAt = iso(now);
  return { round };
}

/**
 * Shares the salon on the web under `token`, or, shared already, keeps its token (the link stays the same) and sets
 * whether it is listed. Closed salons may be shared: their page is the archive.
 */
export function share(salon: SalonRecord, token: string, listed: boolean, now: number): Share {
  salon.share = salon.share ? { ...salon.share, listed } : { token, listed, since: iso(now) };
  salon.updatedAt = iso(now);
  return salon.share;
}

/** Takes the salon off the web: its token finds nothing from now on. */
export function unshare(salon: SalonRecord, now: number): void {
  if (!salon.share) throw new SalonError({ code: 'not_shared' });
  salon.share = undefined;
  salon.updatedAt = iso(now);
}

/** Adds rounds to a salon that is not closed; a finished salon carries on with the next speaker. */
export function extend(salon: SalonRecord, rounds: number, now: number): void {
  assertOpen(salon);
  const total = salon.rounds + rounds;
  if (total > LIMITS.totalRounds) {
    throw new SalonError({ code: 'too_many_rounds', total, max: LIMITS.totalRounds, current: salon.rounds });
  }
  salon.rounds = total;
  if (salon.status === 'finished') {
    salon.status = 'running';
    salon.finishedAt = undefined;
    salon.endedEarly = undefined;
    salon.repetitive = 0;
    salon.nextTurnAt = now;
    // A "finished" notice not yet posted would now be wrong.
    salon.outbox = salon.outbox.filter((p) => !(p.kind === 'notice' && isFinishedNotice(p.notice)));
  }
  salon.updatedAt = iso(now);
}

export function pause(salon: SalonRecord, now: number): void {
  assertOpen(salon);
  if (salon.status === 'paused') throw new SalonError({ code: 'already_paused' });
  if (salon.status !== 'running') throw new SalonError({ code: 'nothing_to_pause' });
  salon.status = 'paused';
  salon.pausedReason = undefined;
  salon.nextTurnAt = undefined;
  salon.updatedAt = iso(now);
}

export function resume(salon: SalonRecord, now: number, options: { budgetUSD?: number } = {}): void {
  assertOpen(salon);
  const spent = spentUSD(salon);
  if (options.budgetUSD !== undefined) {
    if (options.budgetUSD <= spent) {
      throw new SalonError({ code: 'budget_below_spent', spent, budget: options.budgetUSD });
    }
  }
  if (salon.status === 'running' && options.budgetUSD !== undefined) {
    // Raising the budget of a running salon needs no pause first.
    salon.budgetUSD = options.budgetUSD;
    salon.updatedAt = iso(now);
    return;
  }
  if (salon.status === 'finished' && salon.pausedReason && salon.outbox.length > 0) {
    // A finished salon whose thread refused its last posts: resuming means trying those posts again.
    salon.pausedReason = undefined;
    salon.updatedAt = iso(now);
    return;
  }
  if (salon.status !== 'paused') {
    throw new SalonError({ code: salon.status === 'running' ? 'already_running' : 'all_rounds_done' });
  }
  const budget = options.budgetUSD ?? salon.budgetUSD;
  if (budget !== undefined && spent >= budget) {
    throw new SalonError({ code: 'budget_spent', spent, budget });
  }
  if (options.budgetUSD !== undefined) salon.budgetUSD = options.budgetUSD;
  salon.status = 'running';
  salon.pausedReason = undefined;
  salon.failure = undefined;
  // A resumed salon speaks at once: the person who resumed it is waiting to see it move.
  salon.nextTurnAt = now;
  salon.updatedAt = iso(now);
}

/**
 * Closes the salon. The archive post (transcript file, then the thread archived) goes out after anything still
 * owed, and after the synthesis when one is asked for (`synthesizer`: the model that writes it).
 */
export function close(salon: SalonRecord, now: number, options: { synthesizer?: Participant } = {}): void {
  assertOpen(salon);
  salon.status = 'closed';
  salon.nextTurnAt = undefined;
  salon.closedAt = iso(now);
  salon.finishedAt ??= iso(now);
  salon.updatedAt = iso(now);
  salon.writing = undefined;
  if (salon.draft) {
    // A turn shown while it streamed will not be finished now: its messages go, so the thread matches the archive.
    retractDraft(salon, salon.draft.turnIndex, salon.draft.messageIds);
    salon.draft = undefined;
  }
  const synthesizer = options.synthesizer;
  if (synthesizer && salon.turns.length > (salon.carried ?? 0)) {
    if (overBudget(salon)) {
      // Decided here, once: a salon never starts a request its budget has already used up, the synthesis included.
      const reason = modelFailureText({ code: 'budget_spent', budget: salon.budgetUSD ?? 0 });
      salon.synthesis = { status: 'failed', modelKey: synthesizer.key, name: synthesizer.name, model: synthesizer.model, reason, at: iso(now) };
    } else {
      salon.synthesis = { status: 'pending', modelKey: synthesizer.key };
      return;
    }
  }
  pushArchive(salon);
}

export type SynthesisResult =
  { ok: true; name: string; model: string; text: string; usage?: Usage; cost?: Cost } | { ok: false; name: string; model: string; reason: string };

/** Records the synthesis (or why there is none) and lets the archive go out; a failed synthesis never blocks it. */
export function commitSynthesis(salon: SalonRecord, result: SynthesisResult, now: number): void {
  if (salon.synthesis?.status !== 'pending') return;
  const { modelKey } = salon.synthesis;
  if (result.ok) {
    salon.synthesis = {
      status: 'done',
      modelKey,
      name: result.name,
      model: result.model,
      text: result.text,
      usage: result.usage,
      cost: result.cost,
      at: iso(now),
    };
    salon.outbox.push({ key: `${salon.id}:synthesis`, kind: 'synthesis', messageIds: [] });
  } else {
    salon.synthesis = { status: 'failed', modelKey, name: result.name, model: result.model, reason: result.reason, at: iso(now) };
  }
  salon.updatedAt = iso(now);
  pushArchive(salon);
}

/** The salon has spent its budget: it pauses before the next model request, with one notice. */
export function pauseOverBudget(salon: SalonRecord, now: number): void {
  const spent = spentUSD(salon);
  const budget = salon.budgetUSD ?? 0;
  if (salon.status === 'running') {
    salon.status = 'paused';
    salon.nextTurnAt = undefined;
  }
  salon.pausedReason = { code: 'budget_reached', spent, budget };
  salon.updatedAt = iso(now);
  salon.outbox.push({
    key: `${salon.id}:budget:${salon.turns.length}:${now}`,
    kind: 'notice',
    notice: { code: 'budget_spent', spent, budget },
    messageIds: [],
  });
}

export interface GeneratedTurn {
  index: number;
  text: string;
  finishReason?: string;
  usage?: Usage;
  cost?: Cost;
  latencyMs?: number;
  /** Similarity to the salon's recent turns (repetition.ts), 0..1. */
  repetition?: number;
  startedAt: number;
  /** Interjections that were in the prompt: the turn answers them. */
  answered: string[];
}

export interface CommitOptions {
  autoClose?: boolean;
  /** Close with a synthesis by this model (with autoClose). */
  synthesizer?: Participant;
  /** A turn at or above `threshold` is repetitive; `maxNudges` repetitive turns in a row finish the salon early. */
  repetition?: { threshold: number; maxNudges: number };
}

/**
 * Adds a generated turn. Returns undefined when the salon moved on while the model was writing
 * (closed, or the turn was already taken): the result is then dropped, never duplicated.
 */
export function commitTurn(salon: SalonRecord, generated: GeneratedTurn, now: number, options: CommitOptions = {}): Turn | undefined {
  const next = nextTurn(salon);
  if (salon.status === 'closed' || !next || next.index !== generated.index) return undefined;
  // A turn is started with its pick saved; a record written mid-turn by an older version has none, and its order picks.
  const saved = salon.next?.index === next.index;
  const picked = planNext(salon, next.index);
  const speaker = 'pick' in picked ? picked.pick.seat : moderatedPick(salon, next.index, picked.ask, { miss: 'failed' }).seat;
  const seat = seatAt(salon, speaker);
  const turn: Turn = {
    index: next.index,
    seat: speaker,
    round: next.round,
    name: seat.name,
    modelKey: seat.key,
    model: seat.model,
    text: generated.text,
    finishReason: generated.finishReason,
    usage: generated.usage,
    cost: generated.cost,
    latencyMs: generated.latencyMs,
    repetition: generated.repetition,
    startedAt: iso(generated.startedAt),
    finishedAt: iso(now),
    answered: generated.answered,
  };
  salon.turns.push(turn);
  for (const q of salon.interjections) {
    if (q.answeredBy === undefined && generated.answered.includes(q.id)) q.answeredBy = turn.index;
  }
  const draftIds = salon.draft?.turnIndex === turn.index ? salon.draft.messageIds : [];
  salon.outbox.push({ key: turnKey(salon.id, turn.index), kind: 'turn', turnIndex: turn.index, messageIds: [], ...(draftIds.length ? { draftIds } : {}) });
  salon.draft = undefined;
  salon.writing = undefined;
  salon.next = undefined;
  // A person's choice is spent by the turn that used it: startTurn clears it when it saves the pick, so here only a
  // pick made now (no pick saved) can have used it. A choice made while this turn was written is for a later turn.
  if (!saved && 'pick' in picked && picked.pick.by === 'person') salon.chosen = undefined;
  salon.failure = undefined;
  salon.updatedAt = iso(now);
  const { threshold, maxNudges } = options.repetition ?? { threshold: Infinity, maxNudges: Infinity };
  salon.repetitive = (generated.repetition ?? 0) >= threshold ? (salon.repetitive ?? 0) + 1 : 0;
  const looping = salon.repetitive >= maxNudges;
  if (next.final || looping) {
    if (looping && !next.final) {
      salon.endedEarly = repetitionText(salon.repetitive);
    }
    finish(salon, now, options.autoClose ?? false);
    if (options.autoClose) close(salon, now, { synthesizer: options.synthesizer });
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
  salon.outbox.push({
    key: `${salon.id}:finished:${salon.turns.length}`,
    kind: 'notice',
    notice: {
      code: 'finished',
      rounds: roundsDone(salon),
      ...(salon.endedEarly ? { endedEarly: salon.endedEarly } : {}),
      unanswered: pendingInterjections(salon).length,
      closing,
    },
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
  // A turn that failed while the salon was being closed needs no notice: the archive says where it ended.
  if (salon.status === 'closed') return 'paused';
  salon.writing = undefined;
  const attempts = (salon.failure?.seat === input.seat ? salon.failure.attempts : 0) + 1;
  const name = seatAt(salon, input.seat).name;
  salon.failure = { seat: input.seat, name, reason: input.reason, at: iso(now), attempts, maxAttempts: policy.maxAttempts };
  salon.updatedAt = iso(now);
  if (!input.permanent && attempts < policy.maxAttempts && salon.status === 'running') {
    salon.nextTurnAt = now + policy.backoffMs(attempts);
    return 'retry';
  }
  if (salon.status === 'running') {
    salon.status = 'paused';
    salon.nextTurnAt = undefined;
  }
  salon.pausedReason = { code: 'model_failed', name, reason: input.reason };
  salon.outbox.push({
    // The time makes the key unique even when the same turn fails again after a resume.
    key: `${salon.id}:failure:${salon.turns.length}:${now}`,
    kind: 'notice',
    notice: { code: 'model_failed', name, reason: input.reason, attempts },
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
  salon.pausedReason = { code: 'undeliverable', reason };
  salon.updatedAt = iso(now);
}

/** The salon's thread is gone (deleted): it is closed as it stands, owing nothing to a thread that no longer exists. */
export function abandon(salon: SalonRecord, now: number): void {
  if (salon.status !== 'closed') {
    salon.status = 'closed';
    salon.closedAt = iso(now);
    salon.finishedAt ??= iso(now);
  }
  salon.pausedReason = { code: 'thread_deleted' };
  salon.nextTurnAt = undefined;
  salon.outbox = [];
  salon.draft = undefined;
  salon.writing = undefined;
  if (salon.synthesis?.status === 'pending') salon.synthesis = undefined;
  salon.updatedAt = iso(now);
}
