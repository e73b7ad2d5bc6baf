// Protocol constants of Discord API v10, written out here on purpose: the fake
// must not take its numbers from discord.js, or a wrong value in the library
// would agree with itself and the test would prove nothing.

/** Permission bits (https://discord.com/developers/docs/topics/permissions). */
export const Permission = {
  CreateInstantInvite: 1n << 0n,
  Administrator: 1n << 3n,
  ManageChannels: 1n << 4n,
  ManageGuild: 1n << 5n,
  AddReactions: 1n << 6n,
  ViewChannel: 1n << 10n,
  SendMessages: 1n << 11n,
  ManageMessages: 1n << 13n,
  EmbedLinks: 1n << 14n,
  AttachFiles: 1n << 15n,
  ReadMessageHistory: 1n << 16n,
  MentionEveryone: 1n << 17n,
  UseExternalEmojis: 1n << 18n,
  ManageRoles: 1n << 28n,
  ManageWebhooks: 1n << 29n,
  UseApplicationCommands: 1n << 31n,
  ManageThreads: 1n << 34n,
  CreatePublicThreads: 1n << 35n,
  CreatePrivateThreads: 1n << 36n,
  SendMessagesInThreads: 1n << 38n,
} as const;

/** Every permission bit Discord defines today (owner and Administrator get all of them). */
export const ALL_PERMISSIONS = (1n << 53n) - 1n;

export const DEFAULT_BOT_PERMISSIONS =
  Permission.ViewChannel |
  Permission.SendMessages |
  Permission.SendMessagesInThreads |
  Permission.CreatePublicThreads |
  Permission.ManageThreads |
  Permission.ManageWebhooks |
  Permission.EmbedLinks |
  Permission.AttachFiles |
  Permission.ReadMessageHistory |
  Permission.AddReactions;

/** What an ordinary human member of the seeded guild may do. */
export const DEFAULT_MEMBER_PERMISSIONS =
  Permission.ViewChannel |
  Permission.SendMessages |
  Permission.SendMessagesInThreads |
  Permission.CreatePublicThreads |
  Permission.AddReactions |
  Permission.EmbedLinks |
  Permission.AttachFiles |
  Permission.ReadMessageHistory |
  Permission.UseApplicationCommands;

/**
 * What the bot may do in a DM. DMs have no roles, so no guild's permissions
 * apply there; these are the ones a DM implicitly grants.
 */
export const DM_PERMISSIONS =
  Permission.ViewChannel |
  Permission.SendMessages |
  Permission.EmbedLinks |
  Permission.AttachFiles |
  Permission.ReadMessageHistory |
  Permission.AddReactions |
  Permission.UseExternalEmojis;

export const Intent = {
  Guilds: 1 << 0,
  GuildMembers: 1 << 1,
  GuildWebhooks: 1 << 5,
  GuildMessages: 1 << 9,
  GuildMessageReactions: 1 << 10,
  GuildMessageTyping: 1 << 11,
  DirectMessages: 1 << 12,
  DirectMessageReactions: 1 << 13,
  MessageContent: 1 << 15,
} as const;

export const ChannelType = {
  GuildText: 0,
  DM: 1,
  AnnouncementThread: 10,
  PublicThread: 11,
  PrivateThread: 12,
} as const;

export const MessageFlag = {
  SuppressEmbeds: 1 << 2,
  Ephemeral: 1 << 6,
  Loading: 1 << 7,
} as const;

export const MessageType = {
  Default: 0,
  ChatInputCommand: 20,
} as const;

export const InteractionType = {
  ApplicationCommand: 2,
  MessageComponent: 3,
  ApplicationCommandAutocomplete: 4,
} as const;

export const CallbackType = {
  ChannelMessageWithSource: 4,
  DeferredChannelMessageWithSource: 5,
  DeferredUpdateMessage: 6,
  UpdateMessage: 7,
  ApplicationCommandAutocompleteResult: 8,
} as const;

export const OptionType = {
  Subcommand: 1,
  SubcommandGroup: 2,
  String: 3,
  Integer: 4,
  Boolean: 5,
  User: 6,
  Channel: 7,
  Role: 8,
  Mentionable: 9,
  Number: 10,
  Attachment: 11,
} as const;

export const GatewayOp = {
  Dispatch: 0,
  Heartbeat: 1,
  Identify: 2,
  PresenceUpdate: 3,
  VoiceStateUpdate: 4,
  Resume: 6,
  Reconnect: 7,
  RequestGuildMembers: 8,
  InvalidSession: 9,
  Hello: 10,
  HeartbeatAck: 11,
} as const;

export const GatewayClose = {
  UnknownError: 4000,
  NotAuthenticated: 4003,
  AuthenticationFailed: 4004,
  AlreadyAuthenticated: 4005,
  SessionTimedOut: 4009,
  InvalidShard: 4010,
  DisallowedIntents: 4014,
} as const;

/** Documented limits the fake enforces beyond (or tighter than) the published schemas. */
export const Limits = {
  /** The spec allows 4,000 (Nitro users); a bot may send 2,000. */
  messageContent: 2000,
  embedsPerMessage: 10,
  embedTotalCharacters: 6000,
  filesPerMessage: 10,
  fileBytes: 10 * 1024 * 1024,
  webhookUsername: 80,
  webhooksPerChannel: 15,
} as const;

export const FORBIDDEN_WEBHOOK_NAME_PARTS = ['discord', 'clyde'] as const;

export const INTERACTION_TOKEN_LIFETIME_MS = 15 * 60 * 1000;
