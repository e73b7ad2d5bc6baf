/**
 * What every SalonStore adapter promises the engine, run against each one on its real backend. A store shared by
 * several processes (Redis, PostgreSQL) also proves its conditional writes between two instances.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SalonRecord } from '../../src/domain/salon.js';
import { close, commitTurn, markDelivered } from '../../src/domain/transitions.js';
import { changedTurns, copyForChange } from '../../src/engine/record-copy.js';
import { StaleRecordError, type SalonStore, type SaveChange } from '../../src/engine/ports.js';
import { newSalon } from '../domain/fixtures.js';

export interface StoreUnderTest {
  /** A store over the same data as every other store this harness opened in the same test. */
  open(): Promise<SalonStore>;
  /** Removes the test's data; called after each test. */
  cleanup(): Promise<void>;
}

let serial = 0;

/** A salon of its own for each test, with room for many turns. */
function salon(id = `s${++serial}-${Date.now()}`): SalonRecord {
  return newSalon({ id, rounds: 50, delaySeconds: 0 }, 0);
}

/** The next version of `before` after `edit`, as the engine makes it, with what it tells the store. */
function changed(before: SalonRecord, edit: (s: SalonRecord) => void): [SalonRecord, SaveChange] {
  const after = copyForChange(before);
  edit(after);
  after.version += 1;
  return [after, { expected: before.version, turns: changedTurns(before, after) }];
}

function addTurn(s: SalonRecord, text: string): void {
  const at = s.nextTurnAt ?? 0;
  if (!commitTurn(s, { index: s.turns.length, text, finishReason: 'stop', startedAt: at, answered: [] }, at + 1)) throw new Error('turn not committed');
}

/**
 * `shared`: several processes may use this store at once (its conditional writes are the backend's, not
 * in-process), so it also runs the two-process cases.
 */
export function salonStoreContract(name: string, harness: () => StoreUnderTest, { shared }: { shared: boolean }): void {
  describe(`SalonStore contract: ${name}`, () => {
    let under: StoreUnderTest;
    const opened: SalonStore[] = [];
    const open = async () => {
      const store = await under.open();
      opened.push(store);
      return store;
    };
    beforeEach(() => {
      under = harness();
    });
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((s) => s.close().catch(() => {})));
      await under.cleanup();
    });

    it('has nothing for an unknown salon', async () => {
      const store = await open();
      expect(await store.get('never-saved')).toBeUndefined();
    });

    it('gives back a saved salon as it was, after reopening too', async () => {
      const store = await open();
      let s = salon();
      await store.save(s);
      for (let i = 0; i < 5; i++) {
        const [next, change] = changed(s, (d) => addTurn(d, `turn ${i} ✨ “quoted” \u0000-free`));
        await store.save(next, change);
        s = next;
      }
      expect(await store.get(s.id)).toEqual(s);
      await store.close();
      const again = await open();
      expect(await again.get(s.id)).toEqual(s);
    });

    it('refuses to create a salon that exists', async () => {
      const store = await open();
      const s = salon();
      await store.save(s);
      await expect(store.save(s)).rejects.toBeInstanceOf(StaleRecordError);
    });

    it('refuses a save whose expected version is not the stored one, and keeps the stored record', async () => {
      const store = await open();
      const s = salon();
      await store.save(s);
      const [v1, c1] = changed(s, (d) => addTurn(d, 'first'));
      await store.save(v1, c1);
      // A second change made from the old version, as a process that stalled would.
      const [stale, c2] = changed(s, (d) => addTurn(d, 'from a stale copy'));
      const err = await store.save(stale, c2).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StaleRecordError);
      expect(err).toMatchObject({ salonId: s.id, expected: 0, found: 1 });
      expect(await store.get(s.id)).toEqual(v1);
    });

    it('writes only the turns a change names: an edited turn is stored, an unnamed one is not rewritten', async () => {
      const store = await open();
      let s = salon();
      await store.save(s);
      for (const text of ['one', 'two', 'three']) {
        const [next, change] = changed(s, (d) => addTurn(d, text));
        await store.save(next, change);
        s = next;
      }
      // Delivery records the message ids of turn 1: a new turn object.
      const post = s.outbox.find((p) => p.kind === 'turn' && p.turnIndex === 1)!;
      const [delivered, change] = changed(s, (d) => {
        d.outbox.find((p) => p.key === post.key)!.messageIds = ['m1', 'm2'];
        markDelivered(d, post.key);
      });
      expect(change.turns).toEqual([1]);
      await store.save(delivered, change);
      expect((await store.get(s.id))?.turns.map((t) => t.messageIds)).toEqual([undefined, ['m1', 'm2'], undefined]);
      // A change that says it touched no turn leaves them as stored, whatever the record in hand holds.
      const [unnamed] = changed(delivered, (d) => (d.turns[0] = { ...d.turns[0]!, text: 'rewritten' }));
      await store.save(unnamed, { expected: delivered.version, turns: [] });
      expect((await store.get(s.id))?.turns[0]?.text).toBe('one');
    });

    it('keeps a salon with many turns whole (a fork carries its parent’s)', async () => {
      const store = await open();
      const s = salon();
      for (let i = 0; i < 90; i++) addTurn(s, `turn ${i}`);
      await store.save(s);
      const got = await store.get(s.id);
      expect(got?.turns.map((t) => t.text)).toEqual(s.turns.map((t) => t.text));
    });

    it('indexes only the salons the engine must keep, so start-up skips closed ones', async () => {
      const store = await open();
      const salons = Array.from({ length: 20 }, () => salon());
      await Promise.all(salons.map((s) => store.save(s)));
      await Promise.all(
        salons.slice(0, 15).map(async (s) => {
          const [closed, change] = changed(s, (d) => {
            close(d, 1);
            d.outbox = [];
          });
          await store.save(closed, change);
        }),
      );
      await store.close();
      const again = await open();
      const live = salons.slice(15).map((s) => s.id);
      expect((await again.activeIds()).filter((id) => salons.some((s) => s.id === id)).sort()).toEqual(live.sort());
      expect(await again.get(salons[0]!.id)).toMatchObject({ status: 'closed' });
      // The live ones' heads, read without their turns, are the records less their turns.
      const heads = (await again.activeHeads()).filter((h) => live.includes(h.id));
      const expected = await Promise.all(live.map(async (id) => (({ turns: _turns, ...head }) => head)((await again.get(id))!)));
      expect(heads.sort((a, b) => a.id.localeCompare(b.id))).toEqual(expected.sort((a, b) => a.id.localeCompare(b.id)));
      expect(heads.every((h) => !('turns' in h) && !('turnCount' in h))).toBe(true);
    });

    if (shared)
      it('between two processes: the one that read an old version cannot overwrite the other’s change', async () => {
        const [first, second] = [await open(), await open()];
        const s = salon();
        await first.save(s);
        const seen = (await second.get(s.id))!;
        const [fromFirst, c1] = changed(s, (d) => addTurn(d, 'first process'));
        await first.save(fromFirst, c1);
        const [fromSecond, c2] = changed(seen, (d) => addTurn(d, 'second process'));
        await expect(second.save(fromSecond, c2)).rejects.toBeInstanceOf(StaleRecordError);
        expect((await second.get(s.id))?.turns.map((t) => t.text)).toEqual(['first process']);
        expect(await second.activeIds()).toContain(s.id);
      });

    if (shared)
      it('between two processes: of two changes made from one version at once, exactly one lands', async () => {
        const [first, second] = [await open(), await open()];
        const s = salon();
        await first.save(s);
        const attempts = [first, second].map((store, i) => {
          const [next, change] = changed(s, (d) => addTurn(d, `process ${i}`));
          return store.save(next, change).then(
            () => `process ${i}`,
            (e: unknown) => {
              if (e instanceof StaleRecordError) return 'stale';
              throw e;
            },
          );
        });
        const outcomes = await Promise.all(attempts);
        expect(outcomes.filter((o) => o === 'stale')).toHaveLength(1);
        const winner = outcomes.find((o) => o !== 'stale');
        expect((await first.get(s.id))?.turns.map((t) => t.text)).toEqual([winner]);
      });
  });
}
