/**
 * The web gallery on its own, for figures 12, 14 and 15: `startWebServer` over a SQLite store (opened with the
 * product's `openSalonStore`) and an in-process live feed, in a process of its own so the bench's HTTP clients
 * neither share its event loop nor count in its memory. Run from the build (`bench/.build/bench/web-server.js`,
 * like the bot) with `--expose-gc`; it answers the bench over IPC:
 *
 *   stats  { gc }            process.memoryUsage() (after two full GCs with `gc`), CPU, live viewers
 *   now                       its clock (performance.timeOrigin + performance.now()), to line up with the bench's
 *   turn   { token, text }    commits the next turn of the salon shared under `token` (domain transitions, a
 *                             conditional save), then publishes it on the live feed as the engine's publisher would;
 *                             answers with the publish time on its clock
 *   stop                      closes the server and the store, and exits
 *
 * Environment: BENCH_STORE_URL, BENCH_REQUESTS_PER_MINUTE (the per-IP limit; the product's default is 300).
 */
import { pino } from 'pino';
import * as T from '../src/domain/transitions.js';
import * as outbox from '../src/domain/outbox.js';
import { changedTurns, copyForChange } from '../src/engine/record-copy.js';
import { openSalonStore } from '../src/store/open-store.js';
import { LocalLiveFeed } from '../src/web/live-feed.js';
import { startWebServer } from '../src/web/server.js';

export type WebServerRequest =
  | { id: number; cmd: 'stats'; gc?: boolean }
  | { id: number; cmd: 'now' }
  | { id: number; cmd: 'turn'; token: string; text: string }
  | { id: number; cmd: 'stop' };

export interface WebServerStats {
  memory: NodeJS.MemoryUsage;
  cpu: NodeJS.CpuUsage;
  viewers: number;
}

const clock = () => performance.timeOrigin + performance.now();

async function main(): Promise<void> {
  const send = process.send?.bind(process);
  if (!send) throw new Error('bench/web-server: run me with an IPC channel');
  const log = pino({ level: 'silent' });
  const { store } = await openSalonStore(process.env.BENCH_STORE_URL ?? 'sqlite://:memory:', log);
  const feed = new LocalLiveFeed();
  const web = await startWebServer({
    store,
    feed,
    log,
    port: 0,
    host: '127.0.0.1',
    requestsPerMinute: Number(process.env.BENCH_REQUESTS_PER_MINUTE ?? 300),
  });

  const turn = async (token: string, text: string) => {
    const before = await store.findShared(token);
    if (!before) throw new Error(`no salon shared under ${token}`);
    const salon = copyForChange(before);
    const at = Date.now();
    const index = salon.turns.length;
    const committed = T.commitTurn(
      salon,
      { index, text, finishReason: 'stop', usage: { promptTokens: 1000, completionTokens: Math.ceil(text.length / 4) }, startedAt: at - 1_000, answered: [] },
      at,
    );
    if (!committed) throw new Error(`turn ${index} could not be committed (status ${salon.status})`);
    for (const post of [...salon.outbox]) {
      post.messageIds.push(`${salon.id}${index + 2}`);
      outbox.markDelivered(salon, post.key);
    }
    salon.version = before.version + 1;
    await store.save(salon, { expected: before.version, turns: changedTurns(before, salon) });
    const publishedAt = clock();
    feed.publish(salon.id, { type: 'turn', index });
    return { index, publishedAt };
  };

  process.on('message', (raw: unknown) => {
    const req = raw as WebServerRequest;
    const answer = (body: Record<string, unknown>) => send({ id: req.id, ...body });
    const fail = (err: unknown) => answer({ error: err instanceof Error ? err.message : String(err) });
    switch (req.cmd) {
      case 'stats': {
        const gc = (globalThis as { gc?: () => void }).gc;
        if (req.gc && gc) {
          gc();
          gc();
        }
        answer({ memory: process.memoryUsage(), cpu: process.cpuUsage(), viewers: web.viewers() } satisfies WebServerStats);
        return;
      }
      case 'now':
        answer({ now: clock() });
        return;
      case 'turn':
        turn(req.token, req.text).then(answer, fail);
        return;
      case 'stop':
        web
          .close()
          .then(() => store.close())
          .then(
            () => answer({}),
            (err: unknown) => fail(err),
          )
          .finally(() => process.exit(0));
        return;
    }
  });
  send({ id: 0, url: web.url });
}

main().catch((err: unknown) => {
  process.stderr.write(`bench/web-server: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
