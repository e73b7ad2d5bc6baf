/**
 * Shows a salon in its Discord thread: the header, each turn as its speaker, notices, and the archive.
 *
 * Each model appears as itself through one webhook of the parent channel when the bot may manage webhooks,
 * and otherwise as the bot with the speaker's name in a header line. Posting is idempotent per post key:
 * bot posts carry a nonce derived from the key with `enforce_nonce`, and a post that may already be out
 * (loaded after a restart, or retried after a failure) is first looked for among the thread's latest messages.
 */
import { createHash } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import {
  AttachmentBuilder,
  ChannelType,
  DiscordAPIError,
  EmbedBuilder,
  PermissionFlagsBits,
  RESTJSONErrorCodes,
  type Client,
  type Message,
  type TextChannel,
  type ThreadChannel,
  type Webhook,
  WebhookClient,
} from 'discord.js';
import type { Logger } from 'pino';
import type { Config } from '../config/index.js';
import { roundOf, seatOf, type Post, type SalonRecord, type Seat } from '../domain/salon.js';
import { renderTranscript, transcriptFileName } from '../domain/transcript.js';
import { PublishError, type DeliveryProgress, type DraftUpdate, type Pacing, type Publisher } from '../engine/ports.js';
import { RateLimitGauge } from './rate-limit-gauge.js';
import { headerEmbed } from './format.js';
import { splitMessage } from './split.js';
import { RestGuilds } from './rest-client.js';
import { DISCORD_LIMITS } from './limits.js';
import { noticeText, turnText } from './wording.js';
import { NO_MENTIONS } from './mentions.js';

const WEBHOOK_NAME = 'salon';
const CONTENT_LIMIT = DISCORD_LIMITS.message;

/** Discord errors that retrying will not fix: the thread is gone or the bot may no longer post there. */
const PERMANENT_CODES = new Set<number>([
  RESTJSONErrorCodes.UnknownChannel,
  RESTJSONErrorCodes.MissingAccess,
  RESTJSONErrorCodes.MissingPermissions,
  RESTJSONErrorCodes.ThreadLocked,
  RESTJSONErrorCodes.CannotSendMessagesToThisUser,
  RESTJSONErrorCodes.InvalidFormBodyOrContentType,
]);

/** Discord allows nonces of at most 25 characters; a hash of the key and part keeps them unique per post part. */
export function nonceFor(key: string, part: number): string {
  return createHash('sha256').update(`${key}#${part}`).digest('base64url').slice(0, 25);
}

/** Webhook names may not contain "discord" or "clyde" and are at most 80 characters. */
export function webhookUsername(name: string): string {
  const safe = name
    .replace(/discord/gi, 'Disc\u200Bord')
    .replace(/clyde/gi, 'Cly\u200Bde')
    .trim();
  return (safe || 'Salon').slice(0, 80);
}

/**
 * Posts through one channel webhook. Its REST client never retries by itself: a webhook post has no nonce, so
 * a post that failed after Discord had made it must go back to the engine, which looks for it before posting again.
 */
interface WebhookSender {
  id: string;
  send(body: { content: string; username: string; avatarURL?: string; threadId: string }): Promise<{ id: string; content: string }>;
  edit(messageId: string, body: { content: string; threadId: string }): Promise<unknown>;
  remove(messageId: string, threadId: string): Promise<unknown>;
}

/** A message as Discord shows it after a post: a repeated nonce returns the first message, with its own text. */
interface Posted {
  id: string;
  content: string;
}

/** How one turn's messages are posted, edited and recognised: through the webhook, or as the bot. */
interface TurnChannel {
  /** Goes before the first part: the speaker's name when posting as the bot. */
  header: string;
  post(content: string, nonce: string): Promise<Posted>;
  edit(messageId: string, content: string): Promise<void>;
  remove(messageId: string): Promise<void>;
  owns(message: Message): boolean;
  /** Whether a message this channel owns speaks for this speaker: its first part (`first`), or a later one. */
  speaks(message: Message, first: boolean): boolean;
  /** The id whose rate-limit bucket an edit spends (the webhook's, or the thread's). */
  bucket: string;
}

/**
 * Discord allows about 5 edits of a message per 5 s, and shows a typing indicator for about 10 s: one edit per
 * 1.5 s leaves room for the final one, and typing is renewed before it lapses.
 */
export const DISCORD_PACING: Pacing = { draftIntervalMs: 1_500, typingIntervalMs: 8_000 };

export class DiscordPublisher implements Publisher {
  readonly pacing = DISCORD_PACING;
  private readonly webhooks = new Map<string, Promise<WebhookSender | undefined>>();
  /** What each draft message shows now, so an unchanged part is not edited again. */
  private readonly shown = new Map<string, string>();
  private readonly gauge = new RateLimitGauge();
  private readonly guilds: RestGuilds;

  constructor(
    private readonly client: Client<true>,
    private readonly config: Config,
    private readonly log: Logger,
  ) {
    client.rest.on('response', (request, response) => this.gauge.record(request.path, response.headers, request.method));
    this.guilds = new RestGuilds(client);
  }

  async deliver(salon: SalonRecord, post: Post, progress: DeliveryProgress): Promise<void> {
    try {
      const thread = await this.thread(salon);
      switch (post.kind) {
        case 'header':
          await this.postAsBot(thread, post, 0, { embeds: [headerEmbed(salon)] }, progress);
          return;
        case 'notice':
          await this.postAsBot(thread, post, 0, { content: noticeText(post.notice) }, progress);
          return;
        case 'turn':
          await this.postTurn(thread, salon, post, progress);
          return;
        case 'synthesis':
          await this.postSynthesis(thread, salon, post, progress);
          return;
        case 'archive':
          await this.postArchive(thread, salon, post, progress);
          return;
        case 'retract':
          await this.retract(thread, salon, post);
          return;
      }
    } catch (err) {
      throw this.classify(err);
    }
  }

  async typing(salon: SalonRecord, _seat: Seat): Promise<void> {
    const thread = await this.thread(salon).catch(() => undefined);
    await thread?.sendTyping();
  }

  private classify(err: unknown): unknown {
    if (err instanceof PublishError) return err;
    if (err instanceof DiscordAPIError && err.code === RESTJSONErrorCodes.UnknownChannel) {
      return new PublishError(`the salon's thread is gone: ${err.message}`, true, true);
    }
    if (err instanceof DiscordAPIError) {
      const permanent = PERMANENT_CODES.has(Number(err.code)) || (err.status >= 400 && err.status < 500 && err.status !== 429 && err.status !== 408);
      return new PublishError(`Discord refused the post: ${err.message} (code ${err.code})`, permanent);
    }
    return new PublishError(`posting failed: ${(err as Error)?.message ?? String(err)}`, false);
  }

  private async thread(salon: SalonRecord): Promise<ThreadChannel> {
    const id = salon.threadId ?? salon.id;
    if (salon.guildId) await this.guilds.prepare(salon.guildId, salon.channelId);
    const channel = await this.guilds.channel(id);
    if (!channel || !channel.isThread()) throw new PublishError(`the salon's thread ${id} is gone`, true, true);
    return channel;
  }

  private async postAsBot(
    thread: ThreadChannel,
    post: Post,
    part: number,
    body: { content?: string; embeds?: EmbedBuilder[]; files?: AttachmentBuilder[] },
    progress: DeliveryProgress,
  ): Promise<void> {
    if (post.messageIds[part]) return;
    if (progress.maybeDelivered) {
      // Discord honours a nonce for a few minutes only; after a longer outage, look for the post itself.
      const marker = body.content ?? body.embeds?.[0]?.data.title ?? body.files?.[0]?.name ?? undefined;
      const recent = await thread.messages.fetch({ limit: 50 });
      const found = recent.find(
        (m) =>
          m.author.id === this.client.user.id &&
          (m.content === body.content || (marker !== undefined && (m.embeds[0]?.title === marker || m.attachments.some((a) => a.name === marker)))),
      );
      if (found) return progress.onPart(part, found.id);
    }
    await this.gauge.untilMessageBucketResets(thread.id);
    const message = await thread.send({ ...body, nonce: nonceFor(post.key, part), enforceNonce: true, allowedMentions: NO_MENTIONS });
    await progress.onPart(part, message.id);
  }

  /**
   * Posts the webhook or bot way, for one speaker in one thread. As the bot, `botHeader` (the speaker's name)
   * leads the first message; through the webhook the author's name says who speaks, and `webhookHeader` is
   * only for what needs a label beyond it.
   */
  private async turnChannel(thread: ThreadChannel, speaker: { name: string; modelKey: string }, botHeader: string, webhookHeader = ''): Promise<TurnChannel> {
    const webhook = await this.webhookFor(thread);
    if (webhook) {
      const model = Object.hasOwn(this.config.models, speaker.modelKey) ? this.config.models[speaker.modelKey] : undefined;
      return {
        header: webhookHeader,
        bucket: webhook.id,
        post: (content) => this.sendViaWebhook(thread, webhook, { content, username: webhookUsername(speaker.name), avatarURL: model?.avatarURL }),
        edit: async (id, content) => void (await webhook.edit(id, { content, threadId: thread.id })),
        remove: async (id) => void (await webhook.remove(id, thread.id)),
        owns: (m) => m.webhookId === webhook.id,
        speaks: (m) => m.author.username === webhookUsername(speaker.name),
      };
    }
    return {
      header: botHeader,
      bucket: thread.id,
      post: async (content, nonce) => {
        await this.gauge.untilMessageBucketResets(thread.id);
        const message = await thread.send({ content, nonce, enforceNonce: true, allowedMentions: NO_MENTIONS });
        return { id: message.id, content: message.content };
      },
      edit: async (id, content) => {
        await this.gauge.untilMessageBucketResets(thread.id);
        await thread.messages.edit(id, { content, allowedMentions: NO_MENTIONS });
      },
      remove: async (id) => void (await thread.messages.delete(id)),
      // The bot's own posts, not its answers to commands (those come through the interaction's webhook).
      owns: (m) => m.author.id === this.client.user.id && !m.webhookId,
      // The speaker's name leads a turn's first message; later parts carry no header, but never begin with one.
      speaks: (m, first) => (botHeader ? (first ? m.content.startsWith(botHeader.split(' · ')[0]!) : !/^\*\*[^*]+\*\* · /.test(m.content)) : true),
    };
  }

  private turnParts(channel: TurnChannel, text: string): string[] {
    const parts = splitMessage(text, { limit: CONTENT_LIMIT, firstLimit: CONTENT_LIMIT - channel.header.length });
    return parts.map((part, i) => (i === 0 ? `${channel.header}${part}` : part));
  }

  private turnHeader(salon: SalonRecord, turn: { name: string; round: number }): string {
    return `**${turn.name}** · round ${turn.round} of ${salon.rounds}\n`;
  }

  private async postTurn(thread: ThreadChannel, salon: SalonRecord, post: Extract<Post, { kind: 'turn' }>, progress: DeliveryProgress): Promise<void> {
    const turn = salon.turns[post.turnIndex];
    if (!turn) throw new PublishError(`turn ${post.turnIndex} is missing from the record`, true);
    const channel = await this.turnChannel(thread, turn, this.turnHeader(salon, turn));
    await this.postSpoken(thread, channel, turnText(turn.text, turn.finishReason), post, post.draftIds ?? [], progress, () =>
      this.unknownMessages(thread, channel, salon, post.turnIndex),
    );
  }

  private async postSynthesis(thread: ThreadChannel, salon: SalonRecord, post: Post, progress: DeliveryProgress): Promise<void> {
    const synthesis = salon.synthesis;
    if (synthesis?.status !== 'done') return;
    const channel = await this.turnChannel(thread, synthesis, `**Synthesis** · by ${synthesis.name}\n`, '**Synthesis**\n');
    await this.postSpoken(thread, channel, synthesis.text, post, [], progress, () => this.unknownMessages(thread, channel, salon, salon.turns.length));
  }

  /**
   * Posts `text` in parts as `channel`'s speaker, never repeating a part already out: parts recorded as posted are
   * left alone; the messages that showed the turn while it streamed are edited into the final text; and when the
   * post may be out without its ids recorded, the speaker's unknown messages since the previous turn (a draft
   * whose answer was lost, a part posted by a process that died) are found and finished the same way. Messages
   * the final text does not need are deleted.
   */
  private async postSpoken(
    thread: ThreadChannel,
    channel: TurnChannel,
    text: string,
    post: Post,
    drafts: string[],
    progress: DeliveryProgress,
    lookForUnknown: () => Promise<Message[]>,
  ): Promise<void> {
    const parts = this.turnParts(channel, text);
    // The message that shows each part, or should: recorded parts first, then the draft's, then any found.
    const slots = parts.map((_, i) => post.messageIds[i] ?? drafts[i]);
    const extra = drafts.slice(parts.length);
    if (progress.maybeDelivered) {
      const known = new Set([...post.messageIds, ...drafts]);
      const found = (await lookForUnknown()).filter((m) => !known.has(m.id));
      // Found messages were posted after every known one: they carry on from the last known part.
      let next = Math.max(post.messageIds.length, drafts.length);
      for (const m of found) {
        this.shown.set(m.id, m.content);
        if (next < parts.length) slots[next] = m.id;
        else extra.push(m.id);
        next += 1;
      }
    }
    for (let i = 0; i < parts.length; i++) {
      if (post.messageIds[i]) continue;
      const content = parts[i]!;
      const existing = slots[i];
      if (existing) {
        // The message showed (part of) this turn: finish it in place, unless someone deleted it.
        const finished =
          this.shown.get(existing) === content ||
          (await channel.edit(existing, content).then(
            () => true,
            (err: unknown) => {
              if (isGoneMessage(err)) return false;
              throw err;
            },
          ));
        this.shown.delete(existing);
        if (finished) {
          await progress.onPart(i, existing);
          continue;
        }
      }
      const posted = await channel.post(content, nonceFor(post.key, i));
      // A repeated nonce hands back the message first posted under it, which may show an older text.
      if (posted.content !== content) await channel.edit(posted.id, content);
      await progress.onPart(i, posted.id);
    }
    await this.removeDrafts(channel, extra);
  }

  /**
   * The speaker's messages in the thread since the previous turn that the record does not know, oldest first: what
   * a process that died (or a request whose answer was lost) may have left showing turn `turnIndex`.
   */
  private async unknownMessages(thread: ThreadChannel, channel: TurnChannel, salon: SalonRecord, turnIndex: number): Promise<Message[]> {
    const previous = salon.turns[turnIndex - 1]?.messageIds;
    const after = previous?.[previous.length - 1] ?? thread.id;
    const known = knownMessageIds(salon);
    const since = [...(await thread.messages.fetch({ after, limit: 50 })).values()].sort((a, b) => compareIds(a.id, b.id));
    const mine = since.filter((m) => channel.owns(m) && !known.has(m.id));
    const first = mine.findIndex((m) => channel.speaks(m, true));
    if (first < 0) return [];
    const found = [mine[first]!];
    for (const m of mine.slice(first + 1)) {
      if (!channel.speaks(m, false)) break;
      found.push(m);
    }
    return found;
  }

  private async removeDrafts(channel: TurnChannel, ids: string[]): Promise<void> {
    for (const id of ids) {
      await channel.remove(id).catch((err: unknown) => {
        if (!isGoneMessage(err)) throw err;
      });
      this.shown.delete(id);
    }
  }

  /** A streamed turn that will never be finished (the salon closed mid-stream) leaves no half-written messages. */
  private async retract(thread: ThreadChannel, salon: SalonRecord, post: Extract<Post, { kind: 'retract' }>): Promise<void> {
    const seat = salon.seats[seatOf(post.turnIndex)];
    const channel = await this.turnChannel(thread, { name: seat.name, modelKey: seat.key }, '');
    await this.removeDrafts(channel, post.draftIds);
  }

  async draft(salon: SalonRecord, update: DraftUpdate): Promise<string[]> {
    const seat = salon.seats[seatOf(update.turnIndex)];
    const turn = { name: seat.name, modelKey: seat.key, round: roundOf(update.turnIndex) };
    const thread = await this.thread(salon);
    const channel = await this.turnChannel(thread, turn, this.turnHeader(salon, turn));
    const parts = this.turnParts(channel, update.text);
    const ids = [...update.messageIds];
    if (update.maybePosted) {
      // A message of this draft may be out without its id known: show the turn in it rather than in a second one.
      const known = new Set(ids);
      for (const m of await this.unknownMessages(thread, channel, salon, update.turnIndex)) {
        if (known.has(m.id)) continue;
        this.shown.set(m.id, m.content);
        ids.push(m.id);
      }
    }
    for (let i = 0; i < parts.length; i++) {
      const content = parts[i]!;
      const id = ids[i];
      if (!id) {
        const posted = await channel.post(content, nonceFor(`${salon.id}:draft:${update.turnIndex}`, i));
        ids[i] = posted.id;
        this.shown.set(posted.id, posted.content);
        // A repeated nonce hands back the message first posted under it, with its own text: bring it up to date.
        if (posted.content === content) continue;
      }
      const current = ids[i]!;
      if (this.shown.get(current) === content) continue;
      // Drafts give way when the bucket is nearly spent: the final delivery will carry the text anyway.
      if (!this.gauge.canSpend(channel.bucket)) break;
      try {
        await channel.edit(current, content);
        this.shown.set(current, content);
      } catch (err) {
        if (!isGoneMessage(err)) throw err;
        // Someone deleted the message mid-stream: show the part in a new one.
        const posted = await channel.post(content, nonceFor(`${salon.id}:draft:${update.turnIndex}:${current}`, i));
        ids[i] = posted.id;
        this.shown.set(posted.id, posted.content);
      }
    }
    return ids;
  }

  private async sendViaWebhook(
    thread: ThreadChannel,
    webhook: WebhookSender,
    body: { content: string; username: string; avatarURL?: string },
  ): Promise<Posted> {
    try {
      return await webhook.send({ ...body, threadId: thread.id });
    } catch (err) {
      if (err instanceof DiscordAPIError && err.code === RESTJSONErrorCodes.UnknownWebhook && thread.parentId) {
        // Someone deleted the webhook: make a new one and post again.
        this.log.warn({ channel: thread.parentId }, 'webhook was deleted; creating a new one');
        this.webhooks.delete(thread.parentId);
        const fresh = await this.webhookFor(thread);
        if (fresh) return fresh.send({ ...body, threadId: thread.id });
      }
      throw err;
    }
  }

  private async postArchive(thread: ThreadChannel, salon: SalonRecord, post: Post, progress: DeliveryProgress): Promise<void> {
    if (!post.messageIds[0]) {
      const closedAt = new Date(salon.closedAt ?? salon.updatedAt);
      const file = new AttachmentBuilder(Buffer.from(renderTranscript(salon, closedAt), 'utf8'), {
        name: transcriptFileName(salon, closedAt),
        description: 'Transcript of the salon',
      });
      await this.postAsBot(thread, post, 0, { content: '📜 The salon is closed. Here is its transcript.', files: [file] }, progress);
    }
    if (!thread.locked || !thread.archived) await thread.edit({ archived: true, locked: true, reason: 'salon closed' });
  }

  /** The parent channel's salon webhook, found or created once and cached; undefined when the bot may not manage webhooks. */
  private webhookFor(thread: ThreadChannel): Promise<WebhookSender | undefined> {
    const parent = thread.parent;
    if (!parent || parent.type !== ChannelType.GuildText) return Promise.resolve(undefined);
    const me = thread.guild.members.me;
    if (!me || !parent.permissionsFor(me).has(PermissionFlagsBits.ManageWebhooks)) return Promise.resolve(undefined);
    let found = this.webhooks.get(parent.id);
    if (!found) {
      found = this.findOrCreateWebhook(parent).then(
        (webhook) => this.senderFor(webhook),
        (err: unknown) => {
          this.webhooks.delete(parent.id);
          this.log.warn({ err, channel: parent.id }, 'cannot use a webhook; posting as the bot');
          return undefined;
        },
      );
      this.webhooks.set(parent.id, found);
    }
    return found;
  }

  private senderFor(webhook: Webhook): WebhookSender {
    const client = new WebhookClient(
      { id: webhook.id, token: webhook.token! },
      { rest: { ...this.client.options.rest, retries: 0 }, allowedMentions: NO_MENTIONS },
    );
    // One request at a time, and none while the webhook's bucket is spent: its posts, edits and deletes share one
    // bucket, but discord.js learns that per route from each route's first answer, so a first edit after a post
    // that emptied the bucket would go out at once and be refused (seen as 429s under load).
    let spentUntil = 0;
    client.rest.on('response', (request, response) => {
      this.gauge.record(request.path, response.headers);
      if (response.headers.get('x-ratelimit-remaining') === '0') {
        spentUntil = Date.now() + Number(response.headers.get('x-ratelimit-reset-after') ?? 0) * 1000;
      }
    });
    const untilReset = async (): Promise<void> => {
      const wait = spentUntil - Date.now();
      if (wait > 0) await delay(wait);
    };
    let tail: Promise<unknown> = Promise.resolve();
    // A deleted webhook is forgotten, so the next post makes a new one (its messages are then gone with it).
    const evictOnUnknownWebhook = (err: unknown): never => {
      if (err instanceof DiscordAPIError && err.code === RESTJSONErrorCodes.UnknownWebhook && webhook.channelId) this.webhooks.delete(webhook.channelId);
      throw err;
    };
    const serial = <T>(request: () => Promise<T>): Promise<T> => {
      const next = () => untilReset().then(request);
      const run = tail.then(next, next);
      tail = run.catch(() => {});
      return run;
    };
    return {
      id: webhook.id,
      send: (body) => serial(() => client.send({ ...body, allowedMentions: NO_MENTIONS })),
      edit: (messageId, body) => serial(() => client.editMessage(messageId, { ...body, allowedMentions: NO_MENTIONS })).catch(evictOnUnknownWebhook),
      remove: (messageId, threadId) => serial(() => client.deleteMessage(messageId, threadId)).catch(evictOnUnknownWebhook),
    };
  }

  /**
   * The channel's salon webhook: of the webhooks this application made there, the oldest. Several processes (the
   * workers of a cluster) may find none at the same moment and each make one; each then looks again and takes the
   * oldest, so all of them post, and recognise their posts after a take-over, through the same webhook. One that
   * made a webhook it does not keep deletes it.
   */
  private async findOrCreateWebhook(channel: TextChannel): Promise<Webhook> {
    const oldest = async () =>
      [...(await channel.fetchWebhooks()).values()]
        .filter((w) => w.applicationId === this.client.application.id && w.token)
        .sort((a, b) => compareIds(a.id, b.id))[0];
    const existing = await oldest();
    if (existing) return existing;
    const made = await channel.createWebhook({ name: WEBHOOK_NAME, reason: 'salon posts each model under its own name' });
    const kept = (await oldest()) ?? made;
    if (kept.id !== made.id) await made.delete('another salon process made this channel’s webhook first').catch(() => {});
    return kept;
  }
}

/** Every message id the record knows as showing something: found messages among them are not unknown. */
function knownMessageIds(salon: SalonRecord): Set<string> {
  const known = new Set<string>();
  for (const turn of salon.turns) for (const id of turn.messageIds ?? []) known.add(id);
  for (const post of salon.outbox) {
    for (const id of post.messageIds) known.add(id);
    if (post.kind === 'turn' || post.kind === 'retract') for (const id of post.draftIds ?? []) known.add(id);
  }
  return known;
}

/** Orders snowflakes, which are creation-time ordered but too large for a number. */
function compareIds(a: string, b: string): number {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** The message (or the webhook that made it) no longer exists. */
function isGoneMessage(err: unknown): boolean {
  return err instanceof DiscordAPIError && (err.code === RESTJSONErrorCodes.UnknownMessage || err.code === RESTJSONErrorCodes.UnknownWebhook);
}
