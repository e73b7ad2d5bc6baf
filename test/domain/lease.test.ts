import { describe, expect, it } from 'vitest';
import { CLOCK_SKEW_MS, heldElsewhere, releaseLease, stillHeld, takeLease } from '../../src/domain/lease.js';
import { dueAt } from '../../src/domain/salon.js';
import { newSalon } from './fixtures.js';

describe('a salon’s lease', () => {
  it('is taken with a new epoch, renewed by its holder with the same one, and taken over only once it has run out', () => {
    const salon = newSalon({ id: 'leased' });
    const first = takeLease(salon, 'w1:a', 1_000, 10_000);
    expect(first).toEqual({ owner: 'w1:a', epoch: 1, until: 11_000 });
    expect(takeLease(salon, 'w1:a', 5_000, 10_000)).toEqual({ owner: 'w1:a', epoch: 1, until: 15_000 });
    // Another worker sees it held until its end, and for the clocks' possible disagreement after.
    expect(heldElsewhere(salon, 'w2:b', 14_999)).toMatchObject({ owner: 'w1:a' });
    expect(heldElsewhere(salon, 'w2:b', 15_000 + CLOCK_SKEW_MS - 1)).toBeDefined();
    expect(heldElsewhere(salon, 'w2:b', 15_000 + CLOCK_SKEW_MS)).toBeUndefined();
    expect(heldElsewhere(salon, 'w1:a', 12_000)).toBeUndefined();
    const second = takeLease(salon, 'w2:b', 16_000, 10_000);
    expect(second.epoch).toBe(2);
    expect(stillHeld(salon, 'w1:a', 1)).toBe(false);
    expect(stillHeld(salon, 'w2:b', 2)).toBe(true);
  });

  it('once released, is free at once, and the next holder’s epoch is still higher', () => {
    const salon = newSalon({ id: 'released' });
    takeLease(salon, 'w1:a', 0, 30_000);
    releaseLease(salon, 1_000);
    expect(salon.lease).toEqual({ owner: 'w1:a', epoch: 1, until: 1_000, released: true });
    expect(heldElsewhere(salon, 'w2:b', 1_000)).toBeUndefined();
    expect(stillHeld(salon, 'w1:a', 1)).toBe(false);
    // Even its last holder starts a new epoch: a lease let go is never taken back.
    expect(takeLease(salon, 'w1:a', 2_000, 30_000).epoch).toBe(2);
  });
});

describe('when a salon next needs driving', () => {
  it('is at once while it owes a post, at its next turn while it runs, and never while it waits for someone', () => {
    const salon = newSalon({ id: 'due', rounds: 2 });
    expect(dueAt(salon)).toBe(0); // the header is owed
    salon.outbox = [];
    salon.nextTurnAt = 42_000;
    expect(dueAt(salon)).toBe(42_000);
    salon.status = 'paused';
    expect(dueAt(salon)).toBeUndefined();
    salon.outbox = [{ key: 'due:notice', kind: 'notice', notice: { code: 'budget_spent', spent: 1, budget: 1 }, messageIds: [] }];
    expect(dueAt(salon)).toBe(0);
    // A thread that refused a post waits for a resume, posts owed and all.
    salon.pausedReason = { code: 'undeliverable', reason: 'Missing Access' };
    expect(dueAt(salon)).toBeUndefined();
  });
});
