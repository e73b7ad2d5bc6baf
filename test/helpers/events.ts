import type { EventEmitter } from 'node:events';
import { waitUntil } from './wait.js';

/** Resolves with the first emission of `event` whose arguments pass `filter`; rejects after `timeoutMs`. */
export function nextEvent<A extends unknown[]>(
  emitter: EventEmitter,
  event: string,
  filter: (...args: A) => boolean = () => true,
  timeoutMs = 5_000,
): Promise<A> {
  let emitted: A | undefined;
  return waitUntil(
    () => emitted,
    (recheck) => {
      const listener = (...args: unknown[]): void => {
        if (emitted || !filter(...(args as A))) return;
        emitted = args as A;
        recheck();
      };
      emitter.on(event, listener);
      return () => emitter.off(event, listener);
    },
    timeoutMs,
    `Timed out after ${timeoutMs} ms waiting for ${event}`,
  );
}
