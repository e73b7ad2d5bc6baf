/**
 * Reads Discord's rate-limit headers as responses arrive, so optional traffic (streaming edits) can give way
 * before a bucket runs dry instead of queueing behind it. Buckets are keyed by the route's major id: the
 * channel or the webhook.
 */
export class RateLimitGauge {
  private readonly buckets = new Map<string, { remaining: number; resetAt: number }>();

  /** `path`: the request's full path (@discordjs/rest's `route` has every id replaced, so it cannot say whose bucket). */
  record(path: string, headers: Headers): void {
    const remaining = headers.get('x-ratelimit-remaining');
    const resetAfter = headers.get('x-ratelimit-reset-after');
    const major = majorId(path);
    if (!major || remaining === null || resetAfter === null) return;
    this.buckets.set(major, { remaining: Number(remaining), resetAt: Date.now() + Number(resetAfter) * 1000 });
  }

  /** False while the bucket has one request or none left before it resets. */
  canSpend(major: string, now = Date.now()): boolean {
    const bucket = this.buckets.get(major);
    return !bucket || bucket.resetAt <= now || bucket.remaining > 1;
  }
}

function majorId(path: string): string | undefined {
  return /^\/(?:channels|webhooks)\/(\d+)/.exec(path)?.[1];
}
