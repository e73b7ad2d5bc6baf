// Guild, thread, channel, role and member changes, dispatched as Discord would
// (GUILD_CREATE, THREAD_CREATE/UPDATE/DELETE, CHANNEL_DELETE, GUILD_ROLE_*,
// GUILD_MEMBER_ADD), so a change made by a test looks to the bot exactly like
// one made by Discord.

import { ChannelType } from './constants.js';
import type { Core } from './core.js';
import { botRolePayload, channelPayload, guildCreatePayload, memberPayload, memberRolePayload, threadMemberPayload } from './serialize.js';
import { shardOf, type SnowflakeFactory } from './snowflake.js';
import type { GuildState } from './state.js';
import type { AddedGuild, AddGuildInput, AddMemberInput, Member, Snowflake, StoredChannel } from './types.js';

export interface NewGuild {
  name: string;
  channelName: string;
  botPermissions: bigint;
  /** Shard `shard` of `shards` is where its id puts it. */
  shard: number;
  shards: number;
}

/** The records of a guild the bot is in, with one text channel; the caller stores them. */
export function newGuild(ids: SnowflakeFactory, { name, channelName, botPermissions, shard, shards }: NewGuild): { guild: GuildState; channel: StoredChannel } {
  const guild: GuildState = {
    id: ids.nextOnShard(shard, shards),
    name,
    // An owner who is nobody the test knows, so no test member has every permission by accident.
    ownerId: ids.next(),
    botRoleId: ids.next(),
    botPermissions,
    createdAt: new Date().toISOString(),
  };
  const channel: StoredChannel = {
    id: ids.next(),
    type: ChannelType.GuildText,
    name: channelName,
    guild_id: guild.id,
    parent_id: null,
    owner_id: null,
    topic: null,
    position: 0,
    rate_limit_per_user: 0,
    last_message_id: null,
    message_count: 0,
    member_count: 0,
    flags: 0,
    deleted: false,
  };
  return { guild, channel };
}

/** The bot joins another guild: connected sessions on its shard get GUILD_CREATE, as on Discord. */
export function addGuild(core: Core, input: AddGuildInput): AddedGuild {
  const { shards } = core.config;
  // Round robin by default, so that a few guilds cover every shard.
  const shard = input.shard ?? core.state.guilds.size % shards;
  if (!Number.isInteger(shard) || shard < 0 || shard >= shards) {
    throw new Error(`fake-discord: shard ${shard} does not exist (shards: ${shards})`);
  }
  const { guild, channel } = newGuild(core.ids, {
    name: input.name ?? `Salon Test Guild ${core.state.guilds.size + 1}`,
    channelName: input.channelName ?? core.config.channelName,
    botPermissions: input.botPermissions ?? core.config.botPermissions,
    shard,
    shards,
  });
  core.state.guilds.set(guild.id, guild);
  core.state.channels.set(channel.id, channel);
  core.dispatch('GUILD_CREATE', guildCreatePayload(core.state, guild));
  core.changed();
  return { guildId: guild.id, channelId: channel.id, shard: shardOf(guild.id, shards) };
}

export interface NewThread {
  parent: StoredChannel;
  name: string;
  type: number;
  autoArchiveDuration: number;
  ownerId: Snowflake;
  rateLimitPerUser?: number;
}

export function createThread(core: Core, input: NewThread): StoredChannel {
  const now = new Date().toISOString();
  const thread: StoredChannel = {
    id: core.ids.next(),
    type: input.type,
    name: input.name,
    guild_id: input.parent.guild_id,
    parent_id: input.parent.id,
    owner_id: input.ownerId,
    topic: null,
    position: 0,
    rate_limit_per_user: input.rateLimitPerUser ?? 0,
    last_message_id: null,
    message_count: 0,
    member_count: 1,
    flags: 0,
    thread_metadata: {
      archived: false,
      locked: false,
      auto_archive_duration: input.autoArchiveDuration,
      archive_timestamp: now,
      create_timestamp: now,
      invitable: input.type === ChannelType.PrivateThread ? true : false,
    },
    deleted: false,
  };
  core.state.channels.set(thread.id, thread);
  core.dispatch('THREAD_CREATE', {
    ...channelPayload(thread, core.state),
    newly_created: true,
    // The creator joins the thread; discord.js reads this as `thread.joined`.
    member: threadMemberPayload(thread.id, input.ownerId, now),
  });
  core.changed();
  return thread;
}

export interface ThreadPatch {
  name?: string;
  archived?: boolean;
  locked?: boolean;
  autoArchiveDuration?: number;
}

export function updateThread(core: Core, thread: StoredChannel, patch: ThreadPatch): StoredChannel {
  const meta = thread.thread_metadata;
  if (!meta) return thread;
  if (patch.name !== undefined) thread.name = patch.name;
  if (patch.locked !== undefined) meta.locked = patch.locked;
  if (patch.autoArchiveDuration !== undefined) meta.auto_archive_duration = patch.autoArchiveDuration;
  if (patch.archived !== undefined && patch.archived !== meta.archived) {
    meta.archived = patch.archived;
    meta.archive_timestamp = new Date().toISOString();
  }
  core.dispatch('THREAD_UPDATE', channelPayload(thread, core.state));
  core.changed();
  return thread;
}

/** A message sent into an archived thread that is not locked unarchives it. */
export function unarchiveForMessage(core: Core, channel: StoredChannel): void {
  if (channel.thread_metadata?.archived && !channel.thread_metadata.locked) {
    updateThread(core, channel, { archived: false });
  }
}

export function deleteChannel(core: Core, channel: StoredChannel): void {
  if (channel.deleted) return;
  channel.deleted = true;
  if (channel.thread_metadata) {
    core.dispatch('THREAD_DELETE', {
      id: channel.id,
      guild_id: channel.guild_id,
      parent_id: channel.parent_id,
      type: channel.type,
    });
  } else {
    core.dispatch('CHANNEL_DELETE', channelPayload(channel, core.state));
    for (const child of core.state.channels.values()) {
      if (child.parent_id === channel.id) deleteChannel(core, child);
    }
  }
  for (const webhook of core.state.webhooks.values()) {
    if (webhook.channel_id === channel.id) webhook.deleted = true;
  }
  core.changed();
}

export function setBotPermissions(core: Core, guild: GuildState, permissions: bigint): void {
  guild.botPermissions = permissions;
  core.dispatch('GUILD_ROLE_UPDATE', { guild_id: guild.id, role: botRolePayload(core.state, guild) });
  core.changed();
}

export function addMember(core: Core, guild: GuildState, input: AddMemberInput, defaultPermissions: bigint): Member {
  // The same user joining a second guild keeps their user; the membership (role, permissions) is new.
  const known = input.id !== undefined ? core.state.user(input.id) : undefined;
  if (known && known.username !== input.username) {
    throw new Error(`fake-discord: user ${known.id} is ${known.username}, not ${input.username}`);
  }
  if (input.id !== undefined && core.state.member(guild.id, input.id)) {
    throw new Error(`fake-discord: ${input.username} is already a member of guild ${guild.id}`);
  }
  const id = input.id ?? core.ids.next();
  const member: Member = {
    id,
    guildId: guild.id,
    user: known
      ? { ...known }
      : {
          id,
          username: input.username,
          global_name: input.globalName ?? null,
          avatar: null,
          bot: input.bot ?? false,
          discriminator: '0',
        },
    roleId: core.ids.next(),
    permissions: input.permissions ?? defaultPermissions,
    owner: input.owner ?? false,
    joinedAt: new Date().toISOString(),
  };
  core.state.members.set(`${guild.id}:${id}`, member);
  if (member.owner) guild.ownerId = id;
  core.dispatch('GUILD_ROLE_CREATE', { guild_id: guild.id, role: memberRolePayload(member) });
  core.dispatch('GUILD_MEMBER_ADD', { guild_id: guild.id, ...memberPayload(member) });
  core.changed();
  return member;
}
