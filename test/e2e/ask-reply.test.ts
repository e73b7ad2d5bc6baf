/**
 * The reply to `/salon ask` is a promise: "<model> will answer it next / in round n". Asked at every point of a
 * turn (before its model call, during it, after its commit, during the last turn), the reply must name the model
 * and round of the turn that then takes the question, or say that no turn will.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { SalonRecord } from '../../src/domain/salon.js';
import { seededRandom } from '../fakes/random.js';
import { command } from '../helpers/command.js';
import { whenSalon } from '../helpers/engine-events.js';
import { endWorld, holdModelRequest, startSalon, startWorld, type World } from './harness.js';

interface Promised {
  name: string;
  /** Undefined for "next". */
  round?: number;
}

/** What the public reply promised, read as a person reads it. */
function promised(content: string): Promised {
  const match = /-# (.+) will answer it (next|in round (\d+))/.exec(content);
  if (!match) throw new Error(`the reply promises no answer: ${content}`);
  return { name: match[1]!, round: match[3] === undefined ? undefined : Number(match[3]) };
}

async function ask(world: World, threadId: string, question: string, to?: string) {
  return command(world.discord, world.bob, threadId, 'ask', { question, ...(to ? { to } : {}) }).response(10_000);
}

/** `/salon pause` or `resume` by the starter, once answered. */
async function salonCommand(world: World, threadId: string, subcommand: 'pause' | 'resume') {
  return command(world.discord, world.ada, threadId, subcommand).response(10_000);
}

/** The turn that took the question, by its text. */
function answerOf(salon: SalonRecord, question: string) {
  const q = salon.interjections.find((i) => i.text === question);
  if (q?.answeredBy === undefined) throw new Error(`"${question}" was not answered`);
  return salon.turns[q.answeredBy]!;
}

/** The turn a "next" promise means: the first turn committed after the question (its `afterTurns`), and no later. */
function expectKept(salon: SalonRecord, question: string, promise: Promised): void {
  const turn = answerOf(salon, question);
  expect(turn.name, `the reply named ${promise.name}`).toBe(promise.name);
  const q = salon.interjections.find((i) => i.text === question)!;
  if (promise.round === undefined) expect(turn.index).toBe(q.afterTurns);
  else expect(turn.round).toBe(promise.round);
}

const finished = (s: SalonRecord) => s.status === 'finished' && s.outbox.length === 0;

describe('the /salon ask reply names the turn that takes the question', () => {
  let world: World | undefined;
  afterEach(async () => (world = await endWorld(world)));

  it('before the model call: a paused salon between turns, then resumed', async () => {
    world = await startWorld({ rounds: 2 });
    const release = holdModelRequest(world, 1);
    const threadId = await startSalon(world);
    await world.models.waitForRequests(2);
    await salonCommand(world, threadId, 'pause');
    release();
    // Turn 1 was under way when the salon paused: it still appears, and nothing else starts.
    await whenSalon(world.bot.engine, threadId, (s) => s.turns.length === 2 && s.writing === undefined, 10_000);
    const reply = await ask(world, threadId, 'Before the call?');
    expect(reply.content).toContain('once the salon is resumed');
    await salonCommand(world, threadId, 'resume');
    const done = await whenSalon(world.bot.engine, threadId, finished, 10_000);
    expectKept(done, 'Before the call?', promised(reply.content));
    expect(answerOf(done, 'Before the call?').index).toBe(2);
  });

  it('during the model call: the turn being written cannot see it, and the reply names the one after', async () => {
    world = await startWorld({ rounds: 2 });
    const release = holdModelRequest(world, 1);
    const threadId = await startSalon(world);
    await world.models.waitForRequests(2);
    const reply = await ask(world, threadId, 'During the call?');
    const aimed = await ask(world, threadId, 'And you, B?', 'B');
    release();
    const done = await whenSalon(world.bot.engine, threadId, finished, 10_000);
    expectKept(done, 'During the call?', promised(reply.content));
    expect(answerOf(done, 'During the call?').index).toBe(2);
    // Put to the seat writing now: its next turn, a round later.
    expectKept(done, 'And you, B?', promised(aimed.content));
    expect(answerOf(done, 'And you, B?').index).toBe(3);
    // The model that took each question was asked it; the one writing when it came was not.
    const requests = world.models.requests;
    expect(JSON.stringify(requests[1]!.body.messages)).not.toContain('During the call?');
    expect(JSON.stringify(requests[2]!.body.messages)).toContain('During the call?');
  });

  it('during a model call that fails: the turn written again still leaves the question to the one after', async () => {
    world = await startWorld({ rounds: 2 });
    let fail!: () => void;
    const failing = new Promise<void>((resolve) => (fail = resolve));
    world.models.setScript(async (req) => {
      if (req.index !== 1) return { text: `Turn ${req.index}.` };
      await failing;
      // A 400 is not retried: the salon pauses with the model's failure shown, and resume writes turn 1 again.
      return { status: 400, error: 'bad request' };
    });
    const threadId = await startSalon(world);
    await world.models.waitForRequests(2);
    const reply = await ask(world, threadId, 'During a failing call?');
    fail();
    await whenSalon(world.bot.engine, threadId, (s) => s.status === 'paused' && s.pausedReason?.code === 'model_failed', 10_000);
    await salonCommand(world, threadId, 'resume');
    const done = await whenSalon(world.bot.engine, threadId, finished, 10_000);
    expectKept(done, 'During a failing call?', promised(reply.content));
    expect(answerOf(done, 'During a failing call?').index).toBe(2);
  });

  it('after the commit, while the next turn waits out its delay', async () => {
    world = await startWorld({ rounds: 2 });
    const threadId = await startSalon(world, { delay: 3600 });
    await whenSalon(world.bot.engine, threadId, (s) => s.turns.length === 1 && s.outbox.length === 0, 10_000);
    const reply = await ask(world, threadId, 'After the commit?');
    expect(promised(reply.content).round).toBeUndefined();
    await salonCommand(world, threadId, 'pause');
    await salonCommand(world, threadId, 'resume');
    const answered = await whenSalon(world.bot.engine, threadId, (s) => s.turns.length === 2, 10_000);
    expectKept(answered, 'After the commit?', promised(reply.content));
  });

  it('during the last turn: the reply says no turn is left, privately, and the thread never says it came too late', async () => {
    world = await startWorld({ rounds: 1 });
    const release = holdModelRequest(world, 1);
    const threadId = await startSalon(world);
    await world.models.waitForRequests(2);
    const reply = await ask(world, threadId, 'Too late?');
    expect(reply.ephemeral).toBe(true);
    expect(reply.content).toContain('last turn is already being written');
    release();
    const done = await whenSalon(world.bot.engine, threadId, finished, 10_000);
    expect(done.interjections).toEqual([]);
    expect(world.discord.messages(threadId).some((m) => /too late to be answered/.test(m.content))).toBe(false);
  });

  it('at random moments across several turns, every reply names the turn that answered', async () => {
    const seed = Number(process.env.SALON_ASK_SEED ?? Math.floor(Math.random() * 2 ** 31));
    const random = seededRandom(seed);
    world = await startWorld({ rounds: 4, models: { seed, timing: { delayMs: [0, 120] } } });
    const threadId = await startSalon(world);
    const replies: { question: string; content: string; ephemeral: boolean }[] = [];
    for (let i = 0; i < 6; i++) {
      // Wait for a random number of requests, then ask at once or a moment later: before, during or after a call.
      await world.models.waitForRequests(1 + Math.floor(random() * 7));
      const question = `Question ${i}?`;
      const to = random() < 0.3 ? (random() < 0.5 ? 'A' : 'B') : undefined;
      const reply = await ask(world, threadId, question, to);
      replies.push({ question, content: reply.content, ephemeral: reply.ephemeral });
    }
    const done = await whenSalon(world.bot.engine, threadId, finished, 20_000);
    for (const { question, content, ephemeral } of replies) {
      if (ephemeral) {
        // Refused: nobody would answer, and the salon kept nothing of it.
        expect(content, `seed ${seed}`).toMatch(/no turn left|last turn is already being written/);
        expect(done.interjections.some((q) => q.text === question)).toBe(false);
      } else {
        expectKept(done, question, promised(content));
      }
    }
  });
});
