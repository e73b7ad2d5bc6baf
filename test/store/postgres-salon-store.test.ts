import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { RecordError } from '../../src/engine/ports.js';
import { PostgresSalonStore } from '../../src/store/postgres-salon-store.js';
import { newSalon, playTurns } from '../domain/fixtures.js';
import { share } from '../../src/domain/transitions.js';
import { salonStoreContract } from './salon-store.contract.js';
import { dropSchema as dropSchemaAt, PrivatePostgres } from '../helpers/servers.js';
import { tempDir } from '../helpers/tmp.js';
import { POSTGRES_URL } from '../helpers/server-urls.js';

// The machine's PostgreSQL (README: Development); each test works in a schema of its own, dropped after it.
let schemas = 0;
const freshSchema = () => `salon_test_${process.pid}_${++schemas}_${Date.now().toString(36)}`;

const dropSchema = (schema: string) => dropSchemaAt(POSTGRES_URL, schema);

salonStoreContract(
  'PostgreSQL',
  () => {
    const schema = freshSchema();
    return { open: () => PostgresSalonStore.open(POSTGRES_URL, { schema, maxConnections: 4 }), cleanup: () => dropSchema(schema) };
  },
  { shared: true },
);

describe('PostgreSQL store', () => {
  it('names a missing turn and an unreadable head instead of guessing', async () => {
    const schema = freshSchema();
    const store = await PostgresSalonStore.open(POSTGRES_URL, { schema });
    const raw = new pg.Client({ connectionString: POSTGRES_URL });
    await raw.connect();
    try {
      const s = newSalon({ id: 'holed', rounds: 5 });
      playTurns(s, 3);
      await store.save(s);
      await raw.query(`DELETE FROM "${schema}".salon_turns WHERE salon_id = 'holed' AND idx = 1`);
      await expect(store.get('holed')).rejects.toThrow('turn 1 is missing');
      await raw.query(`UPDATE "${schema}".salon_heads SET head = '"garbage"' WHERE id = 'holed'`);
      await expect(store.get('holed')).rejects.toBeInstanceOf(RecordError);
    } finally {
      await raw.end();
      await store.close();
      await dropSchema(schema);
    }
  });

  it('takes its share columns as hints: a token or a listed flag the head does not bear out finds nothing', async () => {
    const schema = freshSchema();
    const store = await PostgresSalonStore.open(POSTGRES_URL, { schema });
    const raw = new pg.Client({ connectionString: POSTGRES_URL });
    await raw.connect();
    try {
      const shared = newSalon({ id: 'shared', rounds: 5 });
      share(shared, 'real-token', false, 1);
      await store.save(shared);
      await store.save(newSalon({ id: 'plain', rounds: 5 }));
      await store.save({ ...newSalon({ id: 'corrupt', rounds: 5 }), share: { token: 'corrupt-token', listed: true, since: 'x' } });
      await raw.query(`UPDATE "${schema}".salon_heads SET share_token = 'plain-token', listed = true WHERE id = 'plain'`);
      await raw.query(`UPDATE "${schema}".salon_heads SET listed = true WHERE id = 'shared'`);
      await raw.query(`UPDATE "${schema}".salon_heads SET head = '"garbage"' WHERE id = 'corrupt'`);
      expect(await store.findShared('plain-token')).toBeUndefined();
      expect((await store.findShared('real-token'))?.id).toBe('shared');
      expect((await store.listedHeads({ offset: 0, limit: 10 })).heads).toEqual([]);
    } finally {
      await raw.end();
      await store.close();
      await dropSchema(schema);
    }
  });

  it('adds the share columns to tables made before them, and keeps reading the salons stored there', async () => {
    const schema = freshSchema();
    const raw = new pg.Client({ connectionString: POSTGRES_URL });
    await raw.connect();
    try {
      const old = newSalon({ id: 'old', rounds: 5 });
      playTurns(old, 2);
      const first = await PostgresSalonStore.open(POSTGRES_URL, { schema });
      await first.save(old);
      await first.close();
      // The tables as the version before sharing made them.
      await raw.query(`ALTER TABLE "${schema}".salon_heads DROP COLUMN share_token, DROP COLUMN listed, DROP COLUMN created_at`);
      const store = await PostgresSalonStore.open(POSTGRES_URL, { schema });
      try {
        expect(await store.get('old')).toEqual(old);
        expect(await store.listedHeads({ offset: 0, limit: 10 })).toEqual({ heads: [], total: 0 });
        const next = structuredClone(old);
        share(next, 'after-upgrade', true, 1);
        next.version += 1;
        await store.save(next, { expected: old.version, turns: [] });
        expect(await store.findShared('after-upgrade')).toEqual(next);
        expect((await store.listedHeads({ offset: 0, limit: 10 })).total).toBe(1);
      } finally {
        await store.close();
      }
    } finally {
      await raw.end();
      await dropSchema(schema);
    }
  });

  it('opens on a fresh database from many processes at once: the tables are made once, nobody fails', async () => {
    const schema = freshSchema();
    try {
      const stores = await Promise.all(Array.from({ length: 8 }, () => PostgresSalonStore.open(POSTGRES_URL, { schema, maxConnections: 1 })));
      await Promise.all(stores.map((store) => store.close()));
    } finally {
      await dropSchema(schema);
    }
  });

  it('refuses to open on a server it cannot reach, saying so', async () => {
    await expect(PostgresSalonStore.open('postgres://postgres@127.0.0.1:1/test')).rejects.toThrow(/ECONNREFUSED/);
  });

  it('survives a PostgreSQL restart: saves fail while it is down, then work again, and the process stays up', async () => {
    const dir = tempDir('salon-pg-');
    const server = await PrivatePostgres.create(dir.path);
    const store = await PostgresSalonStore.open(server.url, { maxConnections: 2 });
    try {
      const s = newSalon({ id: 'restarted', rounds: 5 });
      await store.save(s);
      // A save that has taken its connection from the pool when the server goes (stop() blocks until it is down):
      // the checked-out client's 'error' event must not kill the process, and the save fails.
      const next = { ...s, version: s.version + 1, topic: 'while it was down' };
      const inFlight = store.save(next, { expected: s.version, turns: [] });
      server.stop();
      await expect(inFlight).rejects.toThrow();
      await expect(store.get('restarted')).rejects.toThrow();
      server.start();
      expect(await store.get('restarted')).toEqual(s);
      await store.save(next, { expected: s.version, turns: [] });
      expect(await store.get('restarted')).toEqual(next);
    } finally {
      await store.close();
      server.stop(true);
      dir.cleanup();
    }
  });
});
