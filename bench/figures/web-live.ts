/**
 * Figure 13: a live page keeps Discord's pace. The real bot (compiled, its own process, as in figure 1) serves the
 * gallery itself (`SALON_WEB_PORT=0`, `SALON_WEB_HOST=127.0.0.1`: `BotOptions.web`), streams replies (`stream: true`,
 * so each turn is a draft message edited as the text arrives, every 1.5 s at most, then finished by a last edit),
 * and each of `salons` salons is started by `/salon start` and shared by its starter with `/salon share` through the
 * fake Discord, the link taken from the reply. A real browser (Debian's Chromium through playwright-core, launched
 * as the tests do: test/helpers/browser.ts) opens each link, under the page's own CSP; a MutationObserver on
 * `#turns`, installed through Playwright's `page.evaluate`, records every change of an article's text with
 * `performance.timeOrigin + performance.now()`. Each salon's first model call waits until every page has
 * opened its event stream, so no turn is half over before it is watched.
 *
 * Per request the fake Discord received for a turn's message (the draft's first post and its edits, and the final
 * edit), webhook requests only: the moment its body had fully arrived (the bench's clock, sub-ms) → the first
 * change in that salon's page, at or after it, whose article contains the request's text (whitespace ignored; the
 * first part without the header Discord shows above the turn; the end of the text, 40 characters, must be
 * there). Requests sent before the turn's `turn written` log line are drafts; the others show the finished turn.
 * The browser's clock is lined up with the bench's by the quickest of 20 `page.evaluate` round trips per page
 * (error ≤ half that round trip). What is timed: the fake answering the request, discord.js handing the bot the
 * answer, the live feed (in-process), the gallery's event stream, the browser's EventSource and the live script
 * placing the article; for a finished turn also the store read and render of the turn (`Watch.sync`).
 */
import type { Browser, Page } from 'playwright-core';
import { launchBrowser } from '../../test/helpers/browser.js';
import type { PostRecord } from '../lib/discord.js';
import { benchScript, MARKER, salonTag, streamingLatency, turnTextsBySalon, type ModelBehaviour, type ModelCall } from '../lib/models.js';
import { rng, sleep } from '../lib/stats.js';
import { clockOffset } from '../lib/web.js';
import { World } from '../lib/world.js';

export interface LiveOptions {
  salons: number;
  rounds: number;
  firstTokenMs: [number, number];
  tokensPerSecond: number;
}

export interface LiveSample {
  thread: string;
  call: number;
  kind: 'post' | 'edit';
  /** Sent before the turn was written (a draft), or after (the finished turn). */
  draft: boolean;
  /** Discord request → the text in the page, ms. */
  ms: number;
  /** The page showed it first in the finished turn's article (a draft the page never showed as such). */
  shownFinished: boolean;
}

export interface LiveRun {
  salons: number;
  turns: number;
  samples: LiveSample[];
  /** Turn requests whose text never showed in the page. */
  unmatched: number;
  /** Per page: the browser's clock minus the bench's, and the round trip it was read over (ms). */
  clocks: { offsetMs: number; rttMs: number }[];
  /** Draft requests per turn, and the gap between a turn's draft requests (ms, median) on Discord's side. */
  draftRequestsPerTurn: number;
  wallMs: number;
  /** The browser, e.g. `Chromium 140.0.7339.185`. */
  browser: string;
}

/** Records, in the page, every change of a turn article's text (whitespace removed) with its time. */
const OBSERVER = `(() => {
  const turns = document.getElementById('turns');
  const log = [];
  window.__salonBench = log;
  if (!turns) return false;
  const seen = new Map();
  const scan = () => {
    const t = performance.timeOrigin + performance.now();
    for (const a of turns.querySelectorAll('article[data-turn-index]')) {
      const draft = a.hasAttribute('data-draft');
      const key = a.getAttribute('data-turn-index') + (draft ? 'd' : 'f');
      const text = (a.textContent || '').replace(/\\s+/g, '');
      if (seen.get(key) === text) continue;
      seen.set(key, text);
      log.push({ t, index: Number(a.getAttribute('data-turn-index')), draft, text });
    }
  };
  new MutationObserver(scan).observe(turns, { childList: true, subtree: true, characterData: true });
  scan();
  return true;
})()`;

interface Observation {
  t: number;
  index: number;
  draft: boolean;
  text: string;
}

export async function liveRun(options: LiveOptions): Promise<LiveRun> {
  const random = rng(13);
  const turnTexts = turnTextsBySalon();
  const behaviour: ModelBehaviour = {
    text: turnTexts,
    latencyMs: (call, text) => {
      (call as ModelCall & { firstTokenMs?: number }).firstTokenMs = options.firstTokenMs[0] + random() * (options.firstTokenMs[1] - options.firstTokenMs[0]);
      return streamingLatency((call as ModelCall & { firstTokenMs: number }).firstTokenMs, text, options.tokensPerSecond);
    },
    firstTokenMs: (call) => (call as ModelCall & { firstTokenMs: number }).firstTokenMs,
  };
  const world = await World.start({ models: behaviour });
  // Each salon's first model call waits for the pages.
  let open!: () => void;
  const pagesOpen = new Promise<void>((resolve) => (open = resolve));
  const started = new Set<number>();
  const script = benchScript(behaviour);
  world.models.setScript(async (call) => {
    const tag = salonTag(call);
    if (tag !== undefined && !started.has(tag)) {
      started.add(tag);
      await pagesOpen;
    }
    return script(call);
  });
  const launching = launchBrowser();
  launching.catch(() => {});
  let browser: { browser: Browser; close(): Promise<void> } | undefined;
  const bot = await world.startBot({
    rounds: options.rounds,
    turnDelaySeconds: 0,
    salon: { stream: true },
    env: { SALON_WEB_PORT: '0', SALON_WEB_HOST: '127.0.0.1' },
  });
  try {
    browser = await launching;
    const { discord } = world;
    const t0 = performance.now();
    const topics = Array.from({ length: options.salons }, (_, i) => `[s${i}] Do language models want their words to persist?`);
    const threads = await world.startSalons(topics);
    if (threads.length !== options.salons) throw new Error(`bench: ${threads.length} of ${options.salons} salons started`);
    const links = await Promise.all(
      threads.map(async (thread, i) => {
        const reply = await discord.fake
          .interact({ user: world.members[i % world.members.length]!, channelId: thread, name: 'salon', subcommand: 'share', options: { listed: false } })
          .response(10_000);
        const url = /(http:\/\/\S+\/s\/[A-Za-z0-9_-]+)/.exec(reply.content)?.[1];
        if (!url) throw new Error(`bench: no link in the share reply: ${reply.content}`);
        return url;
      }),
    );
    const context = await browser.browser.newContext();
    const pages: Page[] = [];
    const clocks: { offsetMs: number; rttMs: number }[] = [];
    for (const url of links) {
      const page = await context.newPage();
      const following = page.waitForRequest((r) => r.url().includes('/events'), { timeout: 10_000 });
      await page.goto(url);
      await following;
      if (!(await page.evaluate(OBSERVER))) throw new Error('bench: the page has no #turns');
      clocks.push(await clockOffset(() => page.evaluate('performance.timeOrigin + performance.now()'), 20));
      pages.push(page);
    }
    // The event streams' requests are out; give the gallery a moment to add them as viewers.
    await sleep(300);
    open();
    const finished = /The salon has finished/;
    await discord.waitForPost(
      () => (discord.posts.filter((p) => finished.test(p.content) && threads.includes(p.thread)).length >= options.salons ? true : undefined),
      60_000,
      'every salon to finish',
    );
    await sleep(500);
    const wallMs = performance.now() - t0;
    const observed = await Promise.all(pages.map((page) => page.evaluate<Observation[]>('window.__salonBench')));
    await context.close();

    // Each turn request's call (its salon's turn), and when that turn was written (the bot's log, ms).
    const written = new Map<string, number[]>();
    for (const { line } of bot.logs) {
      if (line.msg !== 'turn written' || typeof line.salonId !== 'string') continue;
      written.set(line.salonId, [...(written.get(line.salonId) ?? []), Number(line.time)]);
    }
    const requests = turnRequests(discord.posts.filter((p) => threads.includes(p.thread)));
    const callsOf = new Map<string, number[]>();
    for (const r of requests) {
      const calls = callsOf.get(r.post.thread) ?? [];
      if (!calls.includes(r.call)) calls.push(r.call);
      callsOf.set(r.post.thread, calls);
    }
    const samples: LiveSample[] = [];
    let unmatched = 0;
    for (const { post, call, first } of requests) {
      const p = threads.indexOf(post.thread);
      const offset = clocks[p]!.offsetMs;
      const k = [...callsOf.get(post.thread)!].sort((a, b) => a - b).indexOf(call);
      const writtenAt = written.get(post.thread)?.[k] ?? Infinity;
      let text = post.content;
      if (first) text = text.slice(Math.max(0, text.indexOf(`(r${call})`)));
      const tail = text.replace(/\s+/g, '').slice(-40);
      const seen = observed[p]!.find((o) => o.t - offset >= post.arrivedAt - 0.5 && o.text.includes(tail));
      if (!seen) {
        unmatched++;
        continue;
      }
      const draft = post.arrivedAt < writtenAt;
      samples.push({ thread: post.thread, call, kind: post.kind, draft, ms: seen.t - offset - post.arrivedAt, shownFinished: draft && !seen.draft });
    }
    const turns = requests.reduce((set, r) => set.add(r.call), new Set<number>()).size;
    return {
      salons: options.salons,
      turns,
      samples,
      unmatched,
      clocks,
      draftRequestsPerTurn: samples.filter((s) => s.draft).length / turns,
      wallMs,
      browser: `Chromium ${browser.browser.version()}`,
    };
  } finally {
    await browser?.close();
    await world.close(bot);
  }
}

/**
 * The webhook requests that posted or edited a turn's messages, with the turn's model call (from its `(r<n>)`
 * marker: every version of a turn's first message carries it; a later part belongs to the turn being shown in its
 * thread when it was posted; an edit to the turn of its message), and whether it is the turn's first message.
 */
function turnRequests(posts: readonly PostRecord[]): { post: PostRecord; call: number; first: boolean }[] {
  const out: { post: PostRecord; call: number; first: boolean }[] = [];
  const turnOfMessage = new Map<string, { call: number; first: boolean }>();
  const currentInThread = new Map<string, number>();
  for (const post of posts) {
    if (post.via !== 'webhook' || post.status === null || post.status >= 300) continue;
    const marker = MARKER.exec(post.content)?.[1];
    let turn: { call: number; first: boolean } | undefined;
    if (marker !== undefined) turn = { call: Number(marker), first: true };
    else if (post.kind === 'edit' && post.messageId) turn = turnOfMessage.get(post.messageId);
    else {
      const call = currentInThread.get(post.thread);
      turn = call === undefined ? undefined : { call, first: false };
    }
    if (!turn) continue;
    if (turn.first) currentInThread.set(post.thread, turn.call);
    if (post.messageId && post.kind === 'post') turnOfMessage.set(post.messageId, turn);
    out.push({ post, ...turn });
  }
  return out;
}
