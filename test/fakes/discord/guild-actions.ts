// Thread, channel, role and member changes, dispatched as Discord would
// (THREAD_CREATE/UPDATE/DELETE, CHANNEL_DELETE, GUILD_ROLE_*, GUILD_MEMBER_ADD),
// so a change made by a test looks to the bot exactly like one made by Discord.

import { ChannelType } from './constants.js';
import type { Core } from './core.js';
import { botRolePayload, channelPayload, memberPayload, memberRolePayload, threadMemberPayload } from './serialize.js';
import type { AddMemberInput, Member, Snowflake, StoredChannel } from './types.js';

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

export function setBotPermissions(core: Core, permissions: bigint): void {
  core.state.guild.botPermissions = permissions;
  core.dispatch('GUILD_ROLE_UPDATE', { guild_id: core.state.guild.id, role: botRolePayload(core.state) });
  core.changed();
}

export function addMember(core: Core, input: AddMemberInput, defaultPermissions: bigint): Member {
  const id = input.id ?? core.ids.next();
  const member: Member = {
    id,
    user: {
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
  core.state.members.set(id, member);
  if (member.owner) core.state.guild.ownerId = id;
  const guildId = core.state.guild.id;
  core.dispatch('GUILD_ROLE_CREATE', { guild_id: guildId, role: memberRolePayload(member) });
  core.dispatch('GUILD_MEMBER_ADD', { guild_id: guildId, ...memberPayload(member) });
  core.changed();
  return member;
}
