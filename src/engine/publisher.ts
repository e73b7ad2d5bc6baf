/** The seam between the engine and wherever a salon is shown (a Discord thread, a test's memory). */
import type { Post, SalonRecord, Seat } from '../domain/salon.js';

export interface DeliveryProgress {
  /**
   * Persists the id of one posted part before the next is sent, so a delivery cut short by a crash
   * resumes after the parts already out instead of repeating them.
   */
  onPart(part: number, messageId: string): Promise<void>;
  /**
   * True when the post may already be out in whole or in part without its ids recorded: it was loaded from the
   * store at start-up, or an earlier attempt failed. The publisher then looks before it posts.
   */
  maybeDelivered: boolean;
}

export interface Publisher {
  /**
   * Shows `post` to the salon's audience. Must be idempotent per `post.key`: it may be called again for a post
   * that was delivered (in whole or in part) by a process that died before recording it; `post.messageIds`
   * holds the parts already known to be out.
   */
  deliver(salon: SalonRecord, post: Post, progress: DeliveryProgress): Promise<void>;
  /** Shows that `seat` is writing. Best effort; called every few seconds while a model generates. */
  typing?(salon: SalonRecord, seat: Seat): Promise<void>;
  /**
   * Shows a turn while it streams: posts or edits the messages `draft.messageIds` to show `draft.text` so far, and
   * returns the ids of the messages now showing it (new ones appended). Best effort: the final text is delivered
   * as the turn's post, which edits these messages rather than posting again. Publishers that cannot edit leave
   * this out, and turns then appear once, complete.
   */
  draft?(salon: SalonRecord, draft: DraftUpdate): Promise<string[]>;
}

export interface DraftUpdate {
  turnIndex: number;
  text: string;
  messageIds: string[];
}

/** A delivery failure. `permanent` means retrying will not help (the thread is gone, permission was lost). */
export class PublishError extends Error {
  constructor(
    message: string,
    readonly permanent: boolean,
    /** The salon's thread no longer exists: nothing can ever be shown there again. */
    readonly gone = false,
  ) {
    super(message);
    this.name = 'PublishError';
  }
}
