/**
 * The sizes of every Map and Set a SalonEngine keeps (its own and its queue's), read through a cast: at a quiet
 * point (no salon live, nothing in flight) each must be empty, whatever the engine calls them.
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
  const queue = (engine as unknown as { queue?: object }).queue;
  if (queue) visit(queue, 'queue.');
  return sizes;
}

/** The same names, each with size 0: what `engineCollections` must equal when the engine is idle. */
export function allEmpty(sizes: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.keys(sizes).map((k) => [k, 0]));
}
