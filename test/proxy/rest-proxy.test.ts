// The REST proxy against the fake Discord, with real discord.js clients on the other side: nothing is mocked.
// Each `REST` here stands for one bot process; they share nothing but the proxy.

import { EventEmitter, once } from 'node:events';
import { setTimeout as delay } from 'node:timers/promises';
import { Writable } from 'node:stream';
import { ChannelType, Client, DiscordAPIError, Events, GatewayIntentBits, HTTPError, REST, Routes, type Interaction } from 'discord.js';
import type { Logger } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { FENCE_HEADER } from '../../src/discord/fenced-request.js';
import { startRestProxy, type RunningRestProxy } from '../../src/proxy/rest-proxy.js';
import { FakeDiscord, type FakeDiscordOptions } from '../fakes/discord/index.js';
import { waitUntil } from '../helpers/wait.js';

const TOKEN = 'proxy-test-bot-token-0123456789';
const OTHER_TOKEN = 'some-other-bot-token-9876543210';

interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

/** The proxy's log, kept in memory; `next` resolves when a line matching arrives (or has arrived). */
class LogTap {
  readonly raw: string[] = [];
  readonly lines: LogLine[] = [];
  readonly log: Logger;
  readonly #events = new EventEmitter();

  constructor() {
    const destination = new Writable({
      write: (chunk, _encoding, done) => {
        for (const text of String(chunk).split('\n').filter(Boolean)) {
          this.raw.push(text);
          const line = JSON.parse(text) as LogLine;
          this.lines.push(line);
          this.#events.emit('line', line);
        }
        done();
      },
    });
    this.log = createLogger({ level: 'debug', pretty: false, secrets: [TOKEN], destination });
  }

  next(match: (line: LogLine) => boolean, description: string, timeoutMs = 5_000): Promise<LogLine> {
    let seen = 0;
    return waitUntil(
      () => {
        while (seen < this.lines.length) {
          const line = this.lines[seen++]!;
          if (match(line)) return line;
        }
        return undefined;
      },
      (recheck) => {
        this.#events.on('line', recheck);
        return () => this.#events.off('line', recheck);
      },
      timeoutMs,
      `no log line within ${timeoutMs} ms: ${description}`,
    );
  }
}

let discord: FakeDiscord | undefined;
let proxy: RunningRestProxy | undefined;
let tap: LogTap;
let clients: Client[] = [];

async function start(fake: FakeDiscordOptions = {}, globalRequestsPerSecond?: number): Promise<{ discord: FakeDiscord; proxy: RunningRestProxy }> {
  discord = await FakeDiscord.start({ token: TOKEN, ...fake });
  tap = new LogTap();
  proxy = await startRestProxy({ token: TOKEN, apiBase: discord.apiBase, port: 0, log: tap.log, globalRequestsPerSecond });
  return { discord, proxy };
}

/** One bot process's REST, as discord.js makes it. */
function processRest(api: string, token = TOKEN, options: { retries?: number; timeout?: number } = {}): REST {
  return new REST({ api, ...options }).setToken(token);
}

async function connectClient(api: string): Promise<Client> {
  const client = new Client({ intents: [GatewayIntentBits.Guilds], rest: { api } });
  clients.push(client);
  const ready = once(client, Events.ClientReady, { signal: AbortSignal.timeout(10_000) });
  await client.login(TOKEN);
  await ready;
  return client;
}

afterEach(async () => {
  await Promise.all(clients.map((client) => client.destroy()));
  clients = [];
  // The fake first: a request it still holds would keep the proxy's close waiting for its answer.
  await discord?.stop();
  await proxy?.close();
  proxy = undefined;
  discord = undefined;
  // Whatever a test did, neither token reaches the log. The logger masks TOKEN, as main.ts has it do, but it does not
  // know OTHER_TOKEN, so that one stays out only because the proxy never logs it.
  expect(tap.raw.join('\n')).not.toContain(TOKEN);
  expect(tap.raw.join('\n')).not.toContain(OTHER_TOKEN);
});

describe('REST proxy', () => {
  it('relays a discord.js client: it logs in and posts with the bot token, and sees the rate-limit headers', async () => {
    const { discord, proxy } = await start();
    const client = await connectClient(proxy.url);
    const remaining: Array<string | null> = [];
    client.rest.on('response', (request, response) => {
      if (request.method === 'POST') remaining.push(response.headers.get('x-ratelimit-remaining'));
    });

    const channel = await client.channels.fetch(discord.channelId);
    if (channel?.type !== ChannelType.GuildText) throw new Error('the seeded text channel did not come back');
    const sent = await channel.send('through the proxy');

    expect(discord.messages().find((m) => m.id === sent.id)).toMatchObject({ content: 'through the proxy', author: { id: discord.botUser.id, bot: true } });
    const post = discord.requests.find((r) => r.method === 'POST' && r.path === `/channels/${discord.channelId}/messages`);
    // The fake answers 401 to any other Authorization than `Bot <its token>`, so a 200 is the bot's own token.
    expect(post).toMatchObject({ status: 200, headers: { authorization: 'Bot [redacted]' } });
    // Salon's rate-limit gauge reads these; @discordjs/proxy alone strips them.
    expect(remaining).toEqual(['4']);
    expect(discord.violations).toEqual([]);
  });

  it('waits out a 429 and sends the same body again, logging the route, the wait and whether it was global', async () => {
    const { discord, proxy } = await start();
    const rest = processRest(proxy.url, TOKEN, { retries: 0 });
    const path = `/channels/${discord.channelId}/messages`;

    discord.failNext({ method: 'POST', path: /\/messages$/, status: 429, retryAfterMs: 80 });
    await rest.post(Routes.channelMessages(discord.channelId), { body: { content: 'after a bucket 429' } });
    discord.failNext({ method: 'POST', path: /\/messages$/, status: 429, retryAfterMs: 60, global: true });
    await rest.post(Routes.channelMessages(discord.channelId), { body: { content: 'after a global 429' } });

    expect(discord.messages().map((m) => m.content)).toEqual(['after a bucket 429', 'after a global 429']);
    const posts = discord.requests.filter((r) => r.method === 'POST' && r.path === path);
    expect(posts.map((r) => [r.status, (r.body as { content?: string } | undefined)?.content])).toEqual([
      [429, 'after a bucket 429'],
      [200, 'after a bucket 429'],
      [429, 'after a global 429'],
      [200, 'after a global 429'],
    ]);
    const warnings = tap.lines.filter((l) => l.level === 40 && /429/.test(l.msg));
    expect(warnings).toEqual([
      expect.objectContaining({ method: 'POST', route: '/channels/:id/messages', retryAfterMs: 80, global: false }),
      expect.objectContaining({ method: 'POST', route: '/channels/:id/messages', retryAfterMs: 60, global: true, scope: 'global' }),
    ]);
  });

  describe('one global limit for every process', () => {
    const limits = { global: { count: 10, windowMs: 1_000 }, perChannel: { count: 100, windowMs: 1_000 } };
    // The proxy keeps the fake's own number: it counts a request until its answer is back, so however late a request
    // lands, no window of the fake's sees more (see 'Discord counts a request when it arrives' below). Three processes
    // at five a second each would be 15 a second, over the fake's 10: only a limiter shared across the processes passes.
    const PROXY_PER_SECOND = limits.global.count;
    const PROCESSES = 3;
    const PER_PROCESS = 5;
    const expected = Array.from({ length: PROCESSES }, (_, p) => Array.from({ length: PER_PROCESS }, (_, i) => `process ${p} message ${i}`))
      .flat()
      .sort();

    /**
     * PROCESSES processes post PER_PROCESS messages each, all at once: message i goes to thread i, so no two posts of
     * a process share a bucket and none waits for another. Resolves with what the fake saw.
     */
    async function burst(discord: FakeDiscord, api: string) {
      const setup = processRest(api);
      const threads = await Promise.all(
        Array.from(
          { length: PER_PROCESS },
          (_, i) => setup.post(Routes.threads(discord.channelId), { body: { name: `thread ${i}`, type: ChannelType.PublicThread } }) as Promise<{ id: string }>,
        ),
      );
      const first = discord.requests.length;
      const processes = Array.from({ length: PROCESSES }, () => processRest(api));
      await Promise.all(
        processes.flatMap((rest, p) =>
          Array.from({ length: PER_PROCESS }, (_, i) => rest.post(Routes.channelMessages(threads[i]!.id), { body: { content: `process ${p} message ${i}` } })),
        ),
      );
      const contents = threads.flatMap((t) => discord.messages(t.id).map((m) => m.content));
      return { contents, requests: discord.requests.slice(first) };
    }

    it('without the proxy, the same burst goes out all at once and draws 429s (so the next test can fail)', async () => {
      const { discord } = await start({ rateLimits: limits });
      // The fake holds every post until all have arrived, then lets them through together. Their arrival then proves
      // that nothing held the processes back. The fake sees them all in one window, however slowly a loaded machine
      // delivered them.
      const holds = expected.map(() => discord.hold({ method: 'POST', path: /\/messages$/ }));
      const released = Promise.all(holds.map((hold) => hold.arrived())).then(() => holds.forEach((hold) => hold.release()));

      const [{ contents }] = await Promise.all([burst(discord, discord.apiBase), released]);
      expect(contents.sort()).toEqual(expected);
      expect(discord.rateLimited).toBeGreaterThan(0);
    }, 15_000);

    it('through the proxy, processes bursting together never go over it', async () => {
      const { discord, proxy } = await start({ rateLimits: limits }, PROXY_PER_SECOND);
      const { contents, requests } = await burst(discord, proxy.url);

      expect(contents.sort()).toEqual(expected);
      expect(discord.rateLimited).toBe(0);
      expect(discord.rateLimitViolations).toBe(0);
      expect(requests.map((r) => r.status)).toEqual(requests.map(() => 200));
      expect(tap.lines.filter((l) => /429/.test(l.msg))).toEqual([]);
      // Paced by one limiter: the thread creations and five posts fill the first window, and the other ten posts wait
      // for places that come free a window after those answers, so the posts span at least a window. A limiter per
      // process would have let every post out at once.
      const times = requests.map((r) => r.at);
      expect(Math.max(...times) - Math.min(...times)).toBeGreaterThanOrEqual(limits.global.windowMs);
    }, 15_000);
  });

  describe('Discord counts a request when it arrives, and a global 429 stops everything', () => {
    /** `count` channels in guilds of their own (no requests needed), so that no two posts share a bucket. */
    function channels(discord: FakeDiscord, count: number): string[] {
      return Array.from({ length: count }, () => discord.addGuild().channelId);
    }

    it('keeps the limit when the requests of one second land late, together with those of the next', async () => {
      const limits = { global: { count: 10, windowMs: 1_000 }, perChannel: { count: 100, windowMs: 1_000 } };
      // The proxy is told Discord's own number: nothing here is kept below it.
      const { discord, proxy } = await start({ rateLimits: limits }, limits.global.count);
      const targets = channels(discord, 2 * limits.global.count);
      // The timing is the input: the first ten to reach Discord were 600 ms on the way (a loaded machine, a slow
      // network) and Discord counts them when they land. Counting them when they left, the proxy sends the next ten
      // a second after the first left, 400 ms after they landed: eleven and more in one of Discord's seconds.
      let seen = 0;
      discord.latency({ when: 'before', method: 'POST', path: /\/messages$/, ms: () => (seen++ < limits.global.count ? 600 : 0) });
      const rest = processRest(proxy.url);

      await Promise.all(targets.map((id, i) => rest.post(Routes.channelMessages(id), { body: { content: `message ${i}` } })));

      expect(targets.flatMap((id) => discord.messages(id).map((m) => m.content)).sort()).toEqual(targets.map((_, i) => `message ${i}`).sort());
      expect(discord.requests.filter((r) => r.latencyMs > 0)).toHaveLength(limits.global.count);
      expect(discord.rateLimited).toBe(0);
      expect(discord.rateLimitViolations).toBe(0);
      expect(discord.requests.map((r) => r.status)).toEqual(discord.requests.map(() => 200));
      expect(tap.lines.filter((l) => /429/.test(l.msg))).toEqual([]);
    }, 15_000);

    it('after a global 429, sends nothing until its Retry-After has passed, not even requests already waiting for the window', async () => {
      // Discord's own count is left to failNext here: the 429 comes when the test says, with the wait it says.
      const { discord, proxy } = await start({ rateLimits: false }, 5);
      const [first, ...rest5] = channels(discord, 10);
      const early = rest5.slice(0, 4);
      const late = rest5.slice(4);
      const rest = processRest(proxy.url);
      const post = (id: string, content: string) => rest.post(Routes.channelMessages(id), { body: { content } });

      // One post opens @discordjs/rest's count of the proxy's five a second; half a second later (time passing is the
      // input), four more use the five up. The last five then wait in @discordjs/rest for its next second, which
      // starts before the proxy's own window has room for them: they wait on in that window, where @discordjs/rest
      // no longer looks after them. The first of them to go draws a global 429 with a 1.5 s Retry-After.
      await post(first!, 'first');
      await delay(500);
      const earlyPosts = early.map((id, i) => post(id, `early ${i}`));
      await discord.waitFor(() => discord.requests.length === 1 + early.length, { timeoutMs: 5_000, description: 'the four early posts' });
      discord.failNext({ method: 'POST', path: new RegExp(`/channels/(${late.join('|')})/messages$`), status: 429, retryAfterMs: 1_500, global: true });
      await Promise.all([...earlyPosts, ...late.map((id, i) => post(id, `late ${i}`))]);

      expect(rest5.flatMap((id) => discord.messages(id).map((m) => m.content)).sort()).toEqual([
        ...early.map((_, i) => `early ${i}`),
        ...late.map((_, i) => `late ${i}`),
      ]);
      const limited = discord.requests.filter((r) => r.status === 429);
      expect(limited).toHaveLength(1);
      const toldAt = limited[0]!.respondedAt!;
      // What reached Discord between the 429 and the end of its Retry-After: a client that was told to wait, and
      // did not. Only the 429'd post was in flight when it was answered (the proxy's window had no other room).
      const during = discord.requests.filter((r) => r.at > toldAt && r.at < toldAt + 1_500);
      expect(during.map((r) => `${r.method} ${r.path} ${r.at - toldAt} ms after the 429`)).toEqual([]);
      expect(discord.requests.filter((r) => r.at >= toldAt + 1_500)).toHaveLength(late.length);
    }, 15_000);
  });

  it('answers /health itself and forwards nothing outside /api', async () => {
    const { discord, proxy } = await start();
    const base = proxy.url.replace(/\/api$/, '');

    const health = await fetch(`${base}/health`);
    expect(health.status).toBe(200);
    expect(health.headers.get('content-type')).toBe('application/json');
    expect(await health.json()).toEqual({ ok: true, role: 'proxy' });

    const elsewhere = await fetch(`${base}/v10/channels/${discord.channelId}`, { headers: { authorization: `Bot ${TOKEN}` } });
    expect(elsewhere.status).toBe(404);
    expect(discord.requests).toEqual([]);
  });

  it('passes an interaction callback and its follow-up, which carry no Authorization, through', async () => {
    const { discord, proxy } = await start();
    const client = await connectClient(proxy.url);
    // Settles once discord.js has its answers back, through the proxy.
    const answered = new Promise<unknown>((resolve, reject) => {
      client.once(Events.InteractionCreate, (interaction: Interaction) => {
        if (!interaction.isChatInputCommand()) return reject(new Error(`unexpected interaction type ${interaction.type}`));
        interaction
          .deferReply()
          .then(() => interaction.editReply('pong'))
          .then(resolve, reject);
      });
    });
    const ada = discord.addMember({ username: 'ada' });

    const ix = discord.interact({ user: ada, name: 'ping' });
    await answered;
    expect(await ix.response()).toMatchObject({ content: 'pong' });

    const callback = discord.requests.find((r) => r.path === `/interactions/${ix.id}/${ix.token}/callback`);
    const edit = discord.requests.find((r) => r.method === 'PATCH' && r.path.endsWith('/messages/@original'));
    expect(callback).toMatchObject({ method: 'POST', status: 204 });
    expect(callback?.headers.authorization).toBeUndefined();
    expect(edit).toMatchObject({ status: 200 });
    expect(edit?.headers.authorization).toBeUndefined();
    expect(discord.violations).toEqual([]);
  });

  it('refuses a request carrying another token and sends nothing upstream', async () => {
    const { discord, proxy } = await start();
    const stranger = processRest(proxy.url, OTHER_TOKEN, { retries: 0 });

    const refused = await stranger.get(Routes.channel(discord.channelId)).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(DiscordAPIError);
    expect((refused as DiscordAPIError).status).toBe(401);
    expect(discord.requests).toEqual([]);
    expect(tap.lines).toContainEqual(expect.objectContaining({ level: 40, msg: expect.stringMatching(/another token/) }));
  });

  it('answers 502, not an empty 200, when Discord cannot be reached', async () => {
    const { discord, proxy } = await start();
    const rest = processRest(proxy.url, TOKEN, { retries: 0 });
    await discord.stop();

    const failed = await rest.get(Routes.channel(discord.channelId)).catch((err: unknown) => err);
    expect(failed).toBeInstanceOf(HTTPError);
    expect((failed as HTTPError).status).toBe(502);
    expect(tap.lines).toContainEqual(expect.objectContaining({ level: 50, msg: expect.stringMatching(/could not relay/) }));
  });

  it('drops a queued request whose client gave up, so its retry cannot post the message twice', async () => {
    const { discord, proxy } = await start();
    const patient = processRest(proxy.url);
    const impatient = processRest(proxy.url, TOKEN, { retries: 0, timeout: 300 });
    const route = Routes.channelMessages(discord.channelId);

    // The first post is kept in flight at the fake, so the next one on the same bucket queues in the proxy.
    const held = discord.hold({ method: 'POST', path: /\/messages$/ });
    const first = patient.post(route, { body: { content: 'first' } });
    await held.arrived();
    const droppedLogged = tap.next((l) => /went away/.test(l.msg), 'the proxy dropping the abandoned request');
    await expect(impatient.post(route, { body: { content: 'given up' } })).rejects.toThrow(/abort/i);
    await droppedLogged;

    held.release();
    await first;
    // Same bucket, so a request still queued in the proxy would have gone out before this one.
    await patient.post(route, { body: { content: 'after' } });

    expect(discord.messages().map((m) => m.content)).toEqual(['first', 'after']);
    expect(discord.requests.some((r) => (r.body as { content?: string } | undefined)?.content === 'given up')).toBe(false);
  });

  it('drops a request whose lease ended while it was queued, and sends one whose lease runs on', async () => {
    const { discord, proxy } = await start();
    const rest = processRest(proxy.url);
    const route = Routes.channelMessages(discord.channelId);
    const held = discord.hold({ method: 'POST', path: /\/messages$/ });
    const first = rest.post(route, { body: { content: 'first' } });
    await held.arrived();
    // Queued behind the held post on the same bucket: one whose worker's lease ends in 200 ms, one with a minute left.
    const lapsed = rest.post(route, { body: { content: 'lease over' }, headers: { [FENCE_HEADER]: String(Date.now() + 200) } });
    const lapsedError = lapsed.catch((err: unknown) => err);
    const current = rest.post(route, { body: { content: 'lease running' }, headers: { [FENCE_HEADER]: String(Date.now() + 60_000) } });
    const dropped = tap.next((l) => /lease ended/.test(l.msg), 'the proxy dropping the lapsed request', 10_000);
    // Time passing is the input here: the held post is let go once the first deadline is behind us.
    await delay(250);
    held.release();
    await first;
    await dropped;
    await current;
    expect(await lapsedError).toBeInstanceOf(Error);
    expect(discord.messages().map((m) => m.content)).toEqual(['first', 'lease running']);
    expect(discord.requests.some((r) => (r.body as { content?: string } | undefined)?.content === 'lease over')).toBe(false);
  });
});
