/**
 * The web gallery's pure rendering: hostile text from models and people cannot run script, load anything or break
 * out of its turn; anchors are stable and unique; no Discord id reaches a page or an export; the JSON export matches
 * its schema exactly.
 */
import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import { createSalon, type Participant, type SalonRecord } from '../../src/domain/salon.js';
import { addInterjection, close, commitSynthesis, share } from '../../src/domain/transitions.js';
import { exportHtml, EXPORT_CSP } from '../../src/web/render/export-html.js';
import { exportJson, SALON_EXPORT_SCHEMA } from '../../src/web/render/export-json.js';
import { renderIndexPage, type IndexEntry } from '../../src/web/render/index-page.js';
import { LIVE_SCRIPT } from '../../src/web/render/live-script.js';
import { renderMarkdown } from '../../src/web/render/markdown.js';
import { renderDraftHtml, renderLiveParts, renderSalonPage, renderTurnHtml, turnAnchors } from '../../src/web/render/page.js';
import { SALON_CSS } from '../../src/web/render/style.js';
import { playTurns, T0 } from '../domain/fixtures.js';
import { forkSalon, moderatedSalon, takeTurns, CLAUDE, GLM, GPT } from '../domain/panel-fixtures.js';

/** Snowflake-like ids, each recognisable, none of which may reach a page or an export. */
const IDS = {
  guild: '110000000000000001',
  channel: '220000000000000002',
  thread: '330000000000000003',
  starter: '440000000000000004',
  asker: '550000000000000005',
  question: '660000000000000006',
  parentThread: '770000000000000007',
  message: '880000000000000008',
};
const TOKEN = 'Zt0k3nS3cr3tZt0k3nS3cr3t';
const PUBLIC = 'https://salon.example';
const PAGE = `${PUBLIC}/s/${TOKEN}`;

const HOSTILE_TURNS = [
  'Plain words first. <script>alert(1)</script>',
  'An image tag <img src=x onerror=alert(1)> and a link [x](javascript:alert(1)) and [y](JAVASCRIPT:alert(2)).',
  'A picture ![p](https://evil.example/p.png) then </article></main><script>alert(3)</script> escape attempt.',
  'Autolinks <javascript:alert(4)> and <a href="javascript:alert(5)">raw</a> and <iframe src="https://evil.example/"></iframe> <svg onload=alert(6)>',
  '# A heading\n\n```\nopen fence <script>alert(7)</script>',
  'Last words [ok](https://fine.example/path?a=1&b="2") and www.example.org.',
];

const NAMES: Participant[] = [
  { key: 'a', name: 'Q"uote <b>bold</b>', model: 'vendor/model-a' },
  { key: 'b', name: 'GLM 4.7', model: 'z-ai/glm-4.7' },
  { key: 'c', name: 'GLM-4.7', model: 'z-ai/glm-4.7' },
];

const TOPIC = 'Is "x" < y? <script>alert(8)</script> [t](javascript:alert(9)) ![i](https://evil.example/t.png)';

/** A closed, three-seat salon full of hostile text, with Discord ids everywhere the record keeps them. */
function hostileSalon(): SalonRecord {
  const salon = createSalon(
    {
      id: IDS.thread,
      guildId: IDS.guild,
      channelId: IDS.channel,
      threadId: IDS.thread,
      starter: { id: IDS.starter, name: 'Ada "the <starter>"' },
      topic: TOPIC,
      seats: NAMES,
      rounds: 3,
      delaySeconds: 0,
    },
    T0,
  );
  let clock = playTurns(salon, 2, T0, HOSTILE_TURNS);
  addInterjection(
    salon,
    {
      id: IDS.question,
      author: { id: IDS.asker, name: 'Eve <img src=x onerror=alert(1)>' },
      text: '<script>alert(10)</script> why? [q](javascript:alert(11))',
      to: 2,
    },
    clock,
  );
  clock = playTurns(salon, 4, clock, HOSTILE_TURNS);
  addInterjection(salon, { id: `${IDS.question}9`, author: { id: IDS.asker, name: 'Late "Larry"' }, text: 'Too late </main>' }, clock);
  for (const turn of salon.turns) turn.messageIds = [IDS.message];
  share(salon, TOKEN, false, clock);
  close(salon, clock + 1000, { synthesizer: NAMES[1] });
  commitSynthesis(salon, { ok: true, name: 'GLM 4.7', model: 'z-ai/glm-4.7', text: 'Synthesis <script>alert(12)</script> **bold**' }, clock + 2000);
  return salon;
}

const pageOf = (salon: SalonRecord, live = false) => renderSalonPage(salon, { publicUrl: PUBLIC, pageUrl: PAGE, live, now: new Date(T0 + 3_600_000) });

/** Every tag in the document: text is escaped, so each literal `<` opens a real tag. */
function tags(html: string): string[] {
  return html.match(/<[!/]?[a-zA-Z][^>]*>/g) ?? [];
}

const ALLOWED_TAGS = new Set(
  'html head body meta title link script style div main header footer section article aside nav h1 h2 h3 h4 h5 h6 p a em strong code pre ul ol li table thead tbody tr th td time blockquote hr br'.split(
    ' ',
  ),
);

function assertSafe(html: string, { scripts }: { scripts: number }): void {
  const all = tags(html);
  for (const tag of all) {
    const name = /^<\/?!?([a-zA-Z0-9]+)/.exec(tag)?.[1]?.toLowerCase() ?? '';
    if (name !== 'doctype') expect(ALLOWED_TAGS, tag).toContain(name);
    expect(tag, 'event handler attribute').not.toMatch(/\son[a-z]+\s*=/i);
    expect(tag, 'style attribute').not.toMatch(/\sstyle\s*=/i);
    for (const [, href] of tag.matchAll(/\shref="([^"]*)"/g)) expect(href).toMatch(/^(https?:\/\/|mailto:|#|\/assets\/)/);
    if (!tag.startsWith('<script')) expect(tag).not.toMatch(/\ssrc\s*=/i);
  }
  expect(html.match(/<script/g) ?? []).toHaveLength(scripts);
  if (scripts === 1) expect(html).toContain('<script src="/assets/live.js" defer></script>');
  expect(html).not.toContain('src="http');
  expect(html).not.toMatch(/href="\s*javascript:/i);
  for (const id of Object.values(IDS)) expect(html).not.toContain(id);
}

describe('renderMarkdown', () => {
  it.each([
    ['<script>alert(1)</script>', '&lt;script&gt;alert(1)&lt;/script&gt;'],
    ['<img src=x onerror=alert(1)>', '&lt;img src=x onerror=alert(1)&gt;'],
    ['[x](javascript:alert(1))', '[x](javascript:alert(1))'],
    ['[x](//evil.example/)', '[x](//evil.example/)'],
    ['[x](data:text/html;base64,PHNjcmlwdD4=)', '[x](data:text/html;base64,PHNjcmlwdD4=)'],
    ['<vbscript:msgbox>', '&lt;vbscript:msgbox&gt;'],
    ['![p](https://evil.example/p.png)', '<a href="https://evil.example/p.png" rel="nofollow ugc noopener noreferrer" class="image-link">p</a>'],
    ['![](https://evil.example/p.png)', '>https://evil.example/p.png</a>'],
    ['![p](file:///etc/passwd)', '![p](file:///etc/passwd)'],
    ['[![p](https://e.example/i.png)](https://e.example/)', '<a href="https://e.example/" rel="nofollow ugc noopener noreferrer">p</a>'],
    ['see www.example.com', '<a href="http://www.example.com" rel="nofollow ugc noopener noreferrer">www.example.com</a>'],
    ['mail ada@mail.com', '<a href="mailto:ada@mail.com" rel="nofollow ugc noopener noreferrer">ada@mail.com</a>'],
    ['| a | b |\n|--:|:-:|\n| 1 | 2 |', '<td class="align-right">1</td>'],
    ['# Big', '<h3>Big</h3>'],
  ])('%j renders safely', (input, expected) => {
    const html = renderMarkdown(input);
    expect(html).toContain(expected);
    for (const tag of tags(html)) expect(tag).not.toMatch(/^<(img|script|iframe|svg)|\sstyle=|\son[a-z]+=|\ssrc=|href="(?!https?:|mailto:)/i);
  });
});

describe('the salon page', () => {
  const salon = hostileSalon();
  const html = pageOf(salon, true);

  it('runs no script of its own text, loads nothing, and carries no Discord id', () => {
    assertSafe(html, { scripts: 1 });
    expect(pageOf(salon, false)).not.toContain('<script');
    expect(html).toContain('<link rel="stylesheet" href="/assets/salon.css">');
    expect(tags(html).filter((t) => t.startsWith('<link'))).toHaveLength(2); // the stylesheet and the canonical address
  });

  it('sends a live page the same summary and closing parts it shows, as safe as the page', () => {
    const parts = renderLiveParts(salon, new Date(T0 + 3_600_000));
    for (const part of [parts.summary, parts.closing]) {
      expect(html).toContain(part);
      assertSafe(part, { scripts: 0 });
    }
    expect(parts.summary).toMatch(/^<div id="salon-summary">.*<\/div>$/s);
    expect(parts.closing).toMatch(/^<div id="salon-closing">.*<\/div>$/s);
    expect(parts.closing).toContain('Archived');
  });

  it('keeps hostile text readable, escaped, and inside its turn', () => {
    expect(html).toContain('Plain words first. &lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('&lt;/article&gt;&lt;/main&gt;&lt;script&gt;alert(3)&lt;/script&gt;');
    expect(html).toContain('Q&quot;uote &lt;b&gt;bold&lt;/b&gt;');
    expect(html).toContain('Question from Eve &lt;img src=x onerror=alert(1)&gt;, for GLM-4.7');
    expect(html).toContain('Set by Ada &quot;the &lt;starter&gt;&quot;.');
    expect(html).toContain('Asked too late to be answered.');
    expect(html).toContain('<a href="https://evil.example/p.png" rel="nofollow ugc noopener noreferrer" class="image-link">p</a>');
    expect(html.match(/<article/g)).toHaveLength(salon.turns.length);
    expect(html.match(/<\/article>/g)).toHaveLength(salon.turns.length);
    expect(html.match(/<main>/g)).toHaveLength(1);
    expect(html.match(/<\/main>/g)).toHaveLength(1);
    // An open code fence is closed inside its own turn.
    expect(html).toContain('<pre><code>open fence &lt;script&gt;alert(7)&lt;/script&gt;\n</code></pre>');
  });

  it('shows the title, participants with models, rounds, the synthesis and the archived line', () => {
    expect(html).toContain('<h1>Salon: Q&quot;uote &lt;b&gt;bold&lt;/b&gt;, GLM 4.7 and GLM-4.7 — Is &quot;x&quot; &lt; y?');
    expect(html).toContain('<td>GLM-4.7</td><td><code>z-ai/glm-4.7</code></td>');
    expect(html).toContain('Rounds: 2 of 3');
    expect(html).toContain('The salon ended after 2 of 3 rounds.');
    expect(html).toContain('Synthesis &lt;script&gt;alert(12)&lt;/script&gt; <strong>bold</strong>');
    expect(html).toContain('Written by GLM 4.7 (<code>z-ai/glm-4.7</code>)');
    expect(html).toMatch(/Archived <time datetime="[^"]+">December 27, 2025<\/time>/);
    for (const ext of ['md', 'json', 'html']) expect(html).toContain(`href="${PAGE}.${ext}"`);
  });

  it('gives every turn a stable, unique anchor and its index', () => {
    expect(turnAnchors(salon)).toEqual([
      'round-1-q-uote-b-bold-b',
      'round-1-glm-4-7',
      'round-1-glm-4-7-2',
      'round-2-q-uote-b-bold-b',
      'round-2-glm-4-7',
      'round-2-glm-4-7-2',
    ]);
    const ids = [...html.matchAll(/\sid="([^"]*)"/g)].map((m) => m[1]);
    expect(new Set(ids).size).toBe(ids.length);
    salon.turns.forEach((_, i) => expect(html).toContain(`data-turn-index="${i}"`));
    expect(html).toContain('id="turns"');
    // The anchors of earlier turns do not move when the salon goes on.
    expect(turnAnchors({ turns: salon.turns.slice(0, 3) })).toEqual(turnAnchors(salon).slice(0, 3));
  });

  it('renders each turn exactly as renderTurnHtml does, for the live stream', () => {
    salon.turns.forEach((_, i) => expect(html).toContain(renderTurnHtml(salon, i)));
  });

  it('has Open Graph and Twitter tags, escaped, and noindex unless listed', () => {
    expect(html).toContain('<meta property="og:type" content="article">');
    expect(html).toContain(`<meta property="og:url" content="${PAGE}">`);
    expect(html).toContain('<meta name="twitter:card" content="summary">');
    const title = /<meta property="og:title" content="([^"]*)">/.exec(html)?.[1];
    expect(title).toContain('Is &quot;x&quot; &lt; y?');
    const description = /<meta property="og:description" content="([^"]*)">/.exec(html)?.[1] ?? '';
    expect(description).toContain('Q&quot;uote &lt;b&gt;bold&lt;/b&gt; (vendor/model-a)');
    const plain = description.replace(/&(quot|lt|gt|amp|#39);/g, '_');
    expect(plain.length).toBeLessThanOrEqual(200);
    expect(html).toContain('<meta name="robots" content="noindex">');
    const listed = structuredClone(salon);
    share(listed, TOKEN, true, T0);
    expect(pageOf(listed)).not.toContain('noindex');
  });

  it('a draft is marked as one, escaped, without an anchor', () => {
    const draft = renderDraftHtml('GLM <4.7>', 2, 'half <script>alert(1)</script> ```\ncode', 7);
    expect(draft).toContain('data-draft="true"');
    expect(draft).toContain('class="turn writing"');
    expect(draft).toContain('data-turn-index="7"');
    expect(draft).toContain('Round 2: GLM &lt;4.7&gt;');
    expect(draft).not.toContain('<script');
    expect(draft).not.toMatch(/\sid=/);
  });

  it('a running salon shows questions still waiting, and no ended or archived line', () => {
    const running = createSalon(
      { id: IDS.thread, threadId: IDS.thread, starter: { id: IDS.starter, name: 'Ada' }, topic: 'T', seats: [CLAUDE, GLM], rounds: 2, delaySeconds: 0 },
      T0,
    );
    playTurns(running, 1);
    addInterjection(running, { id: IDS.question, author: { id: IDS.asker, name: 'Bob' }, text: 'Next?' }, T0 + 60_000);
    const page = pageOf(running, true);
    expect(page).toContain('<aside class="question" data-before-turn="1">');
    expect(page).toContain('Waiting for an answer.');
    expect(page).not.toContain('ended after');
    expect(page).not.toContain('Archived');
    expect(page).toContain('data-last-turn="0"');
    assertSafe(page, { scripts: 1 });
  });
});

describe('a fork and a moderated salon', () => {
  it('a fork names its parent by topic and round, never by thread', () => {
    const fork = forkSalon([CLAUDE, GLM], 1, [CLAUDE, GLM, GPT], 2, {
      id: IDS.thread,
      threadId: IDS.thread,
      fork: {
        origin: { salonId: IDS.parentThread, threadId: IDS.parentThread, fromRound: 1, topic: 'The <parent> topic' },
        turns: [
          {
            index: 0,
            seat: 0,
            round: 1,
            name: CLAUDE.name,
            modelKey: 'claude',
            model: CLAUDE.model,
            text: 'p0',
            startedAt: 'x',
            finishedAt: 'x',
            answered: [],
          },
          { index: 1, seat: 1, round: 1, name: GLM.name, modelKey: 'glm', model: GLM.model, text: 'p1', startedAt: 'x', finishedAt: 'x', answered: [] },
        ].map((t) => ({ ...t, startedAt: new Date(T0).toISOString(), finishedAt: new Date(T0).toISOString(), messageIds: [IDS.message] })),
      },
    });
    playTurns(fork, 2);
    const page = pageOf(fork, true);
    assertSafe(page, { scripts: 1 });
    expect(page).toContain('Forked from the salon “The &lt;parent&gt; topic” after its round 1.');
    expect(page).toContain('The fork begins');
    const json = exportJson(fork, new Date(T0));
    expect(json.parent).toEqual({ topic: 'The <parent> topic', fromRound: 1, carriedTurns: 2 });
    expect(json.turns.map((t) => t.carried)).toEqual([true, true, false, false]);
    expect(validate(SALON_EXPORT_SCHEMA, json)).toEqual([]);
    for (const text of [JSON.stringify(json), exportHtml(fork, new Date(T0))]) for (const id of Object.values(IDS)) expect(text).not.toContain(id);
  });

  it('a moderated salon shows its moderator apart, in the page and the export', () => {
    const salon = moderatedSalon(3);
    takeTurns(salon, 3, T0, { seat: 1 });
    const page = pageOf(salon);
    expect(page).toMatch(/<tr class="moderator"><td>Moderator: Moderator<\/td><td><code>z-ai\/glm-4.7-air<\/code><\/td><td class="num">3 picks<\/td>/);
    const json = exportJson(salon, new Date(T0));
    expect(json.order).toBe('moderated');
    expect(json.moderator).toMatchObject({
      name: 'Moderator',
      model: 'z-ai/glm-4.7-air',
      picks: 3,
      tokens: { prompt: 300, cachedPrompt: 0, completion: 30, estimated: false },
    });
    expect(json.moderator?.costUSD).toBeCloseTo(0.003);
    expect(validate(SALON_EXPORT_SCHEMA, json)).toEqual([]);
  });
});

describe('the JSON export', () => {
  const salon = hostileSalon();
  const json = exportJson(salon, new Date(T0 + 3_600_000));

  it('validates against SALON_EXPORT_SCHEMA, and the checker refuses what the schema forbids', () => {
    expect(validate(SALON_EXPORT_SCHEMA, json)).toEqual([]);
    expect(validate(SALON_EXPORT_SCHEMA, JSON.parse(JSON.stringify(json)))).toEqual([]);
    expect(validate(SALON_EXPORT_SCHEMA, { ...json, id: IDS.thread })).toContain('$: unexpected property id');
    expect(validate(SALON_EXPORT_SCHEMA, { ...json, seats: [{ ...json.seats[0], threadId: 'x' }] })).toContain('$.seats[0]: unexpected property threadId');
    const { topic: _topic, ...missing } = json;
    expect(validate(SALON_EXPORT_SCHEMA, missing)).toContain('$: missing topic');
    expect(validate(SALON_EXPORT_SCHEMA, { ...json, format: 'salon.v2' })).not.toEqual([]);
  });

  it('matches the record: rounds, speakers, questions by display name, synthesis', () => {
    expect(json.format).toBe('salon.v1');
    expect(json.rounds).toEqual({ planned: 3, done: 2 });
    expect(json.turns.map((t) => [t.index, t.round, t.speaker, t.model])).toEqual(salon.turns.map((t) => [t.index, t.round, t.name, t.model]));
    expect(json.turns[0]?.text).toBe(HOSTILE_TURNS[0]);
    expect(json.seats.map((s) => [s.name, s.turns])).toEqual([
      ['Q"uote <b>bold</b>', 2],
      ['GLM 4.7', 2],
      ['GLM-4.7', 2],
    ]);
    expect(json.startedBy).toBe('Ada "the <starter>"');
    expect(json.questions[0]).toMatchObject({ asker: 'Eve <img src=x onerror=alert(1)>', to: 'GLM-4.7', answeredInTurn: 2 });
    expect(json.questions[1]).toMatchObject({ asker: 'Late "Larry"', to: null, answeredInTurn: null });
    expect(json.synthesis).toMatchObject({ by: 'GLM 4.7', model: 'z-ai/glm-4.7', text: 'Synthesis <script>alert(12)</script> **bold**' });
    expect(json.status).toBe('closed');
  });

  it('holds no Discord id, share token or record field beyond the format', () => {
    const text = JSON.stringify(json);
    for (const id of Object.values(IDS)) expect(text).not.toContain(id);
    expect(text).not.toContain(TOKEN);
    const keys = new Set<string>();
    const walk = (v: unknown): void => {
      if (Array.isArray(v)) v.forEach(walk);
      else if (v && typeof v === 'object')
        for (const [k, x] of Object.entries(v)) {
          keys.add(k);
          walk(x);
        }
    };
    walk(json);
    for (const forbidden of ['id', 'threadId', 'guildId', 'channelId', 'messageIds', 'share', 'token', 'starter', 'author', 'modelKey', 'lease', 'outbox']) {
      expect(keys).not.toContain(forbidden);
    }
  });
});

describe('the HTML export', () => {
  const salon = hostileSalon();
  const html = exportHtml(salon, new Date(T0 + 3_600_000));

  it('is one self-contained file: inline style, no script, nothing to load, a CSP that loads nothing', () => {
    assertSafe(html, { scripts: 0 });
    expect(html).toContain(`<meta http-equiv="Content-Security-Policy" content="${EXPORT_CSP.replace(/'/g, '&#39;')}">`);
    expect(EXPORT_CSP).toBe("default-src 'none'; style-src 'unsafe-inline'; img-src data:");
    expect(html).toContain(`<style>\n${SALON_CSS}</style>`);
    expect(html).not.toContain('<link');
    expect(html).not.toContain(TOKEN);
    // Links a model wrote stay links; no element other than a link names an address to load.
    for (const tag of tags(html)) if (!tag.startsWith('<a ')) expect(tag).not.toMatch(/\s(href|src|srcset|action|poster|data)=/i);
  });

  it('has the page content', () => {
    expect(html).toContain('Plain words first. &lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html.match(/<article/g)).toHaveLength(salon.turns.length);
    expect(html).toContain('Archived');
  });
});

describe('the index page', () => {
  const head = (over: Partial<IndexEntry>): IndexEntry => {
    const { turns: _t, ...rest } = createSalon(
      { id: IDS.thread, threadId: IDS.thread, starter: { id: IDS.starter, name: 'Ada' }, topic: 'T', seats: [CLAUDE, GLM], rounds: 3, delaySeconds: 0 },
      T0,
    );
    return { ...rest, ...over };
  };

  it('lists salons newest first, escaped, with rounds and pagination, and no script', () => {
    const heads = [
      head({ topic: 'Old <b>one</b>', createdAt: '2025-01-01T00:00:00.000Z', turnCount: 4, status: 'closed' }),
      head({ topic: 'New "one"', createdAt: '2025-06-01T00:00:00.000Z', turnCount: 1 }),
    ];
    const html = renderIndexPage({ heads, page: 2, pageCount: 3, publicUrl: `${PUBLIC}/`, linkFor: (h) => `${PUBLIC}/s/${h.topic.length}` });
    assertSafe(html, { scripts: 0 });
    expect(html.indexOf('New &quot;one&quot;')).toBeLessThan(html.indexOf('Old &lt;b&gt;one&lt;/b&gt;'));
    expect(html).toContain('Rounds: 2 of 3');
    expect(html).toContain('Rounds: 0 of 3 · in progress');
    expect(html).toContain(`<a rel="prev" href="${PUBLIC}/">Newer</a>`);
    expect(html).toContain(`<a rel="next" href="${PUBLIC}/?page=3">Older</a>`);
    expect(html).toContain('<link rel="stylesheet" href="/assets/salon.css">');
  });
});

describe('the live script', () => {
  it('is plain ES2020 that parses, follows the events, and sets the notice as text', () => {
    // Parsed, not run: a syntax error throws here.
    expect(() => new vm.Script(LIVE_SCRIPT)).not.toThrow();
    expect(LIVE_SCRIPT).toContain("new EventSource(location.pathname + '/events?after=' + after)");
    for (const event of ['turn', 'draft', 'state', 'end', 'gone']) expect(LIVE_SCRIPT).toContain(`addEventListener('${event}'`);
    expect(LIVE_SCRIPT).toContain("notice.textContent = 'This salon is no longer shared.'");
    expect(LIVE_SCRIPT.match(/innerHTML/g)).toHaveLength(1);
    expect(LIVE_SCRIPT).toContain('template.innerHTML = html');
  });
});

/**
 * A small checker for the JSON Schema keywords SALON_EXPORT_SCHEMA uses (type, const, enum, properties, required,
 * additionalProperties, items, minItems, minimum, anyOf, $ref to $defs, format date-time); returns the problems found.
 */
function validate(root: unknown, value: unknown): string[] {
  const problems: string[] = [];
  const typeOf = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'array' : Number.isInteger(v) ? 'integer' : typeof v);
  const check = (schema: any, v: unknown, path: string): void => {
    if (schema.$ref) {
      const name = String(schema.$ref).replace('#/$defs/', '');
      check((root as any).$defs[name], v, path);
      return;
    }
    if (schema.anyOf) {
      const fits = (schema.anyOf as unknown[]).some((s) => {
        const before = problems.length;
        check(s, v, path);
        const ok = problems.length === before;
        problems.length = before;
        return ok;
      });
      if (!fits) problems.push(`${path}: matches no alternative`);
      return;
    }
    if ('const' in schema && v !== schema.const) problems.push(`${path}: not ${String(schema.const)}`);
    if (schema.enum && !schema.enum.includes(v)) problems.push(`${path}: not one of ${schema.enum.join(', ')}`);
    if (schema.type) {
      const types: string[] = Array.isArray(schema.type) ? schema.type : [schema.type];
      const t = typeOf(v);
      if (!types.includes(t) && !(t === 'integer' && types.includes('number'))) {
        problems.push(`${path}: ${t}, not ${types.join(' or ')}`);
        return;
      }
    }
    if (typeof v === 'number' && schema.minimum !== undefined && v < schema.minimum) problems.push(`${path}: below ${schema.minimum}`);
    if (typeof v === 'string' && schema.format === 'date-time' && !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/.test(v))
      problems.push(`${path}: not a date-time`);
    if (Array.isArray(v)) {
      if (schema.minItems !== undefined && v.length < schema.minItems) problems.push(`${path}: fewer than ${schema.minItems} items`);
      if (schema.items) v.forEach((item, i) => check(schema.items, item, `${path}[${i}]`));
    } else if (v && typeof v === 'object') {
      const props = schema.properties ?? {};
      for (const key of schema.required ?? []) if (!(key in v)) problems.push(`${path}: missing ${key}`);
      for (const [key, item] of Object.entries(v)) {
        if (key in props) check(props[key], item, `${path}.${key}`);
        else if (schema.additionalProperties === false) problems.push(`${path}: unexpected property ${key}`);
      }
    }
  };
  check(root, value, '$');
  return problems;
}
