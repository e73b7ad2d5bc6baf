import { deriveRandom, drawMs, type Random } from '../random.js';
import type { FailNextRule, HoldRule, LatencyHandle, LatencyRule, RecordedRequest } from './types.js';
import type { ChangeNotifier } from './waiter.js';
import { DEFAULT_WAIT_MS } from './waiter.js';

export interface FaultResponse {
  status: number;
  body: unknown;
  headers: Record<string, string>;
  afterEffect: boolean;
}

export type HoldOutcome =
  | { kind: 'continue' }
  | { kind: 'respond'; status: number; body: unknown }
  /** Destroy the connection without an answer. */
  | { kind: 'drop' };

function matches(rule: { method?: string; path: RegExp }, method: string, path: string): boolean {
  return (!rule.method || rule.method.toUpperCase() === method) && rule.path.test(path);
}

/** Failures, holds and latencies a test arranged for upcoming requests. */
export class FaultInjector {
  readonly #failures: Array<{ rule: FailNextRule; remaining: number }> = [];
  readonly #holds: RequestHold[] = [];
  readonly #captured = new Set<RequestHold>();
  readonly #latencies: Array<{ rule: LatencyRule; random: Random }> = [];
  readonly #sleeping = new Map<NodeJS.Timeout, () => void>();
  #latencyRules = 0;

  constructor(
    private readonly notifier: ChangeNotifier,
    /** Seeds the per-rule streams latency ranges draw from. */
    readonly seed: number,
  ) {}

  failNext(rule: FailNextRule): void {
    this.#failures.push({ rule, remaining: rule.count ?? 1 });
  }

  /** The failure to answer this request with, if one is armed (consumes one use). */
  takeFailure(method: string, path: string): FaultResponse | undefined {
    const index = this.#failures.findIndex((f) => f.remaining > 0 && matches(f.rule, method, path));
    const entry = this.#failures[index];
    if (!entry) return undefined;
    entry.remaining--;
    if (entry.remaining === 0) this.#failures.splice(index, 1);
    return failureResponse(entry.rule);
  }

  hold(rule: HoldRule): RequestHold {
    const hold = new RequestHold(rule, this.notifier);
    this.#holds.push(hold);
    return hold;
  }

  /** The hold that captures this request, if any (each hold captures one request). */
  takeHold(method: string, path: string): RequestHold | undefined {
    const index = this.#holds.findIndex((h) => matches(h.rule, method, path));
    const hold = this.#holds[index];
    if (!hold) return undefined;
    this.#holds.splice(index, 1);
    this.#captured.add(hold);
    return hold;
  }

  latency(rule: LatencyRule): LatencyHandle {
    const entry = { rule, random: rule.random ?? deriveRandom(this.seed, this.#latencyRules++) };
    this.#latencies.push(entry);
    return {
      rule,
      remove: () => {
        const index = this.#latencies.indexOf(entry);
        if (index >= 0) this.#latencies.splice(index, 1);
      },
    };
  }

  /** Waits as long as the latency rules matching this request at this point say (their sum), and records it. */
  async delay(when: 'before' | 'after', request: RecordedRequest): Promise<void> {
    let ms = 0;
    for (const { rule, random } of this.#latencies) {
      if ((rule.when ?? 'after') === when && matches(rule, request.method, request.path)) {
        ms += drawMs(rule.ms, random, request);
      }
    }
    if (ms <= 0) return;
    request.latencyMs += ms;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.#sleeping.delete(timer);
        resolve();
      }, ms);
      this.#sleeping.set(timer, resolve);
    });
  }

  /** On shutdown: answer every held request with a 503 and end every latency wait, so no handler stays pending. */
  releaseAll(): void {
    for (const hold of [...this.#holds.splice(0), ...this.#captured]) hold.releaseWith(503);
    this.#captured.clear();
    for (const [timer, resolve] of this.#sleeping) {
      clearTimeout(timer);
      resolve();
    }
    this.#sleeping.clear();
  }
}

/**
 * Keeps one matching request in flight until the test decides its fate, so a
 * test can, e.g., kill the bot while Discord "is processing" a message post.
 * With `afterEffect` the request is handled first and only its answer is held:
 * the message exists (and MESSAGE_CREATE went out) while the client still waits.
 */
export class RequestHold {
  #request: RecordedRequest | undefined;
  #outcome: HoldOutcome | undefined;
  #resolve: ((outcome: HoldOutcome) => void) | undefined;

  constructor(
    readonly rule: HoldRule,
    private readonly notifier: ChangeNotifier,
  ) {}

  /** The held request, once it arrived (with `afterEffect`: once it was handled and its answer is held). */
  get request(): RecordedRequest | undefined {
    return this.#request;
  }

  /** Resolves with the held request once it has arrived (with `afterEffect`: once its effect is applied). */
  arrived(timeoutMs = DEFAULT_WAIT_MS): Promise<RecordedRequest> {
    return this.notifier.waitFor(() => this.#request, {
      timeoutMs,
      description: `a request matching ${this.rule.method ?? '*'} ${this.rule.path} to arrive`,
    });
  }

  /** Let the request through to normal processing (with `afterEffect`: send the answer it got). */
  release(): void {
    this.#settle({ kind: 'continue' });
  }

  /** Answer the request with this status instead (with `afterEffect` the effect has happened all the same). */
  releaseWith(status: number, body?: unknown): void {
    this.#settle({ kind: 'respond', status, body: body ?? defaultErrorBody(status) });
  }

  /**
   * Destroy the connection without answering: the client sees a network error. Without `afterEffect` nothing
   * happened; with it, Discord did the work and the answer is lost.
   */
  drop(): void {
    this.#settle({ kind: 'drop' });
  }

  /** @internal Called by the REST pipeline when the request arrives (or, with `afterEffect`, is about to be answered). */
  capture(request: RecordedRequest): Promise<HoldOutcome> {
    this.#request = request;
    this.notifier.notify();
    if (this.#outcome) return Promise.resolve(this.#outcome);
    return new Promise((resolve) => {
      this.#resolve = resolve;
    });
  }

  #settle(outcome: HoldOutcome): void {
    if (this.#outcome) return;
    this.#outcome = outcome;
    this.#resolve?.(outcome);
  }
}

function failureResponse(rule: FailNextRule): FaultResponse {
  const afterEffect = rule.afterEffect ?? false;
  if (rule.status === 429) {
    const retryAfter = ((rule.retryAfterMs ?? 1000) / 1000).toFixed(3);
    return {
      status: 429,
      afterEffect,
      headers: {
        'retry-after': retryAfter,
        'x-ratelimit-scope': rule.global ? 'global' : 'user',
        ...(rule.global ? { 'x-ratelimit-global': 'true' } : {}),
      },
      body: rule.body ?? {
        message: 'You are being rate limited.',
        retry_after: Number(retryAfter),
        global: rule.global ?? false,
        code: 0,
      },
    };
  }
  return { status: rule.status, afterEffect, headers: {}, body: rule.body ?? defaultErrorBody(rule.status) };
}

export function defaultErrorBody(status: number): { code: number; message: string } {
  switch (status) {
    case 400:
      return { code: 50035, message: 'Invalid Form Body' };
    case 401:
      return { code: 0, message: '401: Unauthorized' };
    case 403:
      return { code: 50013, message: 'Missing Permissions' };
    case 404:
      return { code: 0, message: '404: Not Found' };
    case 500:
      return { code: 0, message: '500: Internal Server Error' };
    case 502:
      return { code: 0, message: '502: Bad Gateway' };
    case 503:
      return { code: 0, message: '503: Service Unavailable' };
    default:
      return { code: 0, message: `${status}: Error` };
  }
}
