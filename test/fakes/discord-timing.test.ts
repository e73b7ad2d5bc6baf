// Timing and "answer lost" faults of the fake Discord: latency rules, holds that
// apply the effect first, drops, and afterEffect failures on the posting routes.
// Plain fetch is used where the client's own retries would hide what the fake did;
// discord.js where its behaviour is the point.

import { once } from 'node:events';
import { ChannelType, Client, DiscordAPIError, Events, GatewayIntentBits, type TextChannel } from 'discord.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeDiscord, type FakeDiscordOptions, type RecordedRequest } from './discord/index.js';

let discord: FakeDiscord;
let clients: Client[] = [];

async function startFake(options: FakeDiscordOptions = {}): Promise<void> {
  discord = await FakeDiscord.start({ rateLimits: false, ...options });
}

beforeEach(async () => {
  await startFake();
});

afterEach(async () => {
  await Promise.all(clients.map((client) => client.destroy()));
  clients = [];
  await discord.stop();
});

const MESSAGES = /^\/channels\/\d+\/messages$/;

function api(path: string, init: { method?: string; body?: unknown; auth?: boolean } = {}): Promise<Response> {
  return fetch(`${discord.apiBase}/v10${path}`, {
    method: init.method ?? 'POST',
    headers: {
      'content-type': 'application/json',
      ...(init.auth === false ? {} : { authorization: `Bot ${discord.token}` }),
    },
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
  });
}

const post = (content: string, channelId = discord.channelId) => api(`/channels/${channelId}/messages`, { body: { content } });

/** The recorded request that carries this content. */
function recorded(content: string): RecordedRequest {
  const request = discord.requests.find((r) => (r.body as { content?: string } | undefined)?.content === content);
  if (!request) throw new Error(`no request with content ${content}`);
  return request;
}

async function webhook(): Promise<{ id: string; token: string }> {
  const res = await api(`/channels/${discord.channelId}/webhooks`, { body: { name: 'Claude' } });
  expect(res.status).toBe(200);
  return (await res.json()) as { id: string; token: string };
}

async function connect(): Promise<TextChannel> {
  const client = new Client({
    intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages],
    rest: { api: discord.apiBase },
  });
  clients.push(client);
  const ready = once(client, Events.ClientReady, { signal: AbortSignal.timeout(10_000) });
  await client.login(discord.token);
  await ready;
  const channel = client.channels.cache.get(discord.channelId);
  if (channel?.type !== ChannelType.GuildText) throw new Error('seeded channel missing from cache');
  return channel;
}

describe('latency()', () => {
  it("'after' (the default) applies the effect at once and answers after the delay", async () => {
    discord.latency({ method: 'POST', path: MESSAGES, ms: 150 });
    const sending = post('slow answer');
    // The message exists while the answer is still on its way.
    const stored = await discord.waitFor(() => discord.messages()[0], { description: 'the message to be stored' });
    expect(recorded('slow answer').status).toBeNull();
    const res = await sending;
    expect(res.status).toBe(200);
    expect(((await res.json()) as { id: string }).id).toBe(stored.id);
    const request = recorded('slow answer');
    expect(request.latencyMs).toBe(150);
    expect(stored.createdAt - request.at).toBeLessThan(150);
    expect(request.respondedAt! - request.at).toBeGreaterThanOrEqual(149);
  });

  it("'before' delays the request before anything happens", async () => {
    discord.latency({ method: 'POST', path: MESSAGES, ms: 120, when: 'before' });
    const sending = post('slow arrival');
    const request = await discord.waitFor(() => discord.requests.find((r) => r.method === 'POST'), {
      description: 'the post to be recorded',
    });
    expect(discord.messages()).toEqual([]);
    expect((await sending).status).toBe(200);
    const [message] = discord.messages();
    expect(message!.createdAt - request.at).toBeGreaterThanOrEqual(119);
    expect(request.latencyMs).toBe(120);
  });

  it('matches on method and path, adds up matching rules, and stops after remove()', async () => {
    const posts = discord.latency({ method: 'post', path: MESSAGES, ms: 40 });
    discord.latency({ path: MESSAGES, ms: 25, when: 'before' });
    await post('both rules');
    expect(recorded('both rules').latencyMs).toBe(65);
    // GET on the same path: only the rule without a method.
    await api(`/channels/${discord.channelId}/messages`, { method: 'GET' });
    expect(discord.requests.at(-1)).toMatchObject({ method: 'GET', latencyMs: 25 });
    // Another path: neither.
    await api(`/channels/${discord.channelId}`, { method: 'GET' });
    expect(discord.requests.at(-1)!.latencyMs).toBe(0);
    posts.remove();
    await post('one rule left');
    expect(recorded('one rule left').latencyMs).toBe(25);
  });

  it('draws ranges from the seeded PRNG: the same seed replays the same delays, another seed does not', async () => {
    const delays = async (seed: number): Promise<number[]> => {
      await discord.stop();
      await startFake({ seed });
      expect(discord.seed).toBe(seed);
      discord.latency({ method: 'GET', path: /^\/channels\/\d+$/, ms: [0, 30] });
      for (let i = 0; i < 6; i++) await api(`/channels/${discord.channelId}`, { method: 'GET' });
      return discord.requests.map((r) => r.latencyMs);
    };
    const first = await delays(42);
    expect(await delays(42)).toEqual(first);
    expect(await delays(43)).not.toEqual(first);
    for (const ms of first) {
      expect(ms).toBeGreaterThanOrEqual(0);
      expect(ms).toBeLessThanOrEqual(30);
    }
    expect(new Set(first).size).toBeGreaterThan(1);
  });

  it('takes a random source or a function of the request per rule', async () => {
    discord.latency({ method: 'GET', path: /^\/channels\/\d+$/, ms: [10, 30], random: () => 0.5 });
    discord.latency({ method: 'POST', path: MESSAGES, ms: (r) => ((r.body as { content: string }).content === 'slow' ? 50 : 0) });
    await api(`/channels/${discord.channelId}`, { method: 'GET' });
    expect(discord.requests.at(-1)!.latencyMs).toBe(20);
    await post('fast');
    await post('slow');
    expect(recorded('fast').latencyMs).toBe(0);
    expect(recorded('slow').latencyMs).toBe(50);
  });

  it('delays the answer of a failure too, and stop() ends a pending delay', async () => {
    discord.latency({ method: 'POST', path: MESSAGES, ms: 60 });
    discord.failNext({ method: 'POST', path: MESSAGES, status: 500 });
    const res = await post('failed slowly');
    expect(res.status).toBe(500);
    const failed = recorded('failed slowly');
    expect(failed.respondedAt! - failed.at).toBeGreaterThanOrEqual(59);

    discord.latency({ method: 'POST', path: MESSAGES, ms: 60_000 });
    const stuck = post('never answered').catch((error: unknown) => error);
    await discord.waitFor(() => discord.messages().length === 1, { description: 'the effect before the long wait' });
    const started = Date.now();
    await discord.stop();
    await stuck;
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});

describe('rate limits under latency', () => {
  it('a client is told to wait only when the answer reaches it, not when the fake decided', async () => {
    await discord.stop();
    await startFake({ rateLimits: { perChannel: { count: 2, windowMs: 3_000 } } });
    discord.latency({ method: 'POST', path: MESSAGES, ms: 150 });
    // Three posts at once: the third finds the bucket spent before any answer said so.
    const first = await Promise.all([post('a'), post('b'), post('c')]);
    expect(first.map((r) => r.status).sort()).toEqual([200, 200, 429]);
    expect(discord.rateLimitViolations).toBe(0);
    expect(discord.rateLimited).toBe(1);
    // Now the client has been told (remaining 0, then a 429): sending again before the reset ignores it.
    expect((await post('d')).status).toBe(429);
    expect(discord.rateLimitViolations).toBe(1);
  });
});

describe('hold()', () => {
  it('drop() without afterEffect: the connection dies and nothing happened', async () => {
    const hold = discord.hold({ method: 'POST', path: MESSAGES });
    const sending = post('dropped early');
    await hold.arrived();
    hold.drop();
    await expect(sending).rejects.toThrow();
    expect(discord.messages()).toEqual([]);
    expect(recorded('dropped early')).toMatchObject({ dropped: true, status: null });
  });

  it('afterEffect: the message exists and was dispatched while the answer is held; release() sends it', async () => {
    const channel = await connect();
    const hold = discord.hold({ method: 'POST', path: MESSAGES, afterEffect: true });
    const created = once(channel.client, Events.MessageCreate, { signal: AbortSignal.timeout(5_000) });
    const sending = post('held answer');
    const held = await hold.arrived();
    expect(held.body).toMatchObject({ content: 'held answer' });
    expect(discord.messages().map((m) => m.content)).toEqual(['held answer']);
    const [message] = await created;
    expect(message.content).toBe('held answer');
    expect(held.status).toBeNull();
    hold.release();
    const res = await sending;
    expect(res.status).toBe(200);
    expect(((await res.json()) as { id: string }).id).toBe(message.id);
  });

  it('afterEffect + drop(): accepted by Discord, answer lost (webhook execute)', async () => {
    const hook = await webhook();
    const hold = discord.hold({ method: 'POST', path: /^\/webhooks\/\d+\/[^/]+$/, afterEffect: true });
    const sending = api(`/webhooks/${hook.id}/${hook.token}?wait=true`, { body: { content: 'lost answer' }, auth: false });
    await hold.arrived();
    hold.drop();
    await expect(sending).rejects.toThrow();
    expect(discord.messages().map((m) => [m.content, m.webhook_id])).toEqual([['lost answer', hook.id]]);
    expect(recorded('lost answer')).toMatchObject({ dropped: true, status: null });
  });

  it('afterEffect + releaseWith(): the effect stays, the answer is replaced', async () => {
    const hold = discord.hold({ method: 'POST', path: MESSAGES, afterEffect: true });
    const sending = post('replaced answer');
    await hold.arrived();
    hold.releaseWith(502);
    expect((await sending).status).toBe(502);
    expect(discord.messages().map((m) => m.content)).toEqual(['replaced answer']);
  });
});

describe('failNext({ afterEffect: true })', () => {
  it('channel post: stored and answered 500; a retry with the same enforced nonce gets the first message', async () => {
    const channel = await connect();
    discord.failNext({ method: 'POST', path: MESSAGES, status: 500, afterEffect: true });
    // discord.js retries the 500; the nonce makes the retry return the message already made.
    const sent = await channel.send({ content: 'exactly once', nonce: 'turn-1', enforceNonce: true });
    const posts = discord.requests.filter((r) => r.method === 'POST' && MESSAGES.test(r.path));
    expect(posts.map((r) => r.status)).toEqual([500, 200]);
    expect(discord.messages().map((m) => m.id)).toEqual([sent.id]);
  });

  it('channel post without a retry: the client sees the error, the message exists', async () => {
    const channel = await connect();
    discord.failNext({ method: 'POST', path: MESSAGES, status: 403, afterEffect: true });
    const error = await channel.send('seen as refused').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DiscordAPIError);
    expect((error as DiscordAPIError).status).toBe(403);
    expect(discord.messages().map((m) => m.content)).toEqual(['seen as refused']);
  });

  it('webhook execute: stored and answered 500', async () => {
    const hook = await webhook();
    discord.failNext({ method: 'POST', path: /^\/webhooks\/\d+\/[^/]+$/, status: 500, afterEffect: true });
    const res = await api(`/webhooks/${hook.id}/${hook.token}?wait=true`, { body: { content: 'posted anyway' }, auth: false });
    expect(res.status).toBe(500);
    expect(discord.messages().map((m) => [m.content, m.webhook_id])).toEqual([['posted anyway', hook.id]]);
  });
});

describe('one edit path for channel and webhook messages', () => {
  it('validates, refuses archived threads and dispatches MESSAGE_UPDATE the same way for both', async () => {
    const hook = await webhook();
    const threadRes = await api(`/channels/${discord.channelId}/threads`, { body: { name: 'edits', type: 11 } });
    const thread = (await threadRes.json()) as { id: string };
    const own = (await (await post('own', thread.id)).json()) as { id: string };
    const viaHook = (await (
      await api(`/webhooks/${hook.id}/${hook.token}?wait=true&thread_id=${thread.id}`, { body: { content: 'hook' }, auth: false })
    ).json()) as { id: string };
    const edits = [
      (body: unknown) => api(`/channels/${thread.id}/messages/${own.id}`, { method: 'PATCH', body }),
      (body: unknown) => api(`/webhooks/${hook.id}/${hook.token}/messages/${viaHook.id}?thread_id=${thread.id}`, { method: 'PATCH', body, auth: false }),
    ];
    const updates: string[] = [];
    discord.on('dispatch', (event, data) => {
      if (event === 'MESSAGE_UPDATE') updates.push((data as { content: string }).content);
    });
    for (const [i, edit] of edits.entries()) {
      expect((await edit({ content: `edited ${i}`, flags: 4 })).status).toBe(200);
      const tooLong = await edit({ content: 'x'.repeat(2_001) });
      expect(tooLong.status).toBe(400);
      expect(((await tooLong.json()) as { code: number }).code).toBe(50035);
    }
    expect(updates).toEqual(['edited 0', 'edited 1']);
    expect(discord.messages(thread.id).map((m) => [m.content, m.flags, m.edits])).toEqual([
      ['edited 0', 4, 1],
      ['edited 1', 4, 1],
    ]);
    expect(discord.violations.map((v) => v.method)).toEqual(['PATCH', 'PATCH']);

    discord.archiveThread(thread.id);
    for (const edit of edits) {
      const refused = await edit({ content: 'too late' });
      expect(refused.status).toBe(400);
      expect(((await refused.json()) as { code: number }).code).toBe(50083);
    }
  });
});
