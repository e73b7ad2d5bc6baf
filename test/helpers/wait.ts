/**
 * Waiting in tests without sleeping: a condition is checked now and again each time something that could make it
 * true has happened, and the wait gives up after a bounded time with a message that says what never came.
 */

/** Tells a waiter to check again; returns how to stop telling it. */
export type Subscribe = (recheck: () => void) => () => void;

/**
 * Resolves with the first truthy value of `check`, called now and after every notification `subscribe` delivers;
 * rejects with `timeoutMessage` after `timeoutMs`, or at once with what `check` throws. Unsubscribes once, however
 * it ends.
 */
export function waitUntil<T>(
  check: () => T | undefined | null | false,
  subscribe: Subscribe,
  timeoutMs: number,
  timeoutMessage: string | (() => string),
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    let unsubscribe: (() => void) | undefined;
    let timer: NodeJS.Timeout | undefined;
    const settle = (action: () => void): void => {
      settled = true;
      unsubscribe?.();
      clearTimeout(timer);
      action();
    };
    const evaluate = (): void => {
      if (settled) return;
      let value: T | undefined | null | false;
      try {
        value = check();
      } catch (error) {
        settle(() => reject(error instanceof Error ? error : new Error(String(error))));
        return;
      }
      if (value) {
        const found = value;
        settle(() => resolve(found));
      }
    };
    evaluate();
    if (settled) return;
    unsubscribe = subscribe(evaluate);
    // A notification delivered while subscribing may already have settled it.
    if (settled) return unsubscribe();
    timer = setTimeout(() => settle(() => reject(new Error(typeof timeoutMessage === 'function' ? timeoutMessage() : timeoutMessage))), timeoutMs);
  });
}
