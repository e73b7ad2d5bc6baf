/**
 * Load on the Discord path: the real bot (discord.js, engine, SQLite store, openai SDK) in-process against the fake
 * Discord, with its rate limits enforced, and the local model server. See test/e2e/harness.ts.
 *
 * Rate limits. The fake's defaults are 5 posts per 5 s per channel (and per webhook) and 50 requests per second
 * per token. Every salon of a channel posts its turns through that channel's one webhook, so at the default
 * 1 post/s the 800 turns of 200 two-round salons would take over 13 minutes. This test therefore raises the
 * per-channel and per-webhook limit to 5 per 100 ms (50/s), still enforced, and keeps the global cap at its
 * default of 50/s, which then sets the pace: about 1,600 requests count toward it (a thread, a header, a notice
 * and a typing indicator per turn), so the run takes a little over 30 s. pressure.test.ts keeps the defaults.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { SalonStore } from '../../src/engine/ports.js';
import { startWorld, type World } from '../e2e/harness.js';
import { allEmpty, engineCollections } from './engine-state.js';
import { expectThread, startSalons, WEBHOOK_EXECUTION, whenFinished } from './helpers.js';

describe('load on the Discord path', () => {
  let world: World | undefined;
  afterEach(async () => {
    await world?.close();
    world = undefined;
  });

  it('runs 200 salons at once with delay 0: every turn in place, once, in order, within the rate limits', { timeout: 150_000 }, async () => {
    const SALONS = 200;
    const ROUNDS = 2;
    world = await startWorld({
      rounds: ROUNDS,
      turnDelaySeconds: 0,
      discord: { rateLimits: { perChannel: { count: 5, windowMs: 100 }, global: { count: 50, windowMs: 1_000 } } },
    });
    const { discord, bot } = world;
    const { done, finished } = whenFinished(bot.engine, SALONS, 120_000);

    const started = Date.now();
    // 20 interactions at a time, the next 20 once these are acknowledged: Discord's 3 s limit must hold for each.
    const { threadIds, interactions } = await startSalons(world, SALONS, 20);
    await done;
    const wallMs = Date.now() - started;

    expect(new Set(threadIds).size).toBe(SALONS);
    const acks = interactions.map((ix) => ix.ackedAt! - ix.receivedAt);
    expect(Math.max(...acks)).toBeLessThan(3_000);
    const texts = new Set<string>();
    for (const threadId of threadIds) for (const text of await expectThread(world, threadId, ROUNDS)) texts.add(text);
    // The model's replies are unique ("Reply <n> from <model>"): no turn shows twice, in its thread or another.
    expect(texts.size).toBe(SALONS * 2 * ROUNDS);
    expect(world.models.requests).toHaveLength(SALONS * 2 * ROUNDS);
    expect(finished.size).toBe(SALONS);
    // Finished salons leave the engine's memory (every map and set it keeps is empty) and the store's index of
    // salons to resume.
    const collections = engineCollections(bot.engine);
    expect(collections).toEqual(allEmpty(collections));
    expect(collections['rooms.held']).toBe(0);
    expect(await (bot.engine as unknown as { options: { store: SalonStore } }).options.store.activeIds()).toEqual([]);

    // From each /salon start to the edit of its reply that links the thread (the acknowledgement came first).
    const replies = interactions.map((ix) => {
      const edit = discord.requests.find((r) => r.method === 'PATCH' && r.path.startsWith(`/webhooks/${discord.applicationId}/${ix.token}/messages/`));
      return edit ? edit.at - ix.receivedAt : Infinity;
    });
    replies.sort((a, b) => a - b);
    const count = (match: (path: string, method: string) => boolean) => discord.requests.filter((r) => match(r.path, r.method)).length;
    const figures = {
      salons: SALONS,
      rounds: ROUNDS,
      wallMs,
      turnsPerSecond: Math.round((SALONS * 2 * ROUNDS * 1000) / wallMs),
      ackMs: { median: [...acks].sort((a, b) => a - b)[acks.length >> 1], max: Math.max(...acks) },
      replyWithThreadMs: { median: replies[replies.length >> 1], max: replies.at(-1) },
      requests: discord.requests.length,
      webhookExecutions: count((p, m) => m === 'POST' && WEBHOOK_EXECUTION.test(p) && !p.startsWith(`/webhooks/${discord.applicationId}/`)),
      botPosts: count((p, m) => m === 'POST' && /^\/channels\/\d+\/messages$/.test(p)),
      typing: count((p) => p.endsWith('/typing')),
      threads: count((p, m) => m === 'POST' && p.endsWith('/threads')),
      status429: discord.requests.filter((r) => r.status === 429).length,
      rateLimited: discord.rateLimited,
      rateLimitViolations: discord.rateLimitViolations,
    };
    console.log(`[load] ${JSON.stringify(figures)}`);

    expect(discord.violations).toEqual([]);
    expect(discord.rateLimitViolations, 'requests sent after the fake said to wait (see the first 429 in discord.requests)').toBe(0);
  });
});
