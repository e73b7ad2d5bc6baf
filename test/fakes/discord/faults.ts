import type { FailNextRule, HoldRule, RecordedRequest } from './types.js';
import type { ChangeNotifier } from './waiter.js';
import { DEFAULT_WAIT_MS } from './waiter.js';

export interface FaultResponse {
  status: number;
  body: unknown;
  headers: Record<string, string>;
  afterEffect: boolean;
}

export type HoldOutcome = { kind: 'continue' } | { kind: 'respond'; status: number; body: unknown };

function matches(rule: { method?: string; path: RegExp }, method: string, path: string): boolean {
  return (!rule.method || rule.method.toUpperCase() === method) && rule.path.test(path);
}

/** Failures and holds a test arranged for upcoming requests. */
export class FaultInjector {
  readonly #failures: Array<{ rule: FailNextRule; remaining: number }> = [];
  readonly #holds: RequestHold[] = [];
  readonly #captured = new Set<RequestHold>();

  constructor(private readonly notifier: ChangeNotifier) {}

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

  /** On shutdown: answer every held request with a 503 so no handler stays pending. */
  releaseAll(): void {
    for (const hold of [...this.#holds.splice(0), ...this.#captured]) hold.releaseWith(503);
    this.#captured.clear();
  }
}

/**
 * Keeps one matching request in flight until the test decides its fate, so a
 * test can, e.g., kill the bot while Discord "is processing" a message post.
 */
export class RequestHold {
  #request: RecordedRequest | undefined;
  #outcome: HoldOutcome | undefined;
  #resolve: ((outcome: HoldOutcome) => void) | undefined;

  constructor(
    readonly rule: HoldRule,
    private readonly notifier: ChangeNotifier,
  ) {}

  /** The held request, once it arrived. */
  get request(): RecordedRequest | undefined {
    return this.#request;
  }

  arrived(timeoutMs = DEFAULT_WAIT_MS): Promise<RecordedRequest> {
    return this.notifier.waitFor(() => this.#request, {
      timeoutMs,
      description: `a request matching ${this.rule.method ?? '*'} ${this.rule.path} to arrive`,
    });
  }

  /** Let the request through to normal processing. */
  release(): void {
    this.#settle({ kind: 'continue' });
  }

  /** Answer the request with this status instead of processing it. */
  releaseWith(status: number, body?: unknown): void {
    this.#settle({ kind: 'respond', status, body: body ?? defaultErrorBody(status) });
  }

  /** @internal Called by the REST pipeline when the request arrives. */
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
