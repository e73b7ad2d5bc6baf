/**
 * The archive of a salon as Markdown, in the manner of the hand-made archives it replaces:
 * a title, the date, the participants, the topic as context, each turn under `## Round N: <Name>`,
 * questions from the audience under their own heading, and a closing `*Archived <date>*` line.
 * Pure and deterministic: the same record and clock give the same bytes.
 */
import { formatCost, formatTokens, ledgerOf } from './ledger.js';
import { closeOpenCodeFence, cutOnWord, listOf, neutraliseMarkdownBlocks, slugify } from './text.js';
import { orderOf } from './order.js';
import { questionsByTurn, roundsDone, type SalonRecord } from './salon.js';

const RULE = '---';

/** Said after a reply that reached the model's length limit: in the archive, and under the turn in Discord. */
export const CUT_OFF_LINE = '*(cut off: the reply reached its length limit)*';

export function formatDate(date: Date): string {
  return new Intl.DateTimeFormat('en-US', { year: 'numeric', month: 'long', day: 'numeric', timeZone: 'UTC' }).format(date);
}

/** `<slug>-<yyyy-mm-dd>.md`, dated by when the archive is made. */
export function transcriptFileName(salon: SalonRecord, now: Date): string {
  return `${slugify(salon.topic)}-${now.toISOString().slice(0, 10)}.md`;
}

/** Text from people goes into headings and italics: keep it on one line and free of characters that would end the markup early. */
function inline(text: string): string {
  return text
    .replace(/\s+/g, ' ')
    .replace(/[*_`#<>[\]|]/g, (c) => `\\${c}`)
    .trim();
}

/** 2025-12-27 14:03 UTC */
function formatTime(date: Date): string {
  return `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** Who took part, with what they used: tokens and cost per model and in total. */
function ledgerTable(salon: SalonRecord): string {
  const { byModel, moderator, total } = ledgerOf(salon);
  const row = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [
    row(['Participant', 'Model', 'Turns', 'Tokens', 'Cost']),
    row(['---', '---', '---:', '---', '---']),
    ...byModel.map(({ name, model, tally }) => row([inline(name), `\`${model}\``, String(tally.count), formatTokens(tally), formatCost(tally)])),
    ...(moderator
      ? [
          row([
            `*Moderator:* ${inline(moderator.name)}`,
            `\`${moderator.model}\``,
            `${moderator.tally.count} ${moderator.tally.count === 1 ? 'pick' : 'picks'}`,
            formatTokens(moderator.tally),
            formatCost(moderator.tally),
          ]),
        ]
      : []),
    row([salon.synthesis?.status === 'done' ? '**Total** (synthesis included)' : '**Total**', '', String(total.count), formatTokens(total), formatCost(total)]),
  ].join('\n');
}

/** The archive's last line: who took part (each already written as the document needs it), as the seeds say it. */
export function inDialogue(participants: string[]): string {
  return participants.length === 2 ? `${participants[0]} in dialogue with ${participants[1]}` : `${listOf(participants)} in dialogue`;
}

/** Who speaks when, as the context block says it. */
/**
 * Who speaks when, as the archive (and the web page) says it. `names` are the seats' names and `moderator` the
 * moderator's description, each already written as the document needs it.
 */
export function orderLine(salon: SalonRecord, names: string[], moderator?: string): string {
  if (orderOf(salon) === 'moderated') {
    return `Each round, every participant speaks once, in the order a moderator${moderator ? ` (${moderator})` : ''} chose.`;
  }
  if (names.length === 2) return `${names[0]} speaks first in each round, then ${names[1]}.`;
  return `Each round, the participants speak in this order: ${names.join(', ')}.`;
}

export function renderTranscript(salon: SalonRecord, now: Date): string {
  const names = salon.seats.map((p) => inline(p.name));
  const withModels = salon.seats.map((p) => `${inline(p.name)} (\`${p.model}\`)`);
  const started = new Date(salon.createdAt);
  // Blocks are separated by one blank line, as in the hand-made archives.
  const blocks: string[] = [
    `# Salon: ${listOf(names)} — ${inline(cutOnWord(salon.topic, 80))}`,
    `*${formatDate(started)}*\n*A salon in ${salon.rounds} ${salon.rounds === 1 ? 'round' : 'rounds'} between ${listOf(withModels)}*`,
    ledgerTable(salon),
    `*Rounds: ${roundsDone(salon)} of ${salon.rounds} · Started ${formatTime(started)}` +
      `${salon.finishedAt ? ` · Ended ${formatTime(new Date(salon.finishedAt))}` : ''}*`,
    RULE,
    '## Context',
    neutraliseMarkdownBlocks(closeOpenCodeFence(salon.topic.trim())),
    `Set by ${inline(salon.starter.name)}. ${orderLine(salon, names, salon.moderator && `${inline(salon.moderator.name)}, \`${salon.moderator.model}\``)}`,
  ];
  const carried = salon.carried ?? 0;
  if (salon.parent) {
    blocks.push(
      // No thread id: the archive is shared beyond Discord (the web gallery's .md), where ids have no place.
      `Forked from the salon “${inline(cutOnWord(salon.parent.topic, 120))}” after its round ${salon.parent.fromRound}.`,
    );
  }
  blocks.push(RULE);
  if (carried > 0) {
    blocks.push(
      '## Carried over from the parent salon',
      `*These ${carried} turns come from the parent salon; they were not posted again in this thread.*`,
      RULE,
    );
  }

  // A question is shown where it was asked, or just before the turn that answered it if that came first.
  const byPosition = questionsByTurn(salon, (q) => Math.min(q.afterTurns, q.answeredBy ?? q.afterTurns));
  for (let i = 0; i <= salon.turns.length; i++) {
    if (carried > 0 && i === carried) blocks.push('## The fork begins', `*From here on, the turns were taken in this salon.*`, RULE);
    for (const q of byPosition.get(i) ?? []) {
      const to = q.to !== undefined ? `, for ${inline(salon.seats[q.to]?.name ?? '')}` : '';
      blocks.push(`## Question from ${inline(q.author.name)}${to}`, neutraliseMarkdownBlocks(closeOpenCodeFence(q.text.trim())));
      if (q.answeredBy === undefined) blocks.push('*Asked too late to be answered.*');
      blocks.push(RULE);
    }
    const turn = salon.turns[i];
    if (!turn) continue;
    blocks.push(`## Round ${turn.round}: ${inline(turn.name)}`, closeOpenCodeFence(turn.text.trim()));
    if (turn.finishReason === 'length') blocks.push(CUT_OFF_LINE);
    blocks.push(RULE);
  }

  const done = roundsDone(salon);
  if (salon.endedEarly) blocks.push(`*The salon ended early, after ${done} of ${salon.rounds} rounds: ${inline(salon.endedEarly)}.*`);
  else if (done < salon.rounds) blocks.push(`*The salon ended after ${done} of ${salon.rounds} rounds.*`);
  if (salon.synthesis?.status === 'done') {
    blocks.push(
      '## Synthesis',
      closeOpenCodeFence(salon.synthesis.text.trim()),
      `*Written by ${inline(salon.synthesis.name)} (\`${salon.synthesis.model}\`).*`,
      RULE,
    );
  } else if (salon.synthesis?.status === 'failed') {
    blocks.push('## Synthesis', `*The synthesis could not be written: ${inline(salon.synthesis.reason)}.*`, RULE);
  }
  const plain = salon.seats.map((p) => `${inline(p.name)} (${p.model})`);
  blocks.push(`*Archived ${formatDate(now)}*\n*${inDialogue(plain)}*`);
  return `${blocks.join('\n\n')}\n`;
}
