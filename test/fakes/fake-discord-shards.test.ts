// Shards, several guilds and a gateway-less worker, checked against the real
// discord.js Client: each shard session sees only its guilds, and a process
// that only uses REST can build Guild, GuildMember and ThreadChannel objects.

import { once } from 'node:events';
import {
  ChannelType,
  Client,
  DiscordAPIError,
  Events,
  GatewayDispatchEvents,
  GatewayIntentBits,
  PermissionFlagsBits,
  REST,
  Routes,
  ShardClientUtil,
  type ClientOptions,
  type GatewayDispatchPayload,
  type Interaction,
} from 'discord.js';
import { WebSocket } from 'ws';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeDiscord, type AddedGuild, type Member } from './discord/index.js';
import { nextEvent } from '../helpers/events.js';

const INTENTS = [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages, GatewayIntentBits.MessageContent];

let discord: FakeDiscord;
let clients: Client[] = [];
let alice: Member;
/** Added after the seeded guild, so on shard 1 of 2. */
let second: AddedGuild;

/** What one client received: every dispatch that names a guild, in arrival order. */
interface Seen {
  ready: string[];
  dispatches: Array<{ t: string; guildId: string }>;
}

/** Collects the client's interactions until there are `count`; rejects after 5 s. */
function interactions(client: Client, count: number): Promise<Interaction[]> {
  const received: Interaction[] = [];
  return nextEvent<[Interaction]>(client, Events.InteractionCreate, (interaction) => received.push(interaction) >= count).then(() => received);
}

async function connect(options: Partial<ClientOptions> = {}): Promise<{ client: Client; seen: Seen }> {
  const client = new Client({ intents: INTENTS, rest: { api: discord.apiBase }, ...options });
  clients.push(client);
  const seen: Seen = { ready: [], dispatches: [] };
  // Raw packets, so that a dispatch discord.js would drop (say, for a guild it does not know) still counts.
  client.on(Events.Raw, (packet: GatewayDispatchPayload) => {
    const data = packet.d as { id?: string; guild_id?: string; guilds?: Array<{ id: string }> };
    if (packet.t === GatewayDispatchEvents.Ready) seen.ready = (data.guilds ?? []).map((g) => g.id);
    const guildId = packet.t === GatewayDispatchEvents.GuildCreate ? data.id : data.guild_id;
    if (guildId) seen.dispatches.push({ t: packet.t, guildId });
  });
  const ready = once(client, Events.ClientReady, { signal: AbortSignal.timeout(10_000) });
  await client.login(discord.token);
  await ready;
  return { client, seen };
}

const sorted = (ids: Iterable<string>): string[] => [...ids].sort();

beforeEach(async () => {
  discord = await FakeDiscord.start({ shards: 2 });
  alice = discord.addMember({ username: 'alice', globalName: 'Alice' });
  second = discord.addGuild({ name: 'Second Guild' });
});

afterEach(async () => {
  await Promise.all(clients.map((client) => client.destroy()));
  clients = [];
  await discord.stop();
});

describe('several guilds over shards', () => {
  it('recommends the configured shard count and places guilds on shards by their ids', async () => {
    const rest = new REST({ api: discord.apiBase }).setToken(discord.token);
    expect(await rest.get(Routes.gatewayBot())).toMatchObject({ shards: 2 });

    const third = discord.addGuild();
    const onOne = discord.addGuild({ shard: 1 });
    // discord.js's own formula, not the fake's, decides where each guild is.
    const shardOf = (id: string) => ShardClientUtil.shardIdForGuildId(id, 2);
    expect([discord.guildId, second.guildId, third.guildId, onOne.guildId].map(shardOf)).toEqual([0, 1, 0, 1]);
    expect([second, third, onOne].map((g) => g.shard)).toEqual([1, 0, 1]);
    expect(discord.shardOf(second.guildId)).toBe(1);
    expect(new Set([discord.channelId, second.channelId, third.channelId]).size).toBe(3);
    expect(() => discord.addGuild({ shard: 2 })).toThrow(/shard 2 does not exist/);
  });

  it('gives each shard session only its guilds: READY, GUILD_CREATE, interactions, messages and threads', async () => {
    const third = discord.addGuild({ name: 'Third Guild', shard: 0 });
    const { client: zero, seen: seenZero } = await connect({ shards: [0], shardCount: 2 });
    const { client: one, seen: seenOne } = await connect({ shards: [1], shardCount: 2 });

    expect(sorted(seenZero.ready)).toEqual(sorted([discord.guildId, third.guildId]));
    expect(seenOne.ready).toEqual([second.guildId]);
    expect(sorted(zero.guilds.cache.keys())).toEqual(sorted([discord.guildId, third.guildId]));
    expect([...one.guilds.cache.keys()]).toEqual([second.guildId]);
    expect(one.guilds.cache.get(second.guildId)?.members.me?.permissions.has(PermissionFlagsBits.SendMessagesInThreads)).toBe(true);
    expect(sorted(discord.gatewaySessions().map((s) => String(s.shard)))).toEqual(['0,2', '1,2']);

    // The same user in the other guilds: interactions there carry that membership.
    const aliceThere = discord.addMember({ id: alice.id, username: 'alice', guildId: second.guildId });
    discord.addMember({ id: alice.id, username: 'alice', guildId: third.guildId });
    const toZero = interactions(zero, 3);
    const toOne = interactions(one, 1);
    // Frames on one socket arrive in order, so a stray interaction would come before the last expected one.
    const first = discord.interact({ user: alice, name: 'salon', subcommand: 'status' });
    // DMs belong to shard 0, as on Discord.
    const dm = discord.interact({ user: alice, inDM: true, name: 'salon', subcommand: 'status' });
    const there = discord.interact({ user: alice, guildId: second.guildId, name: 'salon', subcommand: 'status' });
    const last = discord.interact({ user: alice, channelId: third.channelId, name: 'salon', subcommand: 'status' });
    expect((await toZero).map((i) => i.id)).toEqual([first.id, dm.id, last.id]);
    const [fromSecond] = await toOne;
    expect(fromSecond?.id).toBe(there.id);
    expect(fromSecond?.guildId).toBe(second.guildId);
    expect(fromSecond?.channelId).toBe(second.channelId);
    expect(fromSecond?.inCachedGuild() && fromSecond.member.roles.cache.has(aliceThere.roleId)).toBe(true);

    // Thread and message events of the second guild reach shard 1 only; the last event on each socket is the barrier.
    const channel = one.channels.cache.get(second.channelId);
    if (channel?.type !== ChannelType.GuildText) throw new Error('second guild channel missing from shard 1');
    const thread = await channel.threads.create({ name: 'Salon: elsewhere' });
    const inThread = nextEvent(one, Events.MessageCreate, () => true);
    discord.postUserMessage({ user: aliceThere, channelId: thread.id, content: 'hello from the second guild' });
    await inThread;
    const onZero = nextEvent(zero, Events.MessageCreate, () => true);
    discord.postUserMessage({ user: alice, content: 'hello from the seeded guild' });
    await onZero;
    const lastOnOne = nextEvent(one, Events.MessageCreate, () => true);
    discord.postUserMessage({ user: alice, guildId: second.guildId, content: 'again from the second guild' });
    await lastOnOne;

    expect(seenZero.dispatches.filter((d) => d.guildId === second.guildId)).toEqual([]);
    expect(seenOne.dispatches.filter((d) => d.guildId !== second.guildId)).toEqual([]);
    // Without the Guild Members intent GUILD_MEMBER_ADD goes nowhere; the new membership's role still arrives.
    expect(seenOne.dispatches.map((d) => d.t)).toEqual([
      'GUILD_CREATE',
      'GUILD_ROLE_CREATE',
      'INTERACTION_CREATE',
      'THREAD_CREATE',
      'MESSAGE_CREATE',
      'MESSAGE_CREATE',
    ]);
    expect(seenZero.dispatches.map((d) => d.t)).toEqual([
      'GUILD_CREATE',
      'GUILD_CREATE',
      'GUILD_ROLE_CREATE',
      'INTERACTION_CREATE',
      'INTERACTION_CREATE',
      'MESSAGE_CREATE',
    ]);
    expect(discord.violations).toEqual([]);
  });

  it('sends GUILD_CREATE for a guild joined later to its shard only, and refuses to deliver where no session listens', async () => {
    const { client: zero, seen: seenZero } = await connect({ shards: [0], shardCount: 2 });
    discord.addMember({ id: alice.id, username: 'alice', guildId: second.guildId });
    expect(() => discord.interact({ user: alice, guildId: second.guildId, name: 'salon' })).toThrow(/no gateway session receives guild .* \(shard 1 of 2\)/);

    const { client: one } = await connect({ shards: [1], shardCount: 2 });
    const created = nextEvent(one, Events.GuildCreate);
    const joined = discord.addGuild({ name: 'Joined later', shard: 1 });
    const [guild] = await created;
    expect(guild).toMatchObject({ id: joined.guildId, name: 'Joined later' });
    // A barrier on shard 0's socket: anything sent to it before this has arrived.
    const barrier = nextEvent(zero, Events.MessageCreate);
    discord.postUserMessage({ user: alice, content: 'barrier' });
    await barrier;
    expect(zero.guilds.cache.has(joined.guildId)).toBe(false);
    expect(seenZero.dispatches.some((d) => d.guildId === joined.guildId)).toBe(false);
  });

  it('lets two sessions hold the same shard, and both receive its events (Discord allows it)', async () => {
    const { client: first } = await connect({ shards: [0], shardCount: 2 });
    const { client: takeover } = await connect({ shards: [0], shardCount: 2 });
    const toFirst = interactions(first, 1);
    const toTakeover = interactions(takeover, 1);
    const ix = discord.interact({ user: alice, name: 'salon' });
    expect((await toFirst).map((i) => i.id)).toEqual([ix.id]);
    expect((await toTakeover).map((i) => i.id)).toEqual([ix.id]);
    expect(discord.gatewaySessions().filter((s) => s.connected && s.shard?.[0] === 0)).toHaveLength(2);
  });

  it('closes an IDENTIFY whose shard count differs from the configured one with 4010 Invalid shard', async () => {
    const socket = new WebSocket(`${discord.gatewayUrl}?v=10&encoding=json`);
    const closed = once(socket, 'close', { signal: AbortSignal.timeout(5_000) });
    await once(socket, 'message', { signal: AbortSignal.timeout(5_000) }); // HELLO
    socket.send(JSON.stringify({ op: 2, d: { token: discord.token, intents: 1, properties: {}, shard: [0, 3] } }));
    const [code, reason] = (await closed) as [number, Buffer];
    expect(code).toBe(4010);
    expect(reason.toString()).toBe('Invalid shard');

    // discord.js treats 4010 as fatal: login fails instead of reconnecting.
    const wrong = new Client({ intents: INTENTS, rest: { api: discord.apiBase }, shards: [0], shardCount: 3 });
    clients.push(wrong);
    const disconnected = nextEvent<[{ code: number }]>(wrong, Events.ShardDisconnect);
    await expect(wrong.login(discord.token)).rejects.toThrow('Invalid shard');
    expect((await disconnected)[0].code).toBe(4010);
    expect(discord.gatewaySessions()).toEqual([]);
  });
});

describe('a worker without a gateway connection', () => {
  it('fetches a guild, the bot member, channels and a thread over REST, and posts in the thread', async () => {
    // The gateway process made the thread; the worker only knows ids.
    const rest = new REST({ api: discord.apiBase }).setToken(discord.token);
    const made = (await rest.post(Routes.threads(second.channelId), { body: { name: 'Salon: worker', type: ChannelType.PublicThread } })) as { id: string };

    const worker = new Client({ intents: [], rest: { api: discord.apiBase } });
    clients.push(worker);
    worker.rest.setToken(discord.token);

    const guild = await worker.guilds.fetch(second.guildId);
    expect(guild.name).toBe('Second Guild');
    expect(guild.roles.everyone.id).toBe(second.guildId);
    // fetchMe() reads client.user, which only READY sets: a gateway-less worker names the bot itself.
    const me = await guild.members.fetch(discord.botUser.id);
    expect(me.user.bot).toBe(true);
    expect(me.roles.cache.filter((r) => r.id !== guild.id).map((r) => r.managed)).toEqual([true]);
    expect(me.permissions.has(PermissionFlagsBits.SendMessagesInThreads)).toBe(true);

    const channels = await guild.channels.fetch();
    expect(channels.map((c) => [c?.id, c?.type])).toEqual([[second.channelId, ChannelType.GuildText]]);

    const thread = await worker.channels.fetch(made.id);
    if (!thread?.isThread()) throw new Error('expected a ThreadChannel');
    expect(thread.guildId).toBe(second.guildId);
    expect(thread.parentId).toBe(second.channelId);
    expect(thread.parent?.id).toBe(second.channelId);
    expect(thread.archived).toBe(false);
    expect(thread.permissionsFor(me).has(PermissionFlagsBits.SendMessagesInThreads)).toBe(true);

    const sent = await thread.send('a turn posted by the worker');
    expect(discord.messages(made.id)).toMatchObject([{ id: sent.id, content: 'a turn posted by the worker', author: { id: discord.botUser.id } }]);
    expect(discord.gatewaySessions()).toEqual([]);
    expect(discord.requests.map((r) => r.path)).not.toContain('/gateway/bot');

    const unknownMember = await rest.get(Routes.guildMember(second.guildId, alice.id)).catch((e: unknown) => e);
    expect(unknownMember).toBeInstanceOf(DiscordAPIError);
    expect((unknownMember as DiscordAPIError).code).toBe(10007);
    const unknownGuild = await rest.get(Routes.guild('1')).catch((e: unknown) => e);
    expect((unknownGuild as DiscordAPIError).code).toBe(10004);
    expect(discord.violations).toEqual([]);
  });
});
