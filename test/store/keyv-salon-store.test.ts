import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openKeyv } from '../../src/store/keyv-factory.js';
import { KeyvSalonStore } from '../../src/store/keyv-salon-store.js';
import { tempDir } from '../helpers/tmp.js';
import { newSalon, playTurns } from '../domain/fixtures.js';
import { share } from '../../src/domain/transitions.js';
import { salonStoreContract } from './salon-store.contract.js';

async function openSqlite(file: string) {
  const opened = await openKeyv(`sqlite://${file}`);
  return { store: new KeyvSalonStore(opened.keyv, opened.close), keyv: opened.keyv };
}

salonStoreContract(
  'keyv over SQLite',
  () => {
    const dir = tempDir();
    const file = join(dir.path, 'nested/dir/salons.sqlite');
    return {
      open: async () => (await openSqlite(file)).store,
      cleanup: async () => dir.cleanup(),
    };
  },
  { shared: false },
);

describe('keyv store layout', () => {
  it('reads a salon stored whole, as before turns were kept apart, and writes all its turns at its next save', async () => {
    const dir = tempDir();
    try {
      const file = join(dir.path, 'salons.sqlite');
      const old = newSalon({ id: 'legacy', rounds: 5 });
      playTurns(old, 4);
      const { store, keyv } = await openSqlite(file);
      await keyv.set('salon:legacy', old);
      const read = (await store.get('legacy'))!;
      expect(read).toEqual(old);
      const next = { ...read, turns: [...read.turns], version: read.version + 1, topic: 'renamed' };
      await store.save(next, { expected: read.version, turns: [] });
      await store.close();
      const again = await openSqlite(file);
      expect(await again.store.get('legacy')).toEqual(next);
      expect(await again.keyv.get('turn:legacy:3')).toEqual(old.turns[3]);
      await again.store.close();
    } finally {
      dir.cleanup();
    }
  });

  it('takes its share keys as hints: a token key or a listed entry the record does not bear out finds nothing', async () => {
    const dir = tempDir();
    try {
      const file = join(dir.path, 'salons.sqlite');
      const { store } = await openSqlite(file);
      const shared = newSalon({ id: 'shared', rounds: 5 });
      share(shared, 'real-token', false, 1);
      await store.save(shared);
      await store.save(newSalon({ id: 'plain', rounds: 5 }));
      await store.save({ ...newSalon({ id: 'corrupt', rounds: 5 }), share: { token: 'corrupt-token', listed: true, since: 'x' } });
      await store.close();
      // As a crash between writes would leave them: keys naming salons whose records say otherwise.
      const again = await openSqlite(file);
      await again.keyv.set('share:stale-token', 'shared');
      await again.keyv.set('share:plain-token', 'plain');
      await again.keyv.set('salon:corrupt', { schema: 99, id: 'corrupt' });
      await again.keyv.set('index:listed', [
        ['shared', 3],
        ['plain', 2],
        ['gone', 1],
        ['corrupt', 0],
      ]);
      expect(await again.store.findShared('stale-token')).toBeUndefined();
      expect(await again.store.findShared('plain-token')).toBeUndefined();
      expect((await again.store.findShared('real-token'))?.id).toBe('shared');
      expect((await again.store.listedHeads({ offset: 0, limit: 10 })).heads).toEqual([]);
      await again.store.close();
    } finally {
      dir.cleanup();
    }
  });

  it('names a missing turn instead of handing the engine a salon with a hole in it', async () => {
    const dir = tempDir();
    try {
      const { store, keyv } = await openSqlite(join(dir.path, 'salons.sqlite'));
      const s = newSalon({ id: 'holed', rounds: 5 });
      playTurns(s, 3);
      await store.save(s);
      await keyv.delete('turn:holed:1');
      await expect(store.get('holed')).rejects.toThrow('turn 1 is missing');
      await store.close();
    } finally {
      dir.cleanup();
    }
  });
});

describe('keyv store under concurrent reads', () => {
  it('a read overtaken by a save (a web page reading while the engine saves) does not make the next save stale', async () => {
    const dir = tempDir();
    try {
      const { store, keyv } = await openSqlite(join(dir.path, 'salons.sqlite'));
      const salon = newSalon({ id: 'busy', rounds: 3 });
      await store.save(salon);
      // Hold the next read of the head once it has read version 0, while the engine saves version 1. The save waits
      // for that read to be done: SQLite may run a read issued first after a write issued later.
      let hold!: () => void;
      const held = new Promise<void>((resolve) => (hold = resolve));
      let readDone!: () => void;
      const read = new Promise<void>((resolve) => (readDone = resolve));
      const get = keyv.get.bind(keyv);
      let reads = 0;
      (keyv as unknown as { get: typeof keyv.get }).get = (async (key: string) => {
        const value = await get(key);
        if (key === 'salon:busy' && reads++ === 0) {
          readDone();
          await held;
        }
        return value;
      }) as typeof keyv.get;
      const reading = store.get('busy');
      await read;
      const v1 = { ...salon, version: 1, topic: 'saved while a page read' };
      await store.save(v1, { expected: 0, turns: [] });
      hold();
      expect((await reading)!.version).toBe(0);
      // The engine's next save expects version 1, which is what is stored.
      await expect(store.save({ ...v1, version: 2 }, { expected: 1, turns: [] })).resolves.toBeUndefined();
      await store.close();
    } finally {
      dir.cleanup();
    }
  });
});
