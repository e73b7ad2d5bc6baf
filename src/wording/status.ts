/** What `/salon status` says about a salon, and the thread's first post: its topic, speakers, rounds and pace. */
import { formatCost, formatTokens, formatUSD, ledgerOf } from '../domain/ledger.js';
import { nextTurn, pendingInterjections, roundsDone, type PauseReason, type SalonRecord } from '../domain/salon.js';
import { cutOnWord } from '../domain/text.js';

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

/** The thread's first post: the topic, the two participants with their model ids, rounds and pace. */
export function headerText(salon: SalonRecord): HeaderText {
  const { A, B } = salon.seats;
  const fields: HeaderText['fields'] = [
    { name: 'Speaks first', value: `**${A.name}**\n\`${A.model}\``, inline: true },
    { name: 'Answers', value: `**${B.name}**\n\`${B.model}\``, inline: true },
    { name: 'Rounds', value: `${salon.rounds} (${describeDelay(salon.delaySeconds)})`, inline: false },
  ];
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
  const { A, B } = salon.seats;
  const next = nextTurn(salon);
  const state: Record<SalonRecord['status'], string> = {
    running: '▶️ running',
    paused: '⏸️ paused',
    finished: '🏁 finished',
    closed: '📦 closed',
  };
  const lines = [
    `**Salon:** ${cutOnWord(salon.topic, 200)}`,
    `**State:** ${state[salon.status]}${salon.pausedReason ? ` — ${cutOnWord(pauseText(salon.pausedReason), 300)}` : ''}`,
    `**Round:** ${Math.min(salon.rounds, next ? next.round : roundsDone(salon))} of ${salon.rounds} (${salon.turns.length} of ${salon.rounds * 2} turns taken)`,
    `**Models:** ${A.name} (\`${A.model}\`) and ${B.name} (\`${B.model}\`)`,
  ];
  // The turn to be taken next failed and is being retried (the record keeps the failure until the turn is written).
  const retrying = next && salon.status === 'running' && salon.failure?.seat === next.seat ? salon.failure : undefined;
  if (next && salon.status === 'running') {
    const speaker = salon.seats[next.seat].name;
    const due = salon.nextTurnAt ?? now;
    const when = due <= now ? 'now' : relativeTime(due);
    if (retrying) {
      lines.push(
        ...retryText({ name: speaker, attempts: retrying.attempts, maxAttempts: retrying.maxAttempts, when, reason: cutOnWord(retrying.reason, 300) }),
      );
    } else {
      lines.push(`**Next turn:** ${speaker}, ${when}`);
    }
  } else if (next && salon.status === 'paused') {
    lines.push(`**Next turn:** ${salon.seats[next.seat].name}, once resumed`);
  }
  const waiting = pendingInterjections(salon).length;
  if (waiting > 0) lines.push(`**Questions waiting:** ${waiting}`);
  const { byModel, total } = ledgerOf(salon);
  lines.push('**Spent:**');
  for (const { name, tally } of byModel) lines.push(`- ${name}: ${formatTokens(tally)} tokens · ${formatCost(tally)}`);
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
