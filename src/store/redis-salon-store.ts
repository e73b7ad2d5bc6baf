/**
 * Salons on Redis, for several processes at once. A salon is a hash `{id}:head` (its version, and the record
 * without its turns as JSON) and a hash `{id}:turns` (one field per turn index); a set `live` holds the ids of
 * the salons the engine must keep running. Every save is one Lua script that checks the stored version first: a
 * process that lost the salon to another writes nothing.
 *
 * A salon shared on the web has a key `share:{token}` holding its id (the head hash keeps the token in a field of
 * its own, so the script drops the key of a token revoked without reading JSON), and a listed one is in the sorted
 * set `listed`, scored by its creation time. The script writes them with the head, and readers check the head all
 * the same.
 *
 * The script takes the live and listed sets beside the salon's own keys, and they are global, so this store targets
 * a single Redis (or one behind Sentinel), not Redis Cluster; it also names the key of the token it drops itself,
 * since only the stored head knows that token. The `{id}` hash tag keeps a salon's two keys in one slot all the same.
 *
 * The script never decodes JSON: heads and turns pass through it as opaque strings, so any text a model
 * writes (\u0000 included) is stored as JSON.stringify made it, and cjson's quirks do not apply.
 */
import { Redis, type Result } from 'ioredis';
import { isLive, type SalonHead, type SalonRecord } from '../domain/salon.js';
import { RecordError, StaleRecordError, type SalonStore, type SaveChange } from '../engine/ports.js';
import { assemble, createdAtMs, listedHead, readable, splitRecord } from './layout.js';

export interface RedisStoreOptions {
  /** Put before every key, so several deployments (or tests) can share one Redis. */
  prefix?: string;
  /** Told when the connection is lost and when it is back. */
  log?: { warn(obj: object, msg: string): void; info(obj: object, msg: string): void };
}

/** The keys of one salon, the live set and the listed set, under `prefix`. */
export function redisKeys(prefix: string, id: string): { head: string; turns: string; live: string; listed: string } {
  return { head: `${prefix}{${id}}:head`, turns: `${prefix}{${id}}:turns`, live: `${prefix}live`, listed: `${prefix}listed` };
}

/** The key holding the id of the salon shared under `token`. */
export const shareKey = (prefix: string, token: string) => `${prefix}share:{${token}}`;

// KEYS: head, turns, live, listed. ARGV: expected version ('' for a new salon), new version, head JSON, '1' if live,
// salon id, share token ('' when not shared), '1' if listed, creation time (epoch ms), key prefix, then turn index
// and turn JSON pairs. Returns {1} when written, {0, found version or ''} when not.
// Turns go in slices because unpack() of thousands of arguments overflows Lua's stack (a fork carries its
// parent's whole history); the slice is even, so a pair is never split.
const SAVE_SCRIPT = `
local found = redis.call('HGET', KEYS[1], 'version')
if ARGV[1] == '' then
  if found then return {0, found} end
elseif found ~= ARGV[1] then
  return {0, found or ''}
end
local was = redis.call('HGET', KEYS[1], 'share')
redis.call('HSET', KEYS[1], 'version', ARGV[2], 'head', ARGV[3])
for i = 10, #ARGV, 1000 do
  redis.call('HSET', KEYS[2], unpack(ARGV, i, math.min(i + 999, #ARGV)))
end
if ARGV[4] == '1' then
  redis.call('SADD', KEYS[3], ARGV[5])
else
  redis.call('SREM', KEYS[3], ARGV[5])
end
if ARGV[6] == '' then
  redis.call('HDEL', KEYS[1], 'share')
else
  redis.call('HSET', KEYS[1], 'share', ARGV[6])
  redis.call('SET', ARGV[9] .. 'share:{' .. ARGV[6] .. '}', ARGV[5])
end
if was and was ~= ARGV[6] then
  local key = ARGV[9] .. 'share:{' .. was .. '}'
  if redis.call('GET', key) == ARGV[5] then redis.call('DEL', key) end
end
if ARGV[7] == '1' then
  redis.call('ZADD', KEYS[4], ARGV[8], ARGV[5])
else
  redis.call('ZREM', KEYS[4], ARGV[5])
end
return {1}
`;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    salonSave(head: string, turns: string, live: string, listed: string, ...args: string[]): Result<[1] | [0, string], Context>;
  }
}

export class RedisSalonStore implements SalonStore {
  private constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  /**
   * Connects, and rejects when the server cannot be reached or refuses the connection. Once open, a lost
   * connection is retried for as long as it takes: commands fail while Redis is away and work again when it is back.
   */
  static async open(url: string, options: RedisStoreOptions = {}): Promise<RedisSalonStore> {
    let started = false;
    let down = false;
    let lastError: Error | undefined;
    const redis = new Redis(url, {
      lazyConnect: true,
      connectTimeout: 5_000,
      // A command waits for a reconnect or two, then fails, so a save is retried by the engine rather than
      // hanging while Redis is down.
      maxRetriesPerRequest: 2,
      // No retry at start-up, so a wrong URL stops the bot at once; after that, retry every few seconds at most.
      retryStrategy: (times) => (started ? Math.min(times * 200, 3_000) : null),
    });
    // Without a listener ioredis prints every connection error to the console.
    redis.on('error', (err: Error) => {
      lastError = err;
      if (started && !down) options.log?.warn({ err: err.message }, 'lost the Redis connection; retrying');
      if (started) down = true;
    });
    redis.on('ready', () => {
      if (down) options.log?.info({}, 'Redis connection is back');
      down = false;
    });
    redis.defineCommand('salonSave', { numberOfKeys: 4, lua: SAVE_SCRIPT });
    try {
      await redis.connect();
    } catch (err) {
      redis.disconnect();
      throw new Error(`cannot connect to Redis: ${(lastError ?? (err as Error)).message}`, { cause: err });
    }
    started = true;
    return new RedisSalonStore(redis, options.prefix ?? 'salon:');
  }

  async get(id: string): Promise<SalonRecord | undefined> {
    const keys = redisKeys(this.prefix, id);
    // One transaction, so the head and its turns are of the same save.
    const replies = await this.redis.multi().hget(keys.head, 'head').hgetall(keys.turns).exec();
    if (!replies) throw new Error(`reading salon ${id}: the transaction was aborted`);
    for (const [err] of replies) if (err) throw err;
    const [[, rawHead], [, rawTurns]] = replies as [[null, string | null], [null, Record<string, string>]];
    if (rawHead === null) return undefined;
    const head = parse(rawHead, `salon ${id}: the head`);
    return assemble(head, (count) =>
      Promise.resolve(
        Array.from({ length: count }, (_, i) => {
          const raw = rawTurns[String(i)];
          return raw === undefined ? undefined : parse(raw, `salon ${id}: turn ${i}`);
        }),
      ),
    );
  }

  async save(record: SalonRecord, change?: SaveChange): Promise<void> {
    const keys = redisKeys(this.prefix, record.id);
    const { head, turns } = splitRecord(record, change?.turns);
    const args = [
      change ? String(change.expected) : '',
      String(record.version),
      JSON.stringify(head),
      isLive(record) ? '1' : '0',
      record.id,
      record.share?.token ?? '',
      record.share?.listed === true ? '1' : '0',
      String(createdAtMs(record)),
      this.prefix,
      ...turns.flatMap((turn) => [String(turn.index), JSON.stringify(turn)]),
    ];
    const reply = await this.redis.salonSave(keys.head, keys.turns, keys.live, keys.listed, ...args);
    if (reply[0] !== 1) {
      const found = reply[1] === '' ? undefined : Number(reply[1]);
      throw new StaleRecordError(record.id, change?.expected, found);
    }
  }

  async activeIds(): Promise<string[]> {
    return this.redis.smembers(`${this.prefix}live`);
  }

  async activeHeads(): Promise<SalonHead[]> {
    const ids = await this.activeIds();
    const heads: SalonHead[] = [];
    for (let from = 0; from < ids.length; from += 500) {
      const pipeline = this.redis.pipeline();
      for (const id of ids.slice(from, from + 500)) pipeline.hget(redisKeys(this.prefix, id).head, 'head');
      for (const [err, raw] of (await pipeline.exec()) ?? []) {
        if (err || typeof raw !== 'string') continue;
        heads.push(...readable(safeParse(raw)));
      }
    }
    return heads;
  }

  async findShared(token: string): Promise<SalonRecord | undefined> {
    const id = await this.redis.get(shareKey(this.prefix, token));
    if (id === null) return undefined;
    const salon = await this.get(id);
    return salon?.share?.token === token ? salon : undefined;
  }

  async listedHeads(page: { offset: number; limit: number }): Promise<{ heads: SalonHead[]; total: number }> {
    const listed = `${this.prefix}listed`;
    const [offset, limit] = [Math.max(0, page.offset), Math.max(0, page.limit)];
    // Newest first; equal times by id, descending. One transaction, so the count and the page agree.
    const replies = await this.redis.multi().zcard(listed).zrevrangebyscore(listed, '+inf', '-inf', 'LIMIT', offset, limit).exec();
    if (!replies) throw new Error('listing shared salons: the transaction was aborted');
    for (const [err] of replies) if (err) throw err;
    const [[, total], [, ids]] = replies as [[null, number], [null, string[]]];
    if (ids.length === 0) return { heads: [], total };
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.hget(redisKeys(this.prefix, id).head, 'head');
    const heads: SalonHead[] = [];
    for (const [err, raw] of (await pipeline.exec()) ?? []) {
      if (err || typeof raw !== 'string') continue;
      heads.push(...listedHead(safeParse(raw)));
    }
    return { heads, total };
  }

  async close(): Promise<void> {
    if (this.redis.status === 'end') return;
    // QUIT lets replies in flight arrive; while Redis is away it cannot be sent, so the socket is dropped instead.
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}

/** Unparseable JSON as undefined, which `readable` then leaves out. */
function safeParse(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}

function parse(raw: string, what: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    throw new RecordError(`${what} is not valid JSON`);
  }
}
