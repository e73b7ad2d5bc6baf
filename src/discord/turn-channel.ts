/**
 * How one speaker's turn reaches its thread: posted, edited and deleted through the channel's webhook (under the
 * speaker's name) or as the bot (behind a header line naming the speaker), and found again when a post may be out
 * without its id known. A bot post carries a nonce derived from its key, so posting it again hands back the first
 * message; Discord keeps nonces for a few minutes only, so after a restart the speaker's latest messages in the
 * thread are looked through as well.
 */
import { createHash } from 'node:crypto';
import type { Client, Message, ThreadChannel } from 'discord.js';
import type { Config } from '../config/index.js';
import type { SalonRecord } from '../domain/salon.js';
import { NO_MENTIONS } from './mentions.js';
import { compareIds } from './snowflake.js';
import { webhookUsername, type WebhookSenders } from './webhook-sender.js';
import type { RateLimitGauge } from './rate-limit-gauge.js';

/** Discord allows nonces of at most 25 characters; a hash of the key and part keeps them unique per post part. */
export function nonceFor(key: string, part: number): string {
  return createHash('sha256').update(`${key}#${part}`).digest('base64url').slice(0, 25);
}

/** A message as Discord shows it after a post: a repeated nonce returns the first message, with its own text. */
interface Posted {
  id: string;
  content: string;
}

/** Who speaks: the name the turn is shown under, and the configured model (whose avatar a webhook post shows). */
interface Speaker {
  name: string;
  modelKey: string;
}

/** How one turn's messages are posted, edited and recognised: through the webhook, or as the bot. */
export interface TurnChannel {
  /** Goes before the first part: the speaker's name when posting as the bot. */
  header: string;
  post(content: string, nonce: string): Promise<Posted>;
  edit(messageId: string, content: string): Promise<void>;
  remove(messageId: string): Promise<void>;
  /**
   * The speaker's messages in the thread since turn `turnIndex - 1` that the record does not know, oldest first:
   * what a process that died (or a request whose answer was lost) may have left showing turn `turnIndex`.
   */
  unknownMessages(salon: SalonRecord, turnIndex: number): Promise<Message[]>;
  /** The id whose rate-limit bucket an edit spends (the webhook's, or the thread's). */
  bucket: string;
}

/** How a channel tells its speaker's messages among the thread's. */
interface Voice {
  owns(message: Message): boolean;
  /** Whether a message this channel owns speaks for this speaker: its first part (`first`), or a later one. */
  speaks(message: Message, first: boolean): boolean;
}

/** Opens turn channels in threads, the webhook way where the bot may manage webhooks, the bot way otherwise. */
export class TurnChannels {
  constructor(
    private readonly client: Client<true>,
    private readonly models: Config['models'],
    private readonly webhooks: WebhookSenders,
    /** The bot's posts and edits wait out a thread's message bucket that Discord has said is spent (see the gauge). */
    private readonly gauge: RateLimitGauge,
  ) {}

  /**
   * Posts the webhook or bot way, for one speaker in one thread. As the bot, `botHeader` (the speaker's name)
   * leads the first message; through the webhook the author's name says who speaks, and `webhookHeader` is
   * only for what needs a label beyond it.
   */
  async open(thread: ThreadChannel, speaker: Speaker, botHeader: string, webhookHeader = ''): Promise<TurnChannel> {
    const webhook = await this.webhooks.forThread(thread);
    if (webhook) {
      const model = Object.hasOwn(this.models, speaker.modelKey) ? this.models[speaker.modelKey] : undefined;
      const voice: Voice = {
        owns: (m) => m.webhookId === webhook.id,
        speaks: (m) => m.author.username === webhookUsername(speaker.name),
      };
      return {
        header: webhookHeader,
        bucket: webhook.id,
        post: (content) => this.webhooks.send(thread, webhook, { content, username: webhookUsername(speaker.name), avatarURL: model?.avatarURL }),
        edit: async (id, content) => void (await webhook.edit(id, { content, threadId: thread.id })),
        remove: async (id) => void (await webhook.remove(id, thread.id)),
        unknownMessages: (salon, turnIndex) => unknownMessages(thread, voice, salon, turnIndex),
      };
    }
    const voice: Voice = {
      // The bot's own posts, not its answers to commands (those come through the interaction's webhook).
      owns: (m) => m.author.id === this.client.user.id && !m.webhookId,
      // The speaker's name leads a turn's first message; later parts carry no header, but never begin with one.
      speaks: (m, first) => (botHeader ? (first ? m.content.startsWith(botHeader.split(' · ')[0]!) : !/^\*\*[^*]+\*\* · /.test(m.content)) : true),
    };
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
      unknownMessages: (salon, turnIndex) => unknownMessages(thread, voice, salon, turnIndex),
    };
  }
}

/** See TurnChannel.unknownMessages: the first message that speaks for the speaker, and the later parts that follow it. */
async function unknownMessages(thread: ThreadChannel, voice: Voice, salon: SalonRecord, turnIndex: number): Promise<Message[]> {
  const previous = salon.turns[turnIndex - 1]?.messageIds;
  const after = previous?.[previous.length - 1] ?? thread.id;
  const known = knownMessageIds(salon);
  const since = [...(await thread.messages.fetch({ after, limit: 50 })).values()].sort((a, b) => compareIds(a.id, b.id));
  const mine = since.filter((m) => voice.owns(m) && !known.has(m.id));
  const first = mine.findIndex((m) => voice.speaks(m, true));
  if (first < 0) return [];
  const found = [mine[first]!];
  for (const m of mine.slice(first + 1)) {
    if (!voice.speaks(m, false)) break;
    found.push(m);
  }
  return found;
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
