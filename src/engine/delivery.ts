/**
 * Delivers what a salon owes its thread, in order: one post at a time from the outbox, each removed from it
 * (in its own save) only once the publisher has shown it. A transient failure returns the backoff before the next
 * attempt; a permanent one pauses the salon and stops delivery until it is resumed.
 *
 * Posting runs outside the salon's queue (one delivery loop per salon at a time), so a command never waits behind
 * Discord's rate limits; each record change it makes goes through the queue like any other.
 */
import type { Logger } from 'pino';
import type { Post, SalonRecord } from '../domain/salon.js';
import * as transitions from '../domain/transitions.js';
import * as outbox from '../domain/outbox.js';
import { PublishError, type Publisher } from './ports.js';
import { RoomGoneError, type Room } from './room.js';
import type { Change } from './rooms.js';

export interface DeliveryDeps {
  publisher: Publisher;
  log: Logger;
  backoffMs(attempt: number): number;
  /** Applies one change to the salon, in its queue, and saves it; nothing once the engine has let the room go. */
  changeQueued(room: Room, apply: Change): Promise<SalonRecord>;
  threadGone(id: string, reason: string): Promise<void>;
  stopped(): boolean;
  /** After each post the record says is out. */
  delivered(salon: SalonRecord, post: Post): void;
}

/** Runs the salon's delivery loop. Resolves with the wait before the next attempt, or undefined when nothing is owed. */
export async function deliverOutbox(room: Room, deps: DeliveryDeps): Promise<number | undefined> {
  const { id } = room;
  while (!deps.stopped() && !room.disposed) {
    const salon = room.record;
    const post = salon.outbox[0];
    if (!post) return undefined;
    try {
      await room.guarded(() =>
        deps.publisher.deliver(salon, post, {
          maybeDelivered: room.uncertainPosts.has(post.key),
          onPart: async (part, messageId) => {
            await deps.changeQueued(room, (draft) => outbox.recordPostedPart(draft, post.key, part, messageId));
          },
        }),
      );
    } catch (err) {
      room.uncertainPosts.add(post.key);
      // The lease is over, or the salon was let go (the publisher may have wrapped the refusal): not this process's to
      // retry, pause or give up on.
      if (room.disposed) throw new RoomGoneError(id);
      room.fence.check();
      const log = deps.log.child({ salonId: id });
      if (err instanceof PublishError && err.gone) {
        await deps.threadGone(id, err.message);
        return undefined;
      }
      if (err instanceof PublishError && err.permanent && salon.status === 'closed') {
        // Nobody can resume a closed salon, so a post it can never make is dropped rather than kept forever.
        log.warn({ post: post.key, reason: err.message }, 'cannot post to the thread of a closed salon; dropping the post');
        await deps.changeQueued(room, (draft) => outbox.markDelivered(draft, post.key));
        continue;
      }
      if (err instanceof PublishError && err.permanent) {
        log.warn({ post: post.key, reason: err.message }, 'cannot post to the thread; pausing the salon');
        // Nothing more can go out until someone resumes; keep the posts owed, stop trying.
        room.undeliverable = true;
        await deps.changeQueued(room, (draft, now) => transitions.pauseUndeliverable(draft, err.message, now));
        return undefined;
      }
      room.deliver.failures += 1;
      const retryIn = deps.backoffMs(room.deliver.failures);
      log.warn({ post: post.key, attempt: room.deliver.failures, retryInMs: retryIn, err }, 'posting failed; will retry');
      return retryIn;
    }
    room.deliver.failures = 0;
    const after = await deps.changeQueued(room, (draft) => outbox.markDelivered(draft, post.key));
    // Only once the record says so is the post known to be out.
    room.uncertainPosts.delete(post.key);
    deps.delivered(after, post);
  }
  return undefined;
}
