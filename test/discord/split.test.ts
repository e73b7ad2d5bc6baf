import { describe, expect, it } from 'vitest';
import { DISCORD_LIMITS } from '../../src/discord/limits.js';
import { splitMessage, type SplitOptions } from '../../src/discord/split.js';
import { seededRandom } from '../fakes/random.js';

// ---------------------------------------------------------------------------------------------------------------
// Checkers, written independently of the splitter so a shared misunderstanding cannot hide a bug.

/**
 * Rebuilds `text` from `chunks` exactly: each chunk, once an added reopening line is removed from its start and
 * an added closing line from its end, must be the very next stretch of the text after some whitespace. Where a
 * chunk ends in a fence line it is ambiguous whether the line is original or added, so both readings are tried.
 * Returns null when the chunks rebuild the text, else a description of where they stop matching.
 */
function reconstructionError(text: string, chunks: string[]): string | null {
  let furthest = { chunk: -1, cursor: 0 };
  const match = (i: number, cursor: number, reopen: string | null): boolean => {
    if (i > furthest.chunk) furthest = { chunk: i, cursor };
    if (i === chunks.length) return reopen === null && text.slice(cursor).trim() === '';
    let chunk = chunks[i]!;
    if (reopen !== null) {
      if (!chunk.startsWith(`${reopen}\n`)) return false;
      chunk = chunk.slice(reopen.length + 1);
    }
    const at = locate(text, cursor, chunk);
    if (at >= 0 && match(i + 1, at + chunk.length, null)) return true;
    const close = /\n([`~]{3,})$/.exec(chunk);
    const next = chunks[i + 1];
    if (close && next !== undefined && next.includes('\n')) {
      const marker = close[1]!;
      const firstLine = next.slice(0, next.indexOf('\n'));
      if (firstLine.startsWith(marker) && firstLine[marker.length] !== marker[0]) {
        const body = chunk.slice(0, -close[0].length);
        const bodyAt = locate(text, cursor, body);
        if (bodyAt >= 0 && match(i + 1, bodyAt + body.length, firstLine)) return true;
      }
    }
    return false;
  };
  if (match(0, 0, null)) return null;
  const { chunk, cursor } = furthest;
  return `chunk ${chunk} (${JSON.stringify(chunks[chunk]?.slice(0, 80))}) does not continue the text at ${cursor} (${JSON.stringify(text.slice(cursor, cursor + 80))})`;
}

/**
 * Where `piece` sits if it follows `cursor` after nothing but whitespace, else -1. When that whitespace spans a
 * line break, the piece must start at the beginning of a line: a line's indentation is never dropped.
 */
function locate(text: string, cursor: number, piece: string): number {
  if (piece.trim() === '') return -1;
  const indent = piece.length - piece.trimStart().length;
  let k = cursor;
  while (k < text.length && /\s/.test(text[k]!)) k++;
  const at = k - indent;
  if (at < cursor || !text.startsWith(piece, at)) return -1;
  const gap = text.slice(cursor, at);
  return gap.includes('\n') && !gap.endsWith('\n') ? -1 : at;
}

/** The fence still open at the end of `chunk` (CommonMark rules), or null when its fences balance. */
function openFenceAtEnd(chunk: string): string | null {
  let open: string | null = null;
  for (const line of chunk.split('\n')) {
    const m = /^[ \t]*(`{3,}|~{3,})(.*)$/.exec(line);
    if (!m) continue;
    const [, run, rest] = m as unknown as [string, string, string];
    if (open === null) {
      if (!(run[0] === '`' && rest.includes('`'))) open = run;
    } else if (run[0] === open[0] && run.length >= open.length && rest.trim() === '') {
      open = null;
    }
  }
  return open;
}

/** Whether `chunk` holds a code block with nothing but blank lines between its fences. */
function hasEmptyBlock(chunk: string): boolean {
  let open: string | null = null;
  let blank = true;
  for (const line of chunk.split('\n')) {
    const m = /^[ \t]*(`{3,}|~{3,})(.*)$/.exec(line);
    if (open === null) {
      if (m && !(m[1]![0] === '`' && m[2]!.includes('`'))) {
        open = m[1]!;
        blank = true;
      }
    } else if (m && m[1]![0] === open[0] && m[1]!.length >= open.length && m[2]!.trim() === '') {
      if (blank) return true;
      open = null;
    } else if (line.trim() !== '') {
      blank = false;
    }
  }
  return false;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** The invariants every split must keep; `closed` says every fence in the text is closed, so every chunk must balance. */
function expectValidSplit(text: string, chunks: string[], options: SplitOptions = {}, closed = true): void {
  const limit = options.limit ?? DISCORD_LIMITS.message;
  const firstLimit = options.firstLimit ?? limit;
  chunks.forEach((chunk, i) => {
    const max = i === 0 ? firstLimit : limit;
    expect(chunk.length, `chunk ${i} is over its limit`).toBeLessThanOrEqual(max);
    expect(chunk.trim(), `chunk ${i} is blank`).not.toBe('');
    expect(LONE_SURROGATE.test(chunk), `chunk ${i} has a broken surrogate pair`).toBe(false);
    if (closed || i < chunks.length - 1) expect(openFenceAtEnd(chunk), `chunk ${i} leaves a fence open`).toBeNull();
  });
  if (text.trim() === '') expect(chunks).toEqual([]);
  else if (text.trimEnd().length <= firstLimit) expect(chunks).toEqual([text.trimEnd()]);
  expect(reconstructionError(text, chunks)).toBeNull();
}

// ---------------------------------------------------------------------------------------------------------------
// Seeded text generation.

const FAMILY = '👨‍👩‍👧‍👦'; // one grapheme, eleven code units
const WORDS = [
  'the',
  'salon',
  'model',
  'answer',
  'quietly',
  'indeed',
  'café',
  'naïve',
  'über',
  'x',
  'Discord',
  'thread',
  '😀',
  '👍🏽',
  FAMILY,
  '🇯🇵',
  '日本語',
  '“quoted”',
  '**bold**',
  '`code`',
  '(aside)',
];
const ENDS = ['.', '!', '?', '…', '."', '.)', '。'];

function generator(seed: number) {
  const rnd = seededRandom(seed);
  const int = (min: number, max: number) => min + Math.floor(rnd() * (max - min + 1));
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const sentence = () => {
    const words = Array.from({ length: int(2, 18) }, () => pick(WORDS));
    return `${words.join(' ').replace(/^./, (c) => c.toUpperCase())}${pick(ENDS)}`;
  };
  const paragraph = (sentences = int(1, 14)) => Array.from({ length: sentences }, sentence).join(' ');
  const codeBlock = () => {
    const marker = pick(['```', '```', '~~~', '````']);
    const lang = pick(['', 'ts', 'python', 'c++', 'js title="a b"']);
    const lines: string[] = [];
    for (let i = int(1, 60); i > 0; i--) {
      const roll = rnd();
      if (roll < 0.08) lines.push('');
      else if (roll < 0.11) lines.push(`${' '.repeat(int(0, 8))}${'q'.repeat(int(100, 3000))}`);
      else if (roll < 0.13 && marker === '````') lines.push('```');
      else
        lines.push(
          `${' '.repeat(int(0, 8))}${Array.from({ length: int(1, 10) }, () => pick(['let', 'x', '=', 'f(y);', '{', '}', '"s"', '😀', '// note.'])).join(' ')}`,
        );
    }
    lines.push(`line${int(0, 99)}();`); // at least one line with code in it
    return `${marker}${lang}\n${lines.join('\n')}\n${marker}`;
  };
  const block = () => {
    const roll = rnd();
    if (roll < 0.4) return paragraph();
    if (roll < 0.5) return Array.from({ length: int(2, 6) }, (_, i) => `${pick(['- ', `${i + 1}. `, '  - '])}${paragraph(int(1, 2))}`).join('\n');
    if (roll < 0.72) return codeBlock();
    if (roll < 0.8) return `see https://example.com/${'p'.repeat(int(50, 4000))} there`;
    if (roll < 0.87) return FAMILY.repeat(int(10, 300));
    if (roll < 0.94) return '日本語の文章を分割するテストです。'.repeat(int(1, 200));
    return '漢字'.repeat(int(10, 1500));
  };
  const text = (blocks = int(1, 12)) => {
    let out = block();
    for (let i = 1; i < blocks; i++) out += pick(['\n\n', '\n\n', '\n', '\n\n\n', '\n \n']) + block();
    return out + pick(['', '\n', '  \n\n']);
  };
  return { rnd, int, pick, sentence, paragraph, text };
}

// ---------------------------------------------------------------------------------------------------------------

describe('splitMessage', () => {
  it('returns short text as one chunk, trimmed of trailing whitespace only', () => {
    expect(splitMessage('Hello there.')).toEqual(['Hello there.']);
    expect(splitMessage('  indented\n\nsecond paragraph  \n\n')).toEqual(['  indented\n\nsecond paragraph']);
  });

  it('returns no chunks for empty or whitespace-only text', () => {
    expect(splitMessage('')).toEqual([]);
    expect(splitMessage(' \n\t\n  ')).toEqual([]);
  });

  it('keeps text of exactly 2000 characters whole', () => {
    const text = `${'word '.repeat(399)}words`;
    expect(text.length).toBe(2000);
    expect(splitMessage(text)).toEqual([text]);
  });

  it('splits text of 2001 characters in two at the space', () => {
    const text = `${'a'.repeat(1000)} ${'b'.repeat(1000)}`;
    expect(text.length).toBe(2001);
    expect(splitMessage(text)).toEqual(['a'.repeat(1000), 'b'.repeat(1000)]);
  });

  it('packs a 5,000-character reply of paragraphs greedily, splitting only between paragraphs', () => {
    const g = generator(7);
    const paragraphs: string[] = [];
    while (paragraphs.join('\n\n').length < 5000) {
      let p = g.paragraph(20);
      // By code points, so the input itself holds no broken surrogate pair.
      p = [...p].slice(0, g.int(150, 700)).join('').trimEnd();
      paragraphs.push(p.replace(/\n/g, ' '));
    }
    const text = paragraphs.join('\n\n');
    const chunks = splitMessage(text);
    expectValidSplit(text, chunks);
    expect(chunks.length).toBeGreaterThanOrEqual(3);
    expect(chunks.join('\n\n')).toBe(text);
    for (let i = 0; i + 1 < chunks.length; i++) {
      const nextParagraph = chunks[i + 1]!.split('\n\n')[0]!;
      expect(chunks[i]!.length + 2 + nextParagraph.length, `chunk ${i} could have taken one more paragraph`).toBeGreaterThan(2000);
    }
  });

  it('splits one huge paragraph at sentence ends, filling each chunk', () => {
    const g = generator(11);
    const sentences: string[] = [];
    while (sentences.join(' ').length < 6500) {
      const words = Array.from({ length: g.int(6, 18) }, () => g.pick(['alpha', 'beta', 'gamma', 'delta', 'salon']));
      sentences.push(`${words.join(' ')}${g.pick(['.', '!', '?'])}`);
    }
    const text = sentences.join(' ');
    const chunks = splitMessage(text);
    expectValidSplit(text, chunks);
    expect(chunks.length).toBe(4);
    expect(chunks.join(' ')).toBe(text);
    for (let i = 0; i + 1 < chunks.length; i++) {
      expect(chunks[i]).toMatch(/[.!?]$/);
      const nextSentence = /^[^.!?]*[.!?]/.exec(chunks[i + 1]!)![0];
      expect(chunks[i]!.length + 1 + nextSentence.length).toBeGreaterThan(2000);
    }
  });

  it('hard-cuts a huge word only where nothing better exists, filling each chunk', () => {
    const url = `https://example.com/${'x'.repeat(4980)}`;
    const text = `See ${url} for details.`;
    const chunks = splitMessage(text);
    expectValidSplit(text, chunks);
    expect(chunks.map((c) => c.length)).toEqual([2000, 2000, text.length - 4000]);
    expect(chunks.join('')).toBe(text);
  });

  it('closes and reopens a long code block, with its language tag, across three chunks', () => {
    const lines = Array.from({ length: 140 }, (_, i) => `${'  '.repeat(1 + (i % 4))}const value${i} = compute(${i});`);
    const text = `Here is the code:\n\n\`\`\`ts\n${lines.join('\n')}\n\`\`\`\n\nDone.`;
    const chunks = splitMessage(text);
    expectValidSplit(text, chunks);
    expect(chunks).toHaveLength(3);
    expect(chunks[0]).toMatch(/^Here is the code:\n\n```ts\n/);
    expect(chunks[0]!.length).toBeGreaterThan(1950);
    expect(chunks[0]).toMatch(/\n```$/);
    expect(chunks[1]).toMatch(/^```ts\n[\s\S]*\n```$/);
    expect(chunks[2]).toMatch(/^```ts\n[\s\S]*\n```\n\nDone\.$/);
    for (const chunk of chunks) expect(openFenceAtEnd(chunk)).toBeNull();
    // Every code line, indentation included, survives whole in exactly one chunk.
    for (const line of lines) expect(chunks.filter((c) => c.split('\n').includes(line))).toHaveLength(1);
  });

  it('moves a code block that fits in a message of its own there whole rather than cutting it', () => {
    const code = `\`\`\`py\n${Array.from({ length: 60 }, (_, i) => `print(${i})  # a comment`).join('\n')}\n\`\`\``;
    const text = `${'Intro sentence here. '.repeat(40).trim()}\n\n${code}`;
    const chunks = splitMessage(text);
    expectValidSplit(text, chunks);
    expect(chunks).toEqual([text.slice(0, text.indexOf('\n\n')), code]);
  });

  it('reopens tilde and longer fences with their own marker, leaving a shorter inner fence as code', () => {
    const inner = ['```js', 'console.log(1);', '```'];
    const lines = Array.from({ length: 90 }, (_, i) => inner[i % 3]!);
    const text = `~~~~markdown\n${lines.join('\n')}\n~~~~`;
    const chunks = splitMessage(text, { limit: 120 });
    expectValidSplit(text, chunks, { limit: 120 });
    expect(chunks.length).toBeGreaterThan(5);
    for (const chunk of chunks.slice(1)) expect(chunk.startsWith('~~~~markdown\n')).toBe(true);
    for (const chunk of chunks) expect(chunk.endsWith('\n~~~~')).toBe(true);
  });

  it('leaves an unclosed code block unclosed in its last chunk, as in the original', () => {
    const text = `\`\`\`py\n${Array.from({ length: 400 }, (_, i) => `x = ${i}`).join('\n')}`;
    const chunks = splitMessage(text);
    expectValidSplit(text, chunks, {}, false);
    expect(chunks.length).toBeGreaterThan(1);
    expect(openFenceAtEnd(chunks.at(-1)!)).toBe('```');
    for (const chunk of chunks.slice(0, -1)) expect(chunk.endsWith('\n```')).toBe(true);
  });

  it('never cuts a surrogate pair or a grapheme at the boundary', () => {
    const pairs = `a${'😀'.repeat(1500)}`;
    const pairChunks = splitMessage(pairs);
    expectValidSplit(pairs, pairChunks);
    expect(pairChunks[0]).toHaveLength(1999);
    expect(pairChunks.join('')).toBe(pairs);

    const skinTone = `${'x'.repeat(1999)}👍🏽${'y'.repeat(500)}`;
    expect(splitMessage(skinTone)).toEqual(['x'.repeat(1999), `👍🏽${'y'.repeat(500)}`]);

    const families = FAMILY.repeat(400);
    const familyChunks = splitMessage(families);
    expectValidSplit(families, familyChunks);
    for (const chunk of familyChunks) expect(chunk).toBe(FAMILY.repeat(chunk.length / FAMILY.length));
    expect(familyChunks[0]).toHaveLength(Math.floor(2000 / FAMILY.length) * FAMILY.length);
  });

  it('splits CJK text without spaces after its sentence stops, or anywhere when it has none', () => {
    const sentence = '日本語の文章を分割するテストです。';
    const text = sentence.repeat(300);
    const chunks = splitMessage(text);
    expectValidSplit(text, chunks);
    expect(chunks.join('')).toBe(text);
    for (const chunk of chunks.slice(0, -1)) {
      expect(chunk.endsWith('。')).toBe(true);
      expect(chunk.length).toBeGreaterThan(2000 - sentence.length);
    }

    const unbroken = '漢'.repeat(4500);
    expect(splitMessage(unbroken).map((c) => c.length)).toEqual([2000, 2000, 500]);
  });

  it('does not treat a numbered list marker as a sentence end', () => {
    // The first sentence ends past the first message, so the only "sentence end" in reach is the marker's dot.
    const text = `1. ${'word '.repeat(12)}end. ${'More words. '.repeat(200)}`;
    const options = { firstLimit: 40 };
    const chunks = splitMessage(text, options);
    expectValidSplit(text, chunks, options);
    expect(chunks[0]).toBe(`1. ${'word '.repeat(6)}word`);
  });

  it('leaves room for a header in the first message with firstLimit', () => {
    const g = generator(3);
    const text = Array.from({ length: 20 }, () => g.paragraph(4)).join('\n\n');
    expect(text.length).toBeGreaterThan(4000);
    const options = { firstLimit: 1500 };
    const chunks = splitMessage(text, options);
    expectValidSplit(text, chunks, options);
    expect(chunks[0]!.length).toBeLessThanOrEqual(1500);
    expect(chunks.slice(1).some((c) => c.length > 1500)).toBe(true);

    const middling = `${'a'.repeat(900)}\n\n${'b'.repeat(900)}`;
    expect(splitMessage(middling, options)).toEqual(['a'.repeat(900), 'b'.repeat(900)]);
    expect(splitMessage(middling)).toEqual([middling]);
    expect(splitMessage('short', { firstLimit: 10, limit: 20 })).toEqual(['short']);
  });

  it('rejects limits that cannot hold a character', () => {
    expect(() => splitMessage('text', { limit: 0 })).toThrow(RangeError);
    expect(() => splitMessage('text', { limit: 1 })).toThrow(RangeError);
    expect(() => splitMessage('text', { firstLimit: 1.5 })).toThrow(RangeError);
    expect(() => splitMessage('text', { limit: Number.NaN })).toThrow(RangeError);
  });

  it('splits a 100,000-character reply correctly', () => {
    const g = generator(2024);
    let text = '';
    while (text.length < 100_000) text += `${g.text(12)}\n\n`;
    const chunks = splitMessage(text);
    expectValidSplit(text, chunks);
    expect(chunks.length).toBeGreaterThan(50);
  });

  it('keeps every invariant on a few hundred random texts', () => {
    const g = generator(42);
    for (let run = 0; run < 300; run++) {
      const text = g.text();
      const limit = g.pick([2000, 2000, 500, 120, 60]);
      const options: SplitOptions = { limit };
      if (g.rnd() < 0.5) options.firstLimit = g.int(Math.min(40, limit), limit);
      const chunks = splitMessage(text, options);
      try {
        expectValidSplit(text, chunks, options);
        // The generated blocks all hold code, so an empty one means a cut right after an opening line.
        for (const chunk of chunks) expect(hasEmptyBlock(chunk), chunk).toBe(false);
      } catch (err) {
        throw new Error(`run ${run} (${JSON.stringify(options)}, ${text.length} chars): ${(err as Error).message}`, { cause: err });
      }
    }
  });
});
