/** The seam between the engine and whatever writes the turns. */
import type { ChatMessage } from '../domain/prompts.js';
import type { Usage } from '../domain/salon.js';

export interface CompletionRequest {
  /** Key of the model in the config. */
  modelKey: string;
  messages: ChatMessage[];
  signal?: AbortSignal;
  /** Stream the reply, calling this with the whole text so far as it grows. */
  onText?: (textSoFar: string) => void;
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
