/**
 * Two worker processes (two REST-only discord.js clients, each with its own publisher) posting into one channel's
 * threads at the same moment: they must settle on one webhook, or neither could recognise the other's posts after a
 * take-over (the cluster's PostgreSQL restart test showed a turn's part posted twice that way).
 */
import { Client, Routes } from 'discord.js';
import { afterEach, describe, expect, it } from 'vitest';
import { signInRestOnly } from '../../src/discord/rest-sign-in.js';
import { DiscordPublisher } from '../../src/discord/thread-publisher.js';
import type { Post, SalonRecord } from '../../src/domain/salon.js';
import { FakeDiscord } from '../fakes/discord/index.js';
import { FakeOpenAI } from '../fakes/openai-server.js';
import { testConfig } from '../helpers/config.js';
import { memoryLogger } from '../helpers/log.js';
import { newSalon, playTurns } from '../domain/fixtures.js';

describe('the salon webhook of a channel, made by several processes at once', () => {
  let discord: FakeDiscord | undefined;
  let models: FakeOpenAI | undefined;
  const clients: Client[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.destroy()));
    await discord?.stop();
    await models?.stop();
  });

  it('is one: each process takes the oldest, and one that made another deletes it', async () => {
    discord = await FakeDiscord.start();
    models = await FakeOpenAI.start();
    const config = testConfig(models.baseURL);
    const { log } = memoryLogger();
    const fake = discord;
    // Two threads in the seeded channel, one salon each, each with its first turn to post.
    const salons = await Promise.all(
      [0, 1].map(async (i) => {
        const thread = (await new Client({ intents: [], rest: { api: fake.apiBase } }).rest.setToken(fake.token).post(Routes.threads(fake.channelId), {
          body: { name: `thread ${i}`, type: 11 },
        })) as { id: string };
        const salon: SalonRecord = newSalon({ id: thread.id, threadId: thread.id, guildId: fake.guildId, channelId: fake.channelId });
        salon.outbox = [];
        playTurns(salon, 1);
        return salon;
      }),
    );
    const publishers = await Promise.all(
      [0, 1].map(async () => {
        const client = new Client({ intents: [], rest: { api: fake.apiBase } });
        clients.push(client);
        await signInRestOnly(client, fake.token);
        return new DiscordPublisher(client as Client<true>, config, log);
      }),
    );
    // Both find no webhook and make one at the same time (their list requests are held until both have asked).
    const list = (count: number) => Array.from({ length: count }, () => fake.hold({ method: 'GET', path: /^\/channels\/\d+\/webhooks$/ }));
    const [firstList, secondList] = list(2);
    const delivered = publishers.map((publisher, i) => {
      const post = salons[i]!.outbox[0] as Post;
      return publisher.deliver(salons[i]!, post, { maybeDelivered: false, onPart: async () => {} });
    });
    await Promise.all([firstList!.arrived(), secondList!.arrived()]);
    firstList!.release();
    secondList!.release();
    await Promise.all(delivered);

    const webhooks = fake.requests.filter((r) => r.method === 'POST' && /^\/webhooks\/\d+\/[^/]+$/.test(r.path)).map((r) => r.path.split('/')[2]);
    expect(fake.requests.filter((r) => r.method === 'POST' && /\/webhooks$/.test(r.path))).toHaveLength(2);
    // Both turns went out through one webhook, and the other one is gone.
    expect(new Set(webhooks).size).toBe(1);
    expect(fake.requests.filter((r) => r.method === 'DELETE' && r.path.startsWith('/webhooks/'))).toHaveLength(1);
    expect(fake.violations).toEqual([]);
  });
});
