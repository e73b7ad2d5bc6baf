/**
 * What the engine holds for one live salon while it runs it: the record, the timers of its next step, the model
 * call in flight and the delivery loop, and what it remembers about posts whose fate is unknown. One object per
 * salon, so forgetting a salon is one delete and nothing of it lingers in a parallel map.
 */
import type { SalonRecord } from '../domain/salon.js';
import { Fence, fenced } from './fence.js';

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

export class Room {
  /** When the next turn (or synthesis) is written; unset while none is arranged. */
  workTimer?: Cancellable;
  /** When the next delivery attempt is; unset while none is arranged. */
  deliveryTimer?: Cancellable;
  /** The model call writing the salon's turn or synthesis, so a close or shutdown can stop it. */
  writing?: AbortController;
  /** The delivery loop, while one runs (at most one per salon). */
  delivering?: Promise<unknown>;
  /** Steps (turns, synthesis) that failed in a row for a reason outside the model (a store hiccup). */
  stepFailures = 0;
  /** Delivery attempts that failed in a row for a reason that may pass. */
  deliveryAttempts = 0;
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
  /**
   * For a leased room: when the salon next needs work that is not due yet (a turn, a delivery retry). The worker
   * hands the salon back to the job queue for then instead of keeping a timer.
   */
  workAt?: number;
  deliveryAt?: number;
  /** A step (turn, synthesis) was started by its timer and has not settled yet. */
  stepping = false;
  /** Told whenever the room may have gone idle or been let go (see SalonEngine.drive). */
  onSettle?: () => void;

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
    this.deliveryAttempts = 0;
    this.deliveryAt = undefined;
    this.undeliverable = false;
    this.deliveryTimer?.cancel();
    this.deliveryTimer = undefined;
  }

  cancelWork(): void {
    this.workTimer?.cancel();
    this.workTimer = undefined;
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
    this.cancelWork();
    this.resetDelivery();
    this.writing?.abort();
    this.lease?.fence.lower();
    this.guard.lower();
    this.onSettle?.();
  }

  /** Nothing in flight and nothing about to start: a leased room may be handed back. */
  get idle(): boolean {
    return !this.writing && !this.delivering && !this.deliveryTimer && !this.workTimer;
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
