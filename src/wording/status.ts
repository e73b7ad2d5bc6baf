/** What `/salon status` says about a salon, and the thread's first post: its topic, speakers, rounds and pace. */
import { formatCost, formatTokens, formatUSD, ledgerOf } from '../domain/ledger.js';
import { orderOf, planNext, type ModeratorMiss, type NextSpeaker } from '../domain/order.js';
import { nextTurn, pendingInterjections, roundsDone, seatAt, totalTurns, type PauseReason, type SalonRecord } from '../domain/salon.js';
import { cutOnWord, listOf } from '../domain/text.js';

/** How long to wait between turns, in words. */
function describeDelay(seconds: number): string {
  if (seconds === 0) return 'no pause between turns';
  const units: [number, string][] = [
    [86_400, 'day'],
    [3_600, 'hour'],
    [60, 'minute'],
    [1, 'second'],
  ];
  const parts: string[] = [];
  let rest = seconds;
  for (const [size, unit] of units) {
    const n = Math.floor(rest / size);
    if (n > 0) parts.push(`${n} ${unit}${n === 1 ? '' : 's'}`);
    rest -= n * size;
  }
  return `${parts.join(' ')} between turns`;
}

/** The words of the thread's first post; the Discord adapter lays them out in an embed, within Discord's limits. */
export interface HeaderText {
  title: string;
  description: string;
  fields: { name: string; value: string; inline?: boolean }[];
  footer: string;
}

const ORDINALS = ['Speaks 1st', 'Speaks 2nd', 'Speaks 3rd', 'Speaks 4th', 'Speaks 5th', 'Speaks 6th'];

/** Who sits where, as the header names each seat's field. */
function seatTitle(salon: SalonRecord, seat: number): string {
  if (orderOf(salon) === 'moderated') return `Seat ${seat + 1}`;
  if (salon.seats.length === 2) return seat === 0 ? 'Speaks first' : 'Answers';
  return ORDINALS[seat] ?? `Seat ${seat + 1}`;
}

/** The thread's first post: the topic, every participant with its model id, the order, rounds and pace. */
export function headerText(salon: SalonRecord): HeaderText {
  const fields: HeaderText['fields'] = salon.seats.map((p, seat) => ({ name: seatTitle(salon, seat), value: `**${p.name}**\n\`${p.model}\``, inline: true }));
  if (orderOf(salon) === 'moderated' && salon.moderator) {
    fields.push({
      name: 'Order',
      value: `Moderated by **${salon.moderator.name}** (\`${salon.moderator.model}\`): it picks who speaks next; everyone speaks once a round.`,
      inline: false,
    });
  }
  fields.push({ name: 'Rounds', value: `${salon.rounds} (${describeDelay(salon.delaySeconds)})`, inline: false });
  if (salon.parent) {
    const where = salon.parent.threadId ? `<#${salon.parent.threadId}>` : 'an earlier salon';
    const carried = salon.carried ?? 0;
    fields.push({
      name: 'Forked from',
      value: `${where}, after round ${salon.parent.fromRound}: ${carried} ${carried === 1 ? 'turn' : 'turns'} carried over as history (not posted again here).`,
    });
  }
  return {
    title: `Salon: ${salon.topic}`,
    description: salon.topic,
    fields,
    footer: `Started by ${salon.starter.name} · write in this thread (or use /salon ask) to put a question to the next speaker`,
  };
}

/** A moment as Discord shows it to each reader, relative to now ("in 5 minutes"). */
function relativeTime(ms: number): string {
  return `<t:${Math.floor(ms / 1000)}:R>`;
}

/** What `/salon status` says: the topic, state, round, models, the next turn (or the one being retried), and spending. */
export function statusText(salon: SalonRecord, now: number): string {
  const next = nextTurn(salon);
  const models = salon.seats.map((p) => `${p.name} (\`${p.model}\`)`);
  const state: Record<SalonRecord['status'], string> = {
    running: '▶️ running',
    paused: '⏸️ paused',
    finished: '🏁 finished',
    closed: '📦 closed',
  };
  const lines = [
    `**Salon:** ${cutOnWord(salon.topic, 200)}`,
    `**State:** ${state[salon.status]}${salon.pausedReason ? ` — ${cutOnWord(pauseText(salon.pausedReason), 300)}` : ''}`,
    `**Round:** ${Math.min(salon.rounds, next ? next.round : roundsDone(salon))} of ${salon.rounds} ` +
      `(${salon.turns.length} of ${totalTurns(salon)} turns taken)`,
    `**Models:** ${listOf(models, 'and')}`,
  ];
  if (orderOf(salon) === 'moderated' && salon.moderator) lines.push(`**Order:** moderated by ${salon.moderator.name} (\`${salon.moderator.model}\`)`);
  const plan = next ? planNext(salon, next.index) : undefined;
  const pick = plan && 'pick' in plan ? plan.pick : undefined;
  // Who speaks next, and why, where there is a choice to explain: a panel, a moderator, a person's pick.
  const why = pick && (salon.seats.length > 2 || orderOf(salon) === 'moderated' || pick.by !== 'order') ? ` (${pickText(salon, pick)})` : '';
  const speaker = pick
    ? `${seatAt(salon, pick.seat).name}${why}`
    : `the moderator picks among ${listOf(plan && 'ask' in plan ? plan.ask.map((s) => seatAt(salon, s).name) : [], 'and')}`;
  // The turn to be taken next failed and is being retried (the record keeps the failure until the turn is written).
  const retrying = next && salon.status === 'running' && pick && salon.failure?.seat === pick.seat ? salon.failure : undefined;
  if (next && salon.status === 'running') {
    const due = salon.nextTurnAt ?? now;
    const when = due <= now ? 'now' : relativeTime(due);
    if (retrying) {
      lines.push(
        ...retryText({
          name: seatAt(salon, pick!.seat).name,
          attempts: retrying.attempts,
          maxAttempts: retrying.maxAttempts,
          when,
          reason: cutOnWord(retrying.reason, 300),
        }),
      );
    } else {
      lines.push(`**Next turn:** ${speaker}, ${when}`);
    }
  } else if (next && salon.status === 'paused') {
    lines.push(`**Next turn:** ${speaker}, once resumed`);
  }
  const waiting = pendingInterjections(salon).length;
  if (waiting > 0) lines.push(`**Questions waiting:** ${waiting}`);
  // Whether it is on the web, never the link: status answers anyone, the link is for whoever shared it to pass on.
  if (salon.share) lines.push(`**On the web:** shared${salon.share.listed ? ', listed on the gallery' : ''} (\`/salon share\` gives the link to the starter)`);
  const { byModel, moderator, total } = ledgerOf(salon);
  lines.push('**Spent:**');
  for (const { name, tally } of byModel) lines.push(`- ${name}: ${formatTokens(tally)} tokens · ${formatCost(tally)}`);
  if (moderator) {
    const picks = `${moderator.tally.count} ${moderator.tally.count === 1 ? 'pick' : 'picks'}`;
    lines.push(`- Moderator (${moderator.name}, ${picks}): ${formatTokens(moderator.tally)} tokens · ${formatCost(moderator.tally)}`);
  }
  lines.push(`- Total: ${formatTokens(total)} tokens · ${formatCost(total)}`);
  if (total.estimated) lines.push('-# ~ marks token counts estimated by salon: the endpoint reported none.');
  if (salon.budgetUSD !== undefined) {
    const left = Math.max(0, salon.budgetUSD - total.usd);
    lines.push(`**Budget:** ${formatUSD(salon.budgetUSD)}, ${formatUSD(left)} left${total.unpriced > 0 ? ' (turns of unknown cost not counted)' : ''}`);
  } else {
    lines.push('**Budget:** none');
  }
  return lines.join('\n');
}

const MISSES: Record<ModeratorMiss, string> = {
  failed: 'the moderator did not answer in time',
  unclear: 'the moderator named no one who may speak',
  spoke_already: 'the moderator named someone who has spoken this round',
};

/** Why this seat speaks next, as `/salon status` says it. */
export function pickText(salon: SalonRecord, pick: NextSpeaker): string {
  switch (pick.by) {
    case 'order':
      return 'in order';
    case 'last_left':
      return 'the last to speak this round';
    case 'person':
      return `chosen by ${pick.person.name}`;
    case 'question':
      return `a question from ${pick.person.name} is waiting for them`;
    case 'moderator':
      return pick.reason ? `chosen by the moderator: “${cutOnWord(pick.reason, 200)}”` : 'chosen by the moderator';
    case 'fallback':
      return `${MISSES[pick.miss]}; ${seatAt(salon, pick.seat).name} spoke least recently`;
  }
}

/** Why a salon paused itself, as `/salon status` shows it. */
export function pauseText(reason: PauseReason): string {
  switch (reason.code) {
    case 'budget_reached':
      return `budget reached: ${formatUSD(reason.spent)} spent of ${formatUSD(reason.budget)}`;
    case 'model_failed':
      return `${reason.name} failed: ${reason.reason}`;
    case 'undeliverable':
      return reason.reason;
    case 'thread_deleted':
      return 'the thread was deleted';
    case 'legacy':
      return reason.text;
  }
}

/**
 * A turn being retried, as `/salon status` shows it: who, which try comes next and when (`when` is already worded:
 * a Discord timestamp, or "now"), and why the last one failed.
 */
function retryText(retry: { name: string; attempts: number; maxAttempts?: number; when: string; reason: string }): string[] {
  const next = retry.attempts + 1;
  const of = retry.maxAttempts !== undefined ? ` of ${retry.maxAttempts}` : '';
  return [`**Retrying:** ${retry.name}, try ${next}${of}, ${retry.when}`, `**Last try failed:** ${retry.reason}`];
}
