import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RecordError } from '../../src/engine/ports.js';
import { RedisSalonStore, redisKeys, shareKey } from '../../src/store/redis-salon-store.js';
import { share } from '../../src/domain/transitions.js';
import { freePort, startRedis } from '../helpers/servers.js';
import { tempDir } from '../helpers/tmp.js';
import { REDIS_URL } from '../helpers/server-urls.js';
import { newSalon, playTurns } from '../domain/fixtures.js';
import { salonStoreContract } from './salon-store.contract.js';

const uniquePrefix = () => `salon-test-${process.pid}-${randomBytes(4).toString('hex')}:`;

/** Deletes every key under `prefix`. */
async function dropPrefix(prefix: string): Promise<void> {
  const redis = new Redis(REDIS_URL);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    await redis.quit();
  }
}

salonStoreContract(
  'Redis',
  () => {
    const prefix = uniquePrefix();
    return {
      open: () => RedisSalonStore.open(REDIS_URL, { prefix }),
      cleanup: () => dropPrefix(prefix),
    };
  },
  { shared: true },
);

describe('Redis store', () => {
  let prefix: string;
  let raw: Redis;
  let store: RedisSalonStore;
  beforeEach(async () => {
    prefix = uniquePrefix();
    raw = new Redis(REDIS_URL);
    store = await RedisSalonStore.open(REDIS_URL, { prefix });
  });
  afterEach(async () => {
    await store.close();
    await raw.quit();
    await dropPrefix(prefix);
  });

  it('refuses a head that is not JSON instead of guessing', async () => {
    await raw.hset(redisKeys(prefix, 'corrupt').head, 'version', '3', 'head', '{"id":"corrupt",');
    await expect(store.get('corrupt')).rejects.toThrow(RecordError);
    await expect(store.get('corrupt')).rejects.toThrow('salon corrupt: the head is not valid JSON');
  });

  it('takes its share keys as hints: a token key or a listed entry the head does not bear out finds nothing', async () => {
    const shared = newSalon({ id: 'shared', rounds: 5 });
    share(shared, 'real-token', false, 1);
    await store.save(shared);
    await store.save(newSalon({ id: 'plain', rounds: 5 }));
    // As a hand or an older version might leave them: keys naming salons whose heads say otherwise.
    await raw.set(shareKey(prefix, 'stale-token'), 'shared');
    await raw.set(shareKey(prefix, 'plain-token'), 'plain');
    await raw.hset(redisKeys(prefix, 'corrupt').head, 'version', '0', 'head', '{"id":');
    await raw.zadd(redisKeys(prefix, 'x').listed, 3, 'shared', 2, 'plain', 1, 'gone', 0, 'corrupt');
    expect(await store.findShared('stale-token')).toBeUndefined();
    expect(await store.findShared('plain-token')).toBeUndefined();
    expect((await store.findShared('real-token'))?.id).toBe('shared');
    expect((await store.listedHeads({ offset: 0, limit: 10 })).heads).toEqual([]);
  });

  it('drops the key of a token revoked, but not one that has come to name another salon', async () => {
    const s = newSalon({ id: 'revoked', rounds: 5 });
    share(s, 'first', true, 1);
    await store.save(s);
    expect(await raw.get(shareKey(prefix, 'first'))).toBe('revoked');
    await store.save({ ...s, share: undefined, version: 1 }, { expected: 0, turns: [] });
    expect(await raw.exists(shareKey(prefix, 'first'), redisKeys(prefix, 'revoked').listed)).toBe(0);
    await store.save({ ...s, share: { token: 'second', listed: false, since: 'x' }, version: 2 }, { expected: 1, turns: [] });
    await raw.set(shareKey(prefix, 'second'), 'another');
    await store.save({ ...s, share: undefined, version: 3 }, { expected: 2, turns: [] });
    expect(await raw.get(shareKey(prefix, 'second'))).toBe('another');
  });

  it('names a missing turn instead of handing the engine a salon with a hole in it', async () => {
    const s = newSalon({ id: 'holed', rounds: 5 });
    playTurns(s, 3);
    await store.save(s);
    await raw.hdel(redisKeys(prefix, 'holed').turns, '1');
    const err = await store.get('holed').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RecordError);
    expect((err as Error).message).toBe('turn 1 is missing');
  });

  it('keeps text with \\u0000, lone surrogates and every script as it was written', async () => {
    const s = newSalon({ id: 'unicode', rounds: 5 });
    playTurns(s, 2);
    s.turns[1] = { ...s.turns[1]!, text: 'nul \u0000 here, a lone \ud800, 𝄞, ‮rtl, "quotes" \\ and \n newlines' };
    s.topic = 'topic with \u0000 and ünïcödé';
    await store.save(s);
    expect(await store.get('unicode')).toEqual(s);
  });

  it('writes a salon with thousands of turns in one save', async () => {
    const s = newSalon({ id: 'long', rounds: 3_000 });
    playTurns(s, 2_600);
    await store.save(s);
    expect((await store.get('long'))?.turns.length).toBe(s.turns.length);
  });
});

describe('Redis store connection', () => {
  it('stops start-up with a clear message when the server cannot be reached', async () => {
    const started = performance.now();
    await expect(RedisSalonStore.open('redis://127.0.0.1:1')).rejects.toThrow(/^cannot connect to Redis: connect ECONNREFUSED 127\.0\.0\.1:1/);
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it('survives a Redis restart: commands fail while it is down, then work again', async () => {
    const dir = tempDir();
    const port = await freePort();
    let server = await startRedis(port, dir.path);
    const store = await RedisSalonStore.open(`redis://127.0.0.1:${port}`);
    try {
      const s = newSalon({ id: 'restarted', rounds: 5 });
      await store.save(s);
      server.kill('SIGKILL');
      await once(server, 'exit');
      await expect(store.get('restarted')).rejects.toThrow();
      server = await startRedis(port, dir.path);
      // The append-only file kept the salon; the script cache did not survive, and the save must not care.
      expect(await store.get('restarted')).toEqual(s);
      const next = { ...s, version: s.version + 1, topic: 'after the restart' };
      await store.save(next, { expected: s.version, turns: [] });
      expect(await store.get('restarted')).toEqual(next);
    } finally {
      await store.close();
      server.kill('SIGKILL');
      dir.cleanup();
    }
  });
});
