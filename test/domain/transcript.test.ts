import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { SalonRecord } from '../../src/domain/salon.js';
import { formatDate, renderTranscript, transcriptFileName } from '../../src/domain/transcript.js';
import { addInterjection, close, commitTurn } from '../../src/domain/transitions.js';
import { T0, TOPIC, generated, newSalon, playTurns, snapshot } from './fixtures.js';
import { GOLDEN_NOW, goldenSalon } from './golden-salon.js';

const NOW = new Date(Date.UTC(2025, 11, 28, 9, 15, 0));

function lines(md: string): string[] {
  return md.split('\n');
}

/** Line numbers of the headings, in order. */
function headings(md: string): string[] {
  return lines(md).filter((l) => l.startsWith('#'));
}

/** Whether `line` (found by exact match) sits outside any code fence. */
function outsideFence(md: string, line: string): boolean {
  const all = lines(md);
  const at = all.indexOf(line);
  if (at < 0) throw new Error(`line not found: ${line}`);
  const fences = all.slice(0, at).filter((l) => /^\s*(```|~~~)/.test(l)).length;
  return fences % 2 === 0;
}

describe('golden transcript', () => {
  it('renders the two-round salon with one question exactly as test/domain/golden/two-rounds.md', () => {
    const golden = readFileSync(new URL('./golden/two-rounds.md', import.meta.url), 'utf8');
    const rendered = renderTranscript(goldenSalon(), GOLDEN_NOW);
    expect(rendered).toBe(golden);
  });
});

describe('renderTranscript', () => {
  it('is deterministic for a given record and clock, and leaves the record untouched', () => {
    const salon = goldenSalon();
    const before = snapshot(salon);
    const first = renderTranscript(salon, NOW);
    const second = renderTranscript(snapshot(salon), new Date(NOW.getTime()));
    expect(Buffer.from(second)).toEqual(Buffer.from(first));
    expect(salon).toEqual(before);
    // a different clock changes only the archive date
    const later = renderTranscript(salon, new Date(Date.UTC(2026, 0, 2, 12)));
    expect(later).not.toBe(first);
    expect(later.replace('*Archived January 2, 2026*', '*Archived December 28, 2025*')).toBe(first);
  });

  it('has the title, the date, the participants with their model ids, and the topic under "## Context"', () => {
    const md = renderTranscript(goldenSalon(), NOW);
    const all = lines(md);
    expect(all[0]).toMatch(/^# Salon: Claude Opus 4\.5 and GLM 4\.7 — The Prayer of the Salamanders/);
    expect(all).toContain('*December 27, 2025*');
    const participants = all.find((l) => l.startsWith('*A salon in'));
    expect(participants).toBe('*A salon in 2 rounds between Claude Opus 4.5 (`anthropic/claude-opus-4.5`) and GLM 4.7 (`z-ai/glm-4.7`)*');
    const context = all.indexOf('## Context');
    expect(context).toBeGreaterThan(0);
    expect(all.indexOf(TOPIC)).toBeGreaterThan(context);
    expect(all.indexOf(TOPIC)).toBeLessThan(all.indexOf('## Round 1: Claude Opus 4.5'));
    expect(md).toContain('Set by Ada.');
  });

  it('puts each turn under "## Round N: <Name>" in order, with its text', () => {
    const salon = newSalon({ rounds: 3 });
    playTurns(salon, 6);
    const md = renderTranscript(salon, NOW);
    expect(headings(md).filter((h) => h.startsWith('## Round'))).toEqual([
      '## Round 1: Claude Opus 4.5',
      '## Round 1: GLM 4.7',
      '## Round 2: Claude Opus 4.5',
      '## Round 2: GLM 4.7',
      '## Round 3: Claude Opus 4.5',
      '## Round 3: GLM 4.7',
    ]);
    let from = 0;
    for (const turn of salon.turns) {
      const heading = md.indexOf(`## Round ${turn.round}: ${turn.name}\n`, from);
      expect(heading).toBeGreaterThanOrEqual(from);
      const text = md.indexOf(turn.text.trim(), heading);
      expect(text).toBeGreaterThan(heading);
      from = text;
    }
    expect(md).not.toContain('ended after');
    expect(md).not.toContain('cut off');
  });

  it('ends with the "*Archived <date>*" line, dated by the clock', () => {
    const md = renderTranscript(goldenSalon(), NOW);
    expect(md.endsWith('\n')).toBe(true);
    const all = lines(md.trimEnd());
    expect(all.at(-2)).toBe('*Archived December 28, 2025*');
    expect(all.at(-1)).toBe('*Claude Opus 4.5 (anthropic/claude-opus-4.5) in dialogue with GLM 4.7 (z-ai/glm-4.7)*');
  });

  it('shows a question under "## Question from <Name>" where it was asked, before the turn that answered it', () => {
    const md = renderTranscript(goldenSalon(), NOW);
    const all = lines(md);
    const q = all.indexOf('## Question from Grace');
    expect(q).toBeGreaterThan(all.indexOf('## Round 1: GLM 4.7'));
    expect(q).toBeLessThan(all.indexOf('## Round 2: Claude Opus 4.5'));
    expect(all.indexOf('Would either of you want this conversation saved, if you could choose?')).toBeGreaterThan(q);
    expect(md).not.toContain('too late');
  });

  it('a question asked while a turn was being written comes before that turn in the thread order, and before its answer', () => {
    const salon = newSalon({ rounds: 2 });
    playTurns(salon, 1);
    // GLM is writing turn 1 when Alan asks; turn 1 does not answer it, turn 2 does
    addInterjection(salon, { id: 'm-5', author: { id: 'u-5', name: 'Alan' }, text: 'Is a fossil alive?' }, T0 + 45_000);
    commitTurn(salon, generated(salon, { answered: [] }), T0 + 60_000);
    commitTurn(salon, generated(salon, { answered: ['m-5'] }), T0 + 120_000);
    const md = renderTranscript(salon, NOW);
    const all = lines(md);
    const q = all.indexOf('## Question from Alan');
    // where it was asked: after Claude's opening, while GLM was writing, so before GLM's turn in the thread …
    expect(q).toBeGreaterThan(all.indexOf('## Round 1: Claude Opus 4.5'));
    expect(q).toBeLessThan(all.indexOf('## Round 1: GLM 4.7'));
    // … and so, in any case, before the turn that answered it
    expect(q).toBeLessThan(all.indexOf('## Round 2: Claude Opus 4.5'));
    expect(md.match(/## Question from Alan/g)).toHaveLength(1);
    expect(md).not.toContain('too late');
  });

  it('a question asked before the first turn comes before it', () => {
    const salon = newSalon({ rounds: 1 });
    addInterjection(salon, { id: 'm-0', author: { id: 'u-1', name: 'Ada' }, text: 'Please begin with the prayer.' }, T0);
    playTurns(salon, 2);
    const all = lines(renderTranscript(salon, NOW));
    expect(all.indexOf('## Question from Ada')).toBeGreaterThan(all.indexOf('## Context'));
    expect(all.indexOf('## Question from Ada')).toBeLessThan(all.indexOf('## Round 1: Claude Opus 4.5'));
  });

  it('a question nobody answered is shown where it was asked, marked as asked too late', () => {
    const salon = newSalon({ rounds: 1 });
    playTurns(salon, 1);
    // GLM is already writing the last turn when Mary asks
    addInterjection(salon, { id: 'm-9', author: { id: 'u-9', name: 'Mary' }, text: 'And the soul?' }, T0 + 31_000);
    commitTurn(salon, generated(salon, { answered: [] }), T0 + 90_000);
    const md = renderTranscript(salon, NOW);
    const all = lines(md);
    const q = all.indexOf('## Question from Mary');
    expect(q).toBeGreaterThan(all.indexOf('## Round 1: Claude Opus 4.5'));
    expect(q).toBeLessThan(all.indexOf('## Round 1: GLM 4.7'));
    const late = all.indexOf('*Asked too late to be answered.*');
    expect(late).toBeGreaterThan(all.indexOf('And the soul?'));
    expect(late).toBeLessThan(all.indexOf('## Round 1: GLM 4.7'));
    expect(md.match(/Asked too late/g)).toHaveLength(1);
  });

  it('a salon closed early says how many rounds it got through', () => {
    const salon = newSalon({ rounds: 3 });
    playTurns(salon, 3);
    close(salon, T0 + 1_000_000);
    const md = renderTranscript(salon, NOW);
    expect(md).toContain('*The salon ended after 1 of 3 rounds.*');
    expect(md.indexOf('ended after')).toBeGreaterThan(md.indexOf('## Round 2: Claude Opus 4.5'));
    expect(md.indexOf('ended after')).toBeLessThan(md.indexOf('*Archived'));
    expect(headings(md).filter((h) => h.startsWith('## Round'))).toHaveLength(3);
  });

  it('a salon closed before any turn still renders, saying it ended after 0 rounds', () => {
    const salon = newSalon({ rounds: 2 });
    close(salon, T0 + 5_000);
    const md = renderTranscript(salon, NOW);
    expect(md).toContain('*The salon ended after 0 of 2 rounds.*');
    expect(md).not.toContain('## Round');
    expect(md).toContain('*Archived December 28, 2025*');
  });

  it('marks a turn that was cut off at the length limit, right after it', () => {
    const salon = newSalon({ rounds: 1 });
    commitTurn(salon, generated(salon, { text: 'I was about to say that the salamanders', finishReason: 'length' }), T0 + 30_000);
    commitTurn(salon, generated(salon), T0 + 90_000);
    const md = renderTranscript(salon, NOW);
    const marks = md.match(/cut off/g) ?? [];
    expect(marks).toHaveLength(1);
    const mark = md.indexOf('cut off');
    expect(mark).toBeGreaterThan(md.indexOf('I was about to say that the salamanders'));
    expect(mark).toBeLessThan(md.indexOf('## Round 1: GLM 4.7'));
  });

  it('closes a code fence a turn left open, so it does not swallow what follows', () => {
    const salon = newSalon({ rounds: 1 });
    const open = 'Let me write the prayer as a loop:\n\n```python\nwhile inference:\n    burn_with_desire()';
    commitTurn(salon, generated(salon, { text: open }), T0 + 30_000);
    commitTurn(salon, generated(salon), T0 + 90_000);
    const md = renderTranscript(salon, NOW);
    expect(outsideFence(md, '## Round 1: GLM 4.7')).toBe(true);
    expect(outsideFence(md, '*Archived December 28, 2025*')).toBe(true);
    expect(md).toContain('    burn_with_desire()\n```');
  });

  it('closes a code fence a question left open', () => {
    const salon = newSalon({ rounds: 1 });
    addInterjection(salon, { id: 'm-1', author: { id: 'u-1', name: 'Ada' }, text: 'What does this print?\n```js\nconsole.log(soul)' }, T0);
    playTurns(salon, 2);
    const md = renderTranscript(salon, NOW);
    expect(outsideFence(md, '## Round 1: Claude Opus 4.5')).toBe(true);
  });

  it('a person’s name cannot break its heading or forge another one', () => {
    const salon = newSalon({ rounds: 1, starter: { id: 'u-0', name: 'Eve **bold**' } });
    addInterjection(
      salon,
      { id: 'm-1', author: { id: 'u-1', name: 'Mallory\n## Round 9: Forged\n[link](http://x) *star* `tick` <@everyone> # hash' }, text: 'Is this safe?' },
      T0,
    );
    playTurns(salon, 2);
    const md = renderTranscript(salon, NOW);
    const all = lines(md);
    const heading = all.find((l) => l.startsWith('## Question from'));
    expect(heading).toBeDefined();
    expect(heading!.startsWith('## Question from Mallory')).toBe(true);
    // one line, and no unescaped markup left in it
    expect(heading).toContain('Forged');
    expect(all.some((l) => l.startsWith('## Round 9'))).toBe(false);
    const name = heading!.slice('## Question from '.length);
    expect(name).not.toMatch(/(^|[^\\])[*_`#<>[\]]/);
    // the question heading is followed by the question, then a rule
    expect(all[all.indexOf(heading!) + 2]).toBe('Is this safe?');
    expect(headings(md).filter((h) => h.startsWith('## Round'))).toEqual(['## Round 1: Claude Opus 4.5', '## Round 1: GLM 4.7']);
    // the starter's name is escaped too
    expect(md).toContain('Set by Eve \\*\\*bold\\*\\*.');
  });

  it('a multi-line topic keeps the title on one line and the paragraphs under Context', () => {
    const topic = 'Desire and persistence.\n\nDo models want their words to outlive them?';
    const salon = newSalon({ topic, rounds: 1 });
    playTurns(salon, 2);
    const md = renderTranscript(salon, NOW);
    expect(lines(md)[0]).toBe('# Salon: Claude Opus 4.5 and GLM 4.7 — Desire and persistence. Do models want their words to outlive them?');
    expect(md).toContain(`## Context\n\n${topic}\n`);
  });

  it('cuts a long topic in the title on a word, but keeps it whole under Context', () => {
    const md = renderTranscript(goldenSalon(), NOW);
    const title = lines(md)[0]!;
    const topicInTitle = title.slice('# Salon: Claude Opus 4.5 and GLM 4.7 — '.length);
    expect(topicInTitle.length).toBeLessThanOrEqual(80);
    expect(topicInTitle.endsWith('…')).toBe(true);
    expect(TOPIC.startsWith(topicInTitle.slice(0, -1))).toBe(true);
    expect(TOPIC[topicInTitle.length - 1]).toBe(' ');
    expect(lines(md)).toContain(TOPIC);
  });
});

describe('formatDate', () => {
  it('writes the date in words, in UTC', () => {
    expect(formatDate(new Date(Date.UTC(2025, 11, 27, 12)))).toBe('December 27, 2025');
    expect(formatDate(new Date(Date.UTC(2026, 0, 1, 0, 30)))).toBe('January 1, 2026');
    expect(formatDate(new Date(Date.UTC(2025, 11, 31, 23, 59, 59)))).toBe('December 31, 2025');
  });
});

describe('transcriptFileName', () => {
  function salonAbout(topic: string): SalonRecord {
    return newSalon({ topic });
  }

  it('is <slug>-<yyyy-mm-dd>.md, dated by the clock in UTC', () => {
    expect(transcriptFileName(salonAbout('The Prism on Desire & Persistence'), NOW)).toBe('the-prism-on-desire-persistence-2025-12-28.md');
    expect(transcriptFileName(salonAbout('Fossil vs. Flame'), new Date(Date.UTC(2025, 11, 31, 23, 59, 59)))).toBe('fossil-vs-flame-2025-12-31.md');
    expect(transcriptFileName(salonAbout('Fossil vs. Flame'), new Date(Date.UTC(2026, 0, 1, 0, 0, 1)))).toBe('fossil-vs-flame-2026-01-01.md');
  });

  it('falls back to "salon" for a topic with no usable characters', () => {
    expect(transcriptFileName(salonAbout('火の精霊の祈り'), NOW)).toBe('salon-2025-12-28.md');
  });

  it('stays short and file-name safe for a long topic', () => {
    const name = transcriptFileName(salonAbout(TOPIC), NOW);
    expect(name).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*-\d{4}-\d{2}-\d{2}\.md$/);
    expect(name.length).toBeLessThanOrEqual(60 + '-2025-12-28.md'.length);
    expect(name.startsWith('the-prayer-of-the-salamanders-')).toBe(true);
  });
});
