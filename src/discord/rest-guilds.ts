/** Where a process that has no gateway for a guild learns it, and the channels its salons post in, over REST. */
import type { Channel, Client, Guild } from 'discord.js';

/** How long a guild learnt over REST is trusted before it is fetched again (roles and permissions change). */
const GUILD_TTL_MS = 5 * 60_000;

/**
 * Guilds for a process that has no gateway for them (a worker, or a gateway whose shards hold other guilds):
 * fetched over REST with the bot's member and the channel the salon's thread hangs off, so permissions can be
 * worked out as with a gateway's cache, and fetched again after a while.
 */
export class RestGuilds {
  private readonly fetched = new Map<string, { at: number; guild: Promise<Guild> }>();
  /** Channel fetches under way: discord.js caches a channel only once its fetch returns, so steps that ask at once share one. */
  private readonly fetching = new Map<string, Promise<Channel | null>>();

  constructor(private readonly client: Client) {}

  /** The channel, from the client's cache, or fetched once however many ask while it is on its way. */
  channel(id: string): Promise<Channel | null> {
    const cached = this.client.channels.cache.get(id);
    if (cached) return Promise.resolve(cached);
    let pending = this.fetching.get(id);
    if (!pending) {
      pending = this.client.channels.fetch(id).finally(() => this.fetching.delete(id));
      this.fetching.set(id, pending);
    }
    return pending;
  }

  /** Makes sure the guild, the bot's member and the channel are in the client's cache. */
  async prepare(guildId: string, channelId: string | undefined): Promise<void> {
    const gatewayGuild = this.client.guilds.cache.get(guildId);
    if (gatewayGuild?.available && !this.fetched.has(guildId)) return;
    let entry = this.fetched.get(guildId);
    if (!entry || Date.now() - entry.at > GUILD_TTL_MS) {
      const guild = (async () => {
        const fresh = await this.client.guilds.fetch({ guild: guildId, force: true });
        await fresh.members.fetchMe({ force: true });
        return fresh;
      })();
      entry = { at: Date.now(), guild };
      this.fetched.set(guildId, entry);
      guild.catch(() => this.fetched.delete(guildId));
    }
    await entry.guild;
    if (channelId) await this.channel(channelId);
  }
}
