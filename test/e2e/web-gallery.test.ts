/**
 * The web gallery in a real browser (Debian's Chromium through playwright-core), against the real bot, the fake
 * Discord and the local model server: share, the page, live turns and drafts, a dropped connection, unshare, hostile
 * text, the exports, and an accessibility check. Judged by what the browser shows and what it was asked to load.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SALON_EXPORT_SCHEMA } from '../../src/web/render/export-json.js';
import { command } from '../helpers/command.js';
import { launchBrowser } from '../helpers/browser.js';
import { whenSalon } from '../helpers/engine-events.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';
import { tempDir } from '../helpers/tmp.js';
import { validateAgainst } from '../helpers/json-schema.js';
import { endWorld, startSalon, startWorld, type World, type WorldOptions } from './harness.js';

const require = createRequire(import.meta.url);

let browser: Browser;
let launched: Awaited<ReturnType<typeof launchBrowser>> | undefined;
beforeAll(async () => {
  launched = await launchBrowser();
  browser = launched.browser;
});
afterAll(async () => launched?.close());

async function galleryWorld(options: WorldOptions = {}): Promise<World> {
  return startWorld({ ...options, web: { port: 0, host: '127.0.0.1' } });
}

/** Shares the salon as its starter and returns the link the reply gives. */
async function share(world: World, threadId: string, listed = false): Promise<string> {
  const reply = await command(world.discord, world.ada, threadId, 'share', { listed }).response();
  expect(reply.ephemeral).toBe(true);
  const url = /(http:\/\/\S+\/s\/[A-Za-z0-9_-]+)/.exec(reply.content)?.[1];
  if (!url) throw new Error(`no link in the reply: ${reply.content}`);
  return url;
}

/** A page that records every request it makes and every error it logs. */
async function openPage(url: string): Promise<{ page: Page; requests: string[]; errors: string[] }> {
  const page = await browser.newPage();
  const requests: string[] = [];
  const errors: string[] = [];
  page.on('request', (r) => requests.push(r.url()));
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(url);
  return { page, requests, errors };
}

const turnTexts = (page: Page) => page.locator('[data-turn-index]:not([data-draft])').allTextContents();

describe('the web gallery', () => {
  let world: World | undefined;
  afterEach(async () => (world = await endWorld(world)));

  it('shows nothing until shared; the shared page shows every turn, its anchors and its exports', async () => {
    world = await galleryWorld({ rounds: 2 });
    const threadId = await startSalon(world);
    const done = await whenSalon(world.bot.engine, threadId, (s) => s.status === 'finished' && s.outbox.length === 0, 15_000);
    const base = world.bot.web!.url;
    expect((await fetch(`${base}/`)).status).toBe(200);
    expect(await (await fetch(`${base}/`)).text()).not.toContain(done.topic);

    // Only the starter (or Manage Threads) may share.
    const refused = await command(world.discord, world.bob, threadId, 'share').response();
    expect(refused.ephemeral).toBe(true);
    expect(refused.content).toContain('Only Ada');
    const url = await share(world, threadId);
    expect(url).not.toContain(threadId);
    expect(url).not.toContain(world.ada.id);
    expect(await share(world, threadId)).toBe(url);
    // Anyone may ask the salon's status: it says the salon is shared, never the link.
    const status = await command(world.discord, world.bob, threadId, 'status').response();
    expect(status.content).toContain('**On the web:** shared');
    expect(status.content).not.toContain(new URL(url).pathname);

    const { page, requests, errors } = await openPage(url);
    expect(await page.title()).toContain('Claude Opus 4.5');
    const shown = await page.locator('article[data-turn-index]').count();
    expect(shown).toBe(4);
    for (const turn of done.turns) expect(await page.locator('main').textContent()).toContain(turn.text);
    expect(await page.locator('#round-2-glm-4-7').count()).toBe(1);
    // Everything it loaded is its own.
    expect(requests.every((r) => r.startsWith(base))).toBe(true);
    expect(errors, errors.join('\n')).toEqual([]);
    // A finished salon may still be extended: its page stays live.
    expect(requests.some((r) => r.includes('/events'))).toBe(true);

    // The exports: the transcript byte for byte, JSON in its schema, one HTML file.
    const md = await (await fetch(`${url}.md`)).text();
    const transcript = await command(world.discord, world.ada, threadId, 'transcript').response();
    expect(md.split('\n').slice(0, -3)).toEqual(transcript.attachments[0]!.text.split('\n').slice(0, -3));
    const json = (await (await fetch(`${url}.json`)).json()) as { format: string; turns: { speaker: string; round: number }[] };
    expect(validateAgainst(SALON_EXPORT_SCHEMA, json)).toEqual([]);
    expect(json.turns.map((t) => [t.round, t.speaker])).toEqual(done.turns.map((t) => [t.round, t.name]));
    // /salon transcript gives the same three, privately.
    for (const format of ['json', 'html'] as const) {
      const file = (await command(world.discord, world.ada, threadId, 'transcript', { format }).response()).attachments[0]!;
      expect(file.filename).toMatch(new RegExp(`\\.${format}$`));
      if (format === 'json') expect({ ...(JSON.parse(file.text) as object), exportedAt: null }).toEqual({ ...json, exportedAt: null });
      else expect(file.text).toContain(done.turns[0]!.text);
    }
    const jsonText = JSON.stringify(json);
    for (const id of [threadId, world.ada.id, world.discord.guildId, world.discord.channelId]) expect(jsonText).not.toContain(id);
    await page.close();

    // Closed, the page is the archive: no live connection.
    await command(world.discord, world.ada, threadId, 'close').response();
    await whenSalon(world.bot.engine, threadId, (s) => s.status === 'closed' && s.outbox.length === 0, 10_000);
    const closed = await openPage(url);
    expect(await closed.page.locator('article[data-turn-index]').count()).toBe(4);
    expect(closed.requests.some((r) => r.includes('/events') || r.includes('live.js'))).toBe(false);
    await closed.page.close();
    // A closed salon can be unshared and shared again: a new link, the archive behind it.
    await command(world.discord, world.ada, threadId, 'unshare').response();
    const again = await share(world, threadId);
    expect(again).not.toBe(url);
    expect((await fetch(again)).status).toBe(200);
    expect((await fetch(url)).status).toBe(404);
  });

  it('each turn shows once across a dropped connection, the turns missed meanwhile included', async () => {
    world = await galleryWorld({ rounds: 2, stream: true });
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const words = Array.from({ length: 40 }, (_, i) => `word${i}`);
    world.models.setScript(async (req) => {
      // The third turn waits for the test, then streams.
      if (req.index === 2) {
        await held;
        return { chunks: words.map((w) => `${w} `), chunkDelayMs: 20 };
      }
      return { text: `Turn ${req.index}.` };
    });
    const threadId = await startSalon(world);
    const link = await share(world, threadId);
    const proxy = await startTcpProxy(world.bot.web!.url);
    try {
      const { page } = await openPage(`${proxy.url}${new URL(link).pathname}`);
      await page.locator('article[data-turn-index="1"]').waitFor({ timeout: 10_000 });
      // The connection drops and stays down while the last two turns are written and posted.
      proxy.drop({ refuse: true });
      release();
      await whenSalon(world.bot.engine, threadId, (s) => s.status === 'finished' && s.outbox.length === 0, 15_000);
      const before = proxy.connections();
      proxy.allow();
      await page.locator('article[data-turn-index="3"]:not([data-draft])').waitFor({ timeout: 15_000 });
      expect(proxy.connections()).toBeGreaterThan(before);
      const indexes = await page.locator('article[data-turn-index]').evaluateAll((els) => els.map((e) => e.getAttribute('data-turn-index')));
      expect(indexes).toEqual(['0', '1', '2', '3']);
      expect((await turnTexts(page)).join(' ')).toContain('word39');
      await page.close();
    } finally {
      await proxy.close();
    }
  });

  it('keeps following a finished salon that is extended, and stops once it is closed', async () => {
    world = await galleryWorld({ rounds: 1 });
    const threadId = await startSalon(world);
    await whenSalon(world.bot.engine, threadId, (s) => s.status === 'finished' && s.outbox.length === 0, 15_000);
    const url = await share(world, threadId);
    const { page, requests } = await openPage(url);
    await expect.poll(() => world!.bot.web!.viewers(), { timeout: 5_000, interval: 20 }).toBe(1);
    await command(world.discord, world.ada, threadId, 'extend', { rounds: 1 }).response();
    await page.locator('article[data-turn-index="3"]:not([data-draft])').waitFor({ timeout: 15_000 });
    expect(await page.locator('article[data-turn-index]').count()).toBe(4);
    await command(world.discord, world.ada, threadId, 'close').response();
    // Closed: the stream ends and the page does not reconnect.
    await expect.poll(() => world!.bot.web!.viewers(), { timeout: 10_000, interval: 20 }).toBe(0);
    const streams = requests.filter((r) => r.includes('/events')).length;
    expect(streams).toBe(1);
    await page.close();
  });

  it('shows a turn growing while it is written, before it is finished', async () => {
    world = await galleryWorld({ rounds: 1, stream: true });
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    world.models.setScript(async (req) => {
      if (req.index === 0) {
        await held;
        return { chunks: ['The first half of a turn, ', 'and then the rest of it.'], chunkDelayMs: 2_000 };
      }
      return { text: 'The answer.' };
    });
    const threadId = await startSalon(world);
    const url = await share(world, threadId);
    const { page } = await openPage(url);
    // The page follows the salon before the turn starts.
    await expect.poll(() => world!.bot.web!.viewers(), { timeout: 5_000, interval: 20 }).toBe(1);
    release();
    // The draft shows what Discord's draft message shows, before the turn is committed.
    await page.locator('article[data-draft]', { hasText: 'The first half' }).waitFor({ timeout: 10_000 });
    expect((await world.bot.engine.get(threadId))!.turns).toHaveLength(0);
    await page.locator('article[data-turn-index="1"]:not([data-draft])').waitFor({ timeout: 15_000 });
    expect(await page.locator('article[data-turn-index="0"]').textContent()).toContain('and then the rest of it.');
    await page.close();
  });

  it('a page opened mid-turn shows the turn at once; closed then, the page drops it as the thread does and ends as a reload shows it', async () => {
    world = await galleryWorld({ rounds: 2, stream: true });
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    world.models.setScript(async (req) => {
      if (req.body.messages[0]!.content.includes('You write the synthesis')) return { text: 'Both **agreed** on the salamanders.' };
      if (req.index === 0) return { text: 'The salamanders keep what they were given.' };
      await held;
      // The turn shows its first words and never moves again: a page that joins later sees them only if the server kept them.
      return { chunks: ['Half of a thought that never ends'], hang: true };
    });
    const threadId = await startSalon(world);
    await whenSalon(world.bot.engine, threadId, (s) => s.turns.length === 1, 10_000);
    const url = await share(world, threadId);
    release();
    // The draft is in the thread and the salon knows its message: the live feed has been told (before the engine was).
    await whenSalon(world.bot.engine, threadId, (s) => (s.draft?.messageIds.length ?? 0) > 0, 10_000);
    const { page, errors } = await openPage(url);
    // Well before the draft's next update (about 5 s on: nothing new has come), which would show it anyway.
    await page.locator('article[data-draft]', { hasText: 'Half of a thought' }).waitFor({ timeout: 2_500 });
    expect(await page.locator('#salon-summary .progress').textContent()).toContain('In progress');
    expect(await page.locator('#synthesis').count()).toBe(0);

    await command(world.discord, world.ada, threadId, 'close', { synthesis: true }).response();
    // Without a reload: the synthesis and the archived line come in, and the half-written turn goes, as in the thread.
    await page.locator('#salon-closing footer.archived').waitFor({ timeout: 15_000 });
    expect(await page.locator('#synthesis strong').textContent({ timeout: 1_000 })).toBe('agreed');
    expect(await page.locator('article[data-draft]').count()).toBe(0);
    expect(await page.locator('#salon-summary .progress').textContent()).not.toContain('In progress');
    const reloaded = await openPage(url);
    for (const part of ['#salon-summary', '#salon-closing', '#turns']) {
      expect(await page.locator(part).innerText(), part).toBe(await reloaded.page.locator(part).innerText());
    }
    expect(errors).toEqual([]);
    await Promise.all([page.close(), reloaded.page.close()]);
  });

  it('unshare: the link answers 404 and an open page stops, saying so', async () => {
    world = await galleryWorld({ rounds: 3, turnDelaySeconds: 3600 });
    const threadId = await startSalon(world);
    await whenSalon(world.bot.engine, threadId, (s) => s.turns.length === 1 && s.outbox.length === 0, 10_000);
    const url = await share(world, threadId, true);
    const { page } = await openPage(url);
    await page.locator('article[data-turn-index="0"]').waitFor({ timeout: 10_000 });
    expect(await (await fetch(`${world.bot.web!.url}/`)).text()).toContain(url.slice(url.indexOf('/s/')));
    const reply = await command(world.discord, world.ada, threadId, 'unshare').response();
    expect(reply.ephemeral).toBe(true);
    for (const suffix of ['', '.md', '.json', '.html', '/events']) expect((await fetch(`${url}${suffix}`)).status).toBe(404);
    expect(await (await fetch(`${world.bot.web!.url}/`)).text()).not.toContain(url.slice(url.indexOf('/s/')));
    await page.getByText('no longer shared').waitFor({ timeout: 5_000 });
    // Sharing again makes a new link: the old one stays dead.
    const again = await share(world, threadId);
    expect(again).not.toBe(url);
    expect((await fetch(url)).status).toBe(404);
    await page.close();
  });

  it('shows hostile text from a model and a person as text: nothing runs, nothing loads, the page stays whole', async () => {
    world = await galleryWorld({ rounds: 1 });
    const hostile = [
      '<script>window.__pwned = 1</script>',
      '<img src=x onerror="window.__pwned = 2">',
      '[click](javascript:window.__pwned=3)',
      '![tracker](http://127.0.0.1:9/pixel.png)',
      '</article></main><script>window.__pwned = 4</script><p>after',
      '<iframe src="http://127.0.0.1:9/"></iframe>',
    ].join('\n\n');
    world.models.setScript((req) => ({ text: req.index === 0 ? hostile : 'A calm reply.' }));
    const threadId = await startSalon(world, { topic: 'Quotes " and <b>tags</b> & a <script>alert(1)</script>' });
    await command(world.discord, world.bob, threadId, 'ask', { question: '<img src=x onerror="window.__pwned = 5"> and [x](javascript:alert(1))' }).response();
    await whenSalon(world.bot.engine, threadId, (s) => s.status === 'finished' && s.outbox.length === 0, 15_000);
    const url = await share(world, threadId);
    const base = world.bot.web!.url;
    const { page, requests } = await openPage(url);
    expect(await page.evaluate('window.__pwned')).toBeUndefined();
    expect(requests.filter((r) => !r.startsWith(base))).toEqual([]);
    // Readable: the words are there, as text.
    const main = (await page.locator('main').textContent())!;
    expect(main).toContain('<script>window.__pwned = 1</script>');
    expect(main).toContain('A calm reply.');
    expect(await page.locator('main script, main iframe, main img').count()).toBe(0);
    expect(await page.locator('a[href^="javascript:"]').count()).toBe(0);
    // The closing tags in the text did not close the turn: both turns are still articles inside main.
    expect(await page.locator('main article[data-turn-index]').count()).toBe(2);
    // The page's own policy forbids inline script and other origins.
    const csp = (await fetch(url)).headers.get('content-security-policy')!;
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toContain('unsafe-inline');
    await page.close();
  });

  it('exports one HTML file that opens offline, and passes an accessibility check', async () => {
    world = await galleryWorld({ rounds: 1 });
    const threadId = await startSalon(world);
    const done = await whenSalon(world.bot.engine, threadId, (s) => s.status === 'finished' && s.outbox.length === 0, 15_000);
    const url = await share(world, threadId);
    const html = await (await fetch(`${url}.html`)).text();
    const dir = tempDir();
    try {
      const file = join(dir.path, 'salon.html');
      writeFileSync(file, html);
      const context = await browser.newContext({ offline: true, javaScriptEnabled: false });
      const page = await context.newPage();
      const requests: string[] = [];
      page.on('request', (r) => requests.push(r.url()));
      await page.goto(`file://${file}`);
      expect(requests).toEqual([`file://${file}`]);
      for (const turn of done.turns) expect(await page.locator('body').textContent()).toContain(turn.text);
      // Styled from within: the body has its stylesheet's font, not the browser's default serif.
      expect(await page.evaluate('getComputedStyle(document.body).fontFamily')).not.toMatch(/^"?Times/);
      await context.close();
    } finally {
      dir.cleanup();
    }

    // axe-core in the page (the test's own script, let past the page's policy only in this context).
    const context = await browser.newContext({ bypassCSP: true });
    for (const scheme of ['light', 'dark'] as const) {
      const page = await context.newPage();
      await page.emulateMedia({ colorScheme: scheme });
      await page.goto(url);
      await page.addScriptTag({ content: readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8') });
      const result = await page.evaluate<{ id: string; impact: string; nodes: number; help: string }[]>(
        'axe.run().then((r) => r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length, help: v.help })))',
      );
      expect(result.filter((v) => v.impact === 'serious' || v.impact === 'critical')).toEqual([]);
      await page.close();
    }
    await context.close();
  });
});
