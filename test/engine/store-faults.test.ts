import { createRequire } from 'node:module';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openKeyv } from '../../src/store/keyv-factory.js';
import { StoreError } from '../../src/store/store-error.js';
import { FakeOpenAI } from '../fakes/openai-server.js';
import { testConfig } from '../helpers/config.js';
import { tempDir } from '../helpers/tmp.js';
import { salonInputFor, startEngine } from './harness.js';
import { whenSalon } from '../helpers/engine-events.js';

const sqlite3 = createRequire(import.meta.url)('sqlite3') as typeof import('sqlite3');

describe('store faults', () => {
  let dir: ReturnType<typeof tempDir>;
  let server: FakeOpenAI;
  beforeEach(async () => {
    dir = tempDir();
    server = await FakeOpenAI.start();
  });
  afterEach(async () => {
    await server.stop();
    dir.cleanup();
  });

  it('logs and skips a record it cannot read while the others resume', async () => {
    const url = `sqlite://${dir.path}/salons.sqlite`;
    const config = testConfig(server.baseURL, { rounds: 1, turnDelaySeconds: 3600 });
    const first = await startEngine(config, url);
    const good = await first.engine.create(salonInputFor(config));
    const bad = await first.engine.create(salonInputFor(config));
    const old = await first.engine.create(salonInputFor(config));
    await whenSalon(first.engine, old.id, (s) => s.turns.length === 1 && s.outbox.length === 0, 5_000);
    await first.stop();

    // Corrupt one record and give another a shape from the future.
    const { keyv } = await openKeyv(url);
    await keyv.set(`salon:${bad.id}`, 'garbage');
    await keyv.set(`salon:${old.id}`, { ...(await keyv.get(`salon:${old.id}`)), schema: 99 });
    await keyv.disconnect();

    const second = await startEngine(testConfig(server.baseURL, { rounds: 1, turnDelaySeconds: 0 }), url);
    const logged = second.lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === 'cannot read salon record; skipping it');
    expect(logged.map((l) => l.salonId).sort()).toEqual([bad.id, old.id].sort());
    expect(logged.find((l) => l.salonId === old.id)!.err).toContain('newer than this version');
    expect(await second.engine.get(good.id)).toMatchObject({ status: 'running' });
    expect(second.lines.some((l) => l.includes('"resumed":1') && l.includes('"skipped":2'))).toBe(true);
    await second.stop();
  });

  it('stops start-up with a clear message when the SQLite file is locked by another process', async () => {
    const file = `${dir.path}/locked.sqlite`;
    const holder = new sqlite3.Database(file);
    await new Promise<void>((resolve, reject) =>
      holder.exec('PRAGMA journal_mode=DELETE; CREATE TABLE x(a); BEGIN EXCLUSIVE; INSERT INTO x VALUES (1);', (err) => (err ? reject(err) : resolve())),
    );
    try {
      const err = await openKeyv(`sqlite://${file}`, { busyTimeoutMs: 100 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StoreError);
      expect((err as Error).message).toMatch(/SQLITE_BUSY.*locked by another process/);
    } finally {
      await new Promise<void>((resolve) => holder.close(() => resolve()));
    }
  });

  it('resumes a salon whose turns outlived a restart with the index intact', async () => {
    const url = `sqlite://${dir.path}/salons.sqlite`;
    const config = testConfig(server.baseURL, { rounds: 2, turnDelaySeconds: 3600 });
    const first = await startEngine(config, url);
    const salon = await first.engine.create(salonInputFor(config));
    await whenSalon(first.engine, salon.id, (s) => s.turns.length === 1 && s.outbox.length === 0, 5_000);
    await first.stop();
    const second = await startEngine(config, url);
    // The delay is an hour: a restart keeps the schedule rather than speaking at once.
    const loaded = await second.engine.get(salon.id);
    expect(loaded!.nextTurnAt! - Date.now()).toBeGreaterThan(3_500_000);
    expect(loaded!.turns).toHaveLength(1);
    expect(server.requests).toHaveLength(1);
    await second.stop();
  });
});
