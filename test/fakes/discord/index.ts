// A protocol-level fake of Discord for end-to-end tests: a real HTTP server
// (REST under /api/v10) and a gateway WebSocket on the same port, which the
// real discord.js Client talks to with `rest: { api: fake.apiBase }`. All state
// lives in the test process; the bot may run in a child process.

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DEFAULT_BOT_PERMISSIONS, DEFAULT_MEMBER_PERMISSIONS } from './constants.js';
import { Core, type FakeConfig } from './core.js';
import type { RequestHold } from './faults.js';
import { Gateway } from './gateway.js';
import * as guild from './guild-actions.js';
import { deliverAutocomplete, deliverCommand, deliverComponent, InteractionHandle, resolvePlace } from './interactions.js';
import { authorFromUser, createMessage } from './message-actions.js';
import { resolveRateLimits } from './ratelimit.js';
import { createRestHandler } from './rest.js';
import { DEFAULT_SEED } from '../random.js';
import { routes } from './routes/index.js';
import { removeWebhook } from './routes/webhooks.js';
import { shardOf, SnowflakeFactory } from './snowflake.js';
import { FakeState } from './state.js';
import type {
  AddedGuild,
  AddGuildInput,
  AddMemberInput,
  AutocompleteChoice,
  AutocompleteInput,
  ComponentInput,
  DisconnectOptions,
  FailNextRule,
  FakeDiscordEvents,
  FakeDiscordOptions,
  FakeUser,
  GatewaySessionInfo,
  HoldRule,
  InteractInput,
  LatencyHandle,
  LatencyRule,
  Member,
  PostUserMessageInput,
  RecordedRequest,
  RegisteredCommand,
  Snowflake,
  StoredChannel,
  StoredMessage,
  StoredWebhook,
  TypingEvent,
  UploadedFile,
  Violation,
  WaitOptions,
} from './types.js';

export type * from './types.js';
export { InteractionHandle } from './interactions.js';
export type { RequestHold } from './faults.js';
export { ChannelType, DEFAULT_BOT_PERMISSIONS, DEFAULT_MEMBER_PERMISSIONS, Intent, MessageFlag, Permission } from './constants.js';

export class FakeDiscord {
  readonly token: string;
  readonly applicationId: Snowflake;
  /** The seeded guild (on shard 0); more come from `addGuild`. */
  readonly guildId: Snowflake;
  /** The seeded guild's text channel. */
  readonly channelId: Snowflake;
  readonly botUser: FakeUser;
  #stopped = false;

  private constructor(
    private readonly core: Core,
    private readonly server: Server,
    private readonly gateway: Gateway,
  ) {
    const { state } = core;
    this.token = core.config.token;
    this.applicationId = state.botUser.id;
    this.guildId = state.defaultGuild.id;
    this.botUser = structuredClone(state.botUser);
    this.channelId = state.defaultChannel(this.guildId).id;
  }

  static async start(options: FakeDiscordOptions = {}): Promise<FakeDiscord> {
    const shards = options.shards ?? 1;
    if (!Number.isInteger(shards) || shards < 1) throw new Error(`fake-discord: shards must be a positive integer, not ${shards}`);
    const config: FakeConfig = {
      token: options.token ?? 'test-token',
      botPermissions: options.botPermissions ?? DEFAULT_BOT_PERMISSIONS,
      messageContentIntentAllowed: options.messageContentIntentAllowed ?? true,
      rateLimits: resolveRateLimits(options.rateLimits),
      nonceWindowMs: options.nonceWindowMs ?? 5 * 60_000,
      heartbeatIntervalMs: options.heartbeatIntervalMs ?? 41_250,
      interactionAckTimeoutMs: options.interactionAckTimeoutMs ?? 3_000,
      botUsername: options.botUsername ?? 'Salon',
      guildName: options.guildName ?? 'Salon Test Guild',
      channelName: options.channelName ?? 'salons',
      shards,
      seed: options.seed ?? DEFAULT_SEED,
    };
    const ids = new SnowflakeFactory();
    const core = new Core(config, seedState(config, ids), ids);
    const server = createServer(createRestHandler(core, routes));
    const gateway = new Gateway(core, server);
    core.attachDispatcher(gateway);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    core.baseUrl = `http://127.0.0.1:${port}`;
    return new FakeDiscord(core, server, gateway);
  }

  /** Pass as `rest: { api }` to the discord.js Client. */
  get apiBase(): string {
    return `${this.core.baseUrl}/api`;
  }

  get baseUrl(): string {
    return this.core.baseUrl;
  }

  get gatewayUrl(): string {
    return this.core.gatewayUrl;
  }

  /** The seed latency ranges draw from (the `seed` option, or the fixed default): print it to replay a run. */
  get seed(): number {
    return this.core.config.seed;
  }

  /** Stops serving (idempotent). Destroy clients first, or they keep trying to reconnect. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.core.faults.releaseAll();
    await this.gateway.close();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  // ------------------------------------------------------------ recordings

  /** Every REST request, in arrival order (status null while pending). */
  get requests(): readonly RecordedRequest[] {
    return this.core.requests;
  }

  /** Requests Discord's schemas or documented limits reject, unknown routes, late acks. Tests assert it is empty. */
  get violations(): readonly Violation[] {
    return this.core.violations;
  }

  /** Requests sent although the fake had already said to wait (remaining 0, or an earlier 429). */
  get rateLimitViolations(): number {
    return this.core.limiter.violations;
  }

  /** 429s the client could not have foreseen (first hit of a bucket or the global cap). */
  get rateLimited(): number {
    return this.core.limiter.rateLimited;
  }

  get typing(): readonly TypingEvent[] {
    return this.core.state.typing;
  }

  /** Registered application commands (global, then guild; guild ones have `guild_id`). */
  commands(): RegisteredCommand[] {
    return structuredClone(this.core.state.commands());
  }

  // ------------------------------------------------------------ people

  /**
   * A human (or other bot) in a guild (default the seeded one) who can post and use commands. The returned
   * membership is what `interact` and `postUserMessage` default to; with the `id` of an existing member, the
   * same user joins another guild.
   */
  addMember(input: AddMemberInput): Member {
    const target = this.core.state.liveGuild(input.guildId ?? this.guildId);
    return structuredClone(guild.addMember(this.core, target, input, DEFAULT_MEMBER_PERMISSIONS));
  }

  /** The bot role's permissions in the seeded guild. */
  get botPermissions(): bigint {
    return this.core.state.defaultGuild.botPermissions;
  }

  /** Changes the bot role's permissions in a guild (default the seeded one) and tells the bot (GUILD_ROLE_UPDATE). */
  setBotPermissions(permissions: bigint, guildId: Snowflake = this.guildId): void {
    guild.setBotPermissions(this.core, this.core.state.liveGuild(guildId), permissions);
  }

  // ------------------------------------------------------------ guilds and shards

  /**
   * The bot joins another guild, with one text channel and its own bot role; sessions on the guild's shard get
   * GUILD_CREATE. Its id puts it on `shard` (default: the next shard in turn, so guilds spread evenly).
   */
  addGuild(input: AddGuildInput = {}): AddedGuild {
    return guild.addGuild(this.core, input);
  }

  /** The shard a guild's events go to: `(guildId >> 22) % shards`. */
  shardOf(guildId: Snowflake): number {
    return shardOf(guildId, this.core.config.shards);
  }

  // ------------------------------------------------------------ interactions

  /** Delivers a slash command (INTERACTION_CREATE type 2). */
  interact(input: InteractInput): InteractionHandle {
    this.#requireSession('interact');
    return deliverCommand(this.core, input);
  }

  /** Delivers an autocomplete interaction (type 4) and resolves with the bot's choices. */
  autocomplete(input: AutocompleteInput): Promise<AutocompleteChoice[]> {
    this.#requireSession('autocomplete');
    return deliverAutocomplete(this.core, input);
  }

  /** A user clicks a button (or picks from a select) on a message (INTERACTION_CREATE type 3). */
  clickComponent(input: ComponentInput): InteractionHandle {
    this.#requireSession('clickComponent');
    return deliverComponent(this.core, input);
  }

  /** Revokes the interaction's token: callbacks and follow-ups answer 401 (50027 Invalid Webhook Token). */
  expireInteraction(interaction: InteractionHandle): void {
    interaction.record.expired = true;
    this.core.changed();
  }

  // ------------------------------------------------------------ messages, channels, webhooks

  /** A user posts a message (stored, and dispatched as MESSAGE_CREATE), by default in their guild's first text channel. */
  postUserMessage(input: PostUserMessageInput): StoredMessage {
    const { channel, member } = resolvePlace(this.core, input.user, input);
    guild.unarchiveForMessage(this.core, channel);
    const message = createMessage(this.core, {
      channel,
      author: authorFromUser(member.user),
      content: input.content,
      files: fakeFiles(input.attachments),
    });
    return structuredClone(message);
  }

  /** Messages in a channel or thread, oldest first (ephemeral interaction replies are not here). */
  messages(channelId: Snowflake = this.channelId): StoredMessage[] {
    return structuredClone(this.core.state.messages.get(channelId) ?? []);
  }

  channel(id: Snowflake): StoredChannel | undefined {
    const channel = this.core.state.channels.get(id);
    return channel ? structuredClone(channel) : undefined;
  }

  /** Threads (deleted ones included, flagged), optionally of one parent channel. */
  threads(parentId?: Snowflake): StoredChannel[] {
    return structuredClone([...this.core.state.channels.values()].filter((c) => c.thread_metadata && (parentId === undefined || c.parent_id === parentId)));
  }

  /** Archives (and optionally locks) a thread as a moderator would. */
  archiveThread(id: Snowflake, { locked = false }: { locked?: boolean } = {}): void {
    const thread = this.core.state.liveChannel(id);
    guild.updateThread(this.core, thread, { archived: true, locked });
  }

  /** Deletes a channel or thread: later REST on it answers 404 Unknown Channel (10003). */
  deleteChannel(id: Snowflake): void {
    const channel = this.core.state.channels.get(id);
    if (channel) guild.deleteChannel(this.core, channel);
  }

  webhooks(channelId?: Snowflake): StoredWebhook[] {
    return structuredClone([...this.core.state.webhooks.values()].filter((w) => channelId === undefined || w.channel_id === channelId));
  }

  /** Deletes a webhook: executing it answers 404 Unknown Webhook (10015). */
  deleteWebhook(id: Snowflake): void {
    const webhook = this.core.state.webhooks.get(id);
    if (webhook && !webhook.deleted) removeWebhook(this.core, webhook);
  }

  // ------------------------------------------------------------ gateway

  gatewaySessions(): GatewaySessionInfo[] {
    return this.gateway.sessions();
  }

  /** Resolves once a connected client has identified (READY and GUILD_CREATE sent). */
  waitForGateway(timeoutMs?: number): Promise<GatewaySessionInfo> {
    return this.waitFor(() => this.gateway.sessions().find((s) => s.connected), {
      timeoutMs,
      description: 'a gateway session to identify',
    });
  }

  /** Closes gateway sockets: resumable → clients RESUME (missed events replayed); else they identify anew. */
  disconnectGateway(options: DisconnectOptions = { resumable: true }): void {
    this.gateway.disconnect(options);
  }

  // ------------------------------------------------------------ waiting and events

  /**
   * Resolves with the first truthy value of `check`, which is re-evaluated on
   * every change in the fake (request, message, gateway frame...).
   */
  waitFor<T>(check: () => T | undefined | null | false, options?: WaitOptions): Promise<T> {
    return this.core.notifier.waitFor(check, options);
  }

  on<E extends keyof FakeDiscordEvents>(event: E, listener: FakeDiscordEvents[E]): this {
    this.core.events.on(event, listener);
    return this;
  }

  once<E extends keyof FakeDiscordEvents>(event: E, listener: FakeDiscordEvents[E]): this {
    this.core.events.once(event, listener);
    return this;
  }

  off<E extends keyof FakeDiscordEvents>(event: E, listener: FakeDiscordEvents[E]): this {
    this.core.events.off(event, listener);
    return this;
  }

  // ------------------------------------------------------------ fault injection and timing
  //
  // Rules match on `method` (optional, any case) and `path`, a RegExp tested against the path after
  // `/api/v10`, percent-decoded (`/channels/123/messages`, `/webhooks/1/tok/messages/@original`).

  /**
   * The next `count` (default 1) matching requests answer with `status` (429 gets `Retry-After` and
   * `X-RateLimit-*` headers; `retryAfterMs`, `global`). With `afterEffect: true` the request is handled first
   * (message stored, MESSAGE_CREATE/UPDATE sent) and only then answered with the failure: "accepted by Discord,
   * answer lost". This holds for every route, channel message posts and webhook executions included; a retried
   * post with the same `nonce` + `enforce_nonce` then returns the first message, as on Discord.
   */
  failNext(rule: FailNextRule): void {
    this.core.faults.failNext(rule);
  }

  /**
   * Keeps the next matching request in flight until the test decides: `release()` (process it normally),
   * `releaseWith(status, body?)` (answer that instead) or `drop()` (destroy the connection, no answer).
   * `await hold.arrived()` resolves once it is held. With `afterEffect: true` the request is handled first
   * and only its answer is held: the message exists and the gateway event went out while the client waits;
   * `release()` then sends the answer it got, `releaseWith` replaces it, `drop()` loses it.
   */
  hold(rule: HoldRule): RequestHold {
    return this.core.faults.hold(rule);
  }

  /**
   * Delays every matching request by `ms` until `remove()`d: a number, a `[min, max]` range drawn from a
   * seeded PRNG (the `seed` option of `start`, or the rule's own `random`), or a function of the request.
   * `when: 'after'` (default): the effect is applied at once and the answer waits; `when: 'before'`: the
   * request waits before the fake looks at it (auth, faults, rate limits and handler come after the delay).
   * Several matching rules add up. Holds and failures still apply; an 'after' delay also delays their answers.
   */
  latency(rule: LatencyRule): LatencyHandle {
    return this.core.faults.latency(rule);
  }

  #requireSession(what: string): void {
    if (this.gateway.sessions().every((s) => !s.resumable && !s.connected)) {
      throw new Error(`fake-discord: ${what}() with no gateway session to deliver to; await waitForGateway() first`);
    }
  }
}

function seedState(config: FakeConfig, ids: SnowflakeFactory): FakeState {
  const botId = ids.next();
  const seeded = guild.newGuild(ids, {
    name: config.guildName,
    channelName: config.channelName,
    botPermissions: config.botPermissions,
    shard: 0,
    shards: config.shards,
  });
  const state = new FakeState({ id: botId, username: config.botUsername, global_name: null, avatar: null, bot: true, discriminator: '0' }, seeded.guild);
  state.channels.set(seeded.channel.id, seeded.channel);
  return state;
}

function fakeFiles(spec: PostUserMessageInput['attachments']): UploadedFile[] {
  const list: Array<{ filename: string; text: string; contentType?: string }> =
    typeof spec === 'number' ? Array.from({ length: spec }, (_, i) => ({ filename: `attachment-${i + 1}.txt`, text: `attachment ${i + 1}` })) : (spec ?? []);
  return list.map((file, index) => {
    const data = Buffer.from(file.text, 'utf8');
    return {
      field: `files[${index}]`,
      filename: file.filename,
      contentType: file.contentType ?? 'text/plain; charset=utf-8',
      size: data.length,
      text: file.text,
      data,
    };
  });
}
