import { join } from 'node:path';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { StoreError } from '../../src/store/keyv-factory.js';
import { KeyvSalonStore } from '../../src/store/keyv-salon-store.js';
import { openSalonStore } from '../../src/store/open-store.js';
import { RedisSalonStore, redisKeys } from '../../src/store/redis-salon-store.js';
import { tempDir } from '../helpers/tmp.js';
import { newSalon } from '../domain/fixtures.js';

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
    const { store, description } = await openSalonStore('redis://127.0.0.1:6379');
    // Under the default prefix, so only a salon this test makes and removes.
    const id = `open-store-test-${process.pid}-${Date.now()}`;
    try {
      expect(store).toBeInstanceOf(RedisSalonStore);
      expect(description).toBe('redis redis://127.0.0.1:6379');
      await store.save(newSalon({ id }));
      expect((await store.get(id))?.id).toBe(id);
    } finally {
      await store.close();
      const raw = new Redis('redis://127.0.0.1:6379');
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
