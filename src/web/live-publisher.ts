/**
 * A publisher that also tells the live feed what it shows: the Discord publisher's drafts and delivered turns, for
 * shared salons only. The pages are fed from the very calls that update the thread, so they keep its pace.
 */
import { knownParticipant } from '../domain/order.js';
import { isActive, roundOf, type SalonRecord } from '../domain/salon.js';
import type { Publisher } from '../engine/ports.js';
import type { LiveFeed } from './live-feed.js';

export function liveFeedPublisher(inner: Publisher, feed: LiveFeed): Publisher {
  const draft = inner.draft?.bind(inner);
  const typing = inner.typing?.bind(inner);
  return {
    pacing: inner.pacing,
    async deliver(salon, post, progress) {
      await inner.deliver(salon, post, progress);
      if (!salon.share) return;
      if (post.kind === 'turn') feed.publish(salon.id, { type: 'turn', index: post.turnIndex });
      if ((post.kind === 'notice' || post.kind === 'archive') && !isActive(salon)) feed.publish(salon.id, { type: 'end' });
    },
    ...(typing ? { typing } : {}),
    ...(draft
      ? {
          async draft(salon: SalonRecord, update) {
            const ids = await draft(salon, update);
            const speaker = salon.turns[update.turnIndex] ?? knownParticipant(salon, update.turnIndex);
            if (salon.share && speaker) {
              feed.publish(salon.id, {
                type: 'draft',
                index: update.turnIndex,
                name: speaker.name,
                round: roundOf(salon, update.turnIndex),
                text: update.text,
              });
            }
            return ids;
          },
        }
      : {}),
  };
}
