// Creating, editing and deleting messages the way Discord announces them:
// stored in the channel and dispatched (MESSAGE_CREATE/UPDATE/DELETE), with
// content withheld from sessions lacking the Message Content intent. REST
// routes and the test-facing API both go through here.

import { Intent, MessageType } from './constants.js';
import type { Core, SessionView } from './core.js';
import { messagePayload } from './serialize.js';
import type { Member, MessageAuthor, Snowflake, StoredAttachment, StoredChannel, StoredMessage, UploadedFile } from './types.js';

export interface NewMessage {
  channel: StoredChannel;
  author: MessageAuthor;
  content: string;
  embeds?: unknown[];
  components?: unknown[];
  files?: UploadedFile[];
  /** The body's `attachments` list (descriptions for `files`, by id = file index). */
  attachmentMeta?: unknown;
  flags?: number;
  nonce?: string | number | null;
  webhookId?: Snowflake | null;
  interactionId?: Snowflake | null;
  type?: number;
  /**
   * false for ephemeral interaction messages: they belong to the interaction
   * only, are not listed in the channel and are not dispatched.
   */
  visible?: boolean;
}

export function authorFromUser(user: Member['user']): MessageAuthor {
  return {
    id: user.id,
    username: user.username,
    global_name: user.global_name,
    avatar: user.avatar,
    bot: user.bot,
    avatarUrl: null,
  };
}

export function createMessage(core: Core, input: NewMessage): StoredMessage {
  const now = Date.now();
  const id = core.ids.next(now);
  const message: StoredMessage = {
    id,
    channel_id: input.channel.id,
    guild_id: input.channel.guild_id,
    type: input.type ?? MessageType.Default,
    content: input.content,
    author: input.author,
    webhook_id: input.webhookId ?? null,
    interaction_id: input.interactionId ?? null,
    nonce: input.nonce ?? null,
    embeds: input.embeds ?? [],
    attachments: storeFiles(core, input.channel.id, input.files ?? [], input.attachmentMeta),
    components: input.components ?? [],
    flags: input.flags ?? 0,
    mentions: mentionedIds(input.content),
    timestamp: new Date(now).toISOString(),
    createdAt: now,
    edited_timestamp: null,
    edits: 0,
    editedAt: [],
    previousContents: [],
    reactions: [],
  };
  if (input.visible !== false) {
    core.state.channelMessages(input.channel.id).push(message);
    input.channel.last_message_id = id;
    if (input.channel.thread_metadata) input.channel.message_count++;
    core.dispatch('MESSAGE_CREATE', messagePayload(message, core.state), (session) => visiblePayload(core, message, session));
    core.emit('message', structuredClone(message));
  }
  core.changed();
  return message;
}

export interface MessagePatch {
  content?: string;
  embeds?: unknown[];
  components?: unknown[];
  flags?: number;
  files?: UploadedFile[];
  /** The body's `attachments`: which existing attachments to keep (by id) and metadata for new files. */
  attachments?: unknown;
}

export function editMessage(core: Core, message: StoredMessage, patch: MessagePatch, visible = true): StoredMessage {
  const now = Date.now();
  message.previousContents.push(message.content);
  if (patch.content !== undefined) message.content = patch.content;
  if (patch.embeds !== undefined) message.embeds = patch.embeds;
  if (patch.components !== undefined) message.components = patch.components;
  if (patch.flags !== undefined) message.flags = patch.flags;
  if (patch.attachments !== undefined || (patch.files?.length ?? 0) > 0) {
    // Discord keeps the attachments listed by id and adds the uploaded files.
    const keep = new Set(
      Array.isArray(patch.attachments)
        ? patch.attachments.flatMap((a) => (isRecord(a) && typeof a.id === 'string' ? [a.id] : []))
        : message.attachments.map((a) => a.id),
    );
    message.attachments = [...message.attachments.filter((a) => keep.has(a.id)), ...storeFiles(core, message.channel_id, patch.files ?? [], patch.attachments)];
  }
  message.mentions = mentionedIds(message.content);
  message.edits++;
  message.editedAt.push(now);
  message.edited_timestamp = new Date(now).toISOString();
  if (visible) {
    core.dispatch('MESSAGE_UPDATE', messagePayload(message, core.state), (session) => visiblePayload(core, message, session));
  }
  core.changed();
  return message;
}

export function deleteMessage(core: Core, message: StoredMessage): void {
  const list = core.state.channelMessages(message.channel_id);
  const index = list.indexOf(message);
  if (index >= 0) list.splice(index, 1);
  core.dispatch('MESSAGE_DELETE', {
    id: message.id,
    channel_id: message.channel_id,
    ...(message.guild_id ? { guild_id: message.guild_id } : {}),
  });
  core.changed();
}

/**
 * Without the Message Content intent a bot receives empty content, embeds,
 * attachments and components, except for its own messages, messages that
 * mention it, and DMs.
 */
function visiblePayload(core: Core, message: StoredMessage, session: SessionView): unknown {
  const bot = core.state.botUser.id;
  const includeContent =
    (session.intents & Intent.MessageContent) !== 0 || message.author.id === bot || message.mentions.includes(bot) || message.guild_id === null;
  return messagePayload(message, core.state, { includeContent });
}

function storeFiles(core: Core, channelId: Snowflake, files: UploadedFile[], meta: unknown): StoredAttachment[] {
  const metaList = Array.isArray(meta) ? meta.filter(isRecord) : [];
  return files.map((file, index) => {
    const id = core.ids.next();
    // @discordjs/rest names parts files[N]; payload attachments refer to N.
    const ref = /^files\[(\d+)\]$/.exec(file.field)?.[1] ?? String(index);
    const described = metaList.find((m) => String(m.id) === ref);
    const filename = typeof described?.filename === 'string' ? described.filename : file.filename;
    core.state.attachmentBytes.set(id, file.data);
    return {
      id,
      filename,
      content_type: file.contentType,
      size: file.size,
      description: typeof described?.description === 'string' ? described.description : null,
      url: `${core.baseUrl}/attachments/${channelId}/${id}/${encodeURIComponent(filename)}`,
      text: file.text,
    };
  });
}

function mentionedIds(content: string): Snowflake[] {
  return [...new Set([...content.matchAll(/<@!?(\d{15,21})>/g)].map((m) => m[1] ?? ''))].filter(Boolean);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
