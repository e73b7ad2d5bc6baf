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

/** A turn being written: its text so far (what the thread's draft message shows). */
export type DraftEvent = { type: 'draft'; index: number; name: string; round: number; text: string };

export type LiveEvent =
  | DraftEvent
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
  /**
   * The salon's last draft published, so a page that joins mid-turn shows the turn at once rather than at its next
   * update. It may belong to a turn already finished: the reader checks it against the salon.
   */
  lastDraft(salonId: string): Promise<DraftEvent | undefined>;
  close(): Promise<void>;
}

/** How long Redis keeps a salon's last draft: past any pause between two drafts of one turn, then nothing to clean. */
const DRAFT_KEPT_MS = 5 * 60_000;

/** The feed of one process. */
export class LocalLiveFeed implements LiveFeed {
  private readonly emitter = new EventEmitter().setMaxListeners(0);
  /** Only while a turn is written: forgotten once it is finished, or the salon ended. */
  private readonly drafts = new Map<string, DraftEvent>();

  publish(salonId: string, event: LiveEvent): void {
    this.remember(salonId, event);
    this.emitter.emit(salonId, event);
  }

  private remember(salonId: string, event: LiveEvent): void {
    if (event.type === 'draft') this.drafts.set(salonId, event);
    else if (event.type !== 'turn' || event.index >= (this.drafts.get(salonId)?.index ?? Infinity)) this.drafts.delete(salonId);
  }

  lastDraft(salonId: string): Promise<DraftEvent | undefined> {
    return Promise.resolve(this.drafts.get(salonId));
  }

  subscribe(salonId: string, listener: (event: LiveEvent) => void): Promise<() => void> {
    this.emitter.on(salonId, listener);
    return Promise.resolve(() => this.emitter.off(salonId, listener));
  }

  close(): Promise<void> {
    this.emitter.removeAllListeners();
    this.drafts.clear();
    return Promise.resolve();
  }
}

/**
 * The feed across processes, on Redis pub/sub: one channel per salon, subscribed to while some page of this process
 * watches it. Pub/sub keeps nothing: a page that reconnects reads the turns it missed from the store, and the last
 * draft is also kept in a key of its own for a few minutes (drafts come every second or two while a turn streams).
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
    const message = JSON.stringify(event);
    const sent =
      event.type === 'draft'
        ? this.publisher
            .multi()
            .set(this.draftKey(salonId), message, 'PX', DRAFT_KEPT_MS)
            .publish(this.prefix + salonId, message)
            .exec()
        : this.publisher.publish(this.prefix + salonId, message);
    sent.catch((err: unknown) => this.log.warn({ err }, 'live event not published'));
  }

  async lastDraft(salonId: string): Promise<DraftEvent | undefined> {
    const message = await this.publisher.get(this.draftKey(salonId));
    return message ? (JSON.parse(message) as DraftEvent) : undefined;
  }

  private draftKey(salonId: string): string {
    return `${this.prefix}${salonId}:draft`;
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
