/**
 * Waiting on the engine from tests: its own events are `saved` (after every change) and `delivered` (after each
 * post the record says is out); what tests wait for is derived here, not built into the engine.
 */
import type { Post, SalonRecord, Turn } from '../../src/domain/salon.js';
import type { SalonEngine } from '../../src/engine/engine.js';
import { waitUntil } from './wait.js';

/** Engines that save the same salons: one, or every member of a cluster sharing a store. */
export type Savers = SalonEngine | { readonly members: readonly { readonly engine: SalonEngine }[] };

/**
 * Resolves when the salon satisfies `predicate`: as the store holds it now, or after a change any of `savers`
 * saves. Rejects after `timeoutMs`.
 */
export function whenSalon(savers: Savers, id: string, predicate: (salon: SalonRecord) => boolean, timeoutMs: number): Promise<SalonRecord> {
  const engines = 'members' in savers ? savers.members.map((m) => m.engine) : [savers];
  let found: SalonRecord | undefined;
  return waitUntil(
    () => found,
    (recheck) => {
      const see = (salon: SalonRecord | undefined) => {
        if (!found && salon?.id === id && predicate(salon)) {
          found = salon;
          recheck();
        }
      };
      for (const engine of engines) engine.on('saved', see);
      void engines[0]?.get(id).then(see, () => {});
      return () => {
        for (const engine of engines) engine.off('saved', see);
      };
    },
    timeoutMs,
    `salon ${id} did not reach the expected state within ${timeoutMs} ms`,
  );
}

/** Calls `listener` with each turn once its post is out. Returns the unsubscribe function. */
export function onTurnDelivered(engine: SalonEngine, listener: (salon: SalonRecord, turn: Turn) => void): () => void {
  const onDelivered = (salon: SalonRecord, post: Post) => {
    if (post.kind === 'turn') listener(salon, salon.turns[post.turnIndex]!);
  };
  engine.on('delivered', onDelivered);
  return () => engine.off('delivered', onDelivered);
}

/** Calls `listener` when a salon's "finished" notice is out. Returns the unsubscribe function. */
export function onFinished(engine: SalonEngine, listener: (salon: SalonRecord) => void): () => void {
  const onDelivered = (salon: SalonRecord, post: Post) => {
    if (post.kind === 'notice' && post.notice.code === 'finished') listener(salon);
  };
  engine.on('delivered', onDelivered);
  return () => engine.off('delivered', onDelivered);
}
