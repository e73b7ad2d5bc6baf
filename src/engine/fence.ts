/**
 * The holder's side of a lease: a deadline on this process's monotonic clock, past which it must neither save nor
 * post for the salon. The deadline is measured from when a renewal was *sent*, so however long the answer took, the
 * holder stops before the store's `until` passes; a process that was frozen (GC pause, SIGSTOP, a partition) wakes
 * to find its fence down before it can act.
 *
 * The fence travels with the work it guards through AsyncLocalStorage, so an adapter can check it at the last
 * moment: the Discord adapter refuses to send a request queued behind a rate limit once the fence is down.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * How long before the lease's end the holder stops acting, by default: room for a request already sent to arrive
 * (or be given up on) before anyone else may take over. It must be longer than the adapters' request timeout.
 */
export const FENCE_MARGIN_MS = 2_000;

export class FenceDownError extends Error {
  constructor(readonly salonId: string) {
    super(`salon ${salonId}: this worker's lease is over; another may drive the salon now`);
    this.name = 'FenceDownError';
  }
}

/**
 * Up while the work it guards may act; see the top of this file. Without a lease (`durationMs` Infinity) it is up
 * until lowered, which the engine does when it lets the salon go.
 */
export class Fence {
  private deadline: number;
  private readonly controller = new AbortController();
  private timer?: NodeJS.Timeout;

  /** `sentAt` is `performance.now()` when the save that took the lease was sent. */
  constructor(
    readonly salonId: string,
    sentAt: number,
    private readonly durationMs: number,
    private readonly marginMs = FENCE_MARGIN_MS,
  ) {
    this.deadline = sentAt + durationMs - marginMs;
    this.arm();
  }

  /** Aborted when the fence goes down. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Up while the lease is surely still this process's. Reads the clock, so it is right even after a freeze. */
  get up(): boolean {
    if (this.controller.signal.aborted) return false;
    if (performance.now() < this.deadline) return true;
    this.lower();
    return false;
  }

  /** The deadline on the wall clock (epoch ms), for a hop further on that has no view of this process's clock. */
  get wallDeadline(): number {
    return Date.now() + (this.deadline - performance.now());
  }

  /** Throws FenceDownError once the lease may be someone else's. */
  check(): void {
    if (!this.up) throw new FenceDownError(this.salonId);
  }

  /** A renewal sent at `sentAt` was saved: the lease runs `durationMs` from then. */
  renewed(sentAt: number): void {
    if (!this.up) return;
    this.deadline = Math.max(this.deadline, sentAt + this.durationMs - this.marginMs);
    this.arm();
  }

  /** Down for good: the lease was released or lost. */
  lower(): void {
    clearTimeout(this.timer);
    if (!this.controller.signal.aborted) this.controller.abort(new FenceDownError(this.salonId));
  }

  private arm(): void {
    clearTimeout(this.timer);
    // A fence without a lease (one process drives every salon) has no deadline: it comes down only when lowered.
    if (!Number.isFinite(this.deadline)) return;
    this.timer = setTimeout(() => void this.up, Math.max(0, this.deadline - performance.now()));
    this.timer.unref();
  }
}

const current = new AsyncLocalStorage<Fence>();

/** Runs `work` with `fence` as the fence every adapter call inside it checks. */
export function fenced<T>(fence: Fence | undefined, work: () => T): T {
  return fence ? current.run(fence, work) : work();
}

/** The fence of the work in progress, if it runs under one. */
export function currentFence(): Fence | undefined {
  return current.getStore();
}
