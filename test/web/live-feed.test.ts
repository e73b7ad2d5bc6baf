/**
 * The live feed, one contract for both: in one process (memory), and across processes on the real Redis, where the
 * process that writes a turn (a worker) and the one that serves its page (web) are not the same.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalLiveFeed, RedisLiveFeed, type LiveEvent, type LiveFeed } from '../../src/web/live-feed.js';
import { memoryLogger } from '../helpers/log.js';
import { REDIS_URL } from '../helpers/server-urls.js';
import { waitUntil } from '../helpers/wait.js';

/** Two ends of one feed: where events are published, and where a page's server hears them. */
type Ends = { writer: LiveFeed; reader: LiveFeed; close(): Promise<void> };

function collect(feed: LiveFeed, salonId: string) {
  const events: LiveEvent[] = [];
  const listeners = new Set<() => void>();
  const ready = feed.subscribe(salonId, (event) => {
    events.push(event);
    for (const l of listeners) l();
  });
  const until = (n: number) =>
    waitUntil(
      () => events.length >= n || undefined,
      (recheck) => {
        listeners.add(recheck);
        return () => listeners.delete(recheck);
      },
      5_000,
      () => `expected ${n} events, got ${JSON.stringify(events)}`,
    );
  return { events, ready, until };
}

function liveFeedContract(name: string, open: () => Promise<Ends>) {
  describe(`live feed: ${name}`, () => {
    let ends: Ends | undefined;
    afterEach(async () => {
      await ends?.close();
      ends = undefined;
    });

    it('delivers each event once, in order, to every subscriber of that salon only', async () => {
      ends = await open();
      const a = collect(ends.reader, 'salon-a');
      const a2 = collect(ends.reader, 'salon-a');
      const b = collect(ends.reader, 'salon-b');
      await Promise.all([a.ready, a2.ready, b.ready]);
      const sent: LiveEvent[] = [{ type: 'draft', index: 0, name: 'GLM 4.7', round: 1, text: 'Half a thought' }, { type: 'turn', index: 0 }, { type: 'end' }];
      for (const event of sent) ends.writer.publish('salon-a', event);
      ends.writer.publish('salon-b', { type: 'gone' });
      await Promise.all([a.until(3), a2.until(3), b.until(1)]);
      expect(a.events).toEqual(sent);
      expect(a2.events).toEqual(sent);
      expect(b.events).toEqual([{ type: 'gone' }]);
    });

    it('keeps the last draft of each salon for a page that joins mid-turn', async () => {
      ends = await open();
      const heard = collect(ends.reader, 'salon-d');
      await heard.ready;
      const first: LiveEvent = { type: 'draft', index: 2, name: 'GLM 4.7', round: 2, text: 'Half' };
      const second: LiveEvent = { type: 'draft', index: 2, name: 'GLM 4.7', round: 2, text: 'Half a thought' };
      ends.writer.publish('salon-d', first);
      ends.writer.publish('salon-d', second);
      await heard.until(2);
      expect(await ends.reader.lastDraft('salon-d')).toEqual(second);
      expect(await ends.reader.lastDraft('salon-e')).toBeUndefined();
    });

    it('stops delivering to a subscriber that left, and keeps delivering to the others', async () => {
      ends = await open();
      const stays = collect(ends.reader, 'salon-c');
      const leaves: LiveEvent[] = [];
      const [, stop] = await Promise.all([stays.ready, ends.reader.subscribe('salon-c', (e) => leaves.push(e))]);
      stop();
      ends.writer.publish('salon-c', { type: 'turn', index: 4 });
      await stays.until(1);
      expect(leaves).toEqual([]);
      // Subscribing again after everyone left works (the channel is joined again).
      const again = collect(ends.reader, 'salon-c');
      await again.ready;
      ends.writer.publish('salon-c', { type: 'turn', index: 5 });
      await again.until(1);
      expect(again.events).toEqual([{ type: 'turn', index: 5 }]);
    });
  });
}

describe('live feed: in one process, the draft kept', () => {
  it('is forgotten once its turn is finished or the salon ends, and not for an earlier turn', async () => {
    const feed = new LocalLiveFeed();
    const draft: LiveEvent = { type: 'draft', index: 3, name: 'GLM 4.7', round: 2, text: 'Half' };
    feed.publish('s', draft);
    feed.publish('s', { type: 'turn', index: 2 });
    expect(await feed.lastDraft('s')).toEqual(draft);
    feed.publish('s', { type: 'turn', index: 3 });
    expect(await feed.lastDraft('s')).toBeUndefined();
    feed.publish('s', draft);
    feed.publish('s', { type: 'end' });
    expect(await feed.lastDraft('s')).toBeUndefined();
    await feed.close();
  });
});

liveFeedContract('in one process', () => {
  const feed = new LocalLiveFeed();
  return Promise.resolve({ writer: feed, reader: feed, close: () => feed.close() });
});

liveFeedContract('across processes, on Redis', async () => {
  const { log } = memoryLogger([]);
  // A prefix of its own, as each deployment (or test) sharing one Redis has.
  const prefix = `test-${randomUUID()}`;
  const writer = await RedisLiveFeed.open(REDIS_URL, prefix, log);
  const reader = await RedisLiveFeed.open(REDIS_URL, prefix, log);
  return {
    writer,
    reader,
    async close() {
      await writer.close();
      await reader.close();
    },
  };
});
