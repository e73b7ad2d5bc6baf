// Checks the fake Discord against the real discord.js Client: if these pass,
// the bot's end-to-end tests talk to something discord.js accepts as Discord.

import { once } from 'node:events';
import {
  AttachmentBuilder,
  ChannelType,
  Client,
  DiscordAPIError,
  Events,
  GatewayIntentBits,
  MessageFlags,
  PermissionFlagsBits,
  SlashCommandBuilder,
  type Message,
  type TextChannel,
  type ThreadChannel,
} from 'discord.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeDiscord, type FakeDiscordOptions, type Member } from './discord/index.js';
import { nextEvent } from '../helpers/events.js';

const INTENTS = [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages, GatewayIntentBits.MessageContent];

let discord: FakeDiscord;
let clients: Client[] = [];
let alice: Member;

async function startFake(options: FakeDiscordOptions = {}): Promise<void> {
  discord = await FakeDiscord.start(options);
  alice = discord.addMember({ username: 'alice', globalName: 'Alice' });
}

async function connect(): Promise<Client> {
  const client = new Client({ intents: INTENTS, rest: { api: discord.apiBase } });
  clients.push(client);
  const ready = once(client, Events.ClientReady, { signal: AbortSignal.timeout(10_000) });
  await client.login(discord.token);
  await ready;
  return client;
}

async function textChannel(client: Client): Promise<TextChannel> {
  const channel = client.channels.cache.get(discord.channelId);
  if (channel?.type !== ChannelType.GuildText) throw new Error('seeded channel missing from cache');
  return channel;
}

async function newThread(client: Client, name = 'Salon: tea'): Promise<ThreadChannel> {
  const channel = await textChannel(client);
  return channel.threads.create({ name, autoArchiveDuration: 60 });
}

beforeEach(async () => {
  await startFake();
});

afterEach(async () => {
  await Promise.all(clients.map((client) => client.destroy()));
  clients = [];
  await discord.stop();
});

describe('fake Discord with a real discord.js client', () => {
  it('logs in, becomes ready and caches the seeded guild and channel', async () => {
    const client = await connect();
    const guild = client.guilds.cache.get(discord.guildId);
    expect(guild?.available).toBe(true);
    expect(guild?.channels.cache.get(discord.channelId)?.name).toBe('salons');
    expect(guild?.members.me?.id).toBe(discord.botUser.id);
    expect(guild?.members.me?.permissions.has(PermissionFlagsBits.SendMessagesInThreads)).toBe(true);
    expect(client.user?.id).toBe(discord.applicationId);
    expect(client.application?.id).toBe(discord.applicationId);
    expect(discord.requests.map((r) => `${r.method} ${r.path}`)).toContain('GET /gateway/bot');
    expect(discord.violations).toEqual([]);
  });

  it('rejects a wrong token (401) and a disallowed Message Content intent (4014)', async () => {
    const wrong = new Client({ intents: INTENTS, rest: { api: discord.apiBase } });
    clients.push(wrong);
    await expect(wrong.login('not-the-token')).rejects.toThrow();

    await discord.stop();
    await startFake({ messageContentIntentAllowed: false });
    const refused = new Client({ intents: INTENTS, rest: { api: discord.apiBase } });
    clients.push(refused);
    await expect(refused.login(discord.token)).rejects.toThrow(/disallowed intents/i);
  });

  it('delivers a slash command typed from the registered definition; defer + edit make the response', async () => {
    const client = await connect();
    const command = new SlashCommandBuilder()
      .setName('salon')
      .setDescription('Host a salon')
      .setDefaultMemberPermissions(PermissionFlagsBits.SendMessages)
      .addSubcommand((sub) =>
        sub
          .setName('start')
          .setDescription('Start a salon')
          .addStringOption((o) => o.setName('topic').setDescription('Topic').setRequired(true))
          .addIntegerOption((o) => o.setName('rounds').setDescription('Rounds')),
      );
    await client.application?.commands.set([command.toJSON()], discord.guildId);
    expect(discord.commands().map((c) => c.name)).toEqual(['salon']);

    client.on(Events.InteractionCreate, async (interaction) => {
      if (!interaction.isChatInputCommand()) return;
      await interaction.deferReply();
      const topic = interaction.options.getString('topic', true);
      const rounds = interaction.options.getInteger('rounds');
      await interaction.editReply(`${interaction.options.getSubcommand()}: ${topic} × ${rounds}`);
      await interaction.followUp({ content: 'only you see this', flags: MessageFlags.Ephemeral });
    });

    const ix = discord.interact({ user: alice, name: 'salon', subcommand: 'start', options: { topic: 'tea', rounds: 3 } });
    const response = await ix.response();
    expect(response).toMatchObject({ content: 'start: tea × 3', ephemeral: false });
    expect(ix.deferred).toBe(true);
    expect(ix.ackedAt! - ix.receivedAt).toBeLessThan(3_000);
    const [followup] = await ix.followups(1);
    expect(followup).toMatchObject({ content: 'only you see this', ephemeral: true });
    // The public reply is a channel message; the ephemeral follow-up is not.
    expect(discord.messages().map((m) => m.content)).toEqual(['start: tea × 3']);
    expect(discord.violations).toEqual([]);
  });

  it('answers autocomplete with the choices the bot sends', async () => {
    const client = await connect();
    client.on(Events.InteractionCreate, async (interaction) => {
      if (!interaction.isAutocomplete()) return;
      const typed = interaction.options.getFocused();
      await interaction.respond(['claude', 'clarity', 'gpt'].filter((m) => m.startsWith(typed)).map((m) => ({ name: m, value: m })));
    });
    const choices = await discord.autocomplete({
      user: alice,
      name: 'salon',
      subcommand: 'start',
      focused: 'model_a',
      value: 'cl',
      options: { topic: 'tea' },
    });
    expect(choices.map((c) => c.value)).toEqual(['claude', 'clarity']);
  });

  it('refuses a second acknowledgement (40060) and an expired token (401, 50027)', async () => {
    const client = await connect();
    client.on(Events.InteractionCreate, async (interaction) => {
      if (interaction.isChatInputCommand()) await interaction.deferReply({ flags: MessageFlags.Ephemeral });
    });
    const ix = discord.interact({ user: alice, name: 'salon', subcommand: 'status' });
    await discord.waitFor(() => ix.ackedAt, { description: 'the deferral' });

    // discord.js itself refuses to reply twice, so go over the wire directly.
    const again = await fetch(`${discord.apiBase}/v10/interactions/${ix.id}/${ix.token}/callback`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 4, data: { content: 'twice' } }),
    });
    expect(again.status).toBe(400);
    expect(await again.json()).toMatchObject({ code: 40060 });

    discord.expireInteraction(ix);
    const expired = await fetch(`${discord.apiBase}/v10/webhooks/${discord.applicationId}/${ix.token}?wait=true`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ content: 'too late' }),
    });
    expect(expired.status).toBe(401);
    expect(await expired.json()).toMatchObject({ code: 50027, message: 'Invalid Webhook Token' });
  });

  it('withholds message content from a client without the Message Content intent, unless it is mentioned', async () => {
    const client = new Client({ intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages], rest: { api: discord.apiBase } });
    clients.push(client);
    const ready = once(client, Events.ClientReady, { signal: AbortSignal.timeout(10_000) });
    await client.login(discord.token);
    await ready;
    const plain = nextEvent<[Message]>(client, Events.MessageCreate);
    discord.postUserMessage({ user: alice, content: 'a secret' });
    expect((await plain)[0].content).toBe('');
    const mention = nextEvent<[Message]>(client, Events.MessageCreate);
    discord.postUserMessage({ user: alice, content: `<@${discord.botUser.id}> hello` });
    expect((await mention)[0].content).toBe(`<@${discord.botUser.id}> hello`);
    expect(discord.messages().map((m) => m.content)).toEqual(['a secret', `<@${discord.botUser.id}> hello`]);
  });

  it('tells the client about bot permission changes and enforces them (403, 50013)', async () => {
    const client = await connect();
    const thread = await newThread(client);
    const updated = nextEvent(client, Events.GuildRoleUpdate);
    discord.setBotPermissions(discord.botPermissions & ~PermissionFlagsBits.SendMessagesInThreads);
    await updated;
    expect(thread.permissionsFor(client.user!)?.has(PermissionFlagsBits.SendMessagesInThreads)).toBe(false);
    const error = await thread.send('still here?').catch((e: unknown) => e);
    expect((error as DiscordAPIError).status).toBe(403);
    expect((error as DiscordAPIError).code).toBe(50013);
  });

  it('creates a thread and deduplicates a repeated nonce with enforce_nonce', async () => {
    const client = await connect();
    const thread = await newThread(client);
    expect(discord.channel(thread.id)).toMatchObject({
      type: 11,
      parent_id: discord.channelId,
      name: 'Salon: tea',
      thread_metadata: { archived: false, locked: false, auto_archive_duration: 60 },
    });

    const first = await thread.send({ content: 'round 1', nonce: 'salon-1-round-1', enforceNonce: true });
    const again = await thread.send({ content: 'round 1', nonce: 'salon-1-round-1', enforceNonce: true });
    expect(again.id).toBe(first.id);
    expect(discord.messages(thread.id)).toHaveLength(1);
    expect(discord.messages(thread.id)[0]).toMatchObject({ content: 'round 1', nonce: 'salon-1-round-1' });
    expect(discord.violations).toEqual([]);
  });

  it('unarchives a thread on send, and refuses a locked one', async () => {
    const client = await connect();
    const thread = await newThread(client);
    discord.archiveThread(thread.id);
    await thread.send('wake up');
    expect(discord.channel(thread.id)?.thread_metadata?.archived).toBe(false);

    discord.archiveThread(thread.id, { locked: true });
    const error = await thread.send('let me in').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DiscordAPIError);
    expect((error as DiscordAPIError).code).toBe(50083);
  });

  it('executes a webhook into a thread under a chosen username, and refuses forbidden names', async () => {
    const client = await connect();
    const thread = await newThread(client);
    const channel = await textChannel(client);
    const webhook = await channel.createWebhook({ name: 'salon-voices' });

    const sent = await webhook.send({ content: 'Hello from A', username: 'Model A', threadId: thread.id });
    expect(sent.channelId).toBe(thread.id);
    const [stored] = discord.messages(thread.id);
    expect(stored).toMatchObject({ content: 'Hello from A', webhook_id: webhook.id, author: { username: 'Model A', bot: true } });

    const error = await webhook.send({ content: 'x', username: 'Discord Official', threadId: thread.id }).catch((e: unknown) => e);
    expect((error as DiscordAPIError).code).toBe(50035);
    expect(discord.violations.map((v) => v.issues[0]?.code)).toEqual(['USERNAME_INVALID_CONTAINS']);

    discord.deleteWebhook(webhook.id);
    const gone = await webhook.send({ content: 'x', threadId: thread.id }).catch((e: unknown) => e);
    expect((gone as DiscordAPIError).code).toBe(10015);
  });

  it('records a schema violation (and answers 50035) for a body Discord would reject', async () => {
    const client = await connect();
    const channel = await textChannel(client);
    const error = await channel.send({ content: 'x', nonce: 'n'.repeat(30) }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DiscordAPIError);
    expect((error as DiscordAPIError).code).toBe(50035);
    expect(discord.violations).toMatchObject([
      { kind: 'schema', method: 'POST', path: `/channels/${discord.channelId}/messages`, issues: [{ path: 'nonce', code: 'BASE_TYPE_MAX_LENGTH' }] },
    ]);

    const tooLong = await channel.send('y'.repeat(2_001)).catch((e: unknown) => e);
    expect((tooLong as DiscordAPIError).code).toBe(50035);
    expect(discord.violations[1]?.issues[0]).toMatchObject({ path: 'content', code: 'BASE_TYPE_MAX_LENGTH' });
    expect(discord.messages()).toEqual([]);
  });

  it('stores multipart attachments with their bytes', async () => {
    const client = await connect();
    const channel = await textChannel(client);
    const markdown = '# Salon: tea\n\n**A:** hello\n';
    const message = await channel.send({
      content: 'Transcript attached',
      files: [new AttachmentBuilder(Buffer.from(markdown), { name: 'salon-tea.md', description: 'transcript' })],
    });
    const [stored] = discord.messages();
    expect(stored?.attachments).toMatchObject([{ filename: 'salon-tea.md', text: markdown, description: 'transcript' }]);
    expect(discord.requests.at(-1)?.multipart).toBe(true);
    const url = message.attachments.first()?.url ?? '';
    expect(await (await fetch(url)).text()).toBe(markdown);
  });

  it('lets discord.js retry after a 429 with retry-after, and honours the fake buckets', async () => {
    const client = await connect();
    const channel = await textChannel(client);
    discord.failNext({ method: 'POST', path: /^\/channels\/\d+\/messages$/, status: 429, retryAfterMs: 150 });
    await channel.send('after a rate limit');
    const posts = discord.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/messages'));
    expect(posts.map((r) => r.status)).toEqual([429, 200]);

    await discord.stop();
    await startFake({ rateLimits: { perChannel: { count: 2, windowMs: 300 } } });
    const limited = await connect();
    const target = await textChannel(limited);
    await Promise.all([1, 2, 3, 4, 5].map((n) => target.send(`burst ${n}`)));
    expect(discord.messages()).toHaveLength(5);
    expect(discord.rateLimitViolations).toBe(0);
    const last = discord.requests.at(-1);
    expect(last?.status).toBe(200);
  });

  it('holds a request in flight until the test releases it', async () => {
    const client = await connect();
    const channel = await textChannel(client);
    const hold = discord.hold({ method: 'POST', path: /\/messages$/ });
    const sending = channel.send('in flight');
    const held = await hold.arrived();
    expect(held.body).toMatchObject({ content: 'in flight' });
    expect(discord.messages()).toEqual([]);
    hold.release();
    await sending;
    expect(discord.messages().map((m) => m.content)).toEqual(['in flight']);
  });

  it('answers 404 Unknown Channel (10003) after deleteChannel and tells the client', async () => {
    const client = await connect();
    const thread = await newThread(client);
    const deleted = nextEvent(client, Events.ThreadDelete);
    discord.deleteChannel(thread.id);
    await deleted;
    expect(client.channels.cache.has(thread.id)).toBe(false);
    const error = await thread.send('anyone?').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DiscordAPIError);
    expect((error as DiscordAPIError).status).toBe(404);
    expect((error as DiscordAPIError).code).toBe(10003);
  });

  it('resumes after a gateway disconnect and replays what was missed', async () => {
    const client = await connect();
    const resumed = nextEvent(client, Events.ShardResume);
    discord.disconnectGateway({ resumable: true });
    await discord.waitFor(() => discord.gatewaySessions().every((s) => !s.connected), {
      description: 'the socket to close',
    });
    // Posted while the client is away: must arrive through the RESUME replay.
    const received = nextEvent<[Message]>(client, Events.MessageCreate, (m) => m.content === 'while you were out');
    discord.postUserMessage({ user: alice, content: 'while you were out' });
    await resumed;
    const [message] = await received;
    expect(message.author.id).toBe(alice.id);

    const later = nextEvent<[Message]>(client, Events.MessageCreate, (m) => m.content === 'after resume');
    discord.postUserMessage({ user: alice, content: 'after resume', attachments: 1 });
    const [after] = await later;
    expect(after.attachments.size).toBe(1);
    const sessions = discord.gatewaySessions();
    expect(sessions).toHaveLength(1);
    expect(sessions[0]).toMatchObject({ resumes: 1, connected: true });
  });
});
