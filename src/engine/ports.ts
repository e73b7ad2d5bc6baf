/**
 * The engine's ports: what it needs from the world, declared here where it is consumed. Adapters (the Discord
 * publisher, the openai-SDK model client, the keyv store; the tests' memory publisher) implement these and are
 * handed to the engine by the composition root (src/app.ts); nothing in src/engine imports an adapter.
 */
import type { ModelFailure } from '../domain/errors.js';
import type { ChatMessage } from '../domain/prompts.js';
import type { Post, SalonHead, SalonRecord, Seat, Usage } from '../domain/salon.js';

export interface Clock {
  now(): number;
}

// ---------------------------------------------------------------------------------------------------------------
// Publisher: wherever a salon is shown (a Discord thread, a test's memory).

export interface DeliveryProgress {
  /**
   * Persists the id of one posted part before the next is sent, so a delivery cut short by a crash
   * resumes after the parts already out instead of repeating them.
   */
  onPart(part: number, messageId: string): Promise<void>;
  /**
   * True when the post may already be out in whole or in part without its ids recorded: it was loaded from the
   * store at start-up, or an earlier attempt (or a draft of the turn) failed with its outcome unknown. The
   * publisher then looks before it posts.
   */
  maybeDelivered: boolean;
}

/** How fast the audience may be updated: facts of the platform, which the publisher knows and the engine obeys. */
export interface Pacing {
  /** The least time between two updates of one streaming message. */
  draftIntervalMs: number;
  /** How often a typing indicator must be renewed to stay visible. */
  typingIntervalMs: number;
}

export interface Publisher {
  readonly pacing: Pacing;
  /**
   * Shows `post` to the salon's audience. Must be idempotent per `post.key`: it may be called again for a post
   * that was delivered (in whole or in part) by a process that died before recording it; `post.messageIds`
   * holds the parts already known to be out. A turn's `draftIds` are the messages that showed it while it
   * streamed: they are edited to the final text (and any the text no longer needs deleted), never posted again.
   */
  deliver(salon: SalonRecord, post: Post, progress: DeliveryProgress): Promise<void>;
  /** Shows that `seat` is writing. Best effort; called every `pacing.typingIntervalMs` while a model generates. */
  typing?(salon: SalonRecord, seat: Seat): Promise<void>;
  /**
   * Shows a turn while it streams: posts or edits the messages `draft.messageIds` to show `draft.text` so far, and
   * returns the ids of the messages now showing it (new ones appended). The final text is delivered as the turn's
   * post, which edits these messages rather than posting again. Publishers that cannot edit leave this out, and
   * turns then appear once, complete.
   */
  draft?(salon: SalonRecord, draft: DraftUpdate): Promise<string[]>;
}

export interface DraftUpdate {
  turnIndex: number;
  text: string;
  messageIds: string[];
  /**
   * A message of this draft may be out without its id known (a post whose answer was lost, or a process that
   * died mid-stream): the publisher looks for it before posting a new one.
   */
  maybePosted: boolean;
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

// ---------------------------------------------------------------------------------------------------------------
// Model client: whatever writes the turns.

export interface CompletionRequest {
  /** Key of the model in the config. */
  modelKey: string;
  messages: ChatMessage[];
  signal?: AbortSignal;
  /** Stream the reply, calling this with the whole text so far as it grows. */
  onText?: (textSoFar: string) => void;
  /**
   * Ask for a JSON answer in this schema (`response_format: { type: 'json_schema' }`, strict) where the model's
   * config allows structured output; otherwise the request goes without it and the caller reads a plain answer.
   */
  answerSchema?: { name: string; schema: Record<string, unknown> };
  /** For a quick request (the moderator's pick): this deadline and retry count in place of the model's own. */
  timeoutMs?: number;
  maxRetries?: number;
}

export interface CompletionResult {
  text: string;
  finishReason?: string;
  /** Absent when the endpoint reports none (some local servers). */
  usage?: Usage;
  latencyMs: number;
  /** HTTP attempts it took, retries included. */
  attempts: number;
}

export interface ModelClient {
  complete(request: CompletionRequest): Promise<CompletionResult>;
  /** Aborts every request in flight; used on shutdown. */
  close(): void;
}

/** A model request that failed after retries. `reason` is safe to show in a thread: it never holds a key. */
export class ModelError extends Error {
  constructor(
    readonly reason: string,
    /** Retrying later will not help (bad key, unknown model, bad request). */
    readonly permanent: boolean,
    readonly status?: number,
    /** What happened, as data (the model client's; `reason` is it in words). */
    readonly failure?: ModelFailure,
  ) {
    super(reason);
    this.name = 'ModelError';
  }
}

/** The request was aborted because the process is shutting down (or the salon was closed); not a failure. */
export class ModelAbortedError extends Error {
  constructor() {
    super('model request aborted');
    this.name = 'ModelAbortedError';
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Store: where salons live.

/** What a save of an existing salon changes: the version it was read at, and the turns added or edited since. */
export interface SaveChange {
  /**
   * The version the stored record must still have. A salon that another process changed meanwhile (it took the
   * salon over while this one stalled) is not overwritten: the save throws StaleRecordError.
   */
  expected: number;
  /** Indices of the turns added or edited by this change; the store writes only those, so a save costs the same at turn 400 as at turn 1. */
  turns: readonly number[];
}

export interface SalonStore {
  /** Throws RecordError for a record that cannot be read, so the caller can skip it and go on. */
  get(id: string): Promise<SalonRecord | undefined>;
  /**
   * Saves the record and keeps the index of live salons in step with it. Without `change` the salon is new and
   * must not exist yet (StaleRecordError if it does); with it, the save is conditional on `change.expected`.
   */
  save(record: SalonRecord, change?: SaveChange): Promise<void>;
  /** Ids of salons that may still take turns or owe the thread a post. */
  activeIds(): Promise<string[]>;
  /** The heads (records without turns) of those salons; one that cannot be read is left out. */
  activeHeads(): Promise<SalonHead[]>;
  /**
   * The salon shared on the web under `token`, or undefined: for a token never given, and at once for one revoked
   * (`share` gone or changed in the record saved last), whatever index the store keeps.
   */
  findShared(token: string): Promise<SalonRecord | undefined>;
  /** The heads of salons shared with `listed: true`, newest salon first (by `createdAt`), `limit` from `offset`. */
  listedHeads(page: { offset: number; limit: number }): Promise<{ heads: SalonHead[]; total: number }>;
  close(): Promise<void>;
}

/** A conditional save found the stored salon not at the version expected: someone else has changed it. */
export class StaleRecordError extends Error {
  constructor(
    readonly salonId: string,
    readonly expected: number | undefined,
    readonly found: number | undefined,
  ) {
    super(`salon ${salonId} is at version ${found ?? '(none)'}, not ${expected ?? '(none)'}: another process has changed it`);
    this.name = 'StaleRecordError';
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Wake-ups: how salons driven by a pool of workers get their next step (a job queue).

export interface Wakeups {
  /**
   * Arranges for some worker to drive the salon at `at` (epoch ms; at once when past), in place of the wake-up
   * pending for it: a salon has at most one. Idempotent per (salon, version): the same wake-up asked twice is one.
   */
  wake(salonId: string, version: number, at: number): Promise<void>;
}

// ---------------------------------------------------------------------------------------------------------------
// Driver: what a worker of the job queue asks of the engine for each wake-up it takes.

/** How a drive ended. */
export type DriveResult =
  /** Handed back: nothing more to do now; the next step is arranged for `wakeAt`, if any. */
  | { outcome: 'done'; wakeAt?: number }
  /** Another worker holds the salon's lease until `until`; a wake-up for then is arranged. */
  | { outcome: 'busy'; until: number }
  /** The lease was lost midway (another worker took over, or this one could not renew it in time). */
  | { outcome: 'lost' }
  /** No such salon, or nothing left to do for it ever. */
  | { outcome: 'absent' };

export interface Driver {
  /**
   * Drives one salon under a lease until nothing more is due now, then hands it back with its next step arranged
   * through Wakeups. Rejects when this process is shutting down, so the queue gives the wake-up to another worker.
   */
  drive(salonId: string): Promise<DriveResult>;
}

/** A stored record that cannot be read (corrupt, or from a newer schema). */
export class RecordError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RecordError';
  }
}
