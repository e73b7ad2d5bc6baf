/**
 * The salon webhook of each channel, through which each model posts under its own name: found or made once per
 * channel (by every process of a cluster alike), and sending one request at a time, none while its bucket is spent.
 */
import {
  ChannelType,
  DiscordAPIError,
  PermissionFlagsBits,
  RESTJSONErrorCodes,
  type Client,
  type TextChannel,
  type ThreadChannel,
  type Webhook,
  WebhookClient,
} from 'discord.js';
import type { Logger } from 'pino';
import type { RateLimitGauge } from './rate-limit-gauge.js';
import { NO_MENTIONS } from './mentions.js';
import { compareIds } from './snowflake.js';
import { auditLogReasons, STAND_IN_NAME, WEBHOOK_NAME } from '../wording/index.js';

/** What a webhook post sends: the speaker's name and avatar go with each message. */
interface WebhookPost {
  content: string;
  username: string;
  avatarURL?: string;
}

/**
 * Posts through one channel webhook. Its REST client never retries by itself: a webhook post has no nonce, so
 * a post that failed after Discord had made it must go back to the engine, which looks for it before posting again.
 */
interface WebhookSender {
  id: string;
  send(body: WebhookPost & { threadId: string }): Promise<{ id: string; content: string }>;
  edit(messageId: string, body: { content: string; threadId: string }): Promise<unknown>;
  remove(messageId: string, threadId: string): Promise<unknown>;
}

/** Webhook names may not contain "discord" or "clyde" and are at most 80 characters. */
export function webhookUsername(name: string): string {
  const safe = name
    .replace(/discord/gi, 'Disc\u200Bord')
    .replace(/clyde/gi, 'Cly\u200Bde')
    .trim();
  return (safe || STAND_IN_NAME).slice(0, 80);
}

/** The salon webhook of each parent channel, found or created once and cached. */
export class WebhookSenders {
  private readonly webhooks = new Map<string, Promise<WebhookSender | undefined>>();

  constructor(
    private readonly client: Client<true>,
    /** Learns each webhook's buckets from its answers, as from the bot's. */
    private readonly gauge: RateLimitGauge,
    private readonly log: Logger,
  ) {}

  /** The thread's parent channel's salon webhook; undefined when the bot may not manage webhooks there. */
  forThread(thread: ThreadChannel): Promise<WebhookSender | undefined> {
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

  /** Posts in `thread` through `webhook`; when someone deleted the webhook, through a new one. */
  async send(thread: ThreadChannel, webhook: WebhookSender, body: WebhookPost): Promise<{ id: string; content: string }> {
    try {
      return await webhook.send({ ...body, threadId: thread.id });
    } catch (err) {
      if (err instanceof DiscordAPIError && err.code === RESTJSONErrorCodes.UnknownWebhook && thread.parentId) {
        // Someone deleted the webhook: make a new one and post again.
        this.log.warn({ channel: thread.parentId }, 'webhook was deleted; creating a new one');
        this.webhooks.delete(thread.parentId);
        const fresh = await this.forThread(thread);
        if (fresh) return fresh.send({ ...body, threadId: thread.id });
      }
      throw err;
    }
  }

  private senderFor(webhook: Webhook): WebhookSender {
    const client = new WebhookClient(
      { id: webhook.id, token: webhook.token! },
      { rest: { ...this.client.options.rest, retries: 0 }, allowedMentions: NO_MENTIONS },
    );
    // One request at a time, and none while the webhook's bucket is spent (the gauge keeps that: its posts, edits and
    // deletes share one bucket, which discord.js learns per route, so a first edit after a post that emptied the
    // bucket would go out at once and be refused).
    client.rest.on('response', (request, response) => this.gauge.record(request.path, response.headers, request.method));
    const untilReset = () => this.gauge.untilMessageBucketResets(webhook.id);
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
    const made = await channel.createWebhook({ name: WEBHOOK_NAME, reason: auditLogReasons.webhookMade });
    const kept = (await oldest()) ?? made;
    if (kept.id !== made.id) await made.delete(auditLogReasons.webhookDropped).catch(() => {});
    return kept;
  }
}
