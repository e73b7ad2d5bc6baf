/**
 * The bot's global limit as Discord may count it: at most `limit` requests in any window of `windowMs`, wherever the
 * windows fall. @discordjs/rest counts in fixed windows that open when it sends; Discord counts arrivals in windows
 * of its own. When the first request of one of ours is slow to leave, the last requests of a window and the first of
 * the next land together in one of Discord's, and draw global 429s (seen under load in the cluster test). A sliding
 * window cannot be misaligned; its margin absorbs the network's jitter.
 */
import { setTimeout as delay } from 'node:timers/promises';

export class SlidingWindow {
  /** performance.now() of each request let through in the last window, oldest first. */
  private readonly sent: number[] = [];
  private tail: Promise<void> = Promise.resolve();

  constructor(
    private readonly limit: number,
    private readonly windowMs = 1_000,
    private readonly marginMs = 25,
  ) {}

  /**
   * Resolves true when one more request may go without exceeding the limit in any window, in arrival order; false,
   * without using up a place, for one whose client gave up (`signal`) before its turn came.
   */
  take(signal?: AbortSignal): Promise<boolean> {
    const turn = this.tail.then(() => this.room(signal));
    this.tail = turn.then(() => undefined);
    return turn;
  }

  private async room(signal?: AbortSignal): Promise<boolean> {
    for (;;) {
      if (signal?.aborted) return false;
      const now = performance.now();
      const span = this.windowMs + this.marginMs;
      while (this.sent.length > 0 && this.sent[0]! <= now - span) this.sent.shift();
      if (this.sent.length < this.limit) {
        this.sent.push(now);
        return true;
      }
      await delay(this.sent[0]! + span - now);
    }
  }
}
