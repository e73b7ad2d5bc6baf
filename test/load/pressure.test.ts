/**
 * The Discord path under rate-limit pressure, in two situations a busy channel brings about now and then (the
 * 200-salon load in load.test.ts hits the first in some runs) and these tests bring about every time:
 * - many turns queue for the channel's webhook before Discord's first answer has told the client the webhook's
 *   rate-limit bucket (the first posts after a start, or a restart resuming many salons at once);
 * - a command arrives for a salon whose turn is waiting for the webhook's bucket to reset.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { SalonRecord } from '../../src/domain/salon.js';
import type { InteractionHandle } from '../fakes/discord/index.js';
import { startWorld, type World } from '../e2e/harness.js';
import { expectThread, startSalons, WEBHOOK_EXECUTION, whenFinished } from './helpers.js';
import { whenSalon } from '../helpers/engine-events.js';
import { command } from '../helpers/command.js';

describe('the Discord path under rate-limit pressure', () => {
  let world: World | undefined;
  afterEach(async () => {
    await world?.close();
    world = undefined;
  });

  it('keeps to a webhook’s limit when many turns queue for it before its first answer', { timeout: 30_000 }, async () => {
    // The first turn post through the channel's webhook is held at "Discord" while seven other salons queue
    // theirs behind it; then it is let through and the posts drain within a limit of 5 per second.
    world = await startWorld({
      rounds: 1,
      turnDelaySeconds: 0,
      discord: { rateLimits: { perChannel: { count: 5, windowMs: 1_000 }, global: { count: 50, windowMs: 1_000 } } },
    });
    const { discord, bot } = world;
    const SALONS = 8;
    const hold = discord.hold({ method: 'POST', path: WEBHOOK_EXECUTION });
    const { done } = whenFinished(bot.engine, SALONS, 20_000);
    const { threadIds } = await startSalons(world, SALONS, SALONS, (i) => `Queued salon ${i}`);
    await hold.arrived(10_000);
    await Promise.all(threadIds.map((id) => whenSalon(bot.engine, id, (s) => s.turns.length >= 1, 10_000)));
    hold.release();
    await done;

    for (const threadId of threadIds) await expectThread(world, threadId, 1);
    expect(discord.violations).toEqual([]);
    const webhook429s = discord.requests
      .filter((r) => r.status === 429 && WEBHOOK_EXECUTION.test(r.path))
      .map((r) => `#${r.seq} at +${r.at - hold.request!.at} ms`);
    expect(discord.rateLimitViolations, `webhook posts sent after the fake had said to wait; their 429s: ${webhook429s.join(', ')}`).toBe(0);
  });

  it('acknowledges /salon pause and /salon ask within 3 s while the salon’s turn waits for the webhook’s bucket', { timeout: 60_000 }, async () => {
    // Every default limit: 5 posts per 5 s through the channel's webhook. Eight two-round salons write their first
    // turn at once; five go out, the other three wait about 5 s for the bucket to reset.
    world = await startWorld({ rounds: 2, turnDelaySeconds: 0 });
    const { discord, bot } = world;
    const SALONS = 8;
    const { threadIds } = await startSalons(world, SALONS, SALONS, (i) => `Waiting salon ${i}`);
    await Promise.all(threadIds.map((id) => whenSalon(bot.engine, id, (s) => s.turns.length >= 1, 10_000)));
    const waiting: SalonRecord[] = [];
    for (const id of threadIds) {
      const salon = (await bot.engine.get(id))!;
      // Running (turns still to come), with a turn written and not yet posted.
      if (salon.status === 'running' && salon.outbox.some((p) => p.kind === 'turn' && p.messageIds.length === 0)) waiting.push(salon);
    }
    expect(waiting.length).toBeGreaterThanOrEqual(2);
    const [first, second] = waiting as [SalonRecord, SalonRecord];
    const starter = first.starter.id === world.ada.id ? world.ada : world.bob;

    const pause = command(discord, starter, first.id, 'pause');
    const ask = command(discord, world.ada, second.id, 'ask', { question: 'What do you remember?' });
    // The fake answers a late callback with 404 Unknown interaction and leaves ackedAt unset: wait for either.
    const callback = (ix: InteractionHandle) => discord.requests.find((r) => r.path.startsWith(`/interactions/${ix.id}/`) && r.status !== null);
    await discord.waitFor(() => callback(pause) && callback(ask), { timeoutMs: 20_000, description: 'both commands to be answered' });
    const pauseMs = callback(pause)!.at - pause.receivedAt;
    const askMs = callback(ask)!.at - ask.receivedAt;
    console.log(
      `[pressure] answered while a turn waits for the webhook bucket: pause after ${pauseMs} ms (HTTP ${callback(pause)!.status}: ${JSON.stringify((callback(pause)!.body as any)?.data?.content)}), ask after ${askMs} ms (HTTP ${callback(ask)!.status}: ${JSON.stringify((callback(ask)!.body as any)?.data?.content)})`,
    );

    expect(Math.max(pauseMs, askMs), `pause answered after ${pauseMs} ms, ask after ${askMs} ms; Discord allows 3,000 ms`).toBeLessThan(3_000);
    expect(discord.violations).toEqual([]);
    // Both were taken, not refused: the pause holds the salon, and the question waits for the next turn.
    expect((await bot.engine.get(first.id))!.status).toBe('paused');
    expect((await bot.engine.get(second.id))!.interjections.map((q) => q.text)).toEqual(['What do you remember?']);
  });
});
