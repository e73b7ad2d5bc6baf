import { existsSync } from 'node:fs';

export type ProcessRole = 'both' | 'gateway' | 'worker' | 'proxy' | 'web';

/** The environment the bot reads, checked once at start-up. */
export interface Env {
  token?: string;
  applicationId?: string;
  guildId?: string;
  apiBase?: string;
  configFile: string;
  storeUrl: string;
  logLevel: string;
  /** File touched while the process is healthy; the container health check reads its age. */
  healthFile?: string;
  /** Port of the HTTP health endpoint (GET /health), when wanted. */
  healthPort?: number;
  role: ProcessRole;
  /** Redis URL of the job queue that several processes share; absent, one process drives every salon. */
  queueUrl?: string;
  queuePrefix: string;
  /** The gateway shards this process holds, of `count`. */
  shards?: { ids: number[]; count: number };
  leaseMs: number;
  workerConcurrency: number;
  /** How often some worker looks for live salons that no job will wake. */
  sweepEveryMs: number;
  /** Where the REST proxy role listens, where it sends on to, and the bot's global limit it keeps. */
  proxyPort: number;
  proxyHost: string;
  proxyUpstream?: string;
  proxyGlobalPerSecond?: number;
  /** The web gallery: served by this process when `port` is set (always for SALON_ROLE=web). */
  web: { port?: number; host: string; publicUrl?: string; trustProxy?: boolean | string };
}

/** A variable with a value salon cannot use; the message names it. */
export class EnvError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EnvError';
  }
}

const ROLES: readonly ProcessRole[] = ['both', 'gateway', 'worker', 'proxy', 'web'];

export function readEnv(env: NodeJS.ProcessEnv = process.env): Env {
  const value = (name: string) => env[name]?.trim() || undefined;
  const integer = (name: string, fallback: number, min: number, max: number): number => {
    const raw = value(name);
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) throw new EnvError(`${name} must be a whole number from ${min} to ${max} (got "${raw}")`);
    return n;
  };
  const role = (value('SALON_ROLE') ?? 'both').toLowerCase() as ProcessRole;
  if (!ROLES.includes(role)) throw new EnvError(`SALON_ROLE must be one of ${ROLES.join(', ')} (got "${value('SALON_ROLE')}")`);
  const queueUrl = value('SALON_QUEUE_URL');
  if (queueUrl !== undefined && !/^rediss?:\/\//i.test(queueUrl))
    throw new EnvError('SALON_QUEUE_URL must be a redis:// or rediss:// URL (BullMQ runs on Redis)');
  if ((role === 'gateway' || role === 'worker') && !queueUrl) {
    throw new EnvError(`SALON_ROLE=${role} needs SALON_QUEUE_URL (the Redis the processes share their job queue on)`);
  }
  const storeUrl = value('SALON_STORE_URL') ?? 'sqlite://data/salons.sqlite';
  const web = readWeb(value, integer, role);
  if (queueUrl && !/^(redis|rediss|postgres|postgresql):\/\//i.test(storeUrl)) {
    throw new EnvError('SALON_QUEUE_URL is set, so several processes share the salons: SALON_STORE_URL must be a redis:// or postgres:// URL, not a file');
  }
  return {
    token: value('DISCORD_TOKEN'),
    applicationId: value('DISCORD_APPLICATION_ID'),
    guildId: value('DISCORD_GUILD_ID'),
    apiBase: value('DISCORD_API_BASE')?.replace(/\/+$/, ''),
    configFile: value('SALON_CONFIG') ?? 'config/salon.yaml',
    storeUrl,
    logLevel: value('LOG_LEVEL') ?? 'info',
    healthFile: value('SALON_HEALTH_FILE'),
    healthPort: value('SALON_HEALTH_PORT') === undefined ? undefined : integer('SALON_HEALTH_PORT', 0, 1, 65_535),
    role,
    queueUrl,
    queuePrefix: value('SALON_QUEUE_PREFIX') ?? 'salon',
    shards: readShards(value('SHARD_IDS'), value('SHARD_COUNT')),
    leaseMs: integer('SALON_LEASE_MS', 30_000, 3_000, 600_000),
    workerConcurrency: integer('SALON_WORKER_CONCURRENCY', 50, 1, 10_000),
    sweepEveryMs: integer('SALON_SWEEP_SECONDS', 60, 1, 86_400) * 1000,
    proxyPort: integer('SALON_PROXY_PORT', 8080, 1, 65_535),
    proxyHost: value('SALON_PROXY_HOST') ?? '0.0.0.0',
    // Its own variable, not DISCORD_API_BASE: a .env shared with the bots sets that to the proxy itself.
    proxyUpstream: value('SALON_PROXY_UPSTREAM')?.replace(/\/+$/, ''),
    proxyGlobalPerSecond: value('SALON_PROXY_GLOBAL_PER_SECOND') === undefined ? undefined : integer('SALON_PROXY_GLOBAL_PER_SECOND', 50, 1, 10_000),
    web,
  };
}

/** SALON_WEB_PORT, SALON_WEB_HOST, SALON_PUBLIC_URL, SALON_WEB_TRUST_PROXY. */
function readWeb(
  value: (name: string) => string | undefined,
  integer: (name: string, fallback: number, min: number, max: number) => number,
  role: ProcessRole,
): Env['web'] {
  const port = value('SALON_WEB_PORT') === undefined ? (role === 'web' ? 8090 : undefined) : integer('SALON_WEB_PORT', 8090, 0, 65_535);
  const publicUrl = value('SALON_PUBLIC_URL')?.replace(/\/+$/, '');
  if (publicUrl !== undefined) {
    let url: URL | undefined;
    try {
      url = new URL(publicUrl);
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.search || url.hash) {
      throw new EnvError(
        `SALON_PUBLIC_URL must be the http:// or https:// address people open the gallery at, e.g. https://salon.example.org (got "${publicUrl}")`,
      );
    }
  }
  const trust = value('SALON_WEB_TRUST_PROXY');
  const trustProxy = trust === undefined ? undefined : /^(true|1|yes)$/i.test(trust) ? true : /^(false|0|no)$/i.test(trust) ? false : trust;
  return { port, host: value('SALON_WEB_HOST') ?? '127.0.0.1', publicUrl, trustProxy };
}

/** SHARD_IDS as `0,2,5` or ranges `0-3`; SHARD_COUNT alone means every shard of that count. */
function readShards(ids: string | undefined, count: string | undefined): Env['shards'] {
  if (ids === undefined && count === undefined) return undefined;
  if (count === undefined) throw new EnvError('SHARD_IDS is set, so SHARD_COUNT must be too (the total number of shards across all gateways)');
  const total = Number(count);
  if (!Number.isInteger(total) || total < 1 || total > 10_000) throw new EnvError(`SHARD_COUNT must be a whole number from 1 (got "${count}")`);
  if (ids === undefined) return { ids: Array.from({ length: total }, (_, i) => i), count: total };
  const list = new Set<number>();
  for (const part of ids.split(',').map((p) => p.trim())) {
    const range = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!range) throw new EnvError(`SHARD_IDS must list shard numbers like "0,1" or "0-3" (got "${ids}")`);
    const from = Number(range[1]);
    const to = Number(range[2] ?? range[1]);
    for (let id = from; id <= to; id++) list.add(id);
  }
  const bad = [...list].find((id) => id >= total);
  if (bad !== undefined) throw new EnvError(`SHARD_IDS names shard ${bad}, but SHARD_COUNT is ${total} (shards are numbered from 0)`);
  if (list.size === 0) throw new EnvError('SHARD_IDS names no shard');
  return { ids: [...list].sort((a, b) => a - b), count: total };
}

/** Reads `.env` from the working directory when there is one, for convenience; variables already set win. */
export function loadDotEnv(file = '.env'): void {
  if (existsSync(file)) process.loadEnvFile(file);
}
