import { describe, expect, it } from 'vitest';
import { currentFence, Fence, FenceDownError, fenced } from '../../src/engine/fence.js';

describe('a lease’s fence', () => {
  it('is up until the lease less its margin, measured from when the taking save was sent', () => {
    const sentAt = performance.now();
    const fence = new Fence('s1', sentAt, 10_000, 2_000);
    expect(fence.up).toBe(true);
    expect(fence.wallDeadline - Date.now()).toBeGreaterThan(7_000);
    expect(fence.wallDeadline - Date.now()).toBeLessThanOrEqual(8_000);
    fence.lower();
  });

  it('reads the clock, not a timer: a fence whose deadline is past is down at once, as after a freeze', () => {
    // Taken 9 s "ago" for a 10 s lease with a 2 s margin: the deadline passed a second ago.
    const fence = new Fence('s2', performance.now() - 9_000, 10_000, 2_000);
    expect(fence.up).toBe(false);
    expect(() => fence.check()).toThrow(FenceDownError);
    expect(fence.signal.aborted).toBe(true);
  });

  it('moves its deadline with each renewal, never back, and stays down once lowered', () => {
    const fence = new Fence('s3', performance.now() - 7_000, 10_000, 2_000);
    expect(fence.up).toBe(true);
    const before = fence.wallDeadline;
    fence.renewed(performance.now());
    expect(fence.wallDeadline).toBeGreaterThan(before + 6_000);
    fence.renewed(performance.now() - 60_000);
    expect(fence.wallDeadline).toBeGreaterThan(before + 6_000);
    fence.lower();
    fence.renewed(performance.now());
    expect(fence.up).toBe(false);
  });

  it('travels with the work it guards, across awaits and timers, and nowhere else', async () => {
    const fence = new Fence('s4', performance.now(), 10_000, 2_000);
    const seen = await fenced(fence, async () => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      return currentFence();
    });
    expect(seen).toBe(fence);
    expect(currentFence()).toBeUndefined();
    fence.lower();
  });
});
