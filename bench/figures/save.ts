/**
 * A diagnostic beside figures 1 and 2: what one saved change costs the engine as a salon's history grows, on
 * each store. The engine copies the record's head (turns are shared) and the store writes the head and the turns
 * the change touched; a turn makes at least four such changes (started, commit, each posted part, delivered). Measured in
 * the bench process with the project's store code: a temporary SQLite file, and the machine's PostgreSQL and
 * Redis when they answer (a schema / key prefix of its own, removed after).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import type { SalonRecord } from '../../src/domain/salon.js';
import { changedTurns, copyForChange } from '../../src/engine/record-copy.js';
import type { SalonStore } from '../../src/engine/ports.js';
import { openKeyv } from '../../src/store/keyv-factory.js';
import { KeyvSalonStore } from '../../src/store/keyv-salon-store.js';
import { PostgresSalonStore } from '../../src/store/postgres-salon-store.js';
import { RedisSalonStore } from '../../src/store/redis-salon-store.js';
import { POSTGRES_URL, REDIS_URL } from '../../test/helpers/server-urls.js';
import { buildRecord } from '../lib/seed.js';
import { median } from '../lib/stats.js';

export interface SaveCost {
  store: string;
  turns: number;
  recordBytes: number;
  cloneMs: number;
  saveMs: number;
}

interface BenchStore {
  name: string;
  open(): Promise<SalonStore>;
  cleanup(): Promise<void>;
}

function stores(): BenchStore[] {
  const dir = mkdtempSync(join(tmpdir(), 'salon-bench-save-'));
  const tag = `salon_bench_${process.pid}`;
  return [
    {
      name: 'SQLite',
      open: async () => {
        const opened = await openKeyv(`sqlite://${join(dir, 'salons.sqlite')}`);
        return new KeyvSalonStore(opened.keyv, opened.close);
      },
      cleanup: async () => rmSync(dir, { recursive: true, force: true }),
    },
    {
      name: 'PostgreSQL',
      open: () => PostgresSalonStore.open(POSTGRES_URL, { schema: tag }),
      cleanup: async () => {
        const client = new pg.Client({ connectionString: POSTGRES_URL });
        await client.connect();
        await client.query(`DROP SCHEMA IF EXISTS ${tag} CASCADE`);
        await client.end();
      },
    },
    {
      name: 'Redis',
      open: () => RedisSalonStore.open(REDIS_URL, { prefix: `${tag}:` }),
      cleanup: async () => {
        const redis = new Redis(REDIS_URL);
        const keys = await redis.keys(`${tag}:*`);
        if (keys.length > 0) await redis.del(...keys);
        redis.disconnect();
      },
    },
  ];
}

/** One change as delivery makes it: the last turn gets its message ids, the head its outbox. */
function deliveredChange(record: SalonRecord): SalonRecord {
  const draft = copyForChange(record);
  const last = draft.turns.length - 1;
  draft.turns[last] = { ...draft.turns[last]!, messageIds: [`${draft.version}`] };
  draft.updatedAt = new Date().toISOString();
  draft.version += 1;
  return draft;
}

export async function saveCosts(turnCounts: number[], repeats = 30): Promise<SaveCost[]> {
  const costs: SaveCost[] = [];
  for (const backend of stores()) {
    let store: SalonStore;
    try {
      store = await backend.open();
    } catch {
      continue; // that server is not running here
    }
    try {
      for (const turns of turnCounts) {
        let record = buildRecord({
          id: `7${String(turns).padStart(17, '0')}`,
          tag: turns,
          rounds: Math.ceil(turns / 2),
          turnsDone: turns,
          createdAt: Date.UTC(2025, 11, 27),
        });
        await store.save(record);
        const clone: number[] = [];
        const save: number[] = [];
        for (let i = 0; i < repeats + 3; i++) {
          let t = performance.now();
          const next = deliveredChange(record);
          const c = performance.now() - t;
          t = performance.now();
          await store.save(next, { expected: record.version, turns: changedTurns(record, next) });
          const s = performance.now() - t;
          record = next;
          if (i >= 3) {
            clone.push(c);
            save.push(s);
          }
        }
        costs.push({ store: backend.name, turns, recordBytes: JSON.stringify(record).length, cloneMs: median(clone), saveMs: median(save) });
      }
    } finally {
      await store.close();
      await backend.cleanup().catch(() => {});
    }
  }
  return costs;
}
