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
