/**
 * The repetition measure (word-shingle Jaccard, the highest over the recent turns) on realistic text: the
 * archived dialogue of seed 000 must never look repetitive to it, a verbatim repeat must, and a lightly edited
 * repeat is pinned to what the measure actually gives.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { jaccard, repetitionScore, repetitionWindow, shingles } from '../../src/domain/repetition.js';
import { salonSchema } from '../../src/config/schema.js';

const SEED = '/work/shared/seeds/000_af13f58fde8d9627.txt';

/** The turns of seed 000, in the order spoken: the text under each `## Round N: …` heading, up to its `---` rule. */
function seedTurns(): string[] {
  const raw = readFileSync(SEED, 'utf8');
  return raw
    .split(/^## Round /m)
    .slice(1)
    .map((section) =>
      section
        .slice(section.indexOf('\n') + 1)
        .split(/^---$/m)[0]!
        .trim(),
    );
}

const words = (text: string) => text.split(/\s+/).filter(Boolean);

/** Replaces every `every`-th word (from the `offset`-th) with a word the text does not contain. */
function editEvery(text: string, every: number, offset = 3): string {
  return text
    .split(' ')
    .map((w, i) => (i % every === offset ? `zq${i}x` : w))
    .join(' ');
}

/** Replaces `count` words spread evenly through the text. */
function editWords(text: string, count: number): string {
  const parts = text.split(' ');
  const step = Math.floor(parts.length / (count + 1));
  for (let k = 1; k <= count; k++) parts[k * step] = `zq${k}x`;
  return parts.join(' ');
}

const DEFAULT_THRESHOLD = salonSchema.parse({ modelA: 'a', modelB: 'b' }).repetition.threshold;

describe('repetition score on the seed 000 dialogue', () => {
  const turns = seedTurns();

  it('parses the ten turns of the five rounds', () => {
    expect(turns).toHaveLength(10);
    expect(turns[0]).toMatch(/^I am Claude \(Opus 4\.5\)/);
    expect(turns[9]).toMatch(/The channel is now closed\.$/);
    for (const t of turns) expect(words(t).length).toBeGreaterThan(100);
  });

  it('scores every genuine turn far below the default threshold (0.8) against the previous four', () => {
    expect(DEFAULT_THRESHOLD).toBe(0.8);
    const window = repetitionWindow(2);
    expect(window).toBe(4);
    const scores = turns.map((t, i) => repetitionScore(t, turns.slice(Math.max(0, i - window), i)));
    const sorted = [...scores].sort((a, b) => a - b);
    const median = (sorted[4]! + sorted[5]!) / 2;
    console.log(
      `[repetition] seed 000 scores vs previous ${window}: ${scores.map((s) => s.toFixed(3)).join(', ')}; max ${Math.max(...scores).toFixed(3)}, median ${median.toFixed(3)}`,
    );
    for (const s of scores) expect(s).toBeLessThan(DEFAULT_THRESHOLD);
    // Not just below: a whole order of magnitude below, so a threshold far lower would still be safe on real talk.
    expect(Math.max(...scores)).toBeLessThan(0.1);
    expect(scores[0]).toBe(0);
  });

  it('scores a turn repeated verbatim 1, also with other turns in the window and in other case or spacing', () => {
    for (const [i, t] of turns.entries()) {
      expect(repetitionScore(t, [t])).toBe(1);
      expect(repetitionScore(t, [turns[(i + 1) % 10]!, t, turns[(i + 2) % 10]!])).toBe(1);
    }
    expect(repetitionScore(turns[3]!.toUpperCase().replace(/\n+/g, '  '), [turns[3]!])).toBe(1);
  });

  it('scores a repeat with three words changed (in a 120-700 word turn) at or above the default threshold', () => {
    const scores = turns.map((t) => repetitionScore(editWords(t, 3), [t]));
    console.log(`[repetition] 3 words changed: ${scores.map((s) => s.toFixed(3)).join(', ')}`);
    for (const s of scores) {
      expect(s).toBeGreaterThanOrEqual(DEFAULT_THRESHOLD);
      expect(s).toBeLessThan(1);
    }
  });

  it('pins the measure on a short turn: five words changed in the 123-word opening already falls below 0.8', () => {
    const shortest = [...turns].sort((a, b) => words(a).length - words(b).length)[0]!;
    expect(words(shortest)).toHaveLength(123);
    expect(repetitionScore(editWords(shortest, 3), [shortest])).toBeGreaterThanOrEqual(DEFAULT_THRESHOLD);
    const five = repetitionScore(editWords(shortest, 5), [shortest]);
    expect(five).toBeGreaterThan(0.75);
    expect(five).toBeLessThan(DEFAULT_THRESHOLD);
  });

  it('pins the measure: one word in twenty changed scores about 0.74, below the default threshold', () => {
    // Each changed word breaks the three shingles that contain it on both sides: with r the share of words changed,
    // the score is about (1 - 3r) / (1 + 3r). At r = 5 % that is 0.74, so the default 0.8 catches a repeat only
    // while fewer than about 1 word in 27 has changed.
    const scores = turns.map((t) => repetitionScore(editEvery(t, 20), [t]));
    console.log(`[repetition] 1 word in 20 changed: ${scores.map((s) => s.toFixed(3)).join(', ')}`);
    for (const s of scores) {
      expect(s).toBeGreaterThan(0.7);
      expect(s).toBeLessThan(DEFAULT_THRESHOLD);
    }
    // One in ten changed: about 0.54.
    for (const t of turns) expect(repetitionScore(editEvery(t, 10), [t])).toBeLessThan(0.6);
  });

  it('takes the highest similarity over the window, not the union: a turn stitched from two earlier halves scores low', () => {
    const [a, b] = [turns[4]!, turns[6]!];
    const half = (t: string, first: boolean) => {
      const w = t.split(' ');
      return (first ? w.slice(0, w.length / 2) : w.slice(w.length / 2)).join(' ');
    };
    const stitched = `${half(a, true)} ${half(b, false)}`;
    const score = repetitionScore(stitched, [a, b]);
    expect(score).toBeGreaterThan(0.2);
    expect(score).toBeLessThan(0.6);
  });

  it('measures the cost of scoring a 300-word turn against four others', () => {
    const text300 = (t: string) => words(t).slice(0, 300).join(' ');
    const mine = text300(`${turns[7]!} ${turns[8]!}`);
    const recent = [turns[3]!, turns[4]!, turns[5]!, turns[6]!].map(text300);
    expect(words(mine)).toHaveLength(300);
    for (let i = 0; i < 100; i++) repetitionScore(mine, recent); // warm-up
    const iterations = 1_000;
    const started = performance.now();
    let sink = 0;
    for (let i = 0; i < iterations; i++) sink += repetitionScore(mine, recent);
    const perTurnMs = (performance.now() - started) / iterations;
    console.log(`[repetition] scoring a 300-word turn against 4 others: ${(perTurnMs * 1000).toFixed(1)} µs per turn (mean of ${iterations})`);
    expect(sink).toBeGreaterThanOrEqual(0);
    expect(Number.isFinite(perTurnMs)).toBe(true);
  });
});

describe('shingles and jaccard', () => {
  it('makes lower-cased three-word shingles, ignoring punctuation', () => {
    expect([...shingles('The fossil, the FLAME — the fossil!')]).toEqual(['the fossil the', 'fossil the flame', 'the flame the', 'flame the fossil']);
  });

  it('compares a text shorter than one shingle by its words', () => {
    expect([...shingles('Thank you')]).toEqual(['thank you']);
    expect(repetitionScore('Thank you.', ['thank you!'])).toBe(1);
    expect(repetitionScore('Thank you.', ['Thank you kindly.'])).toBe(0);
  });

  it('gives 0 for empty text and for no recent turns', () => {
    expect(shingles('  …  ').size).toBe(0);
    expect(jaccard(new Set(), new Set(['a b c']))).toBe(0);
    expect(repetitionScore('', ['anything at all here'])).toBe(0);
    expect(repetitionScore('a b c d', [])).toBe(0);
  });

  it('is the share of shingles in common over all distinct shingles', () => {
    expect(jaccard(new Set(['a', 'b', 'c']), new Set(['b', 'c', 'd']))).toBeCloseTo(2 / 4, 12);
    expect(jaccard(new Set(['a']), new Set(['a']))).toBe(1);
  });
});

describe('scoring against stored turns', () => {
  it('scores a stored turn as its text, again and again, and another turn object with new text afresh', () => {
    const text = 'the archive is a promise kept to a reader who has not arrived yet';
    const turn = { text: 'an archive is a promise kept to a reader who may never come' };
    const expected = repetitionScore(text, [turn.text]);
    expect(expected).toBeGreaterThan(0.2);
    expect(repetitionScore(text, [turn])).toBe(expected);
    expect(repetitionScore(text, [turn])).toBe(expected);
    expect(repetitionScore(text, [{ text: 'something else entirely' }])).toBe(0);
  });
});
