/** Helpers shared by the load tests on the Discord path. */
import { expect } from 'vitest';
import type { SalonEngine } from '../../src/engine/engine.js';
import type { InteractionHandle } from '../fakes/discord/index.js';
import { turnMessages, type World } from '../e2e/harness.js';
import { onFinished } from '../helpers/engine-events.js';
import { waitUntil } from '../helpers/wait.js';
import { command } from '../helpers/command.js';

export const NAMES = ['Claude Opus 4.5', 'GLM 4.7'];
/** A channel webhook's execution (not an interaction's follow-up, which goes to the application's id). */
export const WEBHOOK_EXECUTION = /^\/webhooks\/\d+\/[^/]+$/;

/** Resolves once `count` salons have posted their "finished" notice; rejects after `timeoutMs`. */
export function whenFinished(engine: SalonEngine, count: number, timeoutMs: number): { done: Promise<void>; finished: Set<string> } {
  const finished = new Set<string>();
  const done = waitUntil(
    () => finished.size >= count,
    (recheck) =>
      onFinished(engine, (salon) => {
        finished.add(salon.id);
        recheck();
      }),
    timeoutMs,
    () => `only ${finished.size} of ${count} salons finished within ${timeoutMs} ms`,
  ).then(() => {});
  return { done, finished };
}

/** Starts salons by `/salon start`, `batch` interactions at a time, each batch once the previous is acknowledged. */
export async function startSalons(
  world: World,
  count: number,
  batch: number,
  topic = (i: number) => `Load salon ${i}: do words persist?`,
): Promise<{ threadIds: string[]; interactions: InteractionHandle[] }> {
  const { discord } = world;
  const interactions: InteractionHandle[] = [];
  for (let i = 0; i < count; i += batch) {
    const group = Array.from({ length: Math.min(batch, count - i) }, (_, j) =>
      command(discord, (i + j) % 2 ? world.ada : world.bob, undefined, 'start', { topic: topic(i + j) }),
    );
    interactions.push(...group);
    await discord.waitFor(() => group.every((ix) => ix.ackedAt !== null), {
      timeoutMs: 10_000,
      description: `acknowledgements of salons ${i}–${i + group.length - 1}`,
    });
  }
  const replies = await Promise.all(interactions.map((ix) => ix.response(60_000)));
  const threadIds = replies.map((reply) => {
    const id = /<#(\d+)>/.exec(reply.content)?.[1];
    if (!id) throw new Error(`no thread link in the reply: ${reply.content}`);
    return id;
  });
  return { threadIds, interactions };
}

/** Checks one thread: the header, then A, B, A, B… under the models' names with the texts the store holds, then the notice. */
export async function expectThread(world: World, threadId: string, rounds: number): Promise<string[]> {
  const salon = (await world.bot.engine.get(threadId))!;
  expect(salon, threadId).toMatchObject({ status: 'finished', outbox: [] });
  expect(salon.turns).toHaveLength(2 * rounds);
  const messages = world.discord.messages(threadId);
  const turns = turnMessages(world, threadId);
  expect(
    turns.map((m) => m.author.username),
    threadId,
  ).toEqual(Array.from({ length: 2 * rounds }, (_, i) => NAMES[i % 2]));
  expect(
    turns.map((m) => m.content),
    threadId,
  ).toEqual(salon.turns.map((t) => t.text));
  expect(messages, threadId).toHaveLength(2 * rounds + 2);
  expect(messages[0]!.embeds, threadId).toHaveLength(1);
  expect(messages.at(-1)!.content, threadId).toContain(`finished after ${rounds} ${rounds === 1 ? 'round' : 'rounds'}`);
  return turns.map((m) => m.content);
}
