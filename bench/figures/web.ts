/**
 * Figures 12, 14 and 15: the web gallery's page, its live viewers and its throughput. The gallery runs as its own
 * process (bench/web-server.ts: the product's `startWebServer` over a SQLite store opened with `openSalonStore`,
 * and a `LocalLiveFeed`), so the bench's clients neither share its event loop nor count in its memory; the store is
 * written first with the project's own store code (lib/seed.ts), each salon shared with `transitions.share`.
 *
 * Figure 12, the page of a 1,000-turn salon: turns of 150–400 words with the markdown models write (emphasis, lists,
 * quotes, now and then a heading, a fenced block or a link; lib/web.ts), a question from the audience every 50
 * turns. `renderSalonPage` in the bench process (two warm-up renders, then `renders` timed); then GET /s/<token>
 * from the gallery process over one keep-alive connection, one request at a time (two warm-up, then `renders`
 * timed), from the request to the body's last byte: the store read, the render and the transfer. Beside it,
 * `renderTurnHtml` of the last turn (20 calls): what the live stream renders, once for all viewers, for each new turn.
 *
 * Figure 14, 1,000 live viewers of one salon: plain HTTP clients (`http.get`, `Accept: text/event-stream`, one
 * connection each, as many EventSources would be) on /s/<token>/events of a running 20-turn salon (then again of a
 * 1,000-turn one, to show the fan-out does not grow with the salon), saying they show
 * every turn (`?after=`, as a page does on its first connection). One viewer first (it starts the salon's watch:
 * the feed subscription, the timers); heap and RSS of the gallery process after two forced full GCs; then the
 * other 999, until its `viewers()` says 1,000, and the same again: (after − before) ÷ 999. Then three turns are
 * committed and published on the feed (as the engine's publisher does once Discord has the turn), a second apart;
 * per viewer, publish → the turn's `id: t<n>` line read by the client, on one clock (the gallery's clock lined up
 * with the bench's by the quickest of 20 IPC round trips). The 1,000 clients are one bench process, so the spread
 * includes the bench reading 1,000 sockets in turn.
 *
 * Figure 15, requests per second on the page: `concurrency` clients in the bench process, each looping GET
 * /s/<token> of a 50-turn salon (same turns as figure 12) over its own keep-alive connection, for `seconds` after a
 * one-second warm-up; the per-IP limit (`requestsPerMinute`, 300 by default) raised out of the way, since every
 * client is one address. Latency from the request to the body's last byte; the gallery's CPU from its own
 * process.cpuUsage().
 */
import http from 'node:http';
import { renderSalonPage, renderTurnHtml } from '../../src/web/render/page.js';
import { now, sleep } from '../lib/stats.js';
import { get, sharedRecord, shareToken, webStore, WebServerProcess } from '../lib/web.js';

export interface PageRenderRun {
  turns: number;
  bytes: number;
  renderMs: number[];
  httpMs: number[];
  httpBytes: number;
  /** `renderTurnHtml` of the last turn: what the live stream renders, once for every viewer, for each new turn (ms). */
  turnHtmlMs: number[];
}

export async function pageRenderRuns(renders: number, turns = 1_000): Promise<PageRenderRun> {
  const token = shareToken(12);
  const salon = sharedRecord({ id: '912000000000000001', tag: 12, turns, token });
  const options = { publicUrl: 'https://salon.example', pageUrl: `https://salon.example/s/${token}`, live: salon.status !== 'closed' };
  let bytes = 0;
  for (let i = 0; i < 2; i++) bytes = renderSalonPage(salon, { ...options, now: new Date() }).length;
  const renderMs: number[] = [];
  for (let i = 0; i < renders; i++) {
    const t = performance.now();
    renderSalonPage(salon, { ...options, now: new Date() });
    renderMs.push(performance.now() - t);
  }
  const turnHtmlMs: number[] = [];
  for (let i = 0; i < 20; i++) {
    const t = performance.now();
    renderTurnHtml(salon, salon.turns.length - 1);
    turnHtmlMs.push(performance.now() - t);
  }

  const store = await webStore([salon]);
  const server = await WebServerProcess.start({ storeUrl: store.url });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const url = `${server.url}/s/${token}`;
    let httpBytes = 0;
    for (let i = 0; i < 2; i++) httpBytes = (await get(url, agent)).bytes;
    const httpMs: number[] = [];
    for (let i = 0; i < renders; i++) {
      const r = await get(url, agent);
      if (r.status !== 200) throw new Error(`bench: GET ${url} answered ${r.status}`);
      httpMs.push(r.ms);
    }
    return { turns: salon.turns.length, bytes, renderMs, httpMs, httpBytes, turnHtmlMs };
  } finally {
    agent.destroy();
    await server.stop();
    store.remove();
  }
}

export interface ViewersRun {
  viewers: number;
  /** Turns the salon had before the published ones. */
  salonTurns: number;
  heapBeforeBytes: number;
  heapAfterBytes: number;
  rssBeforeBytes: number;
  rssAfterBytes: number;
  heapPerViewerBytes: number;
  rssPerViewerBytes: number;
  /** Time to connect the viewers (responses' headers) and for the gallery to count them all. */
  connectMs: number;
  /** Per published turn, publish → each viewer's read of it (ms). */
  arrivalMs: number[][];
  /** The gallery's CPU per published turn (ms, user + system). */
  fanOutCpuMs: number[];
  clock: { offsetMs: number; rttMs: number };
}

interface Viewer {
  req: http.ClientRequest;
  /** Bench clock when the awaited turn's id line was read. */
  arrived?: number;
}

export async function viewersRun(count = 1_000, turnsPublished = 3, salonTurns = 20): Promise<ViewersRun> {
  const token = shareToken(14);
  const salon = sharedRecord({ id: '914000000000000001', tag: 14, turns: salonTurns, token, archiveLengths: true });
  const store = await webStore([salon]);
  const server = await WebServerProcess.start({ storeUrl: store.url, requestsPerMinute: 10_000_000 });
  const viewers: Viewer[] = [];
  let awaited = -1;
  let refused = 0;
  const onArrival = new Set<() => void>();
  // Resolved once the connection is up and the request sent: the stream's head reaches the client only with its first
  // event (or the 15-s heartbeat) when the page is up to date, so the gallery's own count says when all are in.
  const connect = () =>
    new Promise<void>((resolve, reject) => {
      const req = http.get(
        `${server.url}/s/${token}/events?after=${salon.turns.length - 1}`,
        { agent: false, headers: { accept: 'text/event-stream' } },
        (res) => {
          if (res.statusCode !== 200) refused++;
          res.setEncoding('utf8');
          let tail = '';
          res.on('data', (chunk: string) => {
            const text = tail + chunk;
            tail = text.slice(-16);
            if (awaited >= 0 && viewer.arrived === undefined && text.includes(`id: t${awaited}\n`)) {
              viewer.arrived = now();
              for (const listener of onArrival) listener();
            }
          });
          res.on('error', () => {});
        },
      );
      const viewer: Viewer = { req };
      req.on('error', reject);
      req.on('socket', (socket) => socket.once('connect', () => resolve()));
      viewers.push(viewer);
    });
  const waitForViewers = async (n: number, timeoutMs: number) => {
    const until = performance.now() + timeoutMs;
    while ((await server.stats()).viewers !== n) {
      if (performance.now() > until) throw new Error(`bench: the gallery never counted ${n} viewers`);
      await sleep(50);
    }
  };
  try {
    const clock = await server.clockOffset();
    // The page once, and the first viewer: the salon's watch (feed subscription, timers) is per salon, not per viewer.
    await get(`${server.url}/s/${token}`, new http.Agent());
    await connect();
    await waitForViewers(1, 10_000);
    await sleep(300);
    const before = await server.stats(true);
    const started = performance.now();
    for (let i = 1; i < count; i += 100) await Promise.all(Array.from({ length: Math.min(100, count - i) }, connect));
    await waitForViewers(count, 30_000);
    if (refused > 0) throw new Error(`bench: ${refused} event streams were refused`);
    const connectMs = performance.now() - started;
    await sleep(500);
    const after = await server.stats(true);
    const heap = (m: NodeJS.MemoryUsage) => m.heapUsed + m.external + m.arrayBuffers;

    const arrivalMs: number[][] = [];
    const fanOutCpuMs: number[] = [];
    for (let k = 0; k < turnsPublished; k++) {
      for (const v of viewers) v.arrived = undefined;
      awaited = salon.turns.length + k;
      const all = new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`bench: turn ${awaited} reached ${viewers.filter((v) => v.arrived).length} of ${count} viewers`)),
          15_000,
        );
        const check = () => {
          if (viewers.every((v) => v.arrived !== undefined)) {
            clearTimeout(timer);
            onArrival.delete(check);
            resolve();
          }
        };
        onArrival.add(check);
      });
      all.catch(() => {});
      const cpu0 = (await server.stats()).cpu;
      const { index, publishedAt } = await server.turn(token, `(turn ${awaited}) ${'A turn read by a thousand pages at once. '.repeat(50)}`, clock.offsetMs);
      if (index !== awaited) throw new Error(`bench: committed turn ${index}, expected ${awaited}`);
      await all;
      const cpu1 = (await server.stats()).cpu;
      fanOutCpuMs.push((cpu1.user + cpu1.system - cpu0.user - cpu0.system) / 1000);
      arrivalMs.push(viewers.map((v) => v.arrived! - publishedAt));
      await sleep(1_000);
    }
    return {
      viewers: count,
      salonTurns,
      heapBeforeBytes: heap(before.memory),
      heapAfterBytes: heap(after.memory),
      rssBeforeBytes: before.memory.rss,
      rssAfterBytes: after.memory.rss,
      heapPerViewerBytes: (heap(after.memory) - heap(before.memory)) / (count - 1),
      rssPerViewerBytes: (after.memory.rss - before.memory.rss) / (count - 1),
      connectMs,
      arrivalMs,
      fanOutCpuMs,
      clock,
    };
  } finally {
    for (const v of viewers) v.req.destroy();
    await server.stop();
    store.remove();
  }
}

export interface LoadRun {
  concurrency: number;
  seconds: number;
  requests: number;
  failed: number;
  perSecond: number;
  latencyMs: number[];
  bytes: number;
  requestsPerMinute: number;
  /** The gallery's CPU over the window, ms per request and share of one core. */
  serverCpuPerRequestMs: number;
  serverCores: number;
  /** The bench's own (the clients') CPU over the window, share of one core. */
  clientCores: number;
}

export async function loadRun(concurrency = 32, seconds = 10, turns = 50): Promise<LoadRun> {
  const token = shareToken(15);
  const salon = sharedRecord({ id: '915000000000000001', tag: 15, turns, token });
  const store = await webStore([salon]);
  const requestsPerMinute = 10_000_000;
  const server = await WebServerProcess.start({ storeUrl: store.url, requestsPerMinute });
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const url = `${server.url}/s/${token}`;
  try {
    let bytes = 0;
    const loop = async (until: number, record?: { latencyMs: number[]; failed: number }) => {
      while (performance.now() < until) {
        try {
          const r = await get(url, agent);
          bytes = r.bytes;
          if (r.status !== 200) {
            if (record) record.failed++;
            continue;
          }
          record?.latencyMs.push(r.ms);
        } catch {
          if (record) record.failed++;
        }
      }
    };
    await Promise.all(Array.from({ length: concurrency }, () => loop(performance.now() + 1_000)));
    const record = { latencyMs: [] as number[], failed: 0 };
    const cpu0 = (await server.stats()).cpu;
    const client0 = process.cpuUsage();
    const started = performance.now();
    await Promise.all(Array.from({ length: concurrency }, () => loop(started + seconds * 1000, record)));
    const wallMs = performance.now() - started;
    const client = process.cpuUsage(client0);
    const cpu1 = (await server.stats()).cpu;
    const serverCpuMs = (cpu1.user + cpu1.system - cpu0.user - cpu0.system) / 1000;
    return {
      concurrency,
      seconds: wallMs / 1000,
      requests: record.latencyMs.length,
      failed: record.failed,
      perSecond: record.latencyMs.length / (wallMs / 1000),
      latencyMs: record.latencyMs,
      bytes,
      requestsPerMinute,
      serverCpuPerRequestMs: serverCpuMs / Math.max(1, record.latencyMs.length),
      serverCores: serverCpuMs / wallMs,
      clientCores: (client.user + client.system) / 1000 / wallMs,
    };
  } finally {
    agent.destroy();
    await server.stop();
    store.remove();
  }
}
