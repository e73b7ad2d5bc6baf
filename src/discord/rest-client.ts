/**
 * The Discord client a process uses: its REST side refuses to send for a salon whose lease is over, and a worker
 * (which has no gateway connection) learns who it is and where it posts from REST alone.
 */
import { ClientApplication, ClientUser, DefaultRestOptions, Routes, type Channel, type Client, type Guild, type RESTOptions } from 'discord.js';
import { currentFence } from '../engine/fence.js';

/**
 * The wall-clock time (epoch ms) past which a request must not reach Discord, sent to the REST proxy with each
 * request made under a lease: the proxy queues requests for the shared rate limits, and checks this as it sends
 * one on, so a request that waited there past its lease is dropped rather than posted after a take-over.
 */
export const FENCE_HEADER = 'x-salon-fence-deadline';

/**
 * discord.js's own request function behind a last check of the salon's fence (see src/engine/fence.ts): a request
 * that waited in discord.js's rate-limit queue while the process was frozen is refused instead of sent, once
 * another worker may have taken the salon over; and one sent carries its deadline for the proxy.
 */
export const fencedRequest: RESTOptions['makeRequest'] = (url, init) => {
  const fence = currentFence();
  if (!fence) return DefaultRestOptions.makeRequest(url, init);
  fence.check();
  // Only a lease has a deadline to pass on; a salon driven by the only process has none.
  const deadline = fence.wallDeadline;
  if (!Number.isFinite(deadline)) return DefaultRestOptions.makeRequest(url, init);
  const headers = { ...(init.headers as Record<string, string> | undefined), [FENCE_HEADER]: String(Math.floor(deadline)) };
  return DefaultRestOptions.makeRequest(url, { ...init, headers });
};

/**
 * Gives a client that never logs in to the gateway what READY would have: the token, the bot user and the
 * application. discord.js builds these objects only from READY, hence the constructors its typings keep private.
 */
export async function signInRestOnly(client: Client, token: string): Promise<void> {
  client.token = token;
  client.rest.setToken(token);
  const [user, application] = await Promise.all([client.rest.get(Routes.user()), client.rest.get(Routes.currentApplication())]);
  const build = <T>(ctor: unknown, data: unknown): T => Reflect.construct(ctor as new (...args: unknown[]) => T, [client, data]);
  client.user = build<ClientUser>(ClientUser, user);
  client.application = build<ClientApplication>(ClientApplication, application);
}

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
