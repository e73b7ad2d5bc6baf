/**
 * What the `/salon` subcommands answer when they succeed. `by` is the member's mention and `thread` the thread's
 * (`<@id>`, `<#id>`), as Discord renders them.
 */
import { formatUSD } from '../domain/ledger.js';
import type { AnsweredIn } from '../domain/order.js';
import type { SalonRecord, Seat } from '../domain/salon.js';
import { cutOnWord, listOf } from '../domain/text.js';

/** Said, without detail, when a command failed for a reason of our own (the log has the detail). */
export const UNEXPECTED_FAILURE_REPLY = 'Something went wrong on our side; nothing was changed. Try again in a moment.';

function roundsWord(n: number): string {
  return n === 1 ? 'round' : 'rounds';
}

/**
 * `/salon ask`: the question, shown in the thread so everyone watching knows what is coming, and who answers it
 * when: "next" when it is the coming turn, "in round 3" when the answer is a while off.
 */
export function askedReply(salon: SalonRecord, question: { name: string; text: string; to?: Seat }, answeredIn: AnsweredIn): string {
  const aimed = question.to !== undefined ? ` (for ${salon.seats[question.to]?.name})` : '';
  const who = answeredIn.seat !== undefined ? salon.seats[answeredIn.seat]?.name : 'Whoever the moderator picks';
  const soon = answeredIn.next ? 'next' : `in round ${answeredIn.round}`;
  const when = `${who} will answer it ${soon}${salon.status === 'paused' ? ', once the salon is resumed' : ''}`;
  return `❓ **${question.name}** asks${aimed}: ${question.text}\n-# ${when}.`;
}

/** `/salon close`: what comes before the archive (a synthesis, or why there is none). */
export function closedReply(by: string, synthesis: SalonRecord['synthesis']): string {
  const next =
    synthesis?.status === 'pending'
      ? 'A synthesis is being written; the transcript follows it'
      : synthesis?.status === 'failed'
        ? `There will be no synthesis: ${synthesis.reason}; the transcript follows`
        : 'The transcript follows';
  return `📦 Closed by ${by}. ${next}, then the thread is archived.`;
}

/** `/salon extend`: `nextSpeaker` when a finished salon carries on. */
export function extendedReply(reply: { by: string; added: number; total: number; nextSpeaker?: string }): string {
  const carryOn = reply.nextSpeaker !== undefined ? ` ${reply.nextSpeaker} speaks next.` : '';
  return `➕ ${reply.by} added ${reply.added} ${roundsWord(reply.added)}: the salon now has ${reply.total}.${carryOn}`;
}

/** `/salon fork`: where the fork went, who speaks in it, and the direction it was given. */
export function forkedReply(reply: { fromRound: number; thread: string; names: string[]; rounds: number; direction?: string }): string {
  return (
    `🍴 Forked after round ${reply.fromRound} into ${reply.thread}: ${listOf(
      reply.names.map((n) => `**${n}**`),
      'and',
    )}, ` + `${reply.rounds} more ${roundsWord(reply.rounds)}.${reply.direction ? ` Direction: “${cutOnWord(reply.direction, 200)}”` : ''}`
  );
}

/** `/salon next`: who speaks next, chosen by whom. */
export function nextChosenReply(reply: { by: string; name: string; round: number; afterCurrent: boolean }): string {
  const when = reply.afterCurrent ? 'after the turn being written' : 'next';
  return `⏭️ ${reply.by} chose **${reply.name}** to speak ${when} (round ${reply.round}).`;
}

/** `/salon share`: the link, said only to the one who shared. */
export function sharedReply(reply: { url: string; listed: boolean; again: boolean }): string {
  const where = reply.listed ? 'It is also listed on the gallery’s front page.' : 'It is not listed: only people with the link can open it.';
  const first = reply.again ? '🔗 This salon is shared here (the link has not changed):' : '🔗 This salon is now shared on the web:';
  return `${first} ${reply.url}\n${where} It updates live while the salon runs. \`/salon unshare\` turns the link off at once.`;
}

/** `/salon unshare`. */
export function unsharedReply(): string {
  return '🔒 This salon is no longer shared: its link shows nothing from now on, and open pages have stopped.';
}

/** `/salon pause`. */
export function pausedReply(by: string): string {
  return `⏸️ Paused by ${by}. A turn already being written will still appear. Use \`/salon resume\` to carry on.`;
}

/** `/salon resume budget:` on a salon that is running: only the budget changed. */
export function budgetSetReply(by: string, budgetUSD: number): string {
  return `💰 ${by} set the budget to ${formatUSD(budgetUSD)}.`;
}

/** `/salon resume`: the new budget, if one was given, and who speaks next. */
export function resumedReply(reply: { by: string; budgetUSD?: number; nextSpeaker?: string }): string {
  const budget = reply.budgetUSD !== undefined ? ` The budget is now ${formatUSD(reply.budgetUSD)}.` : '';
  return `▶️ Resumed by ${reply.by}.${budget}${reply.nextSpeaker !== undefined ? ` ${reply.nextSpeaker} speaks next.` : ''}`;
}

/** `/salon start`: who talks, where, for how long and at what cost at most. */
export function startedReply(reply: { names: string[]; moderator?: string; thread: string; rounds: number; budgetUSD?: number }): string {
  const budget = reply.budgetUSD !== undefined ? `, a budget of ${formatUSD(reply.budgetUSD)}` : '';
  const moderated = reply.moderator !== undefined ? `, moderated by **${reply.moderator}**,` : '';
  return (
    `🎙️ A salon between ${listOf(
      reply.names.map((n) => `**${n}**`),
      'and',
    )}${moderated} has begun in ${reply.thread}: ` + `${reply.rounds} ${roundsWord(reply.rounds)}${budget}. Join the thread to watch and ask questions.`
  );
}

/** `/salon transcript`: how far the salon has got. */
export function transcriptReply(salon: { done: number; rounds: number; turns: number }): string {
  return `📜 The transcript so far: ${salon.done} of ${salon.rounds} rounds, ${salon.turns} turns.`;
}

/** The description of the file `/salon transcript` sends. */
export const TRANSCRIPT_SO_FAR_FILE = 'Transcript so far';
