import { describe, expect, it } from 'vitest';
import { EnvError, readEnv } from '../../src/env.js';

const shared = { SALON_STORE_URL: 'postgres://db/salon', SALON_QUEUE_URL: 'redis://queue:6379' };

describe('the environment', () => {
  it('runs the whole bot in one process on SQLite when nothing says otherwise', () => {
    const env = readEnv({});
    expect(env).toMatchObject({ role: 'both', storeUrl: 'sqlite://data/salons.sqlite', leaseMs: 30_000, workerConcurrency: 50 });
    expect(env.queueUrl).toBeUndefined();
    expect(env.shards).toBeUndefined();
  });

  it('reads a gateway holding some shards of a count', () => {
    const env = readEnv({ ...shared, SALON_ROLE: 'gateway', SHARD_IDS: '0, 2-4', SHARD_COUNT: '6' });
    expect(env.role).toBe('gateway');
    expect(env.shards).toEqual({ ids: [0, 2, 3, 4], count: 6 });
    expect(readEnv({ SHARD_COUNT: '3' }).shards).toEqual({ ids: [0, 1, 2], count: 3 });
  });

  it('reads a worker with its lease and concurrency', () => {
    const env = readEnv({ ...shared, SALON_ROLE: 'Worker', SALON_LEASE_MS: '10000', SALON_WORKER_CONCURRENCY: '200' });
    expect(env).toMatchObject({ role: 'worker', leaseMs: 10_000, workerConcurrency: 200, queueUrl: 'redis://queue:6379' });
  });

  it.each([
    [{ SALON_ROLE: 'boss' }, /SALON_ROLE must be one of both, gateway, worker, proxy/],
    [{ SALON_ROLE: 'worker' }, /SALON_ROLE=worker needs SALON_QUEUE_URL/],
    [{ SALON_ROLE: 'gateway', SALON_QUEUE_URL: 'redis://q' }, /SALON_STORE_URL must be a redis:\/\/ or postgres:\/\/ URL/],
    [{ ...shared, SALON_QUEUE_URL: 'postgres://q' }, /SALON_QUEUE_URL must be a redis:\/\//],
    [{ SHARD_IDS: '0' }, /SHARD_IDS is set, so SHARD_COUNT must be too/],
    [{ SHARD_IDS: '0,4', SHARD_COUNT: '4' }, /SHARD_IDS names shard 4, but SHARD_COUNT is 4/],
    [{ SHARD_IDS: 'one', SHARD_COUNT: '2' }, /SHARD_IDS must list shard numbers/],
    [{ SHARD_COUNT: '0' }, /SHARD_COUNT must be a whole number/],
    [{ SALON_LEASE_MS: '500' }, /SALON_LEASE_MS must be a whole number from 3000 to 600000 \(got "500"\)/],
    [{ SALON_HEALTH_PORT: 'http' }, /SALON_HEALTH_PORT must be a whole number/],
  ])('refuses %o, naming the variable', (vars, message) => {
    expect(() => readEnv(vars)).toThrow(EnvError);
    expect(() => readEnv(vars)).toThrow(message);
  });
});
