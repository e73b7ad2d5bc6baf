/**
 * Shows a salon in its Discord thread: the header, each turn as its speaker, notices, and the archive.
 *
 * Each model appears as itself through one webhook of the parent channel when the bot may manage webhooks
 * (webhook-sender.ts), and otherwise as the bot with the speaker's name in a header line (turn-channel.ts).
 * Posting is idempotent per post key: bot posts carry a nonce derived from the key with `enforce_nonce`, and a
 * post that may already be out (loaded after a restart, or retried after a failure) is first looked for among the
 * thread's latest messages.
 */
import { AttachmentBuilder, DiscordAPIError, EmbedBuilder, RESTJSONErrorCodes, type Client, type Message, type ThreadChannel } from 'discord.js';
import type { Logger } from 'pino';
import type { Config } from '../config/index.js';
import { knownParticipant } from '../domain/order.js';
import { roundOf, seatAt, type Post, type SalonRecord, type Seat } from '../domain/salon.js';
import { renderTranscript, transcriptFileName } from '../domain/transcript.js';
import { PublishError, type DeliveryProgress, type DraftUpdate, type Pacing, type Publisher } from '../engine/ports.js';
import { RateLimitGauge } from './rate-limit-gauge.js';
import { headerEmbed } from './format.js';
import { splitMessage } from './split.js';
import { RestGuilds } from './rest-guilds.js';
import { nonceFor, TurnChannels, type TurnChannel } from './turn-channel.js';
import { WebhookSenders } from './webhook-sender.js';
import { DISCORD_LIMITS } from './limits.js';
import {
  ARCHIVE_CAPTION,
  ARCHIVE_FILE_DESCRIPTION,
  auditLogReasons,
  noticeText,
  postFailureText,
  synthesisHeader,
  turnHeader,
  turnText,
} from '../wording/index.js';
import { NO_MENTIONS } from './mentions.js';

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

/**
 * Discord allows about 5 edits of a message per 5 s, and shows a typing indicator for about 10 s: one edit per
 * 1.5 s leaves room for the final one, and typing is renewed before it lapses.
 */
const DISCORD_PACING: Pacing = { draftIntervalMs: 1_500, typingIntervalMs: 8_000 };

export class DiscordPublisher implements Publisher {
  readonly pacing = DISCORD_PACING;
  /** What each draft message shows now, so an unchanged part is not edited again. */
  private readonly shown = new Map<string, string>();
  private readonly gauge = new RateLimitGauge();
  private readonly guilds: RestGuilds;
  private readonly channels: TurnChannels;

  constructor(
    private readonly client: Client<true>,
    config: Config,
    log: Logger,
  ) {
    client.rest.on('response', (request, response) => this.gauge.record(request.path, response.headers, request.method));
    this.guilds = new RestGuilds(client);
    this.channels = new TurnChannels(client, config.models, new WebhookSenders(client, this.gauge, log), this.gauge);
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
      return new PublishError(postFailureText({ code: 'thread_gone', message: err.message }), true, true);
    }
    if (err instanceof DiscordAPIError) {
      const permanent = PERMANENT_CODES.has(Number(err.code)) || (err.status >= 400 && err.status < 500 && err.status !== 429 && err.status !== 408);
      return new PublishError(postFailureText({ code: 'refused', message: err.message, discordCode: err.code }), permanent);
    }
    return new PublishError(postFailureText({ code: 'failed', message: (err as Error)?.message ?? String(err) }), false);
  }

  private async thread(salon: SalonRecord): Promise<ThreadChannel> {
    const id = salon.threadId ?? salon.id;
    if (salon.guildId) await this.guilds.prepare(salon.guildId, salon.channelId);
    const channel = await this.guilds.channel(id);
    if (!channel || !channel.isThread()) throw new PublishError(postFailureText({ code: 'thread_not_found', threadId: id }), true, true);
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

  private turnParts(channel: TurnChannel, text: string): string[] {
    const parts = splitMessage(text, { limit: CONTENT_LIMIT, firstLimit: CONTENT_LIMIT - channel.header.length });
    return parts.map((part, i) => (i === 0 ? `${channel.header}${part}` : part));
  }

  private async postTurn(thread: ThreadChannel, salon: SalonRecord, post: Extract<Post, { kind: 'turn' }>, progress: DeliveryProgress): Promise<void> {
    const turn = salon.turns[post.turnIndex];
    if (!turn) throw new PublishError(postFailureText({ code: 'turn_missing', turnIndex: post.turnIndex }), true);
    const channel = await this.channels.open(thread, turn, turnHeader(turn.name, turn.round, salon.rounds));
    await this.postSpoken(channel, turnText(turn.text, turn.finishReason), post, post.draftIds ?? [], progress, () =>
      channel.unknownMessages(salon, post.turnIndex),
    );
  }

  private async postSynthesis(thread: ThreadChannel, salon: SalonRecord, post: Post, progress: DeliveryProgress): Promise<void> {
    const synthesis = salon.synthesis;
    if (synthesis?.status !== 'done') return;
    const channel = await this.channels.open(thread, synthesis, synthesisHeader(synthesis.name), synthesisHeader());
    await this.postSpoken(channel, synthesis.text, post, [], progress, () => channel.unknownMessages(salon, salon.turns.length));
  }

  /**
   * Posts `text` in parts as `channel`'s speaker, never repeating a part already out: parts recorded as posted are
   * left alone; the messages that showed the turn while it streamed are edited into the final text; and when the
   * post may be out without its ids recorded, the speaker's unknown messages since the previous turn (a draft
   * whose answer was lost, a part posted by a process that died) are found and finished the same way. Messages
   * the final text does not need are deleted.
   */
  private async postSpoken(
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
    const seat = speakerOf(salon, post.turnIndex);
    const channel = await this.channels.open(thread, { name: seat.name, modelKey: seat.key }, '');
    await this.removeDrafts(channel, post.draftIds);
  }

  async draft(salon: SalonRecord, update: DraftUpdate): Promise<string[]> {
    const seat = speakerOf(salon, update.turnIndex);
    const turn = { name: seat.name, modelKey: seat.key, round: roundOf(salon, update.turnIndex) };
    const thread = await this.thread(salon);
    const channel = await this.channels.open(thread, turn, turnHeader(turn.name, turn.round, salon.rounds));
    const parts = this.turnParts(channel, update.text);
    const ids = [...update.messageIds];
    if (update.maybePosted) {
      // A message of this draft may be out without its id known: show the turn in it rather than in a second one.
      const known = new Set(ids);
      for (const m of await channel.unknownMessages(salon, update.turnIndex)) {
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

  private async postArchive(thread: ThreadChannel, salon: SalonRecord, post: Post, progress: DeliveryProgress): Promise<void> {
    if (!post.messageIds[0]) {
      const closedAt = new Date(salon.closedAt ?? salon.updatedAt);
      const file = new AttachmentBuilder(Buffer.from(renderTranscript(salon, closedAt), 'utf8'), {
        name: transcriptFileName(salon, closedAt),
        description: ARCHIVE_FILE_DESCRIPTION,
      });
      await this.postAsBot(thread, post, 0, { content: ARCHIVE_CAPTION, files: [file] }, progress);
    }
    if (!thread.locked || !thread.archived) await thread.edit({ archived: true, locked: true, reason: auditLogReasons.closed });
  }
}

/** The message (or the webhook that made it) no longer exists. */
function isGoneMessage(err: unknown): boolean {
  return err instanceof DiscordAPIError && (err.code === RESTJSONErrorCodes.UnknownMessage || err.code === RESTJSONErrorCodes.UnknownWebhook);
}

/** Who wrote (or is writing) turn `index`: its pick is saved before it starts, so it is known while it streams. */
function speakerOf(salon: SalonRecord, index: number): { name: string; key: string } {
  const turn = salon.turns[index];
  return turn ? { name: turn.name, key: turn.modelKey } : (knownParticipant(salon, index) ?? seatAt(salon, 0));
}
