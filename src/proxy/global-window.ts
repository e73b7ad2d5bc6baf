/**
 * The bot's global limit as Discord may count it: at most `limit` requests in any window of `windowMs`, wherever
 * Discord's windows fall, and counted when the requests reach Discord, not when they leave here.
 *
 * A request reaches Discord somewhere between the moment it leaves and the moment its answer comes back, and nothing
 * here can tell where. Counted from when it left, as @discordjs/rest counts, a request that is slow to arrive (a busy
 * machine, a slow network) lands in the same second of Discord's as requests sent a second later, and those draw
 * global 429s: seen in the cluster test on a loaded machine, where requests and answers were held up by up to half a
 * second. So a request keeps its place in the window while it is in flight, and for `windowMs` after its answer came
 * back: two requests that far apart by that count landed at least that far apart, however late each was. The cost is
 * the round trip: at most `limit` requests in every `windowMs` plus round trip. The margin only covers the clocks.
 *
 * Discord can still answer a global 429 (another client on the token, a lower limit than ours): then nothing leaves
 * until its Retry-After has passed (`pause`), not even the requests already waiting here, which @discordjs/rest let
 * through before the 429 came and no longer holds back.
 */
import { setTimeout as delay } from 'node:timers/promises';

/** A place in the window, taken by one request. */
export interface Slot {
  /** The answer came back (or the request failed): the place is given back `windowMs` from now. */
  answered(): void;
  /** The request was not sent after all: the place is given back at once. */
  unused(): void;
}

export class SlidingWindow {
  /** performance.now() of the answers that came back in the last window, oldest first. */
  private readonly answers: number[] = [];
  private inFlight = 0;
  /** performance.now() until which nothing may leave (Discord's global Retry-After). */
  private pausedUntil = 0;
  private tail: Promise<unknown> = Promise.resolve();
  /** Wakes the request at the head of the queue when a place may have come free (an answer, an unused place). */
  private wake: (() => void) | undefined;

  constructor(
    private readonly limit: number,
    private readonly windowMs = 1_000,
    private readonly marginMs = 25,
  ) {}

  /**
   * Resolves with a place when one more request may go, in arrival order; undefined, without taking one, for a request
   * whose client gave up (`signal`) before its turn came.
   */
  take(signal?: AbortSignal): Promise<Slot | undefined> {
    const turn = this.tail.then(() => this.room(signal));
    this.tail = turn;
    return turn;
  }

  /** Discord answered a global 429: nothing leaves for `ms` from now. */
  pause(ms: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, performance.now() + ms);
  }

  private async room(signal?: AbortSignal): Promise<Slot | undefined> {
    for (;;) {
      if (signal?.aborted) return undefined;
      const now = performance.now();
      const span = this.windowMs + this.marginMs;
      while (this.answers.length > 0 && this.answers[0]! <= now - span) this.answers.shift();
      if (now < this.pausedUntil) {
        await this.sleep(this.pausedUntil - now, signal);
        continue;
      }
      if (this.inFlight + this.answers.length < this.limit) {
        this.inFlight++;
        return this.slot();
      }
      // Every place is taken: the oldest answer's runs out first; a request still in flight frees none before its
      // answer, which wakes this wait.
      await this.sleep(this.answers.length > 0 ? this.answers[0]! + span - now : undefined, signal);
    }
  }

  private slot(): Slot {
    let settled = false;
    const settle = (answeredAt?: number): void => {
      if (settled) return;
      settled = true;
      this.inFlight--;
      if (answeredAt !== undefined) this.answers.push(answeredAt);
      this.wake?.();
    };
    return { answered: () => settle(performance.now()), unused: () => settle() };
  }

  /** Waits `ms` (or, without, until woken), ending early when woken or when the client gives up. */
  private async sleep(ms: number | undefined, signal?: AbortSignal): Promise<void> {
    const woken = new AbortController();
    this.wake = () => woken.abort();
    const stop = signal ? AbortSignal.any([signal, woken.signal]) : woken.signal;
    try {
      await (ms === undefined ? new Promise((_, reject) => stop.addEventListener('abort', reject, { once: true })) : delay(ms, undefined, { signal: stop }));
    } catch {
      // Woken or given up: the loop looks again.
    } finally {
      this.wake = undefined;
    }
  }
}
