const DISCORD_EPOCH = 1_420_070_400_000n;

/**
 * Makes real-looking, strictly increasing snowflakes, so ordering by id (which
 * discord.js and `before`/`after` paging rely on) matches creation order.
 */
export class SnowflakeFactory {
  #lastTimestamp = 0n;
  #increment = 0n;

  next(now: number = Date.now()): string {
    let timestamp = BigInt(now) - DISCORD_EPOCH;
    if (timestamp <= this.#lastTimestamp) {
      timestamp = this.#lastTimestamp;
      this.#increment += 1n;
      if (this.#increment > 0xfffn) {
        timestamp += 1n;
        this.#increment = 0n;
      }
    } else {
      this.#increment = 0n;
    }
    this.#lastTimestamp = timestamp;
    return ((timestamp << 22n) | (1n << 17n) | this.#increment).toString();
  }

  /**
   * The next id on shard `shard` of `count`: Discord routes a guild to shard
   * `(id >> 22) % count`, i.e. by the id's millisecond timestamp, so this moves
   * the timestamp forward (by less than `count` ms) until it lands there.
   */
  nextOnShard(shard: number, count: number): string {
    const id = this.next();
    const timestamp = BigInt(id) >> 22n;
    const skip = (BigInt(shard) - (timestamp % BigInt(count)) + BigInt(count)) % BigInt(count);
    return skip === 0n ? id : this.next(Number(timestamp + skip + DISCORD_EPOCH));
  }
}

/** The shard Discord delivers a guild's events on: `(guild_id >> 22) % shard count`. */
export function shardOf(guildId: string, count: number): number {
  return Number((BigInt(guildId) >> 22n) % BigInt(count));
}

export function compareSnowflakes(a: string, b: string): number {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** A random URL-safe token, like interaction and webhook tokens. */
export function randomToken(length = 68): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[Math.floor(Math.random() * alphabet.length)];
  return out;
}
