/**
 * The real bot (discord.js client, engine, SQLite store, openai SDK) in-process, against the fake Discord
 * and the local OpenAI-compatible server. Nothing inside the bot is mocked.
 */
import { expect } from 'vitest';
import { startBot, type BotOptions, type RunningBot } from '../../src/app.js';
import type { Config } from '../../src/config/index.js';
import { deployCommands } from '../../src/deploy-commands.js';
import { FakeDiscord, type FakeDiscordOptions, type Member, type StoredMessage } from '../fakes/discord/index.js';
import { FakeOpenAI, type FakeOpenAIOptions } from '../fakes/openai-server.js';
import { testConfig, type TestConfigOptions } from '../helpers/config.js';
import { holdReply } from '../helpers/hold-reply.js';
import { memoryLogger } from '../helpers/log.js';
import { tempDir } from '../helpers/tmp.js';
import { command } from '../helpers/command.js';

export const MANAGE_THREADS = 1n << 34n;

export interface World {
  discord: FakeDiscord;
  models: FakeOpenAI;
  config: Config;
  bot: RunningBot;
  lines: string[];
  storeUrl: string;
  ada: Member;
  bob: Member;
  mod: Member;
  /** Starts the bot again over the same store (after `bot.stop()`). */
  restart(): Promise<RunningBot>;
  close(): Promise<void>;
}

export interface WorldOptions extends TestConfigOptions {
  discord?: FakeDiscordOptions;
  models?: FakeOpenAIOptions;
  configure?: (config: Config) => void;
  /** Engine settings in place of the fast ones below, e.g. a model retry slow enough to look at. */
  engine?: BotOptions['engine'];
  /** Serve the web gallery (port 0: any free port; `world.bot.web.url` says where). */
  web?: BotOptions['web'];
}

export async function startWorld(options: WorldOptions = {}): Promise<World> {
  const discord = await FakeDiscord.start(options.discord);
  const models = await FakeOpenAI.start(undefined, options.models);
  const config = testConfig(models.baseURL, options);
  options.configure?.(config);
  const dir = tempDir();
  const storeUrl = `sqlite://${dir.path}/salons.sqlite`;
  const { log, lines } = memoryLogger([discord.token, 'sk-test-0123456789abcdef']);
  await deployCommands({ token: discord.token, apiBase: discord.apiBase, guildId: discord.guildId });
  const launch = () =>
    startBot({
      config,
      token: discord.token,
      apiBase: discord.apiBase,
      storeUrl,
      log,
      readyTimeoutMs: 10_000,
      // Real backoff is seconds to minutes; tests keep the same shape at a faster pace.
      engine: { deliveryBackoffMs: (n) => Math.min(1_000, 50 * 2 ** (n - 1)), modelRetry: { maxAttempts: 2, backoffMs: () => 50 }, ...options.engine },
      ...(options.web ? { web: options.web } : {}),
    });
  const world: World = {
    discord,
    models,
    config,
    bot: await launch(),
    lines,
    storeUrl,
    ada: discord.addMember({ username: 'ada', globalName: 'Ada' }),
    bob: discord.addMember({ username: 'bob', globalName: 'Bob' }),
    mod: discord.addMember({ username: 'mod', globalName: 'Moderator', permissions: MANAGE_THREADS | (1n << 10n) | (1n << 11n) }),
    async restart() {
      world.bot = await launch();
      return world.bot;
    },
    async close() {
      await world.bot.stop();
      await discord.stop();
      await models.stop();
      dir.cleanup();
    },
  };
  await discord.waitForGateway(10_000);
  return world;
}

/** Starts a salon as `user` and returns its thread id once the reply links to it. */
export async function startSalon(world: World, options: Record<string, string | number> = {}, user = world.ada): Promise<string> {
  const ix = command(world.discord, user, undefined, 'start', { topic: 'Do models want their words to persist?', ...options });
  const reply = await ix.response(10_000);
  const threadId = /<#(\d+)>/.exec(reply.content)?.[1];
  if (!threadId) throw new Error(`no thread link in the reply: ${reply.content}`);
  return threadId;
}

/** Messages in the thread that are model turns (posted through the webhook, or as the bot with a name line). */
export function turnMessages(world: World, threadId: string): StoredMessage[] {
  return world.discord.messages(threadId).filter((m) => m.webhook_id !== null && m.interaction_id === null);
}

export function waitForMessages(
  world: World,
  threadId: string,
  predicate: (messages: StoredMessage[]) => boolean,
  description: string,
  timeoutMs = 10_000,
): Promise<StoredMessage[]> {
  return world.discord.waitFor(
    () => {
      const messages = world.discord.messages(threadId);
      return predicate(messages) ? messages : undefined;
    },
    { timeoutMs, description },
  );
}

/**
 * Makes the model server answer `Turn <n>.` to every request, holding request number `index` until the returned
 * function is called: a turn in flight, frozen at a moment the test chooses.
 */
export function holdModelRequest(world: World, index: number, text?: (n: number) => string): () => void {
  return holdReply(world.models, index, text);
}

/**
 * Ends a test's world: every request the bot sent must be one real Discord accepts, sent within its rate limits;
 * then everything is stopped. For `afterEach(async () => (world = await endWorld(world)))`.
 */
export async function endWorld(world: World | undefined): Promise<undefined> {
  if (!world) return undefined;
  try {
    expect(world.discord.violations).toEqual([]);
    expect(world.discord.rateLimitViolations).toBe(0);
  } finally {
    await world.close();
  }
  return undefined;
}
