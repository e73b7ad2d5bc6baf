/**
 * SALON_ROLE=web: the gallery on its own, for a scaled-out deployment. It needs the store the salons are in and,
 * to show turns as they are written, the Redis the other processes share (their live feed); no Discord token, no
 * config file, no model key.
 */
import type { Logger } from 'pino';
import type { HealthReport } from '../health-server.js';
import { openSalonStore } from '../store/open-store.js';
import { LocalLiveFeed, RedisLiveFeed, type LiveFeed } from './live-feed.js';
import { startWebServer } from './server.js';

export interface WebRoleOptions {
  storeUrl: string;
  /** The Redis of the job queue: the live feed goes through it. Without it, open pages catch up every few seconds. */
  queueUrl?: string;
  queuePrefix: string;
  port: number;
  host: string;
  publicUrl?: string;
  trustProxy?: boolean | string;
  log: Logger;
}

export async function startWebRole(options: WebRoleOptions): Promise<{ health(): HealthReport; stop(): Promise<void> }> {
  const { log } = options;
  const { store, description } = await openSalonStore(options.storeUrl, log);
  log.info({ store: description }, 'store open');
  let feed: LiveFeed;
  try {
    feed = options.queueUrl ? await RedisLiveFeed.open(options.queueUrl, options.queuePrefix, log) : new LocalLiveFeed();
  } catch (err) {
    await store.close();
    throw err;
  }
  if (!options.queueUrl) log.warn('no SALON_QUEUE_URL: open pages catch up with new turns every few seconds instead of as they are written');
  const web = await startWebServer({
    store,
    feed,
    log,
    port: options.port,
    host: options.host,
    publicUrl: options.publicUrl,
    trustProxy: options.trustProxy,
    // Several web processes behind one address keep one limit per client.
    ...(options.queueUrl ? { sharedLimits: { redisUrl: options.queueUrl, prefix: options.queuePrefix } } : {}),
  }).catch(async (err: unknown) => {
    await feed.close();
    await store.close();
    throw err;
  });
  return {
    health: () => ({ ok: true, role: 'web' }),
    async stop() {
      await web.close();
      await feed.close();
      await store.close();
    },
  };
}
