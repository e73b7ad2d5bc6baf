import { setTimeout as delay } from 'node:timers/promises';

/**
 * Reads Discord's rate-limit headers as responses arrive, so optional traffic (streaming edits) can give way
 * before a bucket runs dry instead of queueing behind it. Buckets are keyed by the route's major id: the
 * channel or the webhook.
 *
 * It also keeps, per channel and per webhook, until when no message may be posted, edited or deleted there: Discord
 * counts a channel's message posts and edits against one bucket (both answer with the same X-RateLimit-Bucket), and
 * a webhook's posts, edits and deletes against another, but @discordjs/rest queues each route on its own until it
 * has seen that route's bucket, and even then does not carry a spent bucket over from the other route's queue. So
 * after a post that left the bucket at 0, the next edit would go out at once (or after an edit, the next post), and
 * be refused with a 429.
 */
export class RateLimitGauge {
  private readonly buckets = new Map<string, { remaining: number; resetAt: number }>();
  /** Per channel or webhook: until when its message bucket is spent, as the latest answer that said so gave it. */
  private readonly spentUntil = new Map<string, number>();

  /**
   * `path`: the request's full path (@discordjs/rest's `route` has every id replaced, so it cannot say whose bucket).
   * `method`: the request's; without it, nothing is learnt about a channel's message bucket being spent.
   */
  record(path: string, headers: Headers, method?: string): void {
    const remaining = headers.get('x-ratelimit-remaining');
    const resetAfter = headers.get('x-ratelimit-reset-after');
    const major = majorId(path);
    if (!major || remaining === null || resetAfter === null) return;
    const resetAt = Date.now() + Number(resetAfter) * 1000;
    this.buckets.set(major, { remaining: Number(remaining), resetAt });
    // An answer that arrives late with more left (its latency was longer) does not undo a spent bucket.
    if (Number(remaining) === 0 && method !== undefined && sharesMessageBucket(method, path)) {
      this.spentUntil.set(major, Math.max(this.spentUntil.get(major) ?? 0, resetAt));
    }
  }

  /** False while the bucket has one request or none left before it resets. */
  canSpend(major: string, now = Date.now()): boolean {
    if ((this.spentUntil.get(major) ?? 0) > now) return false;
    const bucket = this.buckets.get(major);
    return !bucket || bucket.resetAt <= now || bucket.remaining > 1;
  }

  /** Resolves once a message may be posted or edited in the channel (or through the webhook): at once, unless its bucket is spent. */
  async untilMessageBucketResets(major: string): Promise<void> {
    const wait = (this.spentUntil.get(major) ?? 0) - Date.now();
    if (wait > 0) await delay(wait);
  }
}

function majorId(path: string): string | undefined {
  return /^\/(?:channels|webhooks)\/(\d+)/.exec(path)?.[1];
}

/** A channel's message posts and edits share one bucket; everything a webhook's token does shares another. */
function sharesMessageBucket(method: string, path: string): boolean {
  const verb = method.toUpperCase();
  if (/^\/webhooks\/\d+\/[^/]+/.test(path)) return true;
  return (verb === 'POST' && /^\/channels\/\d+\/messages$/.test(path)) || (verb === 'PATCH' && /^\/channels\/\d+\/messages\/\d+$/.test(path));
}
