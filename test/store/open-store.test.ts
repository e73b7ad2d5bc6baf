import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { StoreError } from '../../src/store/store-error.js';
import { KeyvSalonStore } from '../../src/store/keyv-salon-store.js';
import { openSalonStore } from '../../src/store/open-store.js';
import { RedisSalonStore, redisKeys } from '../../src/store/redis-salon-store.js';
import { tempDir } from '../helpers/tmp.js';
import { REDIS_URL } from '../helpers/server-urls.js';
import { newSalon } from '../domain/fixtures.js';

/** Opens the store in a process of its own: 'refused: <message>' or 'open', then waits to be killed when `hold`. */
function openElsewhere(url: string, hold = false): { exited: Promise<{ code: number | null; output: string }>; opened: Promise<void>; kill(): void } {
  const script = `
    import { openSalonStore } from ${JSON.stringify(pathToFileURL(resolve('src/store/open-store.ts')).href)};
    try {
      await openSalonStore(${JSON.stringify(url)}, undefined, { busyTimeoutMs: 200 });
      console.log('open');
      if (!${hold}) process.exit(0);
      setInterval(() => {}, 1000);
    } catch (err) {
      console.log('refused: ' + err.message);
      process.exit(3);
    }`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  let onOpen!: () => void;
  const opened = new Promise<void>((resolve) => (onOpen = resolve));
  child.stdout.on('data', (chunk: Buffer) => {
    output += String(chunk);
    if (output.includes('open')) onOpen();
  });
  const exited = new Promise<{ code: number | null; output: string }>((resolve) => child.on('exit', (code) => resolve({ code, output })));
  return { exited, opened, kill: () => child.kill('SIGKILL') };
}

describe('one bot per SQLite file', () => {
  it('refuses a second process on the same file with a clear message, and lets one in once the first has gone, even by kill -9', async () => {
    const dir = tempDir();
    try {
      const url = `sqlite://${join(dir.path, 'salons.sqlite')}`;
      const first = await openSalonStore(url);
      const second = await openElsewhere(url).exited;
      expect(second.code).toBe(3);
      expect(second.output).toMatch(/refused: .*locked by another process, most likely another salon bot on the same file/);
      await first.store.close();
      expect((await openElsewhere(url).exited).code).toBe(0);

      const holder = openElsewhere(url, true);
      await holder.opened;
      await expect(openSalonStore(url, undefined, { busyTimeoutMs: 200 })).rejects.toThrow(/another salon bot/);
      holder.kill();
      await holder.exited;
      const after = await openSalonStore(url, undefined, { busyTimeoutMs: 200 });
      await after.store.close();
    } finally {
      dir.cleanup();
    }
  }, 30_000);
});

describe('opening the store SALON_STORE_URL names', () => {
  it('keeps SQLite on keyv', async () => {
    const dir = tempDir();
    try {
      const file = join(dir.path, 'salons.sqlite');
      const { store, description } = await openSalonStore(`sqlite://${file}`);
      expect(store).toBeInstanceOf(KeyvSalonStore);
      expect(description).toBe(`sqlite ${file}`);
      await store.close();
    } finally {
      dir.cleanup();
    }
  });

  it('opens Redis URLs on the Redis store', async () => {
    const { store, description } = await openSalonStore(REDIS_URL);
    // Under the default prefix, so only a salon this test makes and removes.
    const id = `open-store-test-${process.pid}-${Date.now()}`;
    try {
      expect(store).toBeInstanceOf(RedisSalonStore);
      expect(description).toBe(`redis ${REDIS_URL}`);
      await store.save(newSalon({ id }));
      expect((await store.get(id))?.id).toBe(id);
    } finally {
      await store.close();
      const raw = new Redis(REDIS_URL);
      const keys = redisKeys('salon:', id);
      await raw.del(keys.head, keys.turns);
      await raw.srem(keys.live, id);
      await raw.quit();
    }
  });

  it('stops with a StoreError naming the server, its password hidden, when Redis or PostgreSQL cannot be reached', async () => {
    const redis = await openSalonStore('redis://:hunter2@127.0.0.1:1').catch((e: unknown) => e);
    expect(redis).toBeInstanceOf(StoreError);
    expect((redis as Error).message).toMatch(
      /^cannot use the store redis redis:\/\/:\[redacted\]@127\.0\.0\.1:1: cannot connect to Redis: connect ECONNREFUSED/,
    );
    const pg = await openSalonStore('postgresql://salon:hunter2@127.0.0.1:1/salon').catch((e: unknown) => e);
    expect(pg).toBeInstanceOf(StoreError);
    expect((pg as Error).message).toMatch(/^cannot use the store postgres postgresql:\/\/salon:\[redacted\]@127\.0\.0\.1:1\/salon: .*ECONNREFUSED/);
    expect(`${(redis as Error).message} ${(pg as Error).message}`).not.toContain('hunter2');
  });

  it('names an unsupported URL as keyv did', async () => {
    await expect(openSalonStore('mongodb://u:pw@x')).rejects.toThrow(
      'SALON_STORE_URL: unsupported store "mongodb://u:[redacted]@x"; expected sqlite://, redis:// or postgres://',
    );
  });
});
