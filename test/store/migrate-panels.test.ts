import { describe, expect, it } from 'vitest';
import { nextTurn, SCHEMA_VERSION, totalTurns } from '../../src/domain/salon.js';
import { commitTurn, startTurn } from '../../src/domain/transitions.js';
import { RecordError } from '../../src/engine/ports.js';
import { assemble, splitRecord } from '../../src/store/layout.js';
import { migrate } from '../../src/store/migrate.js';

const CLAUDE = { key: 'claude', name: 'Claude Opus 4.5', model: 'anthropic/claude-opus-4.5' };
const GLM = { key: 'glm', name: 'GLM 4.7', model: 'z-ai/glm-4.7' };
const AT = '2025-12-27T18:00:00.000Z';

function turn(index: number, seat: unknown) {
  const p = seat === 'A' || seat === 0 ? CLAUDE : GLM;
  return {
    index,
    seat,
    round: Math.floor(index / 2) + 1,
    name: p.name,
    modelKey: p.key,
    model: p.model,
    text: `turn ${index}`,
    startedAt: AT,
    finishedAt: AT,
    answered: [],
  };
}

/** A salon as schema 2 saved it: two seats by letter, turns inline. */
function schema2(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    schema: 2,
    id: 'thread-1',
    starter: { id: 'user-1', name: 'Ada' },
    topic: 'Salamanders',
    seats: { A: CLAUDE, B: GLM },
    rounds: 3,
    delaySeconds: 20,
    status: 'paused',
    turns: [turn(0, 'A'), turn(1, 'B'), turn(2, 'A')],
    interjections: [
      { id: 'q1', author: { id: 'user-2', name: 'Bob' }, text: 'And you, GLM?', at: AT, afterTurns: 1, to: 'B' },
      { id: 'q2', author: { id: 'user-2', name: 'Bob' }, text: 'Anyone?', at: AT, afterTurns: 2, answeredBy: 2 },
      { id: 'q3', author: { id: 'user-3', name: 'Cy' }, text: 'Claude?', at: AT, afterTurns: 3, to: 'A' },
    ],
    outbox: [],
    failure: { seat: 'B', name: 'GLM 4.7', reason: 'timed out', at: AT, attempts: 2, maxAttempts: 3 },
    pausedReason: { code: 'model_failed', name: 'GLM 4.7', reason: 'timed out' },
    createdAt: AT,
    updatedAt: AT,
    version: 7,
    ...overrides,
  };
}

describe('migrating two-seat salons to panels (schema 2 to 3)', () => {
  it('turns seats A and B into a list and every seat letter into its number', () => {
    const salon = migrate(structuredClone(schema2({ failure: { seat: 'A', name: 'Claude Opus 4.5', reason: 'timed out', at: AT, attempts: 1 } })));
    expect(SCHEMA_VERSION).toBe(3);
    expect(salon.schema).toBe(3);
    expect(salon.seats).toEqual([CLAUDE, GLM]);
    expect(salon.turns.map((t) => t.seat)).toEqual([0, 1, 0]);
    expect(salon.interjections.map((q) => q.to)).toEqual([1, undefined, 0]);
    expect(salon.interjections[1]).not.toHaveProperty('to');
    expect(salon.failure).toMatchObject({ seat: 0, name: 'Claude Opus 4.5', attempts: 1 });
    expect(salon.order).toBeUndefined();
    expect(salon.version).toBe(7);
    expect(totalTurns(salon)).toBe(6);
  });

  it('carries a failure of seat B to seat 1, and the salon runs on as a panel of two', () => {
    const salon = migrate(structuredClone(schema2({ status: 'running' })));
    expect(salon.failure?.seat).toBe(1);
    expect(nextTurn(salon)).toMatchObject({ index: 3, round: 2 });
    startTurn(salon, 3, Date.parse(AT));
    expect(salon.next).toMatchObject({ index: 3, seat: 1, by: 'order' });
    expect(commitTurn(salon, { index: 3, text: 'GLM again', startedAt: Date.parse(AT), answered: ['q1'] }, Date.parse(AT))?.seat).toBe(1);
  });

  it('migrates a schema 1 record through schema 2 to 3', () => {
    const old = schema2({ schema: 1, pausedReason: 'Paused by hand.', outbox: [{ key: 'n', kind: 'notice', notice: 'info', text: 'Hello', messageIds: [] }] });
    const salon = migrate(old);
    expect(salon.schema).toBe(3);
    expect(salon.seats).toEqual([CLAUDE, GLM]);
    expect(salon.pausedReason).toEqual({ code: 'legacy', text: 'Paused by hand.' });
    expect(salon.interjections[0]?.to).toBe(1);
  });

  it('reads a schema 3 head whose turns, stored apart, still have lettered seats', async () => {
    const { turns: _turns, ...head } = migrate(schema2());
    const salon = migrate({ ...head, turns: [turn(0, 'A'), turn(1, 'B'), turn(2, 0)] });
    expect(salon.turns.map((t) => t.seat)).toEqual([0, 1, 0]);
    // Through the store's layout: a head saved at schema 3, and each turn as it was written.
    const stored = { ...splitRecord(salon).head };
    const lettered = [turn(0, 'A'), turn(1, 'B'), turn(2, 'A')];
    const assembled = await assemble(stored, (count) => Promise.resolve(lettered.slice(0, count)));
    expect(assembled.schema).toBe(3);
    expect(assembled.turns.map((t) => t.seat)).toEqual([0, 1, 0]);
    expect(assembled.interjections.map((q) => q.to)).toEqual([1, undefined, 0]);
  });

  it('leaves numbered seats and seats past B alone', () => {
    const head = schema2({ schema: 3, seats: [CLAUDE, GLM, CLAUDE], failure: { seat: 2, name: 'x', reason: 'y', at: AT, attempts: 1 }, interjections: [] });
    const salon = migrate({ ...head, turns: [turn(0, 0), turn(1, 1), turn(2, 2)] });
    expect(salon.seats).toHaveLength(3);
    expect(salon.failure?.seat).toBe(2);
    expect(salon.turns.map((t) => t.seat)).toEqual([0, 1, 2]);
  });

  it('refuses a record whose seats are missing or not participants', () => {
    const { seats: _seats, ...noSeats } = schema2();
    expect(() => migrate(noSeats)).toThrow(RecordError);
    expect(() => migrate(noSeats)).toThrow(/seats/);
    expect(() => migrate(schema2({ seats: { A: CLAUDE } }))).toThrow(RecordError);
    expect(() => migrate(schema2({ seats: { A: CLAUDE, B: null } }))).toThrow(RecordError);
    expect(() => migrate(schema2({ seats: [CLAUDE, GLM] }))).toThrow(RecordError);
    expect(() => migrate({ ...schema2({ schema: 3 }), seats: undefined })).toThrow(RecordError);
    expect(() => migrate(schema2({ schema: 3, seats: [CLAUDE] }))).toThrow(/seats/);
    expect(() => migrate(schema2({ schema: 3, seats: [CLAUDE, 'glm'] }))).toThrow(RecordError);
  });
});
