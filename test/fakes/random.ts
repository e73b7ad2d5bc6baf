/**
 * Seeded randomness for the fakes, so a test that varies timing can replay a failure: the same seed (and the same
 * order of requests) gives the same delays.
 */

/** A source of numbers in [0, 1), like Math.random. */
export type Random = () => number;

/** The seed the fakes use when a test gives none: runs are repeatable by default. */
export const DEFAULT_SEED = 0x5eed;

/** mulberry32: small, fast, and good enough to spread delays. */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An independent stream for the n-th consumer of one seed, so adding a rule does not shift another rule's draws. */
export function deriveRandom(seed: number, n: number): Random {
  return seededRandom((seed ^ Math.imul(n + 1, 0x9e3779b9)) >>> 0);
}

/** A duration: fixed, drawn uniformly from `[min, max]`, or computed. */
export type DurationSpec<A extends unknown[] = []> = number | readonly [number, number] | ((...args: A) => number);

/** The milliseconds a spec stands for, drawing from `random` for a range (never negative). */
export function drawMs<A extends unknown[]>(spec: DurationSpec<A>, random: Random, ...args: A): number {
  if (typeof spec === 'number') return Math.max(0, spec);
  if (typeof spec === 'function') return Math.max(0, spec(...args));
  const [min, max] = spec;
  return Math.max(0, min + random() * (max - min));
}
