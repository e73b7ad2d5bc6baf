/**
 * Commands and thread messages that arrive while the bot connects: discord.js emits them as soon as it is ready,
 * while the engine may still be loading thousands of stored salons. Each must be answered (or taken), never
 * dropped, and a command that cannot be answered within Discord's 3 s must be deferred first.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { buildRecord, seedStore } from '../../bench/lib/seed.js';
import { startBot, type RunningBot } from '../../src/app.js';
import * as T from '../../src/domain/transitions.js';
import type { SalonStore } from '../../src/engine/ports.js';
import { openKeyv } from '../../src/store/keyv-factory.js';
import { KeyvSalonStore } from '../../src/store/keyv-salon-store.js';
import { MessageFlag, type GatewaySessionInfo } from '../fakes/discord/index.js';
import { memoryLogger } from '../helpers/log.js';
import { endWorld, startSalon, startWorld, waitForMessages, type World } from './harness.js';
import { command } from '../helpers/command.js';

/** Enough stored salons that loading them takes clearly longer than READY (measured, and asserted below). */
const STORED = 6_000;

/** Paused salons in no guild: the engine loads every one, none takes a turn or counts against a limit. */
function* pausedSalons(count: number) {
  const createdAt = Date.now() - 86_400_000;
  for (let i = 0; i < count; i++) {
    const salon = buildRecord({ id: String(900_000_000_000_000_000n + BigInt(i)), tag: i, rounds: 3, turnsDone: 2, createdAt });
    T.pause(salon, createdAt + 200_000);
    yield salon;
  }
}

/** A world with one running salon (between turns for a day) whose bot is stopped, and `stored` more salons stored. */
async function stoppedWorldWithManySalons(stored: number): Promise<{ world: World; threadId: string; seedMs: number }> {
  const world = await startWorld({ rounds: 3, turnDelaySeconds: 86_400 });
  const threadId = await startSalon(world);
  // The header and the first turn are out (the second is a day away): nothing is owed when the bot stops.
  await waitForMessages(world, threadId, (ms) => ms.filter((m) => m.webhook_id !== null).length >= 1, 'the first turn');
  await world.bot.stop();
  const seedMs = await seedStore(world.storeUrl, pausedSalons(stored));
  return { world, threadId, seedMs };
}

/** Resolves with the first gateway session identified after `since` (READY and GUILD_CREATE are out by then). */
function nextSession(world: World, since: Set<string>): Promise<GatewaySessionInfo> {
  return world.discord.waitFor(() => world.discord.gatewaySessions().find((s) => s.connected && !since.has(s.sessionId)), {
    timeoutMs: 10_000,
    description: 'the restarted bot to identify',
  });
}

function sessionIds(world: World): Set<string> {
  return new Set(world.discord.gatewaySessions().map((s) => s.sessionId));
}

/** Starts the bot as the harness does, with a store of the test's own (to hold its loading). */
function launch(world: World, store: SalonStore): Promise<RunningBot> {
  return startBot({
    config: world.config,
    token: world.discord.token,
    apiBase: world.discord.apiBase,
    storeUrl: world.storeUrl,
    store,
    log: memoryLogger([world.discord.token]).log,
    readyTimeoutMs: 10_000,
    engine: { deliveryBackoffMs: () => 50, modelRetry: { maxAttempts: 2, backoffMs: () => 50 } },
  });
}

describe('commands sent as the bot connects', () => {
  let world: World | undefined;
  afterEach(async () => (world = await endWorld(world)));

  it('answers /salon start, ask and status and takes a thread message dispatched right after IDENTIFY, with thousands of salons stored', async () => {
    const seeded = await stoppedWorldWithManySalons(STORED);
    world = seeded.world;
    const { discord, ada, bob } = world;
    const { threadId } = seeded;

    const before = sessionIds(world);
    const launchedAt = performance.now();
    let startedAt: number | undefined;
    const restarting = world.restart().then((bot) => ((startedAt = performance.now()), bot));
    await nextSession(world, before);
    const identifiedAt = performance.now();

    // All four at once, the moment the gateway has said READY: the bot is still loading salons.
    const start = command(discord, ada, undefined, 'start', { topic: 'Sent as the bot connects' });
    const ask = command(discord, bob, threadId, 'ask', { question: 'Did you hear me at start-up?' });
    const status = command(discord, ada, threadId, 'status');
    const plain = discord.postUserMessage({ user: ada, channelId: threadId, content: 'And this plain question, sent at start-up?' });
    expect(startedAt, 'the bot had finished starting before the commands arrived: the test shows nothing').toBeUndefined();

    const [startReply, askReply, statusReply] = await Promise.all([start.response(15_000), ask.response(15_000), status.response(15_000)]);
    await restarting;
    const answeredAt = performance.now();

    expect(startReply.content).toMatch(/has begun in <#\d+>/);
    expect(startReply.ephemeral).toBe(false);
    const newThread = /<#(\d+)>/.exec(startReply.content)![1]!;
    expect(discord.channel(newThread)?.parent_id).toBe(discord.channelId);
    expect(askReply.content).toContain('Did you hear me at start-up?');
    expect(askReply.ephemeral).toBe(false);
    expect(statusReply.content).toMatch(/\*\*Round:\*\* 1 of 3 /);
    expect(statusReply.ephemeral).toBe(true);
    for (const ix of [start, ask, status]) expect(ix.ackedAt! - ix.receivedAt).toBeLessThan(3_000);

    // The plain message is taken: acknowledged with ✅ and kept in the record beside the /salon ask question.
    await discord.waitFor(
      () =>
        discord
          .messages(threadId)
          .find((m) => m.id === plain.id)
          ?.reactions.some((r) => r.emoji === '✅'),
      {
        timeoutMs: 10_000,
        description: 'the ✅ on the plain message',
      },
    );
    const salon = (await world.bot.engine.get(threadId))!;
    expect(salon.interjections.map((q) => q.text).sort()).toEqual(['And this plain question, sent at start-up?', 'Did you hear me at start-up?']);
    expect(world.bot.engine.loaded(String(900_000_000_000_000_000n + BigInt(STORED - 1)))?.status).toBe('paused');

    console.info(
      `[connect] ${STORED} salons stored (seeded in ${Math.round(seeded.seedMs)} ms); IDENTIFY ${Math.round(identifiedAt - launchedAt)} ms after launch, ` +
        `bot started ${Math.round(startedAt! - launchedAt)} ms after launch; commands answered ${Math.round(answeredAt - identifiedAt)} ms after IDENTIFY; ` +
        `deferred: ${[start, ask, status].map((ix) => ix.callbackType === 5).join('/')}`,
    );
  }, 60_000);

  it('defers commands (status and transcript privately) when the salons take longer than 3 s to load, then answers them', async () => {
    // Fewer salons: the hold, not their number, makes this load slow.
    const seeded = await stoppedWorldWithManySalons(500);
    world = seeded.world;
    const { discord, ada } = world;
    const { threadId } = seeded;

    // The same store, its loading held until the test lets go.
    const opened = await openKeyv(world.storeUrl);
    const inner = new KeyvSalonStore(opened.keyv, opened.close);
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let loadAsked = false;
    const store: SalonStore = {
      get: (id) => inner.get(id),
      save: (record, change) => inner.save(record, change),
      close: () => inner.close(),
      activeIds: async () => {
        loadAsked = true;
        await held;
        return inner.activeIds();
      },
      activeHeads: () => inner.activeHeads(),
      findShared: (token) => inner.findShared(token),
      listedHeads: (page) => inner.listedHeads(page),
    };
    const before = sessionIds(world);
    const starting = launch(world, store);
    await nextSession(world, before);

    const start = command(discord, ada, undefined, 'start', { topic: 'Sent while the salons load' });
    const status = command(discord, ada, threadId, 'status');
    const transcript = command(discord, ada, threadId, 'transcript');
    const choices = discord.autocomplete({
      user: ada,
      name: 'salon',
      subcommand: 'start',
      options: { topic: 'x' },
      focused: 'model_a',
      value: 'cl',
      timeoutMs: 5_000,
    });

    // Deferred within Discord's 3 s, each as private as its answer will be; the autocomplete gets no choices in time.
    const all = [start, status, transcript];
    const [offered] = await Promise.all([
      choices,
      discord.waitFor(() => all.every((ix) => ix.ackedAt !== null), { timeoutMs: 5_000, description: 'the three deferrals' }),
    ]);
    expect(offered).toEqual([]);
    expect(loadAsked).toBe(true);
    for (const ix of all) {
      expect(ix.callbackType, ix.id).toBe(5);
      expect(ix.ackedAt! - ix.receivedAt).toBeLessThan(3_000);
    }
    expect(start.current()!.flags & MessageFlag.Ephemeral).toBe(0);
    expect(status.current()!.flags & MessageFlag.Ephemeral).toBe(MessageFlag.Ephemeral);
    expect(transcript.current()!.flags & MessageFlag.Ephemeral).toBe(MessageFlag.Ephemeral);
    expect(all.every((ix) => ix.current()!.edits === 0)).toBe(true);

    // Held past Discord's 3 s, as a slow load of a very large store would be (a wait for time itself, not for the bot).
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, start.receivedAt + 3_200 - Date.now())));
    expect(
      all.every((ix) => ix.current()!.edits === 0),
      'answered before the salons were loaded',
    ).toBe(true);
    release();
    world.bot = await starting;

    const [startReply, statusReply, transcriptReply] = await Promise.all([start.response(10_000), status.response(10_000), transcript.response(10_000)]);
    expect(startReply.content).toMatch(/has begun in <#\d+>/);
    expect(startReply.ephemeral).toBe(false);
    expect(statusReply.content).toMatch(/\*\*Round:\*\* 1 of 3 /);
    expect(statusReply.ephemeral).toBe(true);
    expect(transcriptReply.content).toContain('The transcript so far');
    expect(transcriptReply.ephemeral).toBe(true);
    expect(transcriptReply.attachments.map((a) => a.filename)).toEqual([expect.stringMatching(/\.md$/)]);
    // One acknowledgement each: the commands that defer for themselves did not defer again.
    const callbacks = discord.requests.filter((r) => /^\/interactions\/\d+\/[^/]+\/callback$/.test(r.path) && all.some((ix) => r.path.includes(ix.id)));
    expect(callbacks.map((r) => r.status)).toEqual([204, 204, 204]);
  }, 60_000);
});
