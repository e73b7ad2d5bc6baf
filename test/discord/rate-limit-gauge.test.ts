import { describe, expect, it } from 'vitest';
import { RateLimitGauge } from '../../src/discord/rate-limit-gauge.js';

const headers = (remaining: number, resetAfter: number) =>
  new Headers({ 'x-ratelimit-remaining': String(remaining), 'x-ratelimit-reset-after': String(resetAfter) });

describe('rate-limit gauge', () => {
  it('says to give way while a channel or webhook bucket is nearly spent, until it resets', () => {
    const gauge = new RateLimitGauge();
    gauge.record('/channels/123456789012345678/messages/1', headers(1, 2));
    gauge.record('/webhooks/223456789012345678/token/messages/2', headers(4, 2));
    const now = Date.now();
    expect(gauge.canSpend('123456789012345678', now)).toBe(false);
    expect(gauge.canSpend('223456789012345678', now)).toBe(true);
    expect(gauge.canSpend('123456789012345678', now + 2_100)).toBe(true);
    expect(gauge.canSpend('999', now)).toBe(true);
  });
});

describe('rate-limit gauge, a channel’s message bucket', () => {
  const channel = '123456789012345678';
  const posts = `/channels/${channel}/messages`;
  const edits = `/channels/${channel}/messages/323456789012345678`;

  it('holds posts and edits alike once a post or an edit has spent it, until it resets', async () => {
    const gauge = new RateLimitGauge();
    gauge.record(posts, headers(0, 0.05), 'POST');
    expect(gauge.canSpend(channel)).toBe(false);
    const resetsAt = Date.now() + 40;
    await gauge.untilMessageBucketResets(channel);
    expect(Date.now()).toBeGreaterThanOrEqual(resetsAt);

    gauge.record(edits, headers(0, 2), 'PATCH');
    expect(gauge.canSpend(channel)).toBe(false);
    // An answer that set off earlier and arrives later, with more left, does not undo it.
    gauge.record(posts, headers(3, 4.5), 'POST');
    expect(gauge.canSpend(channel)).toBe(false);
    expect(gauge.canSpend(channel, Date.now() + 2_100)).toBe(true);
  });

  it('is not held by other routes of the channel, nor when nothing has spent it', async () => {
    const gauge = new RateLimitGauge();
    gauge.record(`/channels/${channel}/typing`, headers(0, 60), 'POST');
    gauge.record(edits, headers(0, 60), 'DELETE');
    gauge.record(posts, headers(0, 60));
    const before = Date.now();
    await gauge.untilMessageBucketResets(channel);
    await gauge.untilMessageBucketResets('999');
    expect(Date.now() - before).toBeLessThan(1_000);
  });
});

describe('rate-limit gauge, a webhook’s bucket', () => {
  const webhook = '423456789012345678';

  it('holds everything the webhook does once a post, an edit or a delete has spent it', () => {
    const now = Date.now();
    for (const [method, path] of [
      ['POST', `/webhooks/${webhook}/token`],
      ['PATCH', `/webhooks/${webhook}/token/messages/1`],
      ['DELETE', `/webhooks/${webhook}/token/messages/1`],
    ] as const) {
      const gauge = new RateLimitGauge();
      gauge.record(path, headers(0, 2), method);
      expect(gauge.canSpend(webhook, now), `${method} ${path}`).toBe(false);
      expect(gauge.canSpend(webhook, now + 2_100), `${method} ${path}`).toBe(true);
    }
  });
});
