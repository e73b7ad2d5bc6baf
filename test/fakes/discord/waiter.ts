import { waitUntil } from '../../helpers/wait.js';
import type { WaitOptions } from './types.js';

export const DEFAULT_WAIT_MS = 5_000;

/**
 * Calls listeners whenever anything in the fake changes. Waiting is built on
 * this instead of polling or sleeping: a condition is re-checked exactly when
 * something happened that could make it true.
 */
export class ChangeNotifier {
  readonly #listeners = new Set<() => void>();

  notify(): void {
    for (const listener of [...this.#listeners]) listener();
  }

  subscribe(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Resolves with the first truthy value of `check`, re-evaluated on every
   * change; rejects after `timeoutMs` with the description. An exception thrown
   * by `check` rejects at once.
   */
  waitFor<T>(check: () => T | undefined | null | false, options: WaitOptions = {}): Promise<T> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_WAIT_MS;
    const description = options.description ?? 'a condition';
    return waitUntil(check, (recheck) => this.subscribe(recheck), timeoutMs, `Timed out after ${timeoutMs} ms waiting for ${description}`);
  }
}
