/** One bench "world": the fake Discord, the model server and the bot process, in a temporary directory. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FakeDiscordOptions, InteractionHandle, InteractionResponseView, Member } from '../../test/fakes/discord/index.js';
import { BotProcess, type BotProcessOptions } from './bot.js';
import { BenchDiscord } from './discord.js';
import type { FakeOpenAI } from '../../test/fakes/openai-server.js';
import { startModels, type ModelBehaviour } from './models.js';

export interface WorldOptions {
  discord?: FakeDiscordOptions;
  models: ModelBehaviour;
}

/** Discord shows "The application did not respond" when an interaction is not acknowledged within 3 s. */
const ACK_DEADLINE_MS = 3_000;

/**
 * The commands' answers (undefined for none), and how many got no answer as their senders saw it: no
 * acknowledgement within 3 s, or no reply at all.
 */
export async function answers(
  handles: InteractionHandle[],
  timeoutMs = 30_000,
): Promise<{ replies: (InteractionResponseView | undefined)[]; unanswered: number }> {
  const settled = await Promise.allSettled(handles.map((ix) => ix.response(timeoutMs)));
  const replies = settled.map((s) => (s.status === 'fulfilled' ? s.value : undefined));
  const unanswered = replies.filter((reply, i) => {
    const { ackedAt, receivedAt } = handles[i]!;
    return reply === undefined || ackedAt === null || ackedAt - receivedAt > ACK_DEADLINE_MS;
  }).length;
  return { replies, unanswered };
}

export class World {
  readonly members: Member[] = [];
  /** `/salon start` commands sent, and those that got no answer (see `unanswered`). */
  readonly commands = { sent: 0, unanswered: 0 };

  private constructor(
    readonly dir: string,
    readonly discord: BenchDiscord,
    readonly models: FakeOpenAI,
  ) {}

  static async start(options: WorldOptions): Promise<World> {
    const dir = mkdtempSync(join(tmpdir(), 'salon-bench-'));
    const discord = await BenchDiscord.start(options.discord);
    const models = await startModels(options.models);
    const world = new World(dir, discord, models);
    world.members.push(discord.fake.addMember({ username: 'ada', globalName: 'Ada' }), discord.fake.addMember({ username: 'bob', globalName: 'Bob' }));
    return world;
  }

  get storeUrl(): string {
    return `sqlite://${join(this.dir, 'salons.sqlite')}`;
  }

  /** Starts the bot and waits until its engine has started (gateway ready, salons resumed). */
  async startBot(
    options: Omit<BotProcessOptions, 'dir' | 'apiBase' | 'token' | 'modelsBaseURL'>,
    timeoutMs = 60_000,
    atConnect?: () => void,
  ): Promise<BotProcess> {
    const bot = BotProcess.start({
      dir: this.dir,
      apiBase: this.discord.fake.apiBase,
      token: this.discord.fake.token,
      modelsBaseURL: this.models.baseURL,
      storeUrl: this.storeUrl,
      ...options,
    });
    // What arrives the moment the gateway session is up, while the bot may still be loading its salons.
    if (atConnect) {
      await this.discord.fake.waitForGateway(timeoutMs);
      atConnect();
    }
    await bot.waitForMessage('engine started', timeoutMs);
    return bot;
  }

  /** Starts a salon through a real `/salon start` interaction and returns the thread id. */
  async startSalons(topics: string[], batch = 20, extra: Record<string, string | number> = {}, spacingMs = 0): Promise<string[]> {
    const { fake } = this.discord;
    const handles = [];
    for (let i = 0; i < topics.length; i += batch) {
      const group = topics
        .slice(i, i + batch)
        .map((topic, j) =>
          fake.interact({ user: this.members[(i + j) % this.members.length]!, name: 'salon', subcommand: 'start', options: { topic, ...extra } }),
        );
      handles.push(...group);
      // Discord wants an acknowledgement within 3 s; sending the next batch only after this one keeps the bot's queue short.
      await fake.waitFor(() => group.every((ix) => ix.ackedAt !== null), { timeoutMs: 10_000, description: 'acknowledgements' });
      if (spacingMs > 0) await new Promise((resolve) => setTimeout(resolve, spacingMs));
    }
    const { replies, unanswered } = await answers(handles);
    this.commands.sent += handles.length;
    this.commands.unanswered += unanswered;
    return replies.flatMap((reply) => {
      const id = reply && /<#(\d+)>/.exec(reply.content)?.[1];
      return id ? [id] : [];
    });
  }

  async close(bot?: BotProcess): Promise<void> {
    await bot?.stop();
    await this.discord.stop();
    await this.models.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
