/**
 * What a shared salon's open pages are told as it happens: a turn growing as it is written, a turn finished, the
 * salon ended or unshared. The feed is fed from the same drafts and commits that drive Discord (see `liveFeedPublisher`),
 * so a page shows a turn when the thread does.
 *
 * In one process the feed is an in-memory emitter; scaled out, the processes that write turns (workers) and the one
 * that unshares (a gateway) are not the one that serves the pages (web), so the feed goes through Redis pub/sub.
 */
import { EventEmitter } from 'node:events';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';

export type LiveEvent =
  /** A turn being written: its text so far (what the thread's draft message shows). */
  | { type: 'draft'; index: number; name: string; round: number; text: string }
  /** A turn committed: read it from the store. */
  | { type: 'turn'; index: number }
  /** The salon has no more turns to come (finished or closed). */
  | { type: 'end' }
  /** The salon was unshared: open pages stop at once. */
  | { type: 'gone' };

export interface LiveFeed {
  publish(salonId: string, event: LiveEvent): void;
  /** Calls `listener` with every event for the salon from once it resolves on; resolves with how to stop. */
  subscribe(salonId: string, listener: (event: LiveEvent) => void): Promise<() => void>;
  close(): Promise<void>;
}

/** The feed of one process. */
export class LocalLiveFeed implements LiveFeed {
  private readonly emitter = new EventEmitter().setMaxListeners(0);

  publish(salonId: string, event: LiveEvent): void {
    this.emitter.emit(salonId, event);
  }

  subscribe(salonId: string, listener: (event: LiveEvent) => void): Promise<() => void> {
    this.emitter.on(salonId, listener);
    return Promise.resolve(() => this.emitter.off(salonId, listener));
  }

  close(): Promise<void> {
    this.emitter.removeAllListeners();
    return Promise.resolve();
  }
}

/**
 * The feed across processes, on Redis pub/sub: one channel per salon, subscribed to while some page of this process
 * watches it. Pub/sub keeps nothing: a page that reconnects reads the turns it missed from the store, and a draft
 * is superseded by the next one within a second or two.
 */
export class RedisLiveFeed implements LiveFeed {
  private readonly local = new LocalLiveFeed();
  private readonly watchers = new Map<string, number>();

  private constructor(
    private readonly publisher: Redis,
    private readonly subscriber: Redis,
    private readonly prefix: string,
    private readonly log: Logger,
  ) {
    subscriber.on('message', (channel: string, message: string) => {
      if (!channel.startsWith(prefix)) return;
      try {
        this.local.publish(channel.slice(prefix.length), JSON.parse(message) as LiveEvent);
      } catch (err) {
        log.warn({ err, channel }, 'unreadable live event dropped');
      }
    });
  }

  static async open(url: string, prefix: string, log: Logger): Promise<RedisLiveFeed> {
    const options = { maxRetriesPerRequest: null, lazyConnect: true };
    const publisher = new Redis(url, options);
    const subscriber = new Redis(url, options);
    await Promise.all([publisher.connect(), subscriber.connect()]);
    return new RedisLiveFeed(publisher, subscriber, `${prefix}:live:`, log);
  }

  publish(salonId: string, event: LiveEvent): void {
    this.publisher.publish(this.prefix + salonId, JSON.stringify(event)).catch((err: unknown) => this.log.warn({ err }, 'live event not published'));
  }

  async subscribe(salonId: string, listener: (event: LiveEvent) => void): Promise<() => void> {
    const stop = await this.local.subscribe(salonId, listener);
    const n = this.watchers.get(salonId) ?? 0;
    this.watchers.set(salonId, n + 1);
    const leave = () => {
      stop();
      const left = (this.watchers.get(salonId) ?? 1) - 1;
      if (left > 0) return void this.watchers.set(salonId, left);
      this.watchers.delete(salonId);
      void this.subscriber.unsubscribe(this.prefix + salonId).catch(() => {});
    };
    try {
      // Resolved once Redis has the subscription: what is published from then on reaches this process.
      await this.subscriber.subscribe(this.prefix + salonId);
    } catch (err) {
      leave();
      throw err;
    }
    return leave;
  }

  async close(): Promise<void> {
    await this.local.close();
    this.publisher.disconnect();
    this.subscriber.disconnect();
  }
}
