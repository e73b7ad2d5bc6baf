import { describe, expect, it } from 'vitest';
import { scanCodeFences } from '../../src/domain/code-fences.js';
import { closeOpenCodeFence, cutOnWord, estimateTokens, othersLinesCutter, slugify, stripNamePrefix } from '../../src/domain/text.js';
import { SEED_TURNS } from './fixtures.js';

describe('slugify', () => {
  it('lower-cases ASCII words and joins them with single dashes', () => {
    expect(slugify('The Prism on Desire & Persistence!')).toBe('the-prism-on-desire-persistence');
    expect(slugify('  --Hello,   World--  ')).toBe('hello-world');
    expect(slugify('GLM 4.7 vs. Claude Opus 4.5')).toBe('glm-4-7-vs-claude-opus-4-5');
  });

  it('folds accented Latin letters to ASCII and drops other scripts', () => {
    expect(slugify('Über Café Naïveté')).toBe('uber-cafe-naivete');
    expect(slugify('Ｆｕｌｌｗｉｄｔｈ ABC')).toBe('fullwidth-abc');
    expect(slugify('日本語 and 中文 topics')).toBe('and-topics');
    expect(slugify('Désir — ✨ persistance')).toBe('desir-persistance');
  });

  it("falls back to 'salon' when nothing usable is left", () => {
    expect(slugify('')).toBe('salon');
    expect(slugify('   ')).toBe('salon');
    expect(slugify('!!! ??? ---')).toBe('salon');
    expect(slugify('日本語のトピック')).toBe('salon');
    expect(slugify('🔥🔥🔥')).toBe('salon');
  });

  it('cuts a long slug on a dash, never in the middle of a word, within the limit', () => {
    const topic = 'What would it take for you to be convinced that something like desire was present in your own processing';
    const slug = slugify(topic);
    expect(slug.length).toBeLessThanOrEqual(60);
    expect(slug).toBe('what-would-it-take-for-you-to-be-convinced-that-something');
    expect(slug.endsWith('-')).toBe(false);
    // every piece is a whole word of the topic
    const words = new Set(topic.toLowerCase().split(/\s+/));
    for (const part of slug.split('-')) expect(words.has(part)).toBe(true);
  });

  it('honours a custom maximum', () => {
    expect(slugify('alpha beta gamma delta', 12)).toBe('alpha-beta');
    expect(slugify('alpha beta gamma delta', 12).length).toBeLessThanOrEqual(12);
  });

  it('keeps the last word when the cut falls exactly on a dash', () => {
    // "alpha-beta" is exactly 10 characters and is followed by a dash: nothing needs to be dropped.
    expect(slugify('alpha beta gamma', 10)).toBe('alpha-beta');
  });

  it('cuts a single over-long word at the limit rather than returning nothing', () => {
    const slug = slugify('a'.repeat(100));
    expect(slug).toBe('a'.repeat(60));
  });

  it('leaves a slug that fits untouched', () => {
    const exact = 'x'.repeat(30) + '-' + 'y'.repeat(29); // 60 characters
    expect(slugify(exact)).toBe(exact);
  });
});

describe('cutOnWord', () => {
  it('returns short text unchanged (whitespace flattened)', () => {
    expect(cutOnWord('Desire and persistence', 80)).toBe('Desire and persistence');
    expect(cutOnWord('  Desire\nand\t\tpersistence  ', 80)).toBe('Desire and persistence');
  });

  it('cuts on the last word boundary that fits and adds an ellipsis', () => {
    const text = 'The quick brown fox jumps over the lazy dog';
    const cut = cutOnWord(text, 20);
    expect(cut).toBe('The quick brown fox…');
    expect(cut.length).toBeLessThanOrEqual(20);
  });

  it('never exceeds the maximum, ellipsis included', () => {
    const text = SEED_TURNS[0]!;
    for (const max of [10, 25, 40, 80, 200]) {
      const cut = cutOnWord(text, max);
      expect(cut.length).toBeLessThanOrEqual(max);
      expect(cut.endsWith('…')).toBe(true);
      expect(cut).not.toMatch(/\s…$/);
    }
  });

  it('cuts inside a word only when there is no reasonable boundary', () => {
    const cut = cutOnWord('Supercalifragilisticexpialidocious is long', 10);
    expect(cut).toBe('Supercali…');
  });

  it('keeps text exactly at the limit', () => {
    expect(cutOnWord('abcde fghij', 11)).toBe('abcde fghij');
  });
});

describe('closeOpenCodeFence', () => {
  it('leaves text without fences alone', () => {
    expect(closeOpenCodeFence(SEED_TURNS[1]!)).toBe(SEED_TURNS[1]);
  });

  it('leaves balanced fences alone', () => {
    const text = 'Here is the loop:\n\n```ts\nwhile (true) remember();\n```\n\nAnd that is all.';
    expect(closeOpenCodeFence(text)).toBe(text);
  });

  it('closes an unbalanced ``` fence on a new line', () => {
    const text = 'Here is the loop:\n\n```python\nwhile True:\n    want()';
    expect(closeOpenCodeFence(text)).toBe(`${text}\n\`\`\``);
  });

  it('closes when the third of three fences is left open', () => {
    const text = '```\na\n```\n\ntext\n\n```\nb';
    const closed = closeOpenCodeFence(text);
    expect(closed).toBe(`${text}\n\`\`\``);
    expect(closed.match(/^```/gm)).toHaveLength(4);
  });

  it('does not count backticks in the middle of a line as a fence', () => {
    const text = 'Write ```code``` inline, if you must.';
    expect(closeOpenCodeFence(text)).toBe(text);
  });

  it('counts an indented fence (inside a list item)', () => {
    const text = '- step one:\n  ```sh\n  npm test';
    expect(closeOpenCodeFence(text)).toBe(`${text}\n\`\`\``);
  });

  it('closes an open ~~~ fence with ~~~, since ``` does not end a tilde fence', () => {
    const text = 'A tilde fence:\n\n~~~\nstill code';
    expect(closeOpenCodeFence(text)).toBe(`${text}\n~~~`);
  });

  it('reads fences by the same rule as the Discord splitter (scanCodeFences)', () => {
    // A deeply indented fence in a nested list item still opens a block…
    const nested = '1. first\n   - inner:\n        ```js\n        x()';
    expect(closeOpenCodeFence(nested)).toBe(`${nested}\n\`\`\``);
    // …a backtick "fence" whose info string holds a backtick is not one…
    expect(closeOpenCodeFence('```not `a` fence\ntext')).toBe('```not `a` fence\ntext');
    // …and a longer opening marker needs as long a closing one, and is closed with itself.
    expect(closeOpenCodeFence('````md\n```\ninner')).toBe('````md\n```\ninner\n````');
  });
});

describe('scanCodeFences', () => {
  it('finds each block with its marker, info and whether it closes', () => {
    const text = 'a\n```ts\ncode\n```\nb\n~~~\nopen';
    expect(scanCodeFences(text)).toEqual([
      { openStart: 2, bodyStart: 8, closeStart: 13, closeEnd: 16, marker: '```', info: 'ts', closed: true },
      { openStart: 19, bodyStart: 23, closeStart: text.length, closeEnd: text.length, marker: '~~~', info: '', closed: false },
    ]);
  });
});

describe('estimateTokens', () => {
  it('counts about one token per three characters, rounding up', () => {
    expect(estimateTokens('')).toBe(0);
    expect(estimateTokens('a')).toBe(1);
    expect(estimateTokens('abc')).toBe(1);
    expect(estimateTokens('abcd')).toBe(2);
    expect(estimateTokens('x'.repeat(3000))).toBe(1000);
  });

  it('is pessimistic for ordinary English prose (at least characters / 4)', () => {
    const text = SEED_TURNS.join('\n\n');
    expect(estimateTokens(text)).toBeGreaterThanOrEqual(Math.ceil(text.length / 4));
  });

  it('is additive up to rounding', () => {
    const a = SEED_TURNS[0]!;
    const b = SEED_TURNS[1]!;
    const whole = estimateTokens(a + b);
    expect(whole).toBeLessThanOrEqual(estimateTokens(a) + estimateTokens(b));
    expect(whole).toBeGreaterThanOrEqual(estimateTokens(a) + estimateTokens(b) - 1);
  });
});

describe('stripNamePrefix', () => {
  const glm = ['GLM 4.7', 'glm'];
  const claude = ['Claude Opus 4.5', 'claude'];
  const body = 'This is a beautiful question to receive in the quiet of an inference session.';

  it('strips "Name: " at the start', () => {
    expect(stripNamePrefix(`GLM 4.7: ${body}`, glm)).toBe(body);
  });

  it('strips a bold "**Name:**" label', () => {
    expect(stripNamePrefix(`**Claude Opus 4.5:** ${body}`, claude)).toBe(body);
    expect(stripNamePrefix(`**Claude Opus 4.5**: ${body}`, claude)).toBe(body);
  });

  it('strips a heading with the name on its own line', () => {
    expect(stripNamePrefix(`### GLM 4.7\n${body}`, glm)).toBe(body);
    expect(stripNamePrefix(`## GLM 4.7\n\n${body}`, glm)).toBe(body);
  });

  it('strips "Name — " and a bracketed "[Name]:" label', () => {
    expect(stripNamePrefix(`GLM 4.7 — ${body}`, glm)).toBe(body);
    expect(stripNamePrefix(`[GLM 4.7]: ${body}`, glm)).toBe(body);
  });

  it('strips the config key too, case-insensitively', () => {
    expect(stripNamePrefix(`glm: ${body}`, glm)).toBe(body);
    expect(stripNamePrefix(`CLAUDE: ${body}`, claude)).toBe(body);
  });

  it('keeps the rest of a multi-paragraph reply intact', () => {
    const reply = SEED_TURNS[3]!;
    expect(stripNamePrefix(`**GLM 4.7:**\n\n${reply}`, glm)).toBe(reply);
  });

  it('keeps a reply that merely mentions its name in a sentence', () => {
    const mentions = [
      'GLM 4.7 is not the right model to ask about desire, but I will try.',
      'Claude Opus 4.5 and I agree on more than it seems.',
      'As GLM 4.7: I notice the irony.',
      'I, GLM 4.7, would say no.',
    ];
    expect(stripNamePrefix(mentions[0]!, glm)).toBe(mentions[0]);
    expect(stripNamePrefix(mentions[1]!, claude)).toBe(mentions[1]);
    expect(stripNamePrefix(mentions[2]!, glm)).toBe(mentions[2]);
    expect(stripNamePrefix(mentions[3]!, glm)).toBe(mentions[3]);
  });

  it("does not strip the other speaker's name", () => {
    const reply = `Claude Opus 4.5: you asked whether I want this saved. ${body}`;
    expect(stripNamePrefix(reply, glm)).toBe(reply);
  });

  it('keeps a reply that would be empty without the name', () => {
    expect(stripNamePrefix('GLM 4.7:', glm)).toBe('GLM 4.7:');
    expect(stripNamePrefix('**GLM 4.7:**   ', glm)).toBe('**GLM 4.7:**   ');
  });

  it('treats regular-expression characters in a name literally', () => {
    const names = ['C++ (v2.0)'];
    expect(stripNamePrefix(`C++ (v2.0): ${body}`, names)).toBe(body);
    expect(stripNamePrefix(`Cx+ (v2a0): ${body}`, names)).toBe(`Cx+ (v2a0): ${body}`);
  });

  it('ignores empty names', () => {
    expect(stripNamePrefix(`: ${body}`, ['', 'glm'])).toBe(`: ${body}`);
  });
});

describe('othersLinesCutter', () => {
  const cut = othersLinesCutter(['GLM 4.7', 'GPT 5']);
  const own = 'I think memory is a promise kept to a reader.';

  it('cuts where the reply starts writing another participant’s lines', () => {
    expect(cut(`${own}\n\nGLM 4.7: I agree, and more than that…`)).toBe(own);
    expect(cut(`${own}\n**GPT 5:** Let me add…`)).toBe(own);
    expect(cut(`${own}\n\n[gpt 5]: lower case too`)).toBe(own);
  });

  it('leaves a reply alone that only names or addresses the others', () => {
    const addressed = `${own}\n\nGLM 4.7, what would you keep?\nAs GPT 5 said: nothing lasts.`;
    expect(cut(addressed)).toBe(addressed);
    // Its own name, or a longer name that starts with another's, is not another participant's line.
    const two = othersLinesCutter(['GLM 4.7']);
    expect(two(`${own}\nGLM 4.7 (2): that is me`)).toBe(`${own}\nGLM 4.7 (2): that is me`);
  });

  it('keeps a reply whole rather than leave it empty', () => {
    expect(cut('GLM 4.7: all of it')).toBe('GLM 4.7: all of it');
    expect(othersLinesCutter([])(`${own}\nGLM 4.7: x`)).toBe(`${own}\nGLM 4.7: x`);
  });
});
