/**
 * The sizes of every Map and Set a SalonEngine keeps (its own and those of the parts it is composed of: the rooms and
 * their queue, the scheduler, the holding), read through a cast: at a quiet point (no salon live, nothing in flight)
 * each must be empty, whatever the engine calls them. The salons held live are `rooms.held`.
 */
import type { SalonEngine } from '../../src/engine/engine.js';

export function engineCollections(engine: SalonEngine): Record<string, number> {
  const sizes: Record<string, number> = {};
  const visit = (owner: object, prefix: string) => {
    for (const [name, value] of Object.entries(owner)) {
      if (value instanceof Map || value instanceof Set) sizes[`${prefix}${name}`] = value.size;
    }
  };
  visit(engine, '');
  const parts = engine as unknown as { rooms: { queue: object }; scheduler: object; holding: object };
  visit(parts.rooms, 'rooms.');
  visit(parts.rooms.queue, 'rooms.queue.');
  visit(parts.scheduler, 'scheduler.');
  visit(parts.holding, 'holding.');
  return sizes;
}

/** The same names, each with size 0: what `engineCollections` must equal when the engine is idle. */
export function allEmpty(sizes: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.keys(sizes).map((k) => [k, 0]));
}
