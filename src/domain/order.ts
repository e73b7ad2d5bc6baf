/**
 * Who speaks next. A round gives every seat one turn: round-robin takes the seats in order; moderated asks the
 * moderator model, among the seats that have not spoken in the round. A person's choice (`/salon next`) comes
 * first in either order, and an aimed question makes its seat the pick in moderated order without asking.
 * Whatever the moderator answers, or if it fails, the pick is a seat that may speak: the salon never stalls on it.
 *
 * The pick is saved in the record (`next`) before its turn starts, so a restart or a retry never picks again.
 */
import { pendingInterjections, roundOf, roundStart, totalTurns, type Participant, type Person, type SalonRecord, type Seat } from './salon.js';

export type Order = 'round-robin' | 'moderated';

/** Why the moderator's answer was not used. */
export type ModeratorMiss =
  /** The call failed or timed out. */
  | 'failed'
  /** The answer named no seat, or several. */
  | 'unclear'
  /** The answer named a seat that has already spoken in this round. */
  | 'spoke_already';

/** Who speaks in turn `index`, and why. */
export type NextSpeaker = { index: number; seat: Seat } & (
  | { by: 'order' }
  /** The only seat left to speak in the round. */
  | { by: 'last_left' }
  | { by: 'person'; person: Person }
  /** A question put to this seat is waiting (moderated order). */
  | { by: 'question'; person: Person }
  /** `reason`: the moderator's one line, when it gave one. */
  | { by: 'moderator'; reason?: string }
  /** The moderator's answer could not be used: the eligible seat that spoke least recently. */
  | { by: 'fallback'; miss: ModeratorMiss }
);

export function orderOf(salon: Pick<SalonRecord, 'order'>): Order {
  return salon.order ?? 'round-robin';
}

/** The seat of a turn taken or picked, if it is known. */
function seatOfTurn(salon: SalonRecord, index: number): Seat | undefined {
  return salon.turns[index]?.seat ?? (salon.next?.index === index ? salon.next.seat : undefined);
}

/** Seats that may speak in turn `index`: those that have not spoken (and are not picked to speak) earlier in its round. */
export function eligibleSeats(salon: SalonRecord, index: number): Seat[] {
  const spoken = new Set<Seat>();
  for (let i = Math.max(roundStart(salon, roundOf(salon, index)), 0); i < index; i++) {
    const seat = seatOfTurn(salon, i);
    if (seat !== undefined) spoken.add(seat);
  }
  return salon.seats.map((_, seat) => seat).filter((seat) => !spoken.has(seat));
}

/** Of `seats`, the one whose last turn is the oldest (never spoken first; then seat order). */
export function leastRecent(salon: SalonRecord, seats: Seat[]): Seat {
  const last = new Map<Seat, number>();
  salon.turns.forEach((turn) => last.set(turn.seat, turn.index));
  return [...seats].sort((a, b) => (last.get(a) ?? -1) - (last.get(b) ?? -1) || a - b)[0]!;
}

/**
 * The pick for turn `index` when it needs no moderator, or the seats the moderator must choose among. A pick
 * already saved for the turn stands.
 */
export function planNext(salon: SalonRecord, index: number): { pick: NextSpeaker } | { ask: Seat[] } {
  if (salon.next?.index === index) return { pick: salon.next };
  const eligible = eligibleSeats(salon, index);
  if (salon.chosen && eligible.includes(salon.chosen.seat)) return { pick: { index, seat: salon.chosen.seat, by: 'person', person: salon.chosen.person } };
  if (orderOf(salon) === 'round-robin') return { pick: { index, seat: eligible[0]!, by: 'order' } };
  if (eligible.length === 1) return { pick: { index, seat: eligible[0]!, by: 'last_left' } };
  const aimed = pendingInterjections(salon).find((q) => q.to !== undefined && q.afterTurns <= index && eligible.includes(q.to));
  if (aimed) return { pick: { index, seat: aimed.to!, by: 'question', person: aimed.author } };
  return { ask: eligible };
}

/**
 * The seat that takes turn `index` if it is known now: taken, picked, or needing no moderator. For the turn after the
 * coming one, the coming one's pick is assumed where it needs no moderator either (a turn started by an older
 * version, with no pick saved).
 */
export function knownSpeaker(salon: SalonRecord, index: number): Seat | undefined {
  const seat = seatOfTurn(salon, index);
  if (seat !== undefined || index > salon.turns.length + 1) return seat;
  let view = salon;
  if (index === salon.turns.length + 1 && salon.next?.index !== salon.turns.length) {
    const coming = planNext(salon, salon.turns.length);
    if (!('pick' in coming)) return undefined;
    view = { ...salon, next: coming.pick, chosen: coming.pick.by === 'person' ? undefined : salon.chosen };
  }
  const plan = planNext(view, index);
  return 'pick' in plan ? plan.pick.seat : undefined;
}

/** The participant who takes turn `index`, if it is known now. */
export function knownParticipant(salon: SalonRecord, index: number): Participant | undefined {
  const seat = knownSpeaker(salon, index);
  return seat === undefined ? undefined : salon.seats[seat];
}

/** What the moderator answered, read: a seat, or why there is none. */
export type ModeratorAnswer = { seat: Seat; reason?: string } | { miss: ModeratorMiss };

/** The pick from a moderator's answer: the seat it named if that seat may speak, else the one that spoke least recently. */
export function moderatedPick(salon: SalonRecord, index: number, eligible: Seat[], answer: ModeratorAnswer): NextSpeaker {
  if ('seat' in answer && eligible.includes(answer.seat)) {
    return { index, seat: answer.seat, by: 'moderator', ...(answer.reason ? { reason: answer.reason } : {}) };
  }
  const miss: ModeratorMiss = 'seat' in answer ? 'spoke_already' : answer.miss;
  return { index, seat: leastRecent(salon, eligible), by: 'fallback', miss };
}

/**
 * The round in which a question asked now would be answered: by `to` (at its next turn) or by whoever speaks in
 * turn `from`. Undefined when no turn is left for it.
 */
export function answeringRound(salon: SalonRecord, from: number, to?: Seat): AnsweredIn | undefined {
  const total = totalTurns(salon);
  if (from >= total) return undefined;
  const round = roundOf(salon, from);
  const coming = from === salon.turns.length;
  const speaker = knownSpeaker(salon, from);
  if (to === undefined) return { round, seat: speaker, next: coming };
  if (eligibleSeats(salon, from).includes(to)) return { round, seat: to, next: coming && speaker === to };
  // Spoken (or picked) in this round: its next turn is in the next one, if there is a next one.
  return roundStart(salon, round + 1) < total ? { round: round + 1, seat: to, next: false } : undefined;
}

/** Who will answer a question, and when: `seat` is unknown while the moderator has yet to pick; `next`: the coming turn. */
export interface AnsweredIn {
  round: number;
  seat?: Seat;
  next: boolean;
}

/** The first turn whose speaker is not yet picked: where a person's choice of the next speaker goes. */
export function firstUnpicked(salon: SalonRecord): number {
  return salon.turns.length + (salon.next?.index === salon.turns.length ? 1 : 0);
}
