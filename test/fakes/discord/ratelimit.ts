import type { RateLimitConfig, RateLimitRule } from './types.js';

export const DEFAULT_RATE_LIMITS: RateLimitConfig = {
  perChannel: { count: 5, windowMs: 5_000 },
  global: { count: 50, windowMs: 1_000 },
};

/**
 * Which bucket a request falls into: the key separates channels (or webhooks),
 * the hash names the route family and is sent as X-RateLimit-Bucket.
 */
export interface BucketRef {
  key: string;
  hash: string;
}

export interface RateLimitDecision {
  allowed: boolean;
  headers: Record<string, string>;
  /** For a 429: the JSON body Discord sends. */
  body?: { message: string; retry_after: number; global: boolean; code: number };
  /** True when the client sent this although we had already told it to wait. */
  ignoredLimits: boolean;
  /**
   * Call when this answer reaches the client: only then has it been told to wait (remaining 0, or a 429).
   * An answer held back by a test latency, replaced or dropped tells the client nothing.
   */
  deliver: () => void;
}

interface Window {
  start: number;
  used: number;
  /** Until when the client has been told it must not send (0 = not told). */
  toldToWaitUntil: number;
  /** When that answer reached the client. */
  toldAt: number;
}

const nothingToDeliver = (): void => {};

function tell(window: Window, until: number): () => void {
  return () => {
    window.toldToWaitUntil = until;
    window.toldAt = Date.now();
  };
}

/**
 * Fixed-window buckets with Discord's headers. A 429 counts as a *violation*
 * only if the client had already been told to wait (remaining 0 with a reset in
 * the future, or an earlier 429): that is a client ignoring rate limits, while a
 * first 429 from a cap it could not see coming is merely `rateLimited`.
 *
 * "Told" is when the answer left the fake, and "sent" is when the request was read here: the fake cannot see when the
 * client read its 429, nor when it sent what came after. @discordjs/rest sends a bucket's requests one at a time, so
 * for buckets that is close enough; the global cap is shared by requests in flight together, and one of those, read
 * here just after the first 429 went out, counts as a violation though the client had no way to know (on a loaded
 * machine, hundreds of milliseconds' worth of them). Read a global violation count beside the client's own log.
 */
export class RateLimiter {
  readonly #config: RateLimitConfig | false;
  readonly #buckets = new Map<string, Window>();
  readonly #globals = new Map<string, Window>();
  violations = 0;
  rateLimited = 0;

  constructor(config: RateLimitConfig | false) {
    this.#config = config;
  }

  /**
   * @param bucket the route's bucket, if it has one
   * @param globalKey identity sharing the global limit (the bot token), if the route counts toward it
   * @param sentAt when the client sent the request (before any test latency): a violation is a request sent
   *   after an answer told the client to wait and before that wait was over
   */
  check(bucket: BucketRef | undefined, globalKey: string | undefined, now = Date.now(), sentAt = now): RateLimitDecision {
    const config = this.#config;
    if (!config) return { allowed: true, headers: {}, ignoredLimits: false, deliver: nothingToDeliver };

    const global = globalKey === undefined ? undefined : current(this.#globals, globalKey, config.global, now);
    if (global && global.used >= config.global.count) {
      return this.#reject(global, config.global, now, sentAt, undefined, true);
    }
    const window = bucket ? current(this.#buckets, bucket.key, config.perChannel, now) : undefined;
    if (bucket && window && window.used >= config.perChannel.count) {
      return this.#reject(window, config.perChannel, now, sentAt, bucket, false);
    }

    if (global) global.used++;
    if (!bucket || !window) return { allowed: true, headers: {}, ignoredLimits: false, deliver: nothingToDeliver };
    window.used++;
    const remaining = config.perChannel.count - window.used;
    const resetAt = window.start + config.perChannel.windowMs;
    return {
      allowed: true,
      headers: bucketHeaders(config.perChannel, remaining, resetAt, now, bucket.hash),
      ignoredLimits: false,
      deliver: remaining === 0 ? tell(window, resetAt) : nothingToDeliver,
    };
  }

  #reject(window: Window, rule: RateLimitRule, now: number, sentAt: number, bucket: BucketRef | undefined, global: boolean): RateLimitDecision {
    const ignoredLimits = window.toldAt <= sentAt && sentAt < window.toldToWaitUntil;
    if (ignoredLimits) this.violations++;
    else this.rateLimited++;
    const resetAt = window.start + rule.windowMs;
    const retryAfter = seconds(resetAt - now);
    const headers: Record<string, string> = {
      // Discord sends whole seconds here; fractions keep tests fast and
      // @discordjs/rest parses them with Number().
      'retry-after': retryAfter,
      'x-ratelimit-scope': global ? 'global' : 'user',
      ...(global ? { 'x-ratelimit-global': 'true' } : {}),
      ...(bucket ? bucketHeaders(rule, 0, resetAt, now, bucket.hash) : {}),
    };
    return {
      allowed: false,
      headers,
      body: { message: 'You are being rate limited.', retry_after: Number(retryAfter), global, code: 0 },
      ignoredLimits,
      deliver: tell(window, resetAt),
    };
  }
}

function current(map: Map<string, Window>, key: string, rule: RateLimitRule, now: number): Window {
  let window = map.get(key);
  if (!window || now >= window.start + rule.windowMs) {
    window = { start: now, used: 0, toldToWaitUntil: window?.toldToWaitUntil ?? 0, toldAt: window?.toldAt ?? 0 };
    map.set(key, window);
  }
  return window;
}

function bucketHeaders(rule: RateLimitRule, remaining: number, resetAt: number, now: number, hash: string): Record<string, string> {
  return {
    'x-ratelimit-limit': String(rule.count),
    'x-ratelimit-remaining': String(remaining),
    'x-ratelimit-reset': (resetAt / 1000).toFixed(3),
    'x-ratelimit-reset-after': seconds(resetAt - now),
    'x-ratelimit-bucket': hash,
  };
}

/** Milliseconds → seconds with 3 decimals, rounded up so a client never comes back early. */
function seconds(ms: number): string {
  return (Math.ceil(Math.max(ms, 0)) / 1000).toFixed(3);
}

export function resolveRateLimits(option: Partial<RateLimitConfig> | false | undefined): RateLimitConfig | false {
  if (option === false) return false;
  return {
    perChannel: option?.perChannel ?? DEFAULT_RATE_LIMITS.perChannel,
    global: option?.global ?? DEFAULT_RATE_LIMITS.global,
  };
}
