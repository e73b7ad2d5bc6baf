/**
 * The repository's protocol-level fake Discord, started for the bench, plus a record of every message post with
 * the moment its request had fully arrived, on the bench's one clock (the model server uses the same clock).
 *
 * The fake stamps requests with Date.now() (whole milliseconds) once its own body parsing is done; for sub-ms
 * arrival times the bench listens on the fake's HTTP server directly. If that server is ever not reachable, the
 * fake's own `at` is used instead.
 */
import type { Server } from 'node:http';
import { deployCommands } from '../../src/deploy-commands.js';
import { FakeDiscord, type FakeDiscordOptions } from '../../test/fakes/discord/index.js';
import { MARKER } from './models.js';
import { now } from './stats.js';

export interface PostRecord {
  /** The thread (or channel) posted to. */
  thread: string;
  via: 'webhook' | 'bot';
  /** A new message, or an edit of one (streamed turns are posted as a draft, edited as text arrives, and finished by an edit). */
  kind: 'post' | 'edit';
  content: string;
  /** Epoch ms (sub-ms when available) when the request body had fully arrived. */
  arrivedAt: number;
  status: number | null;
  /** The message created or edited. */
  messageId?: string;
  /** The model call whose reply this post starts, from the `(r<n>)` marker. */
  call?: number;
}

/** Message posts and edits, by the bot or through a webhook; paths after /api/v10. */
const WEBHOOK_POST = /^\/webhooks\/\d+\/[^/]+$/;
const WEBHOOK_EDIT = /^\/webhooks\/\d+\/[^/]+\/messages\/\d+$/;
const CHANNEL_POST = /^\/channels\/(\d+)\/messages$/;
const CHANNEL_EDIT = /^\/channels\/(\d+)\/messages\/\d+$/;

/** The thread a message request is for, and a key that tells concurrent requests apart. */
function classify(
  method: string,
  path: string,
  threadParam: string | undefined,
): { thread: string; key: string; kind: 'post' | 'edit'; via: 'webhook' | 'bot' } | undefined {
  let thread: string | undefined;
  let kind: 'post' | 'edit';
  let via: 'webhook' | 'bot';
  if (method === 'POST' && WEBHOOK_POST.test(path)) [thread, kind, via] = [threadParam, 'post', 'webhook'];
  else if (method === 'PATCH' && WEBHOOK_EDIT.test(path)) [thread, kind, via] = [threadParam, 'edit', 'webhook'];
  else if (method === 'POST' && CHANNEL_POST.test(path)) [thread, kind, via] = [CHANNEL_POST.exec(path)?.[1], 'post', 'bot'];
  else if (method === 'PATCH' && CHANNEL_EDIT.test(path)) [thread, kind, via] = [CHANNEL_EDIT.exec(path)?.[1], 'edit', 'bot'];
  else return undefined;
  return thread ? { thread, key: `${method} ${path} ${thread}`, kind, via } : undefined;
}

export class BenchDiscord {
  readonly posts: PostRecord[] = [];
  private readonly arrivals = new Map<string, number[]>();
  private readonly listeners = new Set<(post: PostRecord) => void>();
  readonly precise: boolean;

  private constructor(readonly fake: FakeDiscord) {
    const server = (fake as unknown as { server?: Server }).server;
    this.precise = typeof server?.prependListener === 'function';
    if (this.precise) {
      server!.prependListener('request', (req) => {
        if ((req.method !== 'POST' && req.method !== 'PATCH') || !req.url) return;
        const url = new URL(req.url, 'http://x.invalid');
        const path = decodeURIComponent(url.pathname).replace(/^\/api\/v10/, '');
        const what = classify(req.method, path, url.searchParams.get('thread_id') ?? undefined);
        if (!what) return;
        req.once('end', () => {
          const queue = this.arrivals.get(what.key) ?? [];
          queue.push(now());
          this.arrivals.set(what.key, queue);
        });
      });
    }
    fake.on('request', (r) => {
      const what = classify(r.method, r.path, r.query.thread_id);
      if (!what) return;
      const { thread } = what;
      const queue = this.arrivals.get(what.key);
      const arrivedAt = (this.precise ? queue?.shift() : undefined) ?? r.at;
      if (queue?.length === 0) this.arrivals.delete(what.key);
      const body = (r.body ?? {}) as { content?: string };
      const content = typeof body.content === 'string' ? body.content : '';
      const marker = MARKER.exec(content)?.[1];
      const messageId = what.kind === 'edit' ? /\/messages\/(\d+)$/.exec(r.path)?.[1] : (r.response as { id?: string } | undefined)?.id;
      const post: PostRecord = {
        thread,
        via: what.via,
        kind: what.kind,
        content,
        arrivedAt,
        status: r.status,
        ...(messageId ? { messageId } : {}),
        ...(marker ? { call: Number(marker) } : {}),
      };
      this.posts.push(post);
      for (const listener of this.listeners) listener(post);
    });
  }

  static async start(options: FakeDiscordOptions = {}): Promise<BenchDiscord> {
    const fake = await FakeDiscord.start({ rateLimits: false, heartbeatIntervalMs: 41_250, ...options });
    await deployCommands({ token: fake.token, apiBase: fake.apiBase, guildId: fake.guildId });
    return new BenchDiscord(fake);
  }

  onPost(listener: (post: PostRecord) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves when `check` (re-run after every post) returns a value. */
  waitForPost<T>(check: () => T | undefined, timeoutMs: number, description: string): Promise<T> {
    const first = check();
    if (first !== undefined) return Promise.resolve(first);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new Error(`bench: timed out after ${timeoutMs} ms waiting for ${description}`));
      }, timeoutMs);
      const off = this.onPost(() => {
        const value = check();
        if (value === undefined) return;
        clearTimeout(timer);
        off();
        resolve(value);
      });
    });
  }

  /**
   * Turns shown on more than one message, as Discord users see the threads now: every reply begins with its
   * `(r<n>)` marker, so two messages still in a thread carrying one marker are one turn shown twice (a draft left
   * half-written above a second copy, say).
   */
  turnsShownTwice(threads: Iterable<string>): number {
    let twice = 0;
    for (const thread of threads) {
      const messagesPerCall = new Map<string, number>();
      for (const m of this.fake.messages(thread)) {
        const call = MARKER.exec(m.content)?.[1];
        if (call !== undefined) messagesPerCall.set(call, (messagesPerCall.get(call) ?? 0) + 1);
      }
      for (const n of messagesPerCall.values()) if (n > 1) twice += 1;
    }
    return twice;
  }

  /** Creates public threads in the seeded channel over REST, as the bot would. */
  async createThreads(count: number, name = (i: number) => `salon ${i}`): Promise<string[]> {
    const ids: string[] = [];
    const batch = 50;
    for (let i = 0; i < count; i += batch) {
      const created = await Promise.all(
        Array.from({ length: Math.min(batch, count - i) }, async (_, j) => {
          const res = await fetch(`${this.fake.apiBase}/v10/channels/${this.fake.channelId}/threads`, {
            method: 'POST',
            headers: { authorization: `Bot ${this.fake.token}`, 'content-type': 'application/json' },
            body: JSON.stringify({ name: name(i + j), type: 11, auto_archive_duration: 10080 }),
          });
          if (res.status !== 201) throw new Error(`bench: creating a thread answered ${res.status}: ${await res.text()}`);
          return ((await res.json()) as { id: string }).id;
        }),
      );
      ids.push(...created);
    }
    return ids;
  }

  /** When the newest gateway session identified (the fake sends READY then), epoch ms. */
  identifiedAt(): number | undefined {
    return this.fake.gatewaySessions().reduce<number | undefined>((latest, s) => Math.max(latest ?? 0, s.identifiedAt), undefined);
  }

  stop(): Promise<void> {
    return this.fake.stop();
  }
}

export interface TurnOnDiscord {
  call: number;
  thread: string;
  /** Model server: last byte of the reply. */
  endAt: number;
  /** The first request that showed any of the turn (a streamed draft, or the post itself). */
  firstAt: number;
  /** The last request that changed any of the turn's messages: from then on Discord shows the whole final text. */
  completeAt: number;
  /** Requests that posted or edited the turn's messages. */
  requests: number;
}

/**
 * Matches each model reply to the Discord requests that showed it. Every reply starts with its `(r<n>)` marker,
 * so every version of a turn's first message names its model call; a later message of the same turn (a reply over
 * 2,000 characters) belongs to the turn that was being shown in that thread when it was posted, and an edit
 * belongs to the turn of the message it edits. Only webhook requests count (turns are posted through the webhook
 * when the bot may manage webhooks, as in the fake).
 */
export function turnsOnDiscord(posts: readonly PostRecord[], endAt: (call: number) => number | undefined): TurnOnDiscord[] {
  const requestsOf = new Map<number, PostRecord[]>();
  const turnOfMessage = new Map<string, number>();
  const currentInThread = new Map<string, number>();
  for (const post of posts) {
    if (post.via !== 'webhook' || post.status === null || post.status >= 300) continue;
    let call = post.call;
    if (call === undefined) call = post.kind === 'edit' && post.messageId ? turnOfMessage.get(post.messageId) : currentInThread.get(post.thread);
    if (call === undefined) continue;
    if (post.call !== undefined) currentInThread.set(post.thread, call);
    if (post.messageId && post.kind === 'post') turnOfMessage.set(post.messageId, call);
    const list = requestsOf.get(call) ?? [];
    list.push(post);
    requestsOf.set(call, list);
  }
  const turns: TurnOnDiscord[] = [];
  for (const [call, list] of requestsOf) {
    const end = endAt(call);
    if (end === undefined) continue;
    turns.push({
      call,
      thread: list[0]!.thread,
      endAt: end,
      firstAt: list[0]!.arrivedAt,
      completeAt: Math.max(...list.map((p) => p.arrivedAt)),
      requests: list.length,
    });
  }
  return turns.sort((a, b) => a.call - b.call);
}
