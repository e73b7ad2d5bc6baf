// Channel webhooks (create, list, delete) and executing them, including into
// threads with `thread_id`. `/webhooks/{app id}/{token}` is the interaction
// webhook and is handed to routes/interactions.ts.

import { createHash } from 'node:crypto';
import { createMessage, deleteMessage } from '../message-actions.js';
import { Errors } from '../api-error.js';
import { ChannelType, Limits, Permission } from '../constants.js';
import type { ApiRequest, ApiResponse, Core } from '../core.js';
import type { Route } from '../router.js';
import { messagePayload, webhookPayload } from '../serialize.js';
import { randomToken } from '../snowflake.js';
import type { StoredChannel, StoredMessage, StoredWebhook } from '../types.js';
import { Schemas, webhookNameIssues } from '../validation.js';
import { requirePermission, visibleChannel } from './channels.js';
import { deleteInteractionMessage, getInteractionMessage, isInteractionWebhook, patchInteractionMessage, postFollowup } from './interactions.js';
import { applyMessageEdit, checkMessageBody, prepareThreadForMessage } from './messages.js';

/** Executions are limited per webhook (interaction follow-ups are not limited here). */
const webhookBucket = (params: Record<string, string>, core: Core) =>
  params.webhook_id === core.state.botUser.id ? undefined : { key: `webhook:${params.webhook_id}`, hash: 'fake-webhook-execute' };

export const webhookRoutes: Route[] = [
  { method: 'GET', pattern: '/channels/:channel_id/webhooks', auth: 'bot', handle: listWebhooks },
  { method: 'POST', pattern: '/channels/:channel_id/webhooks', auth: 'bot', handle: createWebhook },
  {
    method: 'GET',
    pattern: '/webhooks/:webhook_id',
    auth: 'bot',
    handle: (req, core) => {
      const webhook = core.state.liveWebhook(req.params.webhook_id ?? '');
      requirePermission(core, core.state.liveChannel(webhook.channel_id), Permission.ManageWebhooks);
      return { status: 200, body: webhookPayload(webhook, core.state, true) };
    },
  },
  {
    method: 'DELETE',
    pattern: '/webhooks/:webhook_id',
    auth: 'bot',
    handle: (req, core) => {
      const webhook = core.state.liveWebhook(req.params.webhook_id ?? '');
      requirePermission(core, core.state.liveChannel(webhook.channel_id), Permission.ManageWebhooks);
      removeWebhook(core, webhook);
      return { status: 204 };
    },
  },
  {
    method: 'GET',
    pattern: '/webhooks/:webhook_id/:webhook_token',
    auth: 'none',
    handle: (req, core) => {
      const webhook = webhookForToken(core, req);
      const { user: _user, ...body } = webhookPayload(webhook, core.state, true);
      return { status: 200, body };
    },
  },
  {
    method: 'DELETE',
    pattern: '/webhooks/:webhook_id/:webhook_token',
    auth: 'none',
    handle: (req, core) => {
      removeWebhook(core, webhookForToken(core, req));
      return { status: 204 };
    },
  },
  {
    method: 'POST',
    pattern: '/webhooks/:webhook_id/:webhook_token',
    auth: 'none',
    bucket: webhookBucket,
    handle: (req, core) => (isInteractionWebhook(core, req) ? postFollowup(req, core) : executeWebhook(req, core)),
  },
  // `@original` exists only for interaction webhooks; these must precede `:message_id`.
  { method: 'GET', pattern: '/webhooks/:webhook_id/:webhook_token/messages/@original', auth: 'none', handle: getInteractionMessage },
  {
    method: 'PATCH',
    pattern: '/webhooks/:webhook_id/:webhook_token/messages/@original',
    auth: 'none',
    handle: patchInteractionMessage,
  },
  {
    method: 'DELETE',
    pattern: '/webhooks/:webhook_id/:webhook_token/messages/@original',
    auth: 'none',
    handle: deleteInteractionMessage,
  },
  {
    method: 'GET',
    pattern: '/webhooks/:webhook_id/:webhook_token/messages/:message_id',
    auth: 'none',
    handle: (req, core) => {
      if (isInteractionWebhook(core, req)) return getInteractionMessage(req, core);
      const message = webhookMessage(core, req);
      return { status: 200, body: messagePayload(message, core.state) };
    },
  },
  {
    method: 'PATCH',
    pattern: '/webhooks/:webhook_id/:webhook_token/messages/:message_id',
    auth: 'none',
    bucket: webhookBucket,
    handle: (req, core) => (isInteractionWebhook(core, req) ? patchInteractionMessage(req, core) : patchWebhookMessage(req, core)),
  },
  {
    method: 'DELETE',
    pattern: '/webhooks/:webhook_id/:webhook_token/messages/:message_id',
    auth: 'none',
    handle: (req, core) => {
      if (isInteractionWebhook(core, req)) return deleteInteractionMessage(req, core);
      deleteMessage(core, webhookMessage(core, req));
      return { status: 204 };
    },
  },
];

function listWebhooks(req: ApiRequest, core: Core): ApiResponse {
  const channel = visibleChannel(core, req);
  requirePermission(core, channel, Permission.ManageWebhooks);
  const hooks = [...core.state.webhooks.values()].filter((w) => !w.deleted && w.channel_id === channel.id);
  return { status: 200, body: hooks.map((w) => webhookPayload(w, core.state, true)) };
}

function createWebhook(req: ApiRequest, core: Core): ApiResponse {
  const channel = visibleChannel(core, req);
  const body = (req.body ?? {}) as { name?: unknown; avatar?: unknown };
  core.enforce(req, [
    ...(typeof body.name === 'string'
      ? webhookNameIssues('name', body.name)
      : [{ path: 'name', code: 'BASE_TYPE_REQUIRED', message: 'This field is required' }]),
    ...(body.avatar !== undefined && body.avatar !== null && typeof body.avatar !== 'string'
      ? [{ path: 'avatar', code: 'IMAGE_DATA_INVALID', message: 'Invalid image data' }]
      : []),
  ]);
  requirePermission(core, channel, Permission.ManageWebhooks);
  // Webhooks live on guild text channels; post into a thread with ?thread_id=.
  if (channel.type !== ChannelType.GuildText || channel.guild_id === null) throw Errors.wrongChannelType();
  const existing = [...core.state.webhooks.values()].filter((w) => !w.deleted && w.channel_id === channel.id);
  if (existing.length >= Limits.webhooksPerChannel) throw Errors.maxWebhooks();
  const webhook: StoredWebhook = {
    id: core.ids.next(),
    type: 1,
    token: randomToken(),
    channel_id: channel.id,
    guild_id: channel.guild_id,
    name: body.name as string,
    avatar: typeof body.avatar === 'string' ? hash(body.avatar) : null,
    application_id: core.state.botUser.id,
    creator_id: core.state.botUser.id,
    deleted: false,
  };
  core.state.webhooks.set(webhook.id, webhook);
  core.dispatch('WEBHOOKS_UPDATE', { guild_id: webhook.guild_id, channel_id: webhook.channel_id });
  core.changed();
  return { status: 200, body: webhookPayload(webhook, core.state, true) };
}

export function removeWebhook(core: Core, webhook: StoredWebhook): void {
  webhook.deleted = true;
  core.dispatch('WEBHOOKS_UPDATE', { guild_id: webhook.guild_id, channel_id: webhook.channel_id });
  core.changed();
}

function webhookForToken(core: Core, req: ApiRequest): StoredWebhook {
  const webhook = core.state.liveWebhook(req.params.webhook_id ?? '');
  if (webhook.token !== req.params.webhook_token) throw Errors.invalidWebhookToken();
  return webhook;
}

/** The webhook's channel, or the thread named by `?thread_id=` (which must be in that channel). */
function targetChannel(core: Core, req: ApiRequest, webhook: StoredWebhook): StoredChannel {
  const threadId = req.query.get('thread_id');
  if (!threadId) return core.state.liveChannel(webhook.channel_id);
  const thread = core.state.liveChannel(threadId);
  if (!thread.thread_metadata || thread.parent_id !== webhook.channel_id) throw Errors.unknownChannel();
  return thread;
}

interface ExecuteBody {
  content?: string | null;
  embeds?: unknown[] | null;
  components?: unknown[] | null;
  attachments?: unknown[] | null;
  flags?: number | null;
  username?: string | null;
  avatar_url?: string | null;
}

function executeWebhook(req: ApiRequest, core: Core): ApiResponse {
  const webhook = webhookForToken(core, req);
  const body = (req.body ?? {}) as ExecuteBody;
  core.enforce(req, webhookNameIssues('username', body.username ?? undefined), 'limit');
  checkMessageBody(core, req, Schemas.webhookExecute);
  const channel = targetChannel(core, req, webhook);
  prepareThreadForMessage(core, channel);
  const message = createMessage(core, {
    channel,
    author: {
      id: webhook.id,
      username: body.username ?? webhook.name,
      global_name: null,
      avatar: body.avatar_url ? hash(body.avatar_url) : webhook.avatar,
      bot: true,
      avatarUrl: body.avatar_url ?? null,
    },
    content: body.content ?? '',
    embeds: body.embeds ?? [],
    components: body.components ?? [],
    files: req.files,
    attachmentMeta: body.attachments,
    flags: body.flags ?? 0,
    webhookId: webhook.id,
  });
  if (req.query.get('wait') !== 'true') return { status: 204 };
  return { status: 200, body: messagePayload(message, core.state) };
}

function webhookMessage(core: Core, req: ApiRequest): StoredMessage {
  const webhook = webhookForToken(core, req);
  const channel = targetChannel(core, req, webhook);
  const message = core.state.findMessage(channel.id, req.params.message_id ?? '');
  if (message.webhook_id !== webhook.id) throw Errors.unknownMessage();
  return message;
}

function patchWebhookMessage(req: ApiRequest, core: Core): ApiResponse {
  return applyMessageEdit(core, req, webhookMessage(core, req), Schemas.webhookMessageEdit);
}

/** Discord exposes image hashes, not URLs. */
function hash(value: string): string {
  return createHash('md5').update(value).digest('hex');
}
