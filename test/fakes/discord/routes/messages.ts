// Channel messages: create (with nonce deduplication), list, read, edit, delete.

import { unarchiveForMessage } from '../guild-actions.js';
import { authorFromUser, createMessage, deleteMessage, editMessage } from '../message-actions.js';
import { Errors } from '../api-error.js';
import { Permission } from '../constants.js';
import type { ApiRequest, ApiResponse, Core } from '../core.js';
import type { BucketRef } from '../ratelimit.js';
import type { Route } from '../router.js';
import { messagePayload } from '../serialize.js';
import { compareSnowflakes } from '../snowflake.js';
import type { StoredChannel, StoredMessage } from '../types.js';
import { fileIssues, isEmptyMessage, messageLimitIssues, oversizedFiles, schemaIssues, Schemas } from '../validation.js';
import { requirePermission, visibleChannel } from './channels.js';

/** Posts and edits in a channel share one bucket, as on Discord. */
const channelMessageBucket = (params: Record<string, string>): BucketRef => ({
  key: `messages:${params.channel_id}`,
  hash: 'fake-channel-messages',
});

export const messageRoutes: Route[] = [
  { method: 'POST', pattern: '/channels/:channel_id/messages', auth: 'bot', bucket: channelMessageBucket, handle: postMessage },
  { method: 'GET', pattern: '/channels/:channel_id/messages', auth: 'bot', handle: listMessages },
  {
    method: 'GET',
    pattern: '/channels/:channel_id/messages/:message_id',
    auth: 'bot',
    handle: (req, core) => {
      const channel = visibleChannel(core, req);
      if (!core.state.botCan(channel, Permission.ReadMessageHistory)) throw Errors.missingAccess();
      const message = core.state.findMessage(channel.id, req.params.message_id ?? '');
      return { status: 200, body: messagePayload(message, core.state) };
    },
  },
  {
    method: 'PATCH',
    pattern: '/channels/:channel_id/messages/:message_id',
    auth: 'bot',
    bucket: channelMessageBucket,
    handle: patchMessage,
  },
  {
    method: 'DELETE',
    pattern: '/channels/:channel_id/messages/:message_id',
    auth: 'bot',
    handle: (req, core) => {
      const channel = visibleChannel(core, req);
      const message = core.state.findMessage(channel.id, req.params.message_id ?? '');
      if (message.author.id !== core.state.botUser.id) requirePermission(core, channel, Permission.ManageMessages);
      deleteMessage(core, message);
      return { status: 204 };
    },
  },
];

/** Checks shared by channel posts and webhook executions; throws Discord's errors. */
export function checkMessageBody(core: Core, req: ApiRequest, schema = Schemas.messageCreate): void {
  core.enforce(req, [...schemaIssues(schema, req.body), ...messageLimitIssues(req.body), ...fileIssues(req.files)]);
  enforceSendable(core, req, req.body);
}

/** A new message must show something, and each file must fit in 10 MiB. */
export function enforceSendable(core: Core, req: ApiRequest, body: unknown): void {
  if (isEmptyMessage(body, req.files)) {
    core.refuse(req, Errors.emptyMessage(), 'limit', [{ path: '', code: 'EMPTY_MESSAGE', message: 'Cannot send an empty message' }]);
  }
  const tooLarge = oversizedFiles(req.files);
  if (tooLarge.length > 0) {
    core.refuse(
      req,
      Errors.entityTooLarge(),
      'limit',
      tooLarge.map((file) => ({
        path: file.field,
        code: 'FILE_TOO_LARGE',
        message: `${file.filename} is ${file.size} bytes; the limit is 10 MiB`,
      })),
    );
  }
}

/** Sending into an archived thread: unarchive it, unless it is locked. */
export function prepareThreadForMessage(core: Core, channel: StoredChannel): void {
  if (channel.thread_metadata?.archived && channel.thread_metadata.locked) throw Errors.threadArchived(403);
  unarchiveForMessage(core, channel);
}

interface MessageBody {
  content?: string | null;
  embeds?: unknown[] | null;
  components?: unknown[] | null;
  attachments?: unknown[] | null;
  flags?: number | null;
  nonce?: string | number | null;
  enforce_nonce?: boolean | null;
}

function postMessage(req: ApiRequest, core: Core): ApiResponse {
  const channel = visibleChannel(core, req);
  checkMessageBody(core, req);
  requirePermission(core, channel, channel.thread_metadata ? Permission.SendMessagesInThreads : Permission.SendMessages);
  if (req.files.length > 0) requirePermission(core, channel, Permission.AttachFiles);
  const body = (req.body ?? {}) as MessageBody;

  // Discord: a repeated nonce with enforce_nonce returns the first message
  // instead of creating another (for a few minutes).
  const botId = core.state.botUser.id;
  const nonceKey = body.enforce_nonce && body.nonce != null ? `${channel.id}:${botId}:${body.nonce}` : undefined;
  if (nonceKey) {
    const seen = core.state.nonces.get(nonceKey);
    if (seen && Date.now() - seen.at < core.config.nonceWindowMs) {
      const original = core.state.messages.get(channel.id)?.find((m) => m.id === seen.messageId);
      if (original) return { status: 200, body: messagePayload(original, core.state) };
    }
  }

  prepareThreadForMessage(core, channel);
  const message = createMessage(core, {
    channel,
    author: authorFromUser(core.state.botUser),
    content: body.content ?? '',
    embeds: body.embeds ?? [],
    components: body.components ?? [],
    files: req.files,
    attachmentMeta: body.attachments,
    flags: body.flags ?? 0,
    nonce: body.nonce ?? null,
  });
  if (nonceKey) core.state.nonces.set(nonceKey, { messageId: message.id, at: Date.now() });
  return { status: 200, body: messagePayload(message, core.state) };
}

function listMessages(req: ApiRequest, core: Core): ApiResponse {
  const channel = visibleChannel(core, req);
  // Without Read Message History Discord answers with no messages, not an error.
  if (!core.state.botCan(channel, Permission.ReadMessageHistory)) return { status: 200, body: [] };
  const limit = Math.min(Math.max(Number(req.query.get('limit') ?? 50) || 50, 1), 100);
  const before = req.query.get('before');
  const after = req.query.get('after');
  const around = req.query.get('around');
  const all = core.state.messages.get(channel.id) ?? [];
  let picked: StoredMessage[];
  if (after) {
    picked = all.filter((m) => compareSnowflakes(m.id, after) > 0).slice(0, limit);
  } else if (around) {
    const index = all.findIndex((m) => compareSnowflakes(m.id, around) >= 0);
    const start = Math.max((index < 0 ? all.length : index) - Math.floor(limit / 2), 0);
    picked = all.slice(start, start + limit);
  } else {
    const older = before ? all.filter((m) => compareSnowflakes(m.id, before) < 0) : all;
    picked = older.slice(-limit);
  }
  // Discord lists newest first.
  const body = [...picked].reverse().map((m) => messagePayload(m, core.state));
  return { status: 200, body };
}

function patchMessage(req: ApiRequest, core: Core): ApiResponse {
  const channel = visibleChannel(core, req);
  const message = core.state.findMessage(channel.id, req.params.message_id ?? '');
  return applyMessageEdit(core, req, message, Schemas.messageEdit, () => {
    if (message.author.id !== core.state.botUser.id || message.webhook_id) throw Errors.cannotEditOthersMessage();
  });
}

/**
 * The one REST edit path for channel messages (PATCH /channels/:id/messages/:id) and webhook messages
 * (PATCH /webhooks/:id/:token/messages/:id): the body is checked against `schema` and Discord's limits, then
 * `authorize` runs (who may edit), a message in an archived thread is refused (400 / 50083), the patch is
 * applied and MESSAGE_UPDATE dispatched by `editMessage`, and the answer is the edited message.
 */
export function applyMessageEdit(
  core: Core,
  req: ApiRequest,
  message: StoredMessage,
  // Both are the same partial-update schema today; the caller still names which endpoint it serves.
  schema: (typeof Schemas)['messageEdit' | 'webhookMessageEdit'],
  authorize: () => void = () => {},
): ApiResponse {
  core.enforce(req, [...schemaIssues(schema, req.body), ...messageLimitIssues(req.body), ...fileIssues(req.files)]);
  authorize();
  const channel = core.state.liveChannel(message.channel_id);
  if (channel.thread_metadata?.archived) throw Errors.threadArchived(400);
  const body = (req.body ?? {}) as MessageBody;
  editMessage(core, message, {
    ...(body.content != null ? { content: body.content } : {}),
    ...(body.embeds != null ? { embeds: body.embeds } : {}),
    ...(body.components != null ? { components: body.components } : {}),
    ...(body.flags != null ? { flags: body.flags } : {}),
    ...(body.attachments != null ? { attachments: body.attachments } : {}),
    files: req.files,
  });
  return { status: 200, body: messagePayload(message, core.state) };
}
