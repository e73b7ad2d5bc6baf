/**
 * The web gallery scaled out: a page served by the web role (its own process, no Discord token) follows a salon that
 * a worker writes, through Redis; a share made and revoked on a gateway takes effect there at once.
 */
import { get, type IncomingMessage } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { command } from '../helpers/command.js';
import { SseReader } from '../helpers/sse.js';
import { waitUntil } from '../helpers/wait.js';
import { ProcessCluster } from './harness.js';

const SEED = Number(process.env.SALON_CLUSTER_SEED ?? Math.floor(Math.random() * 2 ** 31));

/** A Server-Sent Events client: every event as it arrives, parsed. */
function follow(url: string) {
  const events: { event: string; id?: string; data: string }[] = [];
  const listeners = new Set<() => void>();
  let ended = false;
  let response: IncomingMessage | undefined;
  const request = get(url, { headers: { accept: 'text/event-stream' } }, (res) => {
    response = res;
    const reader = new SseReader();
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      for (const { event, id, data } of reader.push(chunk)) if (event) events.push({ event, id, data: data ?? '' });
      for (const l of listeners) l();
    });
    res.on('end', () => {
      ended = true;
      for (const l of listeners) l();
    });
  });
  request.on('error', () => {});
  const until = <T>(check: () => T | undefined, what: string, timeoutMs = 60_000) =>
    waitUntil(
      check,
      (recheck) => {
        listeners.add(recheck);
        return () => listeners.delete(recheck);
      },
      timeoutMs,
      () => `${what}: not within ${timeoutMs} ms (events: ${events.map((e) => e.event + (e.id ?? '')).join(' ')})`,
    );
  return { events, until, ended: () => ended, status: () => response?.statusCode, close: () => request.destroy() };
}

describe(`the web role in a cluster (seed ${SEED})`, () => {
  let cluster: ProcessCluster | undefined;
  afterEach(async () => {
    await cluster?.close();
    cluster = undefined;
  });

  it('streams a salon a worker writes to a page on the web role, each turn once, and stops it when a gateway unshares', async () => {
    const c = (cluster = await ProcessCluster.start({ seed: SEED, shards: 1, guilds: 1, rounds: 2, stream: true, leaseMs: 8_000 }));
    await c.launch('web');
    await Promise.all([c.gateway(0), c.launch('worker')]);
    // Turn 1 streams slowly, so the page sees it grow.
    c.replies({ slow: (index) => index === 1 });
    const thread = await c.startSalon(0);
    const reply = await command(c.discord, c.members[0]!, thread, 'share').response(20_000);
    const link = /(http:\/\/\S+\/s\/[A-Za-z0-9_-]+)/.exec(reply.content)?.[1];
    expect(link, reply.content).toMatch(new RegExp(`^${c.webUrl}/s/`));
    const page = follow(`${link}/events?after=-1`);
    try {
      await page.until(() => page.events.filter((e) => e.event === 'turn').length === 4 || undefined, 'four turns');
      const turns = page.events.filter((e) => e.event === 'turn').map((e) => e.id);
      expect(turns).toEqual(['t0', 't1', 't2', 't3']);
      // Turn 1 was shown growing before it was finished: drafts came from the worker, through Redis.
      const drafts = page.events.filter((e) => e.event === 'draft').map((e) => (JSON.parse(e.data) as { index: number }).index);
      expect(drafts).toContain(1);
      expect(page.events.findIndex((e) => e.event === 'draft')).toBeLessThan(page.events.findIndex((e) => e.id === 't1'));

      await command(c.discord, c.members[0]!, thread, 'unshare').response(20_000);
      await page.until(() => (page.ended() && page.events.some((e) => e.event === 'gone')) || undefined, 'the page told it is gone', 10_000);
      const after = follow(`${link}/events`);
      await after.until(() => after.status(), 'an answer', 10_000);
      expect(after.status()).toBe(404);
      after.close();
      expect(c.errors()).toEqual([]);
    } finally {
      page.close();
    }
  }, 120_000);
});
