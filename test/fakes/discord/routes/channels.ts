// Channels and threads: read, create thread, update (archive/lock/rename),
// delete, join, typing.

import { createThread, deleteChannel, updateThread } from '../guild-actions.js';
import { Errors } from '../api-error.js';
import { ChannelType, Permission } from '../constants.js';
import type { ApiRequest, Core } from '../core.js';
import type { Route } from '../router.js';
import { channelPayload, threadMemberPayload } from '../serialize.js';
import type { StoredChannel } from '../types.js';
import { schemaIssues, Schemas } from '../validation.js';

export const channelRoutes: Route[] = [
  {
    method: 'GET',
    pattern: '/channels/:channel_id',
    auth: 'bot',
    handle: (req, core) => {
      const channel = visibleChannel(core, req);
      return { status: 200, body: channelPayload(channel, core.state) };
    },
  },
  { method: 'PATCH', pattern: '/channels/:channel_id', auth: 'bot', handle: patchChannel },
  {
    method: 'DELETE',
    pattern: '/channels/:channel_id',
    auth: 'bot',
    handle: (req, core) => {
      const channel = visibleChannel(core, req);
      requirePermission(core, channel, channel.thread_metadata ? Permission.ManageThreads : Permission.ManageChannels);
      deleteChannel(core, channel);
      return { status: 200, body: channelPayload(channel, core.state) };
    },
  },
  { method: 'POST', pattern: '/channels/:channel_id/threads', auth: 'bot', handle: postThread },
  {
    method: 'PUT',
    pattern: '/channels/:channel_id/thread-members/@me',
    auth: 'bot',
    handle: (req, core) => {
      const thread = visibleChannel(core, req);
      if (!thread.thread_metadata) throw Errors.wrongChannelType();
      return { status: 204 };
    },
  },
  {
    method: 'POST',
    pattern: '/channels/:channel_id/typing',
    auth: 'bot',
    handle: (req, core) => {
      const channel = visibleChannel(core, req);
      requirePermission(core, channel, channel.thread_metadata ? Permission.SendMessagesInThreads : Permission.SendMessages);
      core.state.typing.push({ channelId: channel.id, at: Date.now() });
      core.changed();
      return { status: 204 };
    },
  },
];

/** The channel in the path, if it exists and the bot can see it. */
export function visibleChannel(core: Core, req: ApiRequest): StoredChannel {
  const channel = core.state.liveChannel(req.params.channel_id ?? '');
  if (!core.state.botCan(channel, Permission.ViewChannel)) throw Errors.missingAccess();
  return channel;
}

/** The bot's permissions in the channel's guild (or the DM's) must include `permission`. */
export function requirePermission(core: Core, channel: StoredChannel, permission: bigint): void {
  if (!core.state.botCan(channel, permission)) throw Errors.missingPermissions();
}

function postThread(req: ApiRequest, core: Core) {
  const parent = visibleChannel(core, req);
  if (parent.type !== ChannelType.GuildText) throw Errors.wrongChannelType();
  core.enforce(req, schemaIssues(Schemas.threadCreate, req.body));
  const body = req.body as {
    name: string;
    type?: number | null;
    auto_archive_duration?: number | null;
    rate_limit_per_user?: number | null;
  };
  // v10 documents `type` as required-in-practice; Discord still defaults to a private thread.
  const type = body.type ?? ChannelType.PrivateThread;
  requirePermission(core, parent, type === ChannelType.PrivateThread ? Permission.CreatePrivateThreads : Permission.CreatePublicThreads);
  const thread = createThread(core, {
    parent,
    name: body.name,
    type,
    autoArchiveDuration: body.auto_archive_duration ?? 4320,
    ownerId: core.state.botUser.id,
    rateLimitPerUser: body.rate_limit_per_user ?? 0,
  });
  const created = thread.thread_metadata?.create_timestamp ?? new Date().toISOString();
  return {
    status: 201,
    body: {
      ...channelPayload(thread, core.state),
      member: threadMemberPayload(thread.id, core.state.botUser.id, created),
    },
  };
}

function patchChannel(req: ApiRequest, core: Core) {
  const channel = visibleChannel(core, req);
  const meta = channel.thread_metadata;
  if (!meta) {
    core.enforce(req, schemaIssues(Schemas.channelUpdate, req.body));
    requirePermission(core, channel, Permission.ManageChannels);
    const body = req.body as { name?: string; topic?: string | null };
    if (body.name !== undefined) channel.name = body.name;
    if (body.topic !== undefined) channel.topic = body.topic;
    core.dispatch('CHANNEL_UPDATE', channelPayload(channel, core.state));
    core.changed();
    return { status: 200, body: channelPayload(channel, core.state) };
  }

  core.enforce(req, schemaIssues(Schemas.threadUpdate, req.body));
  const body = req.body as {
    name?: string | null;
    archived?: boolean | null;
    locked?: boolean | null;
    auto_archive_duration?: number | null;
  };
  const canManage = core.state.botCan(channel, Permission.ManageThreads);
  const isOwner = channel.owner_id === core.state.botUser.id;
  const lockChange = body.locked !== undefined && body.locked !== null && body.locked !== meta.locked;
  if (lockChange && !canManage) throw Errors.missingPermissions();
  if (!canManage && !isOwner) throw Errors.missingPermissions();
  // An archived thread accepts only the request that unarchives it, and a
  // locked one only from someone who may manage threads.
  if (meta.archived && body.archived !== false) throw Errors.threadArchived(400);
  if (meta.archived && meta.locked && !canManage) throw Errors.threadArchived(403);
  updateThread(core, channel, {
    ...(body.name != null ? { name: body.name } : {}),
    ...(body.archived != null ? { archived: body.archived } : {}),
    ...(body.locked != null ? { locked: body.locked } : {}),
    ...(body.auto_archive_duration != null ? { autoArchiveDuration: body.auto_archive_duration } : {}),
  });
  return { status: 200, body: channelPayload(channel, core.state) };
}
