/**
 * What the engine holds for one live salon while it runs it: the record, the timers of its next step, the model
 * call in flight and the delivery loop, and what it remembers about posts whose fate is unknown. One object per
 * salon, so forgetting a salon is one delete and nothing of it lingers in a parallel map.
 */
import type { SalonRecord } from '../domain/salon.js';
import { Fence, fenced, FenceDownError } from './fence.js';

// Timers cannot wait longer than 2^31-1 ms; a longer wait fires early and the step, finding it is not yet due,
// arms the timer again.
const MAX_TIMER_MS = 2_147_483_647;

export interface Cancellable {
  cancel(): void;
}

/** Runs `run` after `ms`; at once (next turn of the event loop, without a timer's 1 ms floor) when nothing is to wait. */
export function later(ms: number, run: () => void): Cancellable {
  if (ms <= 0) {
    const immediate = setImmediate(run);
    return { cancel: () => clearImmediate(immediate) };
  }
  const timer = setTimeout(run, Math.min(ms, MAX_TIMER_MS));
  return { cancel: () => clearTimeout(timer) };
}

/** A step's change came after the engine had let its salon go: nothing was saved. */
export class RoomGoneError extends Error {
  constructor(readonly salonId: string) {
    super(`salon ${salonId} is no longer run here; the change was dropped`);
    this.name = 'RoomGoneError';
  }
}

/** The salon was let go while a step for it ran (released, closed, or its lease over): the step's work is not ours to save. */
export function isLetGo(err: unknown): boolean {
  return err instanceof RoomGoneError || err instanceof FenceDownError;
}

/** One kind of step a salon takes (writing a turn, delivering its posts): when it runs next, the run in flight, failures in a row. */
export class Step {
  timer?: Cancellable;
  running?: Promise<unknown>;
  /** Runs that failed in a row for a reason that may pass (a store hiccup, Discord down). */
  failures = 0;
  /** When the step is next due, where a worker hands it to the job queue instead of holding a timer (see Holding.defer). */
  dueAt?: number;

  /** Cancels what is arranged (a run in flight goes on). */
  cancel(): void {
    this.timer?.cancel();
    this.timer = undefined;
    this.dueAt = undefined;
  }

  get idle(): boolean {
    return !this.timer && !this.running;
  }
}

export class Room {
  /** Writing the salon's turns and its synthesis, one at a time. */
  readonly write = new Step();
  /** Delivering what the salon owes its thread: one loop at a time. */
  readonly deliver = new Step();
  /** The model call writing the salon's turn or synthesis, so a close or shutdown can stop it. */
  writing?: AbortController;
  /** The thread refused a post for good: nothing is sent until someone resumes or closes the salon. */
  undeliverable = false;
  /** The thread is being given up on (deleted), so a second report of it is ignored. */
  abandoning = false;
  /** Post keys that may be out, in whole or in part, without their ids recorded (DeliveryProgress.maybeDelivered). */
  readonly uncertainPosts = new Set<string>();
  /**
   * The next turn may already show in a draft message nobody knows the id of: a process died mid-stream, or a
   * draft update failed with its outcome unknown (DraftUpdate.maybePosted).
   */
  uncertainDraft = false;
  /** The engine no longer runs this salon; a step that still holds the room must not act on it. */
  disposed = false;
  /** Held under a lease (a worker among several): whose it is, and the fence that stops this process when it ends. */
  lease?: { owner: string; epoch: number; fence: Fence };
  private idleWaiters: (() => void)[] = [];

  constructor(
    public record: SalonRecord,
    /** Loaded from the store at start-up: anything it owed may have gone out before the last process died. */
    resumed = false,
  ) {
    this.guard = new Fence(record.id, performance.now(), Infinity);
    if (resumed) {
      for (const post of record.outbox) this.uncertainPosts.add(post.key);
      this.uncertainDraft = true;
    }
  }

  get id(): string {
    return this.record.id;
  }

  /** Forgets past delivery failures, so a thread that refused posts is tried again. */
  resetDelivery(): void {
    this.deliver.failures = 0;
    this.deliver.cancel();
    this.undeliverable = false;
  }

  /**
   * Guards the room's work where it holds no lease (one process drives every salon): lowered when the engine lets
   * the salon go, so a step still running for it (a post under way when its thread was deleted) sends nothing more.
   */
  private readonly guard: Fence;

  /** The fence every call the room's work makes to the outside is checked against. */
  get fence(): Fence {
    return this.lease?.fence ?? this.guard;
  }

  /** Stops everything arranged for this salon; a model call in flight is stopped too. */
  dispose(): void {
    this.disposed = true;
    this.write.cancel();
    this.resetDelivery();
    this.writing?.abort();
    this.fence.lower();
    this.guard.lower();
    this.checkIdle();
  }

  /** Nothing in flight and nothing about to start. */
  get idle(): boolean {
    return !this.writing && this.write.idle && this.deliver.idle;
  }

  /** Resolves once the room is idle, or let go. */
  whenIdle(): Promise<void> {
    if (this.idle || this.disposed) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Tells whoever waits in whenIdle, if the room is idle now (or let go); called whenever a step settles. */
  checkIdle(): void {
    if (!(this.idle || this.disposed) || this.idleWaiters.length === 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  /**
   * Runs a step that reaches outside (a post, a draft edit) under the room's fence: refused at once when the lease
   * is over, and carried to the adapter so a request that waited in a queue is refused too.
   */
  guarded<T>(work: () => Promise<T>): Promise<T> {
    const fence = this.fence;
    if (!fence.up) return Promise.reject(fence.signal.reason as Error);
    return fenced(fence, work);
  }
}
