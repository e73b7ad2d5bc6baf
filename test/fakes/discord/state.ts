import { Errors } from './api-error.js';
import { ALL_PERMISSIONS, ChannelType, DM_PERMISSIONS, Permission } from './constants.js';
import type { SnowflakeFactory } from './snowflake.js';
import type { AutocompleteChoice, FakeUser, Member, RegisteredCommand, Snowflake, StoredChannel, StoredMessage, StoredWebhook, TypingEvent } from './types.js';

export interface GuildState {
  id: Snowflake;
  name: string;
  ownerId: Snowflake;
  botRoleId: Snowflake;
  botPermissions: bigint;
  createdAt: string;
}

/** Everything the fake remembers about one interaction it delivered. */
export interface InteractionRecord {
  id: Snowflake;
  token: string;
  type: number;
  applicationId: Snowflake;
  channelId: Snowflake;
  guildId: Snowflake | null;
  user: Member;
  receivedAt: number;
  ackedAt: number | null;
  callbackType: number | null;
  /** Token revoked by the test (`expireInteraction`) or past 15 minutes. */
  expired: boolean;
  /** The response message (`@original`), once there is one. */
  original: StoredMessage | null;
  followups: StoredMessage[];
  /** Autocomplete result. */
  choices: AutocompleteChoice[] | null;
  /** For component interactions: the message whose component was used. */
  sourceMessageId: Snowflake | null;
}

/** Plain containers and lookups; flows that also dispatch events live in actions.ts. */
export class FakeState {
  readonly guilds = new Map<Snowflake, GuildState>();
  /** Memberships by `${guildId}:${userId}`: one user may be in several guilds. */
  readonly members = new Map<string, Member>();
  readonly channels = new Map<Snowflake, StoredChannel>();
  readonly messages = new Map<Snowflake, StoredMessage[]>();
  readonly attachmentBytes = new Map<Snowflake, Buffer>();
  readonly webhooks = new Map<Snowflake, StoredWebhook>();
  readonly globalCommands: RegisteredCommand[] = [];
  /** Guild commands by guild id. */
  readonly guildCommands = new Map<Snowflake, RegisteredCommand[]>();
  readonly interactions = new Map<Snowflake, InteractionRecord>();
  readonly typing: TypingEvent[] = [];
  /** `${channelId}:${authorId}:${nonce}` → the message it created. */
  readonly nonces = new Map<string, { messageId: Snowflake; at: number }>();

  constructor(
    readonly botUser: FakeUser,
    /** The seeded guild: the default wherever a test names no guild. */
    readonly defaultGuild: GuildState,
  ) {
    this.guilds.set(defaultGuild.id, defaultGuild);
  }

  /** A guild the bot is in, else 404 Unknown Guild. */
  liveGuild(id: Snowflake): GuildState {
    const guild = this.guilds.get(id);
    if (!guild) throw Errors.unknownGuild();
    return guild;
  }

  member(guildId: Snowflake, userId: Snowflake): Member | undefined {
    return this.members.get(`${guildId}:${userId}`);
  }

  membersOf(guildId: Snowflake): Member[] {
    return [...this.members.values()].filter((m) => m.guildId === guildId);
  }

  /** The bot, or a user who is a member somewhere. */
  user(id: Snowflake): FakeUser | undefined {
    if (id === this.botUser.id) return this.botUser;
    for (const member of this.members.values()) if (member.id === id) return member.user;
    return undefined;
  }

  /** The first text channel of a guild: where interactions and user messages go when a test names no channel. */
  defaultChannel(guildId: Snowflake): StoredChannel {
    for (const channel of this.channels.values()) {
      if (channel.guild_id === guildId && channel.type === ChannelType.GuildText && !channel.deleted) return channel;
    }
    throw new Error(`fake-discord: guild ${guildId} has no text channel`);
  }

  /** A channel or thread that exists, else 404 Unknown Channel. */
  liveChannel(id: Snowflake): StoredChannel {
    const channel = this.channels.get(id);
    if (!channel || channel.deleted) throw Errors.unknownChannel();
    return channel;
  }

  channelMessages(channelId: Snowflake): StoredMessage[] {
    let list = this.messages.get(channelId);
    if (!list) {
      list = [];
      this.messages.set(channelId, list);
    }
    return list;
  }

  findMessage(channelId: Snowflake, messageId: Snowflake): StoredMessage {
    const message = this.messages.get(channelId)?.find((m) => m.id === messageId);
    if (!message) throw Errors.unknownMessage();
    return message;
  }

  liveWebhook(id: Snowflake): StoredWebhook {
    const webhook = this.webhooks.get(id);
    if (!webhook || webhook.deleted) throw Errors.unknownWebhook();
    return webhook;
  }

  commands(): RegisteredCommand[] {
    return [...this.globalCommands, ...[...this.guildCommands.values()].flat()];
  }

  guildCommandList(guildId: Snowflake): RegisteredCommand[] {
    let list = this.guildCommands.get(guildId);
    if (!list) {
      list = [];
      this.guildCommands.set(guildId, list);
    }
    return list;
  }

  /**
   * Guild-level permissions; the fake uses no channel overwrites, and threads
   * inherit their parent's, so this is also the channel's.
   */
  permissionsOf(guildId: Snowflake, userId: Snowflake): bigint {
    const guild = this.guilds.get(guildId);
    if (!guild) return 0n;
    if (userId === this.botUser.id) return withAdministrator(guild.botPermissions);
    const member = this.member(guildId, userId);
    if (!member) return 0n;
    if (member.owner || userId === guild.ownerId) return ALL_PERMISSIONS;
    return withAdministrator(member.permissions);
  }

  /** The bot's permissions in a channel: its role's in the channel's guild, or a DM's own. */
  botPermissionsIn(channel: StoredChannel): bigint {
    return channel.guild_id === null ? DM_PERMISSIONS : this.permissionsOf(channel.guild_id, this.botUser.id);
  }

  botCan(channel: StoredChannel, permission: bigint): boolean {
    return (this.botPermissionsIn(channel) & permission) === permission;
  }

  dmChannelFor(user: Member, ids: SnowflakeFactory): StoredChannel {
    for (const channel of this.channels.values()) {
      if (channel.type === ChannelType.DM && channel.owner_id === user.id) return channel;
    }
    const channel: StoredChannel = {
      id: ids.next(),
      type: ChannelType.DM,
      name: user.user.username,
      guild_id: null,
      parent_id: null,
      // For a DM the fake keeps the recipient here, to find the channel again.
      owner_id: user.id,
      topic: null,
      position: 0,
      rate_limit_per_user: 0,
      last_message_id: null,
      message_count: 0,
      member_count: 2,
      flags: 0,
      deleted: false,
    };
    this.channels.set(channel.id, channel);
    return channel;
  }
}

function withAdministrator(bits: bigint): bigint {
  return (bits & Permission.Administrator) !== 0n ? ALL_PERMISSIONS : bits;
}
