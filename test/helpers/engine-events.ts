/**
 * Waiting on the engine from tests: its own events are `saved` (after every change) and `delivered` (after each
 * post the record says is out); what tests wait for is derived here, not built into the engine.
 */
import type { Post, SalonRecord, Turn } from '../../src/domain/salon.js';
import type { SalonEngine } from '../../src/engine/engine.js';

/** Resolves when the salon satisfies `predicate`, checked now and after every saved change. */
export function whenSalon(engine: SalonEngine, id: string, predicate: (salon: SalonRecord) => boolean, timeoutMs: number): Promise<SalonRecord> {
  return new Promise((resolve, reject) => {
    const onSaved = (salon: SalonRecord) => {
      if (salon.id === id && predicate(salon)) finish(salon);
    };
    const timer = setTimeout(() => {
      engine.off('saved', onSaved);
      reject(new Error(`salon ${id} did not reach the expected state within ${timeoutMs} ms`));
    }, timeoutMs);
    const finish = (salon: SalonRecord) => {
      clearTimeout(timer);
      engine.off('saved', onSaved);
      resolve(salon);
    };
    engine.on('saved', onSaved);
    void engine.get(id).then(
      (salon) => salon && predicate(salon) && finish(salon),
      () => {},
    );
  });
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
