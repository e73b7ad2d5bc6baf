// Stored records → the JSON objects Discord sends (REST responses and gateway
// dispatches). discord.js is strict about a few of these shapes: arrays must be
// arrays (never null), GUILD_CREATE must state `unavailable: false`, and the bot
// needs a `members` entry so that `guild.members.me` exists.

import { ChannelType } from './constants.js';
import type { FakeState, GuildState } from './state.js';
import type { FakeUser, Member, Snowflake, StoredAttachment, StoredChannel, StoredMessage, StoredWebhook } from './types.js';

export type Json = Record<string, unknown>;

export function userPayload(user: FakeUser): Json {
  return {
    id: user.id,
    username: user.username,
    global_name: user.global_name,
    avatar: user.avatar,
    discriminator: user.discriminator,
    public_flags: 0,
    flags: 0,
    bot: user.bot,
    banner: null,
    accent_color: null,
    avatar_decoration_data: null,
  };
}

function role(id: Snowflake, name: string, permissions: bigint, position: number, extra: Json = {}): Json {
  return {
    id,
    name,
    color: 0,
    colors: { primary_color: 0, secondary_color: null, tertiary_color: null },
    hoist: false,
    icon: null,
    unicode_emoji: null,
    position,
    permissions: permissions.toString(),
    managed: false,
    mentionable: false,
    flags: 0,
    ...extra,
  };
}

export function everyoneRolePayload(guild: GuildState): Json {
  // @everyone grants nothing: each member's permissions come from its own role,
  // so a test controls them exactly.
  return role(guild.id, '@everyone', 0n, 0);
}

export function botRolePayload(state: FakeState, guild: GuildState): Json {
  return role(guild.botRoleId, state.botUser.username, guild.botPermissions, 2, {
    managed: true,
    tags: { bot_id: state.botUser.id },
  });
}

export function memberRolePayload(member: Member): Json {
  return role(member.roleId, `member-${member.user.username}`, member.permissions, 1);
}

export function rolesPayload(state: FakeState, guild: GuildState): Json[] {
  return [everyoneRolePayload(guild), botRolePayload(state, guild), ...state.membersOf(guild.id).map(memberRolePayload)];
}

export function botMemberPayload(state: FakeState, guild: GuildState, withUser = true): Json {
  return {
    ...(withUser ? { user: userPayload(state.botUser) } : {}),
    nick: null,
    avatar: null,
    banner: null,
    roles: [guild.botRoleId],
    joined_at: guild.createdAt,
    premium_since: null,
    deaf: false,
    mute: false,
    flags: 0,
    pending: false,
    communication_disabled_until: null,
  };
}

export function memberPayload(member: Member, withUser = true): Json {
  return {
    ...(withUser ? { user: userPayload(member.user) } : {}),
    nick: null,
    avatar: null,
    banner: null,
    roles: [member.roleId],
    joined_at: member.joinedAt,
    premium_since: null,
    deaf: false,
    mute: false,
    flags: 0,
    pending: false,
    communication_disabled_until: null,
  };
}

export function channelPayload(channel: StoredChannel, state: FakeState): Json {
  if (channel.type === ChannelType.DM) {
    const recipient = channel.owner_id ? state.user(channel.owner_id) : undefined;
    return {
      id: channel.id,
      type: channel.type,
      last_message_id: channel.last_message_id,
      flags: 0,
      recipients: recipient ? [userPayload(recipient)] : [],
    };
  }
  const base: Json = {
    id: channel.id,
    type: channel.type,
    guild_id: channel.guild_id,
    name: channel.name,
    parent_id: channel.parent_id,
    last_message_id: channel.last_message_id,
    rate_limit_per_user: channel.rate_limit_per_user,
    flags: channel.flags,
  };
  if (!channel.thread_metadata) {
    return {
      ...base,
      position: channel.position,
      topic: channel.topic,
      nsfw: false,
      permission_overwrites: [],
      default_auto_archive_duration: 4320,
      default_thread_rate_limit_per_user: 0,
    };
  }
  return {
    ...base,
    owner_id: channel.owner_id,
    message_count: channel.message_count,
    total_message_sent: channel.message_count,
    member_count: channel.member_count,
    thread_metadata: { ...channel.thread_metadata },
    applied_tags: [],
  };
}

export function threadMemberPayload(threadId: Snowflake, userId: Snowflake, joinedAt: string): Json {
  return { id: threadId, user_id: userId, join_timestamp: joinedAt, flags: 0 };
}

export function attachmentPayload(attachment: StoredAttachment): Json {
  return {
    id: attachment.id,
    filename: attachment.filename,
    size: attachment.size,
    url: attachment.url,
    proxy_url: attachment.url,
    content_type: attachment.content_type,
    ...(attachment.description !== null ? { description: attachment.description } : {}),
  };
}

export interface MessagePayloadOptions {
  /** false when the receiving session lacks the Message Content intent (and the message is not exempt). */
  includeContent?: boolean;
}

export function messagePayload(message: StoredMessage, state: FakeState, { includeContent = true }: MessagePayloadOptions = {}): Json {
  const author = message.author;
  const payload: Json = {
    id: message.id,
    channel_id: message.channel_id,
    ...(message.guild_id ? { guild_id: message.guild_id } : {}),
    author: {
      id: author.id,
      username: author.username,
      global_name: author.global_name,
      avatar: author.avatar,
      discriminator: message.webhook_id && !message.interaction_id ? '0000' : '0',
      public_flags: 0,
      ...(author.bot ? { bot: true } : {}),
    },
    content: includeContent ? message.content : '',
    timestamp: message.timestamp,
    edited_timestamp: message.edited_timestamp,
    tts: false,
    mention_everyone: false,
    mentions: message.mentions.flatMap((id) => {
      const user = state.user(id);
      return user ? [userPayload(user)] : [];
    }),
    mention_roles: [],
    attachments: includeContent ? message.attachments.map(attachmentPayload) : [],
    embeds: includeContent ? message.embeds : [],
    components: includeContent ? message.components : [],
    pinned: false,
    type: message.type,
    flags: message.flags,
  };
  if (message.nonce !== null) payload.nonce = message.nonce;
  if (message.reactions.length > 0) payload.reactions = reactionsPayload(message, state.botUser.id);
  if (message.webhook_id) payload.webhook_id = message.webhook_id;
  const guild = message.guild_id && !message.webhook_id ? state.guilds.get(message.guild_id) : undefined;
  const member = guild ? state.member(guild.id, author.id) : undefined;
  if (member) payload.member = memberPayload(member, false);
  if (guild && author.id === state.botUser.id) payload.member = botMemberPayload(state, guild, false);
  if (message.interaction_id) {
    const interaction = state.interactions.get(message.interaction_id);
    payload.application_id = state.botUser.id;
    if (interaction) {
      payload.interaction_metadata = {
        id: interaction.id,
        type: interaction.type,
        user: userPayload(interaction.user.user),
        authorizing_integration_owners: interaction.guildId ? { '0': interaction.guildId } : { '1': interaction.user.id },
      };
    }
  }
  return payload;
}

/** Reactions as Discord summarises them on a message: one entry per emoji with a count. */
function reactionsPayload(message: StoredMessage, botId: Snowflake): Json[] {
  const byEmoji = new Map<string, Snowflake[]>();
  for (const { emoji, userId } of message.reactions) byEmoji.set(emoji, [...(byEmoji.get(emoji) ?? []), userId]);
  return [...byEmoji].map(([emoji, users]) => ({
    emoji: emojiPayload(emoji),
    count: users.length,
    count_details: { burst: 0, normal: users.length },
    me: users.includes(botId),
    me_burst: false,
    burst_colors: [],
  }));
}

/** `✅` → `{ id: null, name: '✅' }`; `salon:123` → `{ id: '123', name: 'salon' }`. */
export function emojiPayload(emoji: string): Json {
  const custom = /^(.+):(\d+)$/.exec(emoji);
  return custom ? { id: custom[2], name: custom[1] } : { id: null, name: emoji };
}

export function webhookPayload(webhook: StoredWebhook, state: FakeState, withToken: boolean): Json {
  return {
    id: webhook.id,
    type: webhook.type,
    guild_id: webhook.guild_id,
    channel_id: webhook.channel_id,
    name: webhook.name,
    avatar: webhook.avatar,
    application_id: webhook.application_id,
    user: userPayload(state.botUser),
    ...(withToken ? { token: webhook.token } : {}),
  };
}

export function applicationPayload(state: FakeState): Json {
  return {
    id: state.botUser.id,
    name: state.botUser.username,
    icon: null,
    description: '',
    summary: '',
    type: null,
    bot_public: true,
    bot_require_code_grant: false,
    verify_key: '0'.repeat(64),
    flags: 0,
    owner: userPayload({
      id: state.defaultGuild.ownerId,
      username: 'owner',
      global_name: null,
      avatar: null,
      bot: false,
      discriminator: '0',
    }),
    team: null,
    bot: userPayload(state.botUser),
    approximate_guild_count: state.guilds.size,
    interactions_endpoint_url: null,
    tags: [],
  };
}

/** A guild as `GET /guilds/{id}` returns it (`withCounts`: `?with_counts=true`). */
export function guildPayload(state: FakeState, guild: GuildState, withCounts = false): Json {
  return {
    id: guild.id,
    name: guild.name,
    icon: null,
    splash: null,
    discovery_splash: null,
    owner_id: guild.ownerId,
    afk_channel_id: null,
    afk_timeout: 300,
    widget_enabled: false,
    widget_channel_id: null,
    verification_level: 0,
    default_message_notifications: 0,
    explicit_content_filter: 0,
    features: [],
    mfa_level: 0,
    application_id: null,
    system_channel_id: null,
    system_channel_flags: 0,
    rules_channel_id: null,
    max_presences: null,
    max_members: 500_000,
    vanity_url_code: null,
    description: null,
    banner: null,
    premium_tier: 0,
    premium_subscription_count: 0,
    preferred_locale: 'en-US',
    public_updates_channel_id: null,
    max_video_channel_users: 25,
    max_stage_video_channel_users: 50,
    safety_alerts_channel_id: null,
    nsfw_level: 0,
    premium_progress_bar_enabled: false,
    roles: rolesPayload(state, guild),
    emojis: [],
    stickers: [],
    ...(withCounts ? { approximate_member_count: state.membersOf(guild.id).length + 1, approximate_presence_count: 0 } : {}),
  };
}

/** GUILD_CREATE: the guild plus what only the gateway sends (members, channels, active threads...). */
export function guildCreatePayload(state: FakeState, guild: GuildState): Json {
  const channels = [...state.channels.values()].filter((c) => !c.deleted && c.guild_id === guild.id);
  const members = state.membersOf(guild.id);
  return {
    ...guildPayload(state, guild),
    unavailable: false,
    large: false,
    lazy: true,
    joined_at: guild.createdAt,
    member_count: members.length + 1,
    members: [botMemberPayload(state, guild), ...members.map((m) => memberPayload(m))],
    channels: channels.filter((c) => !c.thread_metadata).map((c) => channelPayload(c, state)),
    // Discord lists active threads separately from channels.
    threads: channels.filter((c) => c.thread_metadata && !c.thread_metadata.archived).map((c) => channelPayload(c, state)),
    presences: [],
    voice_states: [],
    stage_instances: [],
    guild_scheduled_events: [],
    soundboard_sounds: [],
  };
}
