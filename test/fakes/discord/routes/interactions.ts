// Interaction callbacks and the interaction webhook (`/webhooks/{app}/{token}`):
// the original response (@original) and follow-ups. These routes take the
// token in the URL and no Authorization header.

import { authorFromUser, createMessage, deleteMessage, editMessage, type MessagePatch } from '../message-actions.js';
import { Errors } from '../api-error.js';
import { CallbackType, INTERACTION_TOKEN_LIFETIME_MS, InteractionType, MessageFlag, MessageType } from '../constants.js';
import type { ApiRequest, ApiResponse, Core } from '../core.js';
import type { Route } from '../router.js';
import { messagePayload } from '../serialize.js';
import type { InteractionRecord } from '../state.js';
import type { AutocompleteChoice, StoredMessage } from '../types.js';
import { fileIssues, messageLimitIssues, prefixIssues, schemaIssues, Schemas } from '../validation.js';
import { checkMessageBody, enforceSendable } from './messages.js';

export const interactionRoutes: Route[] = [
  { method: 'POST', pattern: '/interactions/:interaction_id/:interaction_token/callback', auth: 'none', handle: callback },
];

interface MessageData {
  content?: string | null;
  embeds?: unknown[] | null;
  components?: unknown[] | null;
  attachments?: unknown[] | null;
  flags?: number | null;
}

type CallbackData = MessageData & { choices?: unknown[] | null };

function callback(req: ApiRequest, core: Core): ApiResponse {
  const record = core.state.interactions.get(req.params.interaction_id ?? '');
  if (!record || record.token !== req.params.interaction_token) throw Errors.unknownInteraction();
  if (record.expired) throw Errors.invalidWebhookToken();
  if (record.callbackType !== null) throw Errors.alreadyAcknowledged();
  const elapsed = Date.now() - record.receivedAt;
  if (elapsed > core.config.interactionAckTimeoutMs) {
    core.refuse(req, Errors.unknownInteraction(), 'late-acknowledgement', [
      {
        path: '',
        code: 'ACK_TOO_LATE',
        message: `Acknowledged after ${elapsed} ms; Discord allows ${core.config.interactionAckTimeoutMs} ms`,
      },
    ]);
  }

  const body = (req.body ?? {}) as { type?: unknown; data?: unknown };
  const type = body.type;
  const allowed = allowedCallbackTypes(record.type);
  if (typeof type !== 'number' || !allowed.includes(type)) {
    const issues = [
      {
        path: 'type',
        code: 'INTERACTION_RESPONSE_TYPE_INVALID',
        message: `Callback type ${String(type)} is not valid for interaction type ${record.type} (valid: ${allowed.join(', ')})`,
      },
    ];
    return core.refuse(req, Errors.invalidFormBody(issues), 'schema', issues);
  }
  const data = (body.data ?? {}) as CallbackData;
  if (type === CallbackType.ChannelMessageWithSource || type === CallbackType.DeferredChannelMessageWithSource) {
    replyOrDefer(core, req, record, type, data);
  } else if (type === CallbackType.DeferredUpdateMessage || type === CallbackType.UpdateMessage) {
    updateSourceMessage(core, req, record, type, data);
  } else {
    core.enforce(req, schemaIssues(Schemas.callbackAutocomplete, req.body));
    acknowledge(record, type);
    record.choices = (data.choices ?? []).filter((c): c is AutocompleteChoice => Boolean(c && typeof c === 'object'));
  }
  core.changed();
  return req.query.get('with_response') === 'true' ? callbackResponse(core, record, type) : { status: 204 };
}

/** Types 4 and 5: the response message (a "thinking…" one with the Loading flag for 5). */
function replyOrDefer(core: Core, req: ApiRequest, record: InteractionRecord, type: number, data: CallbackData): void {
  core.enforce(req, [...schemaIssues(Schemas.callbackMessage, req.body), ...prefixIssues('data', messageLimitIssues(data)), ...fileIssues(req.files)]);
  const deferred = type === CallbackType.DeferredChannelMessageWithSource;
  if (!deferred) enforceSendable(core, req, data);
  acknowledge(record, type);
  record.original = createMessage(core, {
    channel: core.state.liveChannel(record.channelId),
    author: authorFromUser(core.state.botUser),
    content: deferred ? '' : (data.content ?? ''),
    embeds: deferred ? [] : (data.embeds ?? []),
    components: deferred ? [] : (data.components ?? []),
    files: deferred ? [] : req.files,
    attachmentMeta: data.attachments,
    flags: (data.flags ?? 0) | (deferred ? MessageFlag.Loading : 0),
    interactionId: record.id,
    webhookId: record.applicationId,
    type: record.type === InteractionType.ApplicationCommand ? MessageType.ChatInputCommand : MessageType.Default,
    visible: ((data.flags ?? 0) & MessageFlag.Ephemeral) === 0,
  });
}

/** Types 6 and 7 (components): the response is the message the component is on. */
function updateSourceMessage(core: Core, req: ApiRequest, record: InteractionRecord, type: number, data: CallbackData): void {
  core.enforce(req, [...schemaIssues(Schemas.callbackUpdate, req.body), ...prefixIssues('data', messageLimitIssues(data))]);
  acknowledge(record, type);
  const source = sourceMessage(core, record);
  record.original = source;
  if (type === CallbackType.UpdateMessage) editMessage(core, source, messagePatch(data, req, source));
}

/** The `?with_response=true` body: `{ interaction, resource: { type, message } }`. */
function callbackResponse(core: Core, record: InteractionRecord, type: number): ApiResponse {
  const message = record.original;
  return {
    status: 200,
    body: {
      interaction: {
        id: record.id,
        type: record.type,
        activity_instance_id: null,
        ...(message
          ? {
              response_message_id: message.id,
              response_message_loading: (message.flags & MessageFlag.Loading) !== 0,
              response_message_ephemeral: (message.flags & MessageFlag.Ephemeral) !== 0,
            }
          : {}),
      },
      ...(message ? { resource: { type, message: messagePayload(message, core.state) } } : {}),
    },
  };
}

function allowedCallbackTypes(interactionType: number): number[] {
  switch (interactionType) {
    case InteractionType.ApplicationCommand:
      return [CallbackType.ChannelMessageWithSource, CallbackType.DeferredChannelMessageWithSource];
    case InteractionType.MessageComponent:
      return [
        CallbackType.ChannelMessageWithSource,
        CallbackType.DeferredChannelMessageWithSource,
        CallbackType.DeferredUpdateMessage,
        CallbackType.UpdateMessage,
      ];
    case InteractionType.ApplicationCommandAutocomplete:
      return [CallbackType.ApplicationCommandAutocompleteResult];
    default:
      return [];
  }
}

function acknowledge(record: InteractionRecord, type: number): void {
  record.callbackType = type;
  record.ackedAt = Date.now();
}

function sourceMessage(core: Core, record: InteractionRecord): StoredMessage {
  if (!record.sourceMessageId) throw Errors.unknownMessage();
  return core.state.findMessage(record.channelId, record.sourceMessageId);
}

/** An edit of an interaction message: ephemerality is fixed at creation, Loading ends. */
function messagePatch(data: MessageData, req: ApiRequest, message: StoredMessage): MessagePatch {
  const fixed = message.flags & MessageFlag.Ephemeral;
  const requested = (data.flags ?? message.flags) & ~(MessageFlag.Ephemeral | MessageFlag.Loading);
  return {
    ...(data.content != null ? { content: data.content } : {}),
    ...(data.embeds != null ? { embeds: data.embeds } : {}),
    ...(data.components != null ? { components: data.components } : {}),
    ...(data.attachments != null ? { attachments: data.attachments } : {}),
    files: req.files,
    flags: fixed | requested,
  };
}

// ------------------------------------------------------------ the interaction webhook

/** The interaction behind `/webhooks/{app}/{token}`; tokens die after 15 minutes or when a test expires them. */
export function interactionForToken(core: Core, req: ApiRequest): InteractionRecord {
  if (req.params.webhook_id !== core.state.botUser.id) throw Errors.unknownWebhook();
  const token = req.params.webhook_token;
  const record = [...core.state.interactions.values()].find((r) => r.token === token);
  if (!record) throw Errors.invalidWebhookToken();
  if (record.expired || Date.now() - record.receivedAt > INTERACTION_TOKEN_LIFETIME_MS) {
    throw Errors.invalidWebhookToken();
  }
  return record;
}

const isVisible = (message: StoredMessage): boolean => (message.flags & MessageFlag.Ephemeral) === 0;

export function postFollowup(req: ApiRequest, core: Core): ApiResponse {
  const record = interactionForToken(core, req);
  if (record.callbackType === null) throw Errors.unknownWebhook();
  checkMessageBody(core, req, Schemas.webhookExecute);
  const data = (req.body ?? {}) as MessageData;
  const original = record.original;
  let message: StoredMessage;
  if (original && record.callbackType === CallbackType.DeferredChannelMessageWithSource && (original.flags & MessageFlag.Loading) !== 0) {
    // Discord: the first follow-up after a deferred reply replaces the
    // "thinking…" message, keeping the ephemerality chosen when deferring.
    message = editMessage(core, original, messagePatch(data, req, original), isVisible(original));
  } else {
    const ephemeral = ((data.flags ?? 0) & MessageFlag.Ephemeral) !== 0;
    message = createMessage(core, {
      channel: core.state.liveChannel(record.channelId),
      author: authorFromUser(core.state.botUser),
      content: data.content ?? '',
      embeds: data.embeds ?? [],
      components: data.components ?? [],
      files: req.files,
      attachmentMeta: data.attachments,
      flags: data.flags ?? 0,
      interactionId: record.id,
      webhookId: record.applicationId,
      visible: !ephemeral,
    });
    record.followups.push(message);
    core.changed();
  }
  if (req.query.get('wait') !== 'true') return { status: 204 };
  return { status: 200, body: messagePayload(message, core.state) };
}

/** The message behind `/messages/@original` or `/messages/{id}` of an interaction webhook. */
function interactionMessage(record: InteractionRecord, messageId: string): StoredMessage {
  const message = messageId === '@original' ? record.original : record.followups.find((m) => m.id === messageId);
  if (!message) throw Errors.unknownMessage();
  return message;
}

export function getInteractionMessage(req: ApiRequest, core: Core): ApiResponse {
  const record = interactionForToken(core, req);
  const message = interactionMessage(record, req.params.message_id ?? '@original');
  return { status: 200, body: messagePayload(message, core.state) };
}

export function patchInteractionMessage(req: ApiRequest, core: Core): ApiResponse {
  const record = interactionForToken(core, req);
  const message = interactionMessage(record, req.params.message_id ?? '@original');
  const data = (req.body ?? {}) as MessageData;
  core.enforce(req, [...schemaIssues(Schemas.webhookMessageEdit, req.body), ...messageLimitIssues(req.body), ...fileIssues(req.files)]);
  editMessage(core, message, messagePatch(data, req, message), isVisible(message));
  return { status: 200, body: messagePayload(message, core.state) };
}

export function deleteInteractionMessage(req: ApiRequest, core: Core): ApiResponse {
  const record = interactionForToken(core, req);
  const message = interactionMessage(record, req.params.message_id ?? '@original');
  if (isVisible(message)) deleteMessage(core, message);
  if (message === record.original) record.original = null;
  else record.followups = record.followups.filter((m) => m !== message);
  core.changed();
  return { status: 204 };
}

export function isInteractionWebhook(core: Core, req: ApiRequest): boolean {
  return req.params.webhook_id === core.state.botUser.id;
}
