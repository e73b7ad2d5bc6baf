/**
 * What every SalonStore adapter promises the engine, run against each one on its real backend. A store shared by
 * several processes (Redis, PostgreSQL) also proves its conditional writes between two instances.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SalonRecord } from '../../src/domain/salon.js';
import { markDelivered } from '../../src/domain/outbox.js';
import { close, commitTurn, share, unshare } from '../../src/domain/transitions.js';
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

/** The record less its turns: what a list of salons shows. */
const headOf = ({ turns: _turns, ...head }: SalonRecord) => head;

/** A token as the web gives one: random, and unlike any other. */
const token = () => `t-${++serial}-${Math.random().toString(36).slice(2)}`;

/** Saves a new salon, then each change in turn, and gives back the record as stored last. */
async function saveThrough(store: SalonStore, s: SalonRecord, ...edits: ((d: SalonRecord) => void)[]): Promise<SalonRecord> {
  await store.save(s);
  return saveEdits(store, s, ...edits);
}

async function saveEdits(store: SalonStore, s: SalonRecord, ...edits: ((d: SalonRecord) => void)[]): Promise<SalonRecord> {
  for (const edit of edits) {
    const [next, change] = changed(s, edit);
    await store.save(next, change);
    s = next;
  }
  return s;
}

/** Ends the salon for good: closed, owing nothing, so it is no longer live. */
const closeForGood = (d: SalonRecord) => {
  close(d, 1);
  d.outbox = [];
};

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

    it('finds a shared salon by its token, turns and all, after reopening too, and nothing for a token never given', async () => {
      const store = await open();
      const t = token();
      const plain = await saveThrough(store, salon(), (d) => addTurn(d, 'never shared'));
      expect(await store.findShared(t)).toBeUndefined();
      const shared = await saveThrough(
        store,
        salon(),
        (d) => addTurn(d, 'one'),
        (d) => share(d, t, false, 2),
        (d) => addTurn(d, 'two'),
      );
      expect(shared.share).toMatchObject({ token: t, listed: false });
      expect(await store.findShared(t)).toEqual(shared);
      expect(await store.findShared(token())).toBeUndefined();
      expect(await store.findShared('')).toBeUndefined();
      await store.close();
      const again = await open();
      expect((await again.findShared(t))?.turns.map((x) => x.text)).toEqual(['one', 'two']);
      expect(await again.findShared(t)).toEqual(shared);
      expect(await again.get(plain.id)).toEqual(plain);
    });

    it('finds nothing under a token as soon as the salon is unshared; shared again, under its new token only', async () => {
      const store = await open();
      const [first, second] = [token(), token()];
      let s = await saveThrough(store, salon(), (d) => share(d, first, true, 1));
      expect((await store.findShared(first))?.id).toBe(s.id);
      s = await saveEdits(store, s, (d) => unshare(d, 2));
      expect(await store.findShared(first)).toBeUndefined();
      expect(await store.listedHeads({ offset: 0, limit: 10 })).toEqual({ heads: [], total: 0 });
      expect((await store.get(s.id))?.share).toBeUndefined();
      s = await saveEdits(store, s, (d) => share(d, second, false, 3));
      expect(await store.findShared(first)).toBeUndefined();
      expect(await store.findShared(second)).toEqual(s);
      await store.close();
      const again = await open();
      expect(await again.findShared(first)).toBeUndefined();
      expect(await again.findShared(second)).toEqual(s);
    });

    it('keeps the token while listing and unlisting a shared salon, and lists it only while listed', async () => {
      const store = await open();
      const t = token();
      let s = await saveThrough(store, salon(), (d) => share(d, t, false, 1));
      expect(await store.listedHeads({ offset: 0, limit: 10 })).toEqual({ heads: [], total: 0 });
      s = await saveEdits(store, s, (d) => share(d, token(), true, 2));
      expect(s.share?.token).toBe(t);
      expect(await store.findShared(t)).toEqual(s);
      expect(await store.listedHeads({ offset: 0, limit: 10 })).toEqual({ heads: [headOf(s)], total: 1 });
      s = await saveEdits(store, s, (d) => share(d, token(), false, 3));
      expect(await store.listedHeads({ offset: 0, limit: 10 })).toEqual({ heads: [], total: 0 });
      expect(await store.findShared(t)).toEqual(s);
      s = await saveEdits(store, s, (d) => share(d, token(), true, 4));
      await store.close();
      const again = await open();
      expect(await again.listedHeads({ offset: 0, limit: 10 })).toEqual({ heads: [headOf(s)], total: 1 });
      expect(await again.findShared(t)).toEqual(s);
    });

    it('lists the listed salons newest first, a page at a time, with how many there are', async () => {
      const store = await open();
      // Created on days 1 to 6, saved out of that order; day 3 is shared unlisted and day 5 not shared at all.
      const days = [4, 1, 6, 3, 2, 5];
      const saved = new Map<number, SalonRecord>();
      for (const day of days) {
        const s = salon();
        s.createdAt = new Date(Date.UTC(2026, 0, day)).toISOString();
        const edits = day === 5 ? [] : [(d: SalonRecord) => share(d, token(), day !== 3, 1)];
        saved.set(day, await saveThrough(store, s, (d) => addTurn(d, `day ${day}`), ...edits));
      }
      const page = async (offset: number, limit: number) => {
        const { heads, total } = await store.listedHeads({ offset, limit });
        return { days: heads.map((h) => [...saved].find(([, s]) => s.id === h.id)?.[0]), total };
      };
      expect(await page(0, 2)).toEqual({ days: [6, 4], total: 4 });
      expect(await page(2, 2)).toEqual({ days: [2, 1], total: 4 });
      expect(await page(3, 10)).toEqual({ days: [1], total: 4 });
      expect(await page(4, 2)).toEqual({ days: [], total: 4 });
      expect(await page(0, 0)).toEqual({ days: [], total: 4 });
      const { heads } = await store.listedHeads({ offset: 0, limit: 10 });
      expect(heads).toEqual([6, 4, 2, 1].map((day) => headOf(saved.get(day)!)));
      expect(heads.every((h) => !('turns' in h) && !('turnCount' in h))).toBe(true);
    });

    it('finds and lists a shared salon after it has closed and is no longer live, until it is unshared', async () => {
      const store = await open();
      const t = token();
      let s = await saveThrough(
        store,
        salon(),
        (d) => addTurn(d, 'before closing'),
        (d) => share(d, t, true, 2),
        closeForGood,
      );
      expect(await store.activeIds()).not.toContain(s.id);
      await store.close();
      let again = await open();
      expect(await again.findShared(t)).toEqual(s);
      expect(await again.findShared(t)).toMatchObject({ status: 'closed' });
      expect(await again.listedHeads({ offset: 0, limit: 10 })).toEqual({ heads: [headOf(s)], total: 1 });
      s = await saveEdits(again, s, (d) => share(d, token(), false, 3));
      expect(await again.listedHeads({ offset: 0, limit: 10 })).toEqual({ heads: [], total: 0 });
      expect(await again.findShared(t)).toEqual(s);
      s = await saveEdits(again, s, (d) => unshare(d, 4));
      expect(await again.findShared(t)).toBeUndefined();
      await again.close();
      again = await open();
      expect(await again.findShared(t)).toBeUndefined();
      expect(await again.get(s.id)).toEqual(s);
    });

    it('finds each shared salon under its own token only: unsharing one leaves the other', async () => {
      const store = await open();
      const [ta, tb] = [token(), token()];
      let a = await saveThrough(
        store,
        salon(),
        (d) => addTurn(d, 'salon a'),
        (d) => share(d, ta, true, 1),
      );
      const b = await saveThrough(
        store,
        salon(),
        (d) => addTurn(d, 'salon b'),
        (d) => share(d, tb, true, 1),
      );
      expect(await store.findShared(ta)).toEqual(a);
      expect(await store.findShared(tb)).toEqual(b);
      a = await saveEdits(store, a, (d) => unshare(d, 2));
      expect(await store.findShared(ta)).toBeUndefined();
      expect(await store.findShared(tb)).toEqual(b);
      expect(await store.listedHeads({ offset: 0, limit: 10 })).toEqual({ heads: [headOf(b)], total: 1 });
      expect(await store.get(a.id)).toEqual(a);
    });

    if (shared)
      it('between two processes: a salon one shares or unshares is found, or not, by the other at once', async () => {
        const [first, second] = [await open(), await open()];
        const t = token();
        let s = await saveThrough(first, salon(), (d) => share(d, t, true, 1));
        expect(await second.findShared(t)).toEqual(s);
        expect((await second.listedHeads({ offset: 0, limit: 10 })).total).toBe(1);
        s = await saveEdits(first, s, (d) => unshare(d, 2));
        expect(await second.findShared(t)).toBeUndefined();
        expect(await second.listedHeads({ offset: 0, limit: 10 })).toEqual({ heads: [], total: 0 });
        expect(await second.get(s.id)).toEqual(s);
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
