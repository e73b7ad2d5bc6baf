/** One bench "world": the fake Discord, the model server and the bot process, in a temporary directory. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FakeDiscordOptions, Member } from '../../test/fakes/discord/index.js';
import { BotProcess, type BotProcessOptions } from './bot.js';
import { BenchDiscord } from './discord.js';
import type { FakeOpenAI } from '../../test/fakes/openai-server.js';
import { startModels, type ModelBehaviour } from './models.js';

export interface WorldOptions {
  discord?: FakeDiscordOptions;
  models: ModelBehaviour;
}

export class World {
  readonly members: Member[] = [];

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
  async startBot(options: Omit<BotProcessOptions, 'dir' | 'apiBase' | 'token' | 'modelsBaseURL'>, timeoutMs = 60_000): Promise<BotProcess> {
    const bot = BotProcess.start({ dir: this.dir, apiBase: this.discord.fake.apiBase, token: this.discord.fake.token, modelsBaseURL: this.models.baseURL, storeUrl: this.storeUrl, ...options });
    await bot.waitForMessage('engine started', timeoutMs);
    return bot;
  }

  /** Starts a salon through a real `/salon start` interaction and returns the thread id. */
  async startSalons(topics: string[], batch = 20, extra: Record<string, string | number> = {}, spacingMs = 0): Promise<string[]> {
    const { fake } = this.discord;
    const handles = [];
    for (let i = 0; i < topics.length; i += batch) {
      const group = topics.slice(i, i + batch).map((topic, j) => fake.interact({ user: this.members[(i + j) % this.members.length]!, name: 'salon', subcommand: 'start', options: { topic, ...extra } }));
      handles.push(...group);
      // Discord wants an acknowledgement within 3 s; sending the next batch only after this one keeps the bot's queue short.
      await fake.waitFor(() => group.every((ix) => ix.ackedAt !== null), { timeoutMs: 10_000, description: 'acknowledgements' });
      if (spacingMs > 0) await new Promise((resolve) => setTimeout(resolve, spacingMs));
    }
    const replies = await Promise.all(handles.map((ix) => ix.response(30_000)));
    return replies.map((reply) => {
      const id = /<#(\d+)>/.exec(reply.content)?.[1];
      if (!id) throw new Error(`bench: no thread in the reply: ${reply.content}`);
      return id;
    });
  }

  async close(bot?: BotProcess): Promise<void> {
    await bot?.stop();
    await this.discord.stop();
    await this.models.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
