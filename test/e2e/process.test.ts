/**
 * The bot as a process: start-up errors, clean shutdown on SIGTERM, and kill -9 at each point of a turn,
 * after which a new process on the same store finishes the salon with every turn exactly once.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_BOT_PERMISSIONS, FakeDiscord, type Member, type RequestHold } from '../fakes/discord/index.js';
import { FakeOpenAI, type Reply } from '../fakes/openai-server.js';
import { tempDir } from '../helpers/tmp.js';
import { ChildBot } from './child-bot.js';
import { deployCommands } from '../../src/deploy-commands.js';
import { command } from '../helpers/command.js';
import { transcriptOf } from '../helpers/transcript.js';

const ROUNDS = 2;

describe('the bot process', () => {
  let discord: FakeDiscord;
  let models: FakeOpenAI;
  let dir: ReturnType<typeof tempDir>;
  let ada: Member;
  const children: ChildBot[] = [];

  async function setup(botPermissions = DEFAULT_BOT_PERMISSIONS) {
    // Discord lets a channel have about 5 posts in 5 s. As the bot, each turn is a post to the thread, so a salon fills
    // that window and the restarted bot waited out the rest of it (2 to 4 s a test) before its last posts, where through
    // the webhook its turns spend the webhook's bucket instead. The same limit at a faster pace keeps these tests about
    // the crash, not about the clock.
    discord = await FakeDiscord.start({ botPermissions, rateLimits: { perChannel: { count: 5, windowMs: 1_000 } } });
    models = await FakeOpenAI.start();
    await deployCommands({ token: discord.token, apiBase: discord.apiBase, guildId: discord.guildId });
    ada = discord.addMember({ username: 'ada', globalName: 'Ada' });
  }

  function launch(options: Partial<Parameters<typeof ChildBot.start>[0]> = {}): ChildBot {
    const child = ChildBot.start({ apiBase: discord.apiBase, token: discord.token, modelsBaseURL: models.baseURL, dir: dir.path, rounds: ROUNDS, ...options });
    children.push(child);
    return child;
  }

  async function ready(child: ChildBot) {
    await child.waitForLog((l) => l.msg === 'engine started');
  }

  beforeEach(() => {
    dir = tempDir();
  });

  afterEach(async () => {
    for (const child of children.splice(0)) if (child.process.exitCode === null && child.process.signalCode === null) await child.kill();
    await discord?.stop();
    await models?.stop();
    dir.cleanup();
  });

  it('exits 2 before connecting when the config is bad, naming the file and key', async () => {
    await setup();
    const before = discord.requests.length;
    const child = launch({ configText: 'models:\n  glm: { name: GLM, model: z, baseURL: nope }\nsalon: { modelA: glm, modelB: glm }\n' });
    const { code } = await child.exited;
    expect(code).toBe(2);
    expect(child.stderr.join('')).toMatch(/salon\.yaml: models\.glm\.baseURL: expected a URL/);
    expect(discord.requests).toHaveLength(before);
  });

  it('exits 1 with a clear message when the token is refused, without logging the token', async () => {
    await setup();
    const child = launch({ token: 'wrong-token-that-must-not-be-logged' });
    const { code } = await child.exited;
    expect(code).toBe(1);
    const out = child.lines.join('\n') + child.stderr.join('');
    expect(out).toContain('DISCORD_TOKEN was refused by Discord');
    expect(out).not.toContain('wrong-token-that-must-not-be-logged');
  });

  it('shuts down cleanly on SIGTERM with exit code 0', async () => {
    await setup();
    const child = launch();
    await ready(child);
    const { code } = await child.kill('SIGTERM');
    expect(code).toBe(0);
    expect(child.lines.some((l) => l.includes('"msg":"stopped"'))).toBe(true);
  });

  async function startSalon(): Promise<string> {
    const reply = await command(discord, ada, undefined, 'start', { topic: 'Crash-proof salons' }).response(15_000);
    return /<#(\d+)>/.exec(reply.content)![1]!;
  }

  /** Waits for the salon to finish in the thread, then checks every turn is there exactly once, in order. */
  async function expectExactlyOnce(threadId: string) {
    const child = children.at(-1)!;
    await discord.waitFor(() => discord.messages(threadId).some((m) => m.content.includes('finished after')), {
      timeoutMs: 20_000,
      description: 'the salon to finish',
    });
    const turns = discord
      .messages(threadId)
      .filter((m) => m.author.username === 'Claude Opus 4.5' || m.author.username === 'GLM 4.7' || /^\*\*(Claude Opus 4\.5|GLM 4\.7)\*\*/.test(m.content));
    expect(turns).toHaveLength(2 * ROUNDS);
    const texts = turns.map((m) => m.content.replace(/^\*\*.*\n/, ''));
    expect(new Set(texts).size).toBe(2 * ROUNDS);
    // The transcript agrees with the thread.
    command(discord, ada, threadId, 'close');
    const file = await transcriptOf(discord, threadId);
    expect(file.text.match(/^## Round \d: /gm)).toHaveLength(2 * ROUNDS);
    for (const text of texts) expect(file.text).toContain(text);
    expect(discord.violations).toEqual([]);
    await child.kill('SIGTERM');
  }

  it('survives kill -9 while a model is generating', async () => {
    await setup();
    models.setScript((req) => (req.index === 1 ? { hang: true } : { text: `Turn ${req.index}: ${'words '.repeat(5)}` }));
    const first = launch();
    await ready(first);
    const threadId = await startSalon();
    await models.waitForRequests(2);
    await first.kill('SIGKILL');
    const second = launch();
    await ready(second);
    await expectExactlyOnce(threadId);
  });

  it('survives kill -9 mid-stream: the restarted bot finishes the turn in the same messages', async () => {
    await setup();
    const long = Array.from({ length: 30 }, (_, i) => `Sentence ${i} of a long streamed turn about persistence.`).join(' ');
    let streams = 0;
    models.setScript((req) => {
      if (req.body.model === 'z-ai/glm-4.7' || req.body.stream !== true) return { text: `Turn ${req.index}.` };
      streams += 1;
      // The first stream never ends; the restarted bot's stream is quick.
      if (streams === 1) return { chunks: [long.slice(0, 200), long.slice(200, 400)], chunkDelayMs: 100, hang: true };
      return { chunks: [streams === 2 ? long : 'Round two from A.'] };
    });
    const first = launch({ stream: true });
    await ready(first);
    const threadId = await startSalon();
    await first.waitForLog((l) => l.msg === 'draft messages saved');
    await first.kill('SIGKILL');
    const draft = discord.messages(threadId).find((m) => m.author.username === 'Claude Opus 4.5')!;
    expect(draft.content.length).toBeLessThan(long.length);

    const second = launch({ stream: true });
    await ready(second);
    await discord.waitFor(() => discord.messages(threadId).some((m) => m.content.includes('finished after')), {
      timeoutMs: 20_000,
      description: 'the salon to finish',
    });
    // One message per A turn: the first is the draft the killed bot posted, finished in place.
    const byA = discord.messages(threadId).filter((m) => m.author.username === 'Claude Opus 4.5');
    expect(byA.map((m) => [m.id === draft.id, m.content])).toEqual([
      [true, long],
      [false, 'Round two from A.'],
    ]);
    expect(discord.violations).toEqual([]);
    await second.kill('SIGTERM');
  });

  for (const mode of ['webhook', 'bot'] as const) {
    const postPath = mode === 'webhook' ? /^\/webhooks\/\d+\/[^/]+$/ : /^\/channels\/\d+\/messages$/;
    const permissions = mode === 'webhook' ? DEFAULT_BOT_PERMISSIONS : DEFAULT_BOT_PERMISSIONS & ~(1n << 29n);

    it(`survives kill -9 after a turn is saved but before it is posted (${mode})`, async () => {
      await setup(permissions);
      models.setScript((req) => ({ text: `Turn ${req.index}.` }));
      const first = launch();
      await ready(first);
      // Let the header and the first turn through; hold the second turn's post, kill, and let Discord drop it.
      const threadId = await startSalon();
      await discord.waitFor(() => discord.messages(threadId).length >= 2 || undefined, { timeoutMs: 10_000, description: 'the first turn' });
      const hold = discord.hold({ method: 'POST', path: postPath });
      await hold.arrived(10_000);
      await first.kill('SIGKILL');
      hold.releaseWith(503);
      const second = launch();
      await ready(second);
      await expectExactlyOnce(threadId);
    });

    it(`survives kill -9 while the post is in flight and lands after the bot died (${mode})`, async () => {
      await setup(permissions);
      models.setScript((req) => ({ text: `Turn ${req.index}.` }));
      const first = launch();
      await ready(first);
      const threadId = await startSalon();
      await discord.waitFor(() => discord.messages(threadId).length >= 2 || undefined, { timeoutMs: 10_000, description: 'the first turn' });
      const hold = discord.hold({ method: 'POST', path: postPath });
      await hold.arrived(10_000);
      await first.kill('SIGKILL');
      // Discord processes the post although nobody is listening: it is out, but the bot never recorded it.
      hold.release();
      await discord.waitFor(() => discord.messages(threadId).some((m) => m.content.includes('Turn 1.')) || undefined, {
        timeoutMs: 5_000,
        description: 'the held post to land',
      });
      const second = launch();
      await ready(second);
      await expectExactlyOnce(threadId);
    });
  }
  /**
   * A streamed turn killed at each point of its life: the restarted bot shows the turn once, complete, with no
   * half-written message left. The first process's first A stream is the one interrupted; every later request
   * (the restarted bot's) answers at once.
   */
  interface KillPoint {
    name: string;
    /** The first A stream, and what to arm once the thread's header is out (before that stream's first text). */
    firstStream: Reply;
    arm?: (paths: { post: RegExp; edit: RegExp }) => RequestHold;
    /** Resolves at the moment to kill. */
    reached(child: ChildBot, threadId: string, hold?: RequestHold): Promise<unknown>;
    /** What Discord does with the held request once the bot is dead. */
    afterKill?: (hold: RequestHold) => void;
  }
  const opening = 'Opening words of a turn that';
  const killPoints: KillPoint[] = [
    {
      name: 'before the first draft post',
      firstStream: { chunks: ['never shown'], firstChunkMs: 60_000, hang: true },
      reached: () => models.waitForRequests(1),
    },
    {
      name: 'with the first draft post accepted by Discord and its answer lost',
      firstStream: { chunks: [opening, ' will never finish.'], chunkDelayMs: 60_000, hang: true },
      arm: ({ post }) => discord.hold({ method: 'POST', path: post, afterEffect: true }),
      reached: (_child, _thread, hold) => hold!.arrived(10_000),
      afterKill: (hold) => hold.drop(),
    },
    {
      name: 'between draft edits',
      firstStream: { chunks: Array.from({ length: 40 }, (_, i) => `Streamed sentence ${i} of a long turn. `), chunkDelayMs: 100, hang: true },
      reached: (_child, threadId) =>
        discord.waitFor(() => discord.messages(threadId).find((m) => m.content.includes('Streamed sentence') && m.edits >= 1), {
          timeoutMs: 10_000,
          description: 'a draft edit',
        }),
    },
    {
      name: 'with the final edit accepted by Discord and its answer lost',
      firstStream: { chunks: ['First words. ', 'The rest of the turn, complete.'], chunkDelayMs: 500 },
      arm: ({ edit }) => discord.hold({ method: 'PATCH', path: edit, afterEffect: true }),
      reached: (_child, _thread, hold) => hold!.arrived(10_000),
      afterKill: (hold) => hold.drop(),
    },
    {
      name: 'after the commit, with the final edit not yet made',
      firstStream: { chunks: ['First words. ', 'The rest of the turn, complete.'], chunkDelayMs: 500 },
      arm: ({ edit }) => discord.hold({ method: 'PATCH', path: edit }),
      reached: (_child, _thread, hold) => hold!.arrived(10_000),
      afterKill: (hold) => hold.releaseWith(503),
    },
  ];

  for (const mode of ['webhook', 'bot'] as const) {
    // Edits by message id: an interaction's own answer is edited as @original, so it never matches.
    const paths =
      mode === 'webhook'
        ? { post: /^\/webhooks\/\d+\/[^/]+$/, edit: /^\/webhooks\/\d+\/[^/]+\/messages\/\d+$/ }
        : { post: /^\/channels\/\d+\/messages$/, edit: /^\/channels\/\d+\/messages\/\d+$/ };
    const permissions = mode === 'webhook' ? DEFAULT_BOT_PERMISSIONS : DEFAULT_BOT_PERMISSIONS & ~(1n << 29n);
    for (const point of killPoints) {
      it(`shows a streamed turn once after kill -9 ${point.name} (${mode})`, async () => {
        await setup(permissions);
        let hold: RequestHold | undefined;
        let threadId: string | undefined;
        models.setScript(async (req) => {
          if (req.index !== 0) return { text: `Turn ${req.index}: ${'words '.repeat(5)}` };
          // Armed once the header is out, so the hold can only catch this turn's requests.
          await discord.waitFor(() => (threadId && discord.messages(threadId).length >= 1) || undefined, { timeoutMs: 10_000, description: 'the header' });
          hold = point.arm?.(paths);
          return point.firstStream;
        });
        const first = launch({ stream: true });
        await ready(first);
        threadId = await startSalon();
        await models.waitForRequests(1);
        await discord.waitFor(() => (point.arm ? hold : true) || undefined, { timeoutMs: 10_000, description: 'the hold to be armed' });
        await point.reached(first, threadId, hold);
        await first.kill('SIGKILL');
        if (hold) point.afterKill?.(hold);
        const second = launch({ stream: true });
        await ready(second);
        await expectExactlyOnce(threadId);
      });
    }
  }
});
