/**
 * The web server's own rules, over HTTP with a real store: only what is shared, only GET and HEAD, a limit per
 * address, the security headers on every answer, and exports that download rather than run under the site.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { close, share, unshare } from '../../src/domain/transitions.js';
import { openKeyv } from '../../src/store/keyv-factory.js';
import { KeyvSalonStore } from '../../src/store/keyv-salon-store.js';
import { LocalLiveFeed } from '../../src/web/live-feed.js';
import { startWebServer, type RunningWeb, type WebOptions } from '../../src/web/server.js';
import { newShareToken } from '../../src/web/share-token.js';
import { newSalon, playTurns } from '../domain/fixtures.js';
import { memoryLogger } from '../helpers/log.js';
import { REDIS_URL } from '../helpers/server-urls.js';
import { tempDir } from '../helpers/tmp.js';

describe('the web server', () => {
  const open: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const close of open.splice(0).reverse()) await close();
  });

  async function serve(options: Pick<WebOptions, 'requestsPerMinute' | 'sharedLimits'> = {}) {
    const dir = tempDir();
    const opened = await openKeyv(`sqlite://${join(dir.path, 'salons.sqlite')}`);
    const store = new KeyvSalonStore(opened.keyv, opened.close);
    const feed = new LocalLiveFeed();
    const web: RunningWeb = await startWebServer({ store, feed, log: memoryLogger([]).log, port: 0, host: '127.0.0.1', ...options });
    open.push(
      async () => dir.cleanup(),
      () => store.close(),
      () => web.close(),
    );
    const salon = newSalon({ id: '1234567890123456789', rounds: 2 });
    playTurns(salon, 4);
    const token = newShareToken();
    share(salon, token, true, Date.now());
    await store.save(salon);
    return { web, store, salon, token, url: `${web.url}/s/${token}` };
  }

  it('makes share tokens of 144 random bits, URL-safe, never twice', () => {
    const tokens = new Set(Array.from({ length: 1000 }, () => newShareToken()));
    expect(tokens.size).toBe(1000);
    for (const token of tokens) expect(token).toMatch(/^[A-Za-z0-9_-]{24}$/);
  });

  it('serves a shared salon and its exports; anything else is the same 404', async () => {
    const { web, url, token, store, salon } = await serve();
    const page = await fetch(url);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(page.headers.get('cache-control')).toBe('no-store');
    const html = await fetch(`${url}.html`);
    expect(html.headers.get('content-disposition')).toMatch(/^attachment; filename=".+\.html"$/);
    expect((await fetch(`${url}.md`)).headers.get('content-type')).toContain('text/markdown');
    expect((await fetch(`${url}.json`)).headers.get('content-type')).toContain('application/json');
    const missing = await fetch(`${web.url}/s/${newShareToken()}`);
    const malformed = await fetch(`${web.url}/s/..%2F..%2Fetc`);
    expect(missing.status).toBe(404);
    expect(malformed.status).toBe(404);
    const notFound = await missing.text();
    expect(await malformed.text()).toBe(notFound);
    // Unshared: the very same answer as a token never given.
    unshare(salon, Date.now());
    await store.save({ ...salon, version: 1 }, { expected: 0, turns: [] });
    const revoked = await fetch(url);
    expect(revoked.status).toBe(404);
    expect(await revoked.text()).toBe(notFound);
    expect((await fetch(`${web.url}/s/${token}.json`)).status).toBe(404);
  });

  it('answers GET and HEAD only, with its security headers on every answer', async () => {
    const { url, web } = await serve();
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) expect((await fetch(url, { method })).status).toBe(404);
    const head = await fetch(url, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
    for (const path of ['/', '/assets/salon.css', '/assets/live.js', `/s/${newShareToken()}`, new URL(url).pathname]) {
      const res = await fetch(`${web.url}${path}`);
      const csp = res.headers.get('content-security-policy') ?? '';
      expect(csp, path).toContain("default-src 'none'");
      expect(csp, path).toContain("script-src 'self'");
      expect(csp, path).toContain("frame-ancestors 'none'");
      expect(res.headers.get('referrer-policy'), path).toBe('no-referrer');
      expect(res.headers.get('x-content-type-options'), path).toBe('nosniff');
    }
  });

  it('limits the requests of one address, on every route', async () => {
    const { url, web } = await serve({ requestsPerMinute: 5 });
    const statuses: number[] = [];
    for (const path of [new URL(url).pathname, '/', '/assets/salon.css', `${new URL(url).pathname}.md`, '/', '/']) {
      statuses.push((await fetch(`${web.url}${path}`)).status);
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
  });

  it('counts one limit per address across gallery processes that share a Redis', async () => {
    const sharedLimits = { redisUrl: REDIS_URL, prefix: `test-${randomUUID()}` };
    const a = await serve({ requestsPerMinute: 4, sharedLimits });
    const b = await serve({ requestsPerMinute: 4, sharedLimits });
    const statuses: number[] = [];
    for (const web of [a.web, b.web, a.web, b.web, a.web, b.web]) statuses.push((await fetch(`${web.url}/`)).status);
    expect(statuses).toEqual([200, 200, 200, 200, 429, 429]);
  });

  it('lists only salons shared as listed, newest first', async () => {
    const { web, store } = await serve();
    const unlisted = newSalon({ id: '2234567890123456789', rounds: 1, topic: 'A private salon' });
    share(unlisted, newShareToken(), false, Date.now());
    await store.save(unlisted);
    const index = await (await fetch(`${web.url}/`)).text();
    expect(index).toContain('/s/');
    expect(index).not.toContain('A private salon');
  });

  it('streams a closed salon’s missing turns to a page that comes back, then ends the stream', async () => {
    const { url, store, salon } = await serve();
    close(salon, Date.now());
    await store.save({ ...salon, version: 1 }, { expected: 0, turns: [] });
    const res = await fetch(`${url}/events`, { headers: { 'last-event-id': 't1' } });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    // The whole body arrives and the stream ends: turns 2 and 3, then the end.
    const body = await res.text();
    expect([...body.matchAll(/^id: (t\d+)$/gm)].map((m) => m[1])).toEqual(['t2', 't3']);
    // After the turns and before the end, the page's other parts as they now stand: the archived line included.
    const states = [...body.matchAll(/^event: state\ndata: (.*)$/gm)];
    expect(states).toHaveLength(1);
    expect(body.indexOf('event: state')).toBeGreaterThan(body.indexOf('id: t3'));
    expect((JSON.parse(states[0]![1]!) as { closing: string }).closing).toContain('Archived');
    expect(body.trimEnd().endsWith('event: end\ndata: {}')).toBe(true);
  });

  it('serves the page of the salon as it is now: a saved change shows at the next request', async () => {
    const { url, store, salon } = await serve();
    const first = await (await fetch(url)).text();
    expect(await (await fetch(url)).text()).toBe(first);
    await store.save({ ...salon, topic: 'A topic changed since', version: 1 }, { expected: 0, turns: [] });
    const after = await (await fetch(url)).text();
    expect(after).not.toBe(first);
    expect(after).toContain('A topic changed since');
  });
});
