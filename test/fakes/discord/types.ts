// Public types of the fake Discord. Stored records use Discord's snake_case
// field names where they mirror an API object, so a test can compare them with
// what the bot sent; fields the fake adds for tests are camelCase.

export type Snowflake = string;

export interface RateLimitRule {
  /** Requests allowed per window. */
  count: number;
  windowMs: number;
}

export interface RateLimitConfig {
  /** Bucket per channel for message posts and edits (shared, as Discord does), and per webhook for executions. */
  perChannel: RateLimitRule;
  /** Per bot token across all bot-authenticated routes (interaction callbacks are exempt, as on Discord). */
  global: RateLimitRule;
}

export interface FakeDiscordOptions {
  /** Bot token the fake accepts (REST `Authorization: Bot <token>` and gateway IDENTIFY). Default 'test-token'. */
  token?: string;
  /** Permissions of the bot's role in the seeded guild (and in added ones, unless `addGuild` says). Default: see DEFAULT_BOT_PERMISSIONS. */
  botPermissions?: bigint;
  /** Whether the app may request the privileged Message Content intent; if not, IDENTIFY with it closes 4014. Default true. */
  messageContentIntentAllowed?: boolean;
  /** Rate limits to enforce, or false for none. Defaults: 5 per 5 s per channel, 50 per second globally. */
  rateLimits?: Partial<RateLimitConfig> | false;
  /** How long a `nonce` with `enforce_nonce: true` deduplicates message creates. Default 5 minutes. */
  nonceWindowMs?: number;
  /** Gateway heartbeat interval sent in HELLO. Default 41,250 ms. */
  heartbeatIntervalMs?: number;
  /** An interaction not acknowledged within this time answers 404 Unknown interaction. Default 3,000 ms. */
  interactionAckTimeoutMs?: number;
  botUsername?: string;
  guildName?: string;
  channelName?: string;
  /**
   * Shard count: `GET /gateway/bot` recommends it and IDENTIFY must use it (`shard: [id, shards]`), or the
   * session is closed with 4010. Guilds are spread over the shards (see `addGuild`). Default 1.
   */
  shards?: number;
  /**
   * Seeds the PRNG that `latency()` ranges draw from (each rule gets its own stream of it), so a failing run
   * replays with the same delays. Default: a fixed seed (see `FakeDiscord.seed`).
   */
  seed?: number;
}

export interface FakeUser {
  id: Snowflake;
  username: string;
  global_name: string | null;
  avatar: string | null;
  bot: boolean;
  discriminator: string;
}

export interface AddMemberInput {
  /** Pass an existing member's id (and username) to put the same user in another guild. */
  id?: Snowflake;
  username: string;
  globalName?: string;
  /** Guild-level permissions, granted through a role of the member's own. Default: an ordinary member's. */
  permissions?: bigint;
  /** Makes the member the guild owner (all permissions). */
  owner?: boolean;
  bot?: boolean;
  /** The guild the member joins. Default: the seeded guild. */
  guildId?: Snowflake;
}

/** A user's membership of one guild (the same user in two guilds has two). */
export interface Member {
  id: Snowflake;
  guildId: Snowflake;
  user: FakeUser;
  /** The member's own role, which carries `permissions`. */
  roleId: Snowflake;
  permissions: bigint;
  owner: boolean;
  joinedAt: string;
}

export interface ThreadMetadata {
  archived: boolean;
  locked: boolean;
  auto_archive_duration: number;
  archive_timestamp: string;
  create_timestamp: string;
  invitable: boolean;
}

export interface StoredChannel {
  id: Snowflake;
  type: number;
  name: string;
  /** null for DM channels. */
  guild_id: Snowflake | null;
  parent_id: Snowflake | null;
  owner_id: Snowflake | null;
  topic: string | null;
  position: number;
  rate_limit_per_user: number;
  last_message_id: Snowflake | null;
  message_count: number;
  member_count: number;
  flags: number;
  thread_metadata?: ThreadMetadata;
  deleted: boolean;
}

export interface StoredAttachment {
  id: Snowflake;
  filename: string;
  content_type: string;
  size: number;
  description: string | null;
  /** Where the fake serves the bytes (no auth), like Discord's CDN URL. */
  url: string;
  /** The bytes decoded as UTF-8. */
  text: string;
}

export interface MessageAuthor {
  id: Snowflake;
  username: string;
  global_name: string | null;
  /** Avatar hash as Discord would expose it. */
  avatar: string | null;
  bot: boolean;
  /** For webhook messages: the `avatar_url` the sender asked for. */
  avatarUrl: string | null;
}

export interface StoredMessage {
  id: Snowflake;
  channel_id: Snowflake;
  guild_id: Snowflake | null;
  type: number;
  content: string;
  author: MessageAuthor;
  /** Set for webhook messages, and (to the application id) for interaction responses and follow-ups. */
  webhook_id: Snowflake | null;
  /** Set when the message is an interaction response or follow-up. */
  interaction_id: Snowflake | null;
  nonce: string | number | null;
  embeds: unknown[];
  attachments: StoredAttachment[];
  components: unknown[];
  flags: number;
  mentions: Snowflake[];
  timestamp: string;
  createdAt: number;
  edited_timestamp: string | null;
  edits: number;
  /** When each edit happened (ms since epoch). */
  editedAt: number[];
  /** The content before each edit, oldest first. */
  previousContents: string[];
  /** Reactions in the order they were added; `emoji` is the unicode character or `name:id`. */
  reactions: Array<{ emoji: string; userId: Snowflake }>;
}

export interface StoredWebhook {
  id: Snowflake;
  type: 1;
  token: string;
  channel_id: Snowflake;
  guild_id: Snowflake;
  name: string;
  avatar: string | null;
  application_id: Snowflake;
  creator_id: Snowflake;
  deleted: boolean;
}

export interface RegisteredCommand {
  id: Snowflake;
  application_id: Snowflake;
  /** Present for guild commands. */
  guild_id?: Snowflake;
  version: Snowflake;
  name: string;
  description: string;
  type: number;
  options: CommandOption[];
  default_member_permissions: string | null;
  /** Other fields as sent. */
  [key: string]: unknown;
}

export interface CommandOption {
  type: number;
  name: string;
  description?: string;
  options?: CommandOption[];
  autocomplete?: boolean;
  required?: boolean;
  [key: string]: unknown;
}

export interface UploadedFile {
  /** Form field name, e.g. `files[0]`. */
  field: string;
  filename: string;
  contentType: string;
  size: number;
  text: string;
  data: Buffer;
}

export interface RecordedRequest {
  seq: number;
  method: string;
  /** Path after `/api/v10`, percent-decoded (`/webhooks/1/tok/messages/@original`). */
  path: string;
  query: Record<string, string>;
  /** Lower-cased headers; the Authorization value is redacted to `Bot [redacted]`. */
  headers: Record<string, string>;
  /** Parsed JSON body, or the parsed `payload_json` part of a multipart body. */
  body: unknown;
  files: UploadedFile[];
  multipart: boolean;
  /** Status sent, or null while the request is pending (e.g. held). */
  status: number | null;
  /** Response body sent, when JSON. */
  response: unknown;
  /** The client had gone (e.g. the bot process was killed) before the answer was sent. */
  clientAborted: boolean;
  /** The fake destroyed the connection instead of answering (`RequestHold.drop()`); status stays null. */
  dropped: boolean;
  /** The delay `latency()` rules added to this request, in ms (both `when`s together). */
  latencyMs: number;
  at: number;
  respondedAt: number | null;
}

export interface ViolationIssue {
  /** Dotted path into the body, e.g. `nonce` or `embeds.0.title`. */
  path: string;
  code: string;
  message: string;
}

export type ViolationKind = 'schema' | 'limit' | 'unknown-route' | 'invalid-json' | 'late-acknowledgement' | 'protocol';

export interface Violation {
  kind: ViolationKind;
  method: string;
  path: string;
  issues: ViolationIssue[];
  at: number;
}

export interface TypingEvent {
  channelId: Snowflake;
  at: number;
}

export interface AutocompleteChoice {
  name: string;
  value: string | number;
}

export type OptionValue = string | number | boolean;

export interface InteractInput {
  /** The user, through any of their memberships; the interaction comes from their membership of the target guild. */
  user: Member;
  /** Default: the guild's first text channel (the seeded channel in the seeded guild). */
  channelId?: Snowflake;
  /** Default: the guild of `channelId`, else that of the `user` membership passed (the seeded guild unless added elsewhere). */
  guildId?: Snowflake;
  name: string;
  subcommandGroup?: string;
  subcommand?: string;
  options?: Record<string, OptionValue>;
  /** Deliver as a DM interaction (no guild, `user` instead of `member`). */
  inDM?: boolean;
  locale?: string;
}

export interface AutocompleteInput extends InteractInput {
  /** Name of the focused option. */
  focused: string;
  /** What the user has typed so far. */
  value: string;
  timeoutMs?: number;
}

export interface ComponentInput {
  user: Member;
  /** The message carrying the component. */
  message: StoredMessage;
  customId: string;
  /** 2 button (default), 3 string select... */
  componentType?: number;
  values?: string[];
}

/** What the user sees as the interaction's response (or a follow-up). */
export interface InteractionResponseView {
  messageId: Snowflake;
  content: string;
  flags: number;
  ephemeral: boolean;
  embeds: unknown[];
  attachments: StoredAttachment[];
  components: unknown[];
  edits: number;
}

export interface FailNextRule {
  method?: string;
  path: RegExp;
  status: number;
  /** How many matching requests fail. Default 1. */
  count?: number;
  /** Response body; a Discord-like default is chosen from the status. */
  body?: unknown;
  /** For 429: Retry-After (fractional seconds are sent, which @discordjs/rest honours). Default 1,000. */
  retryAfterMs?: number;
  /** For 429: mark it as a global rate limit (`X-RateLimit-Global`). */
  global?: boolean;
  /**
   * Perform the request first, then answer with the failure: "Discord did it but
   * the client never saw the answer". Default false (nothing happens).
   */
  afterEffect?: boolean;
}

export interface HoldRule {
  method?: string;
  path: RegExp;
  /**
   * Let the request take effect first (message stored, gateway event sent), then hold only the answer:
   * "Discord did it, the client does not know yet". Default false: the request is held before anything happens.
   */
  afterEffect?: boolean;
}

/** A delay of `ms` milliseconds: fixed, drawn uniformly from `[min, max]`, or computed per request. */
export type LatencyMs = number | readonly [number, number] | ((request: RecordedRequest) => number);

export interface LatencyRule {
  /** Only this HTTP method (any case); default every method. */
  method?: string;
  /** Tested against the path after `/api/v10` (percent-decoded), as in `failNext` and `hold`. */
  path: RegExp;
  ms: LatencyMs;
  /**
   * 'after' (default): the fake handles the request (its effect is applied, gateway events are sent), then
   * waits before answering. 'before': the request waits before the fake looks at it at all (auth, faults,
   * rate limits and the handler all run after the delay).
   */
  when?: 'before' | 'after';
  /** The source ranges draw from; default a stream of the fake's seeded PRNG, one per rule. */
  random?: () => number;
}

export interface LatencyHandle {
  readonly rule: LatencyRule;
  /** Stops delaying requests that arrive from now on (requests already waiting keep their delay). */
  remove(): void;
}

export interface GatewaySessionInfo {
  sessionId: string;
  intents: number;
  connected: boolean;
  identifiedAt: number;
  resumes: number;
  /** Last sequence number dispatched to this session. */
  seq: number;
  /** Whether it may still be resumed. */
  resumable: boolean;
  /** `[shard id, shard count]` from IDENTIFY, or null if it sent none (it then receives every guild). */
  shard: [number, number] | null;
}

export interface AddGuildInput {
  name?: string;
  /** Name of its one text channel. Default: the `channelName` option ('salons'). */
  channelName?: string;
  /** Permissions of the bot's role there. Default: the `botPermissions` option. */
  botPermissions?: bigint;
  /** The shard the guild's id puts it on. Default: the next in turn (the seeded guild is on 0, then 1, ...). */
  shard?: number;
}

export interface AddedGuild {
  guildId: Snowflake;
  /** Its text channel. */
  channelId: Snowflake;
  /** `(guildId >> 22) % shards`. */
  shard: number;
}

export interface DisconnectOptions {
  /** true: close with 4000 (client resumes, missed events are replayed). false: invalidate the session (client re-identifies). */
  resumable: boolean;
  /** Only this session; default all connected sessions. */
  sessionId?: string;
}

export interface WaitOptions {
  timeoutMs?: number;
  description?: string;
}

export interface FakeDiscordEvents {
  /** A REST request was answered. */
  request: (request: RecordedRequest) => void;
  /** A message was created in a channel or thread (not ephemeral interaction replies). */
  message: (message: StoredMessage) => void;
  violation: (violation: Violation) => void;
  /** A gateway dispatch was sent (event name, payload before per-session shaping). */
  dispatch: (event: string, data: unknown) => void;
  /** Anything changed; `waitFor` re-checks on this. */
  change: () => void;
}

export interface PostUserMessageInput {
  user: Member;
  /** Default: the guild's first text channel. */
  channelId?: Snowflake;
  /** Default: the guild of `channelId`, else that of the `user` membership passed. */
  guildId?: Snowflake;
  content: string;
  /** A count of fake text attachments, or explicit ones. */
  attachments?: number | Array<{ filename: string; text: string; contentType?: string }>;
}
