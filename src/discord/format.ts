/** What the bot's own posts and replies look like. */
import { EmbedBuilder, time, TimestampStyles } from 'discord.js';
import { nextTurn, pendingInterjections, roundsDone, type SalonRecord } from '../domain/salon.js';
import { formatCost, formatTokens, formatUSD, ledgerOf } from '../domain/ledger.js';
import { cutOnWord } from '../domain/text.js';
import { pauseText, retryText } from '../wording/index.js';

const COLOR = 0x8a6fd1;

export function describeDelay(seconds: number): string {
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

/** The thread's first post: the topic, the two participants with their model ids, rounds and pace. */
export function headerEmbed(salon: SalonRecord): EmbedBuilder {
  const { A, B } = salon.seats;
  const embed = new EmbedBuilder()
    .setColor(COLOR)
    .setTitle(cutOnWord(`Salon: ${salon.topic}`, 256))
    .setDescription(cutOnWord(salon.topic, 4_000))
    .addFields(
      { name: 'Speaks first', value: `**${A.name}**\n\`${A.model}\``, inline: true },
      { name: 'Answers', value: `**${B.name}**\n\`${B.model}\``, inline: true },
      { name: 'Rounds', value: `${salon.rounds} (${describeDelay(salon.delaySeconds)})`, inline: false },
    )
    .setFooter({ text: `Started by ${salon.starter.name} · write in this thread (or use /salon ask) to put a question to the next speaker` });
  if (salon.parent) {
    const where = salon.parent.threadId ? `<#${salon.parent.threadId}>` : 'an earlier salon';
    const carried = salon.carried ?? 0;
    embed.addFields({
      name: 'Forked from',
      value: `${where}, after round ${salon.parent.fromRound}: ${carried} ${carried === 1 ? 'turn' : 'turns'} carried over as history (not posted again here).`,
    });
  }
  return embed;
}

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
    const when = due <= now ? 'now' : time(new Date(due), TimestampStyles.RelativeTime);
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
