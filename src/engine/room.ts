/**
 * What the engine holds for one live salon while it runs it: the record, the timers of its next step, the model
 * call in flight and the delivery loop, and what it remembers about posts whose fate is unknown. One object per
 * salon, so forgetting a salon is one delete and nothing of it lingers in a parallel map.
 */
import type { SalonRecord } from '../domain/salon.js';

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

  constructor(
    public record: SalonRecord,
    /** Loaded from the store at start-up: anything it owed may have gone out before the last process died. */
    resumed = false,
  ) {
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
    this.undeliverable = false;
    this.deliveryTimer?.cancel();
    this.deliveryTimer = undefined;
  }

  cancelWork(): void {
    this.workTimer?.cancel();
    this.workTimer = undefined;
  }

  /** Stops everything arranged for this salon; a model call in flight is stopped too. */
  dispose(): void {
    this.disposed = true;
    this.cancelWork();
    this.resetDelivery();
    this.writing?.abort();
  }
}
