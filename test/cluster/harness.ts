/**
 * salon as a cluster of real processes on one machine: gateways holding gateway shards, workers, and the REST
 * proxy, each `node src/main.ts` with its SALON_ROLE, sharing a PostgreSQL store and a BullMQ queue on a Redis of
 * the test's own; against one fake Discord that knows shards and guilds, and the local OpenAI-compatible server.
 * Nothing is mocked: the tests kill, freeze and restart these processes and servers as an operator's machines would.
 */
import { randomUUID } from 'node:crypto';
import { spawnSync, type ChildProcess } from 'node:child_process';
import { deployCommands } from '../../src/deploy-commands.js';
import type { SalonRecord } from '../../src/domain/salon.js';
import { PostgresSalonStore } from '../../src/store/postgres-salon-store.js';
import { ChildBot } from '../e2e/child-bot.js';
import { FakeDiscord, type AddedGuild, type FakeDiscordOptions, type Member, type StoredMessage } from '../fakes/discord/index.js';
import { FakeOpenAI } from '../fakes/openai-server.js';
import { dropSchema, freePort, PrivatePostgres, startRedis } from '../helpers/servers.js';
import { POSTGRES_URL } from '../helpers/server-urls.js';
import { tempDir } from '../helpers/tmp.js';
import { MARK, markedReply, turnProblems } from '../helpers/turn-marks.js';
import { deriveRandom } from '../fakes/random.js';
import { command } from '../helpers/command.js';

export interface ProcessClusterOptions {
  /** Seeds the models' replies and timing (see `replies`). */
  seed?: number;
  guilds?: number;
  shards?: number;
  rounds?: number;
  stream?: boolean;
  leaseMs?: number;
  /** A PostgreSQL of the test's own, which it may stop and start; the machine's otherwise. */
  privatePostgres?: boolean;
  /** Keep the queue across a Redis restart (AOF); without, a restart loses every job. */
  persistentRedis?: boolean;
  discord?: FakeDiscordOptions;
}

type Role = 'gateway' | 'worker' | 'proxy' | 'web';

export class ProcessCluster {
  readonly guilds: AddedGuild[] = [];
  /** One user, a member of every guild. */
  readonly members: Member[] = [];
  readonly processes: Array<{ role: Role; bot: ChildBot; name: string }> = [];
  proxyUrl?: string;
  /** Where the web role serves the gallery, once launched (launch it before the gateways that share links to it). */
  webUrl?: string;
  private redis!: ChildProcess;
  private redisPort!: number;
  private privatePg?: PrivatePostgres;
  private readonly schema = `salon_cluster_${process.pid}_${randomUUID().slice(0, 8)}`;
  private readonly prefix = `cluster-${randomUUID().slice(0, 8)}`;
  private readonly dir = tempDir('salon-cluster-');
  private reader?: PostgresSalonStore;

  private constructor(
    readonly options: Required<Pick<ProcessClusterOptions, 'guilds' | 'shards' | 'rounds' | 'stream' | 'leaseMs'>> & ProcessClusterOptions,
    readonly discord: FakeDiscord,
    readonly models: FakeOpenAI,
  ) {}

  static async start(options: ProcessClusterOptions = {}): Promise<ProcessCluster> {
    const settings = { guilds: 10, shards: 2, rounds: 2, stream: false, leaseMs: 8_000, seed: 1, ...options };
    const discord = await FakeDiscord.start({ shards: settings.shards, seed: settings.seed, ...settings.discord });
    const models = await FakeOpenAI.start(undefined, { seed: settings.seed });
    const cluster = new ProcessCluster(settings, discord, models);
    try {
      await cluster.setUp();
    } catch (err) {
      await cluster.close();
      throw err;
    }
    return cluster;
  }

  /**
   * Replies marked with their request's number (see turn-marks.ts), with seeded latency, first-token wait and
   * chunking; `hold` may keep a request open until the test lets it go.
   */
  replies(options: { maxDelayMs?: number; hold?: (index: number) => Promise<void> | undefined; slow?: (index: number) => boolean } = {}): void {
    const seed = this.options.seed ?? 1;
    this.models.setScript(async (req) => {
      await options.hold?.(req.index);
      const r = deriveRandom(seed, req.index);
      // A slow one is long and streams over several seconds, in small chunks.
      if (options.slow?.(req.index)) return { text: markedReply(req.index, () => 0.1), firstChunkMs: 0, chunkDelayMs: [150, 250], chunkSize: 40 };
      return {
        text: markedReply(req.index, r),
        delayMs: r() * (options.maxDelayMs ?? 300),
        firstChunkMs: r() < 0.5 ? r() * 100 : 300 + r() * 1_200,
        chunkDelayMs: [2, 60],
        chunkSize: 40 + Math.floor(r() * 300),
      };
    });
  }

  private async setUp(): Promise<void> {
    const { discord } = this;
    this.replies();
    this.guilds.push({ guildId: discord.guildId, channelId: discord.channelId, shard: discord.shardOf(discord.guildId) });
    while (this.guilds.length < this.options.guilds) this.guilds.push(discord.addGuild());
    const ada = discord.addMember({ username: 'ada', globalName: 'Ada' });
    this.members.push(ada);
    for (const guild of this.guilds.slice(1)) this.members.push(discord.addMember({ id: ada.id, username: 'ada', globalName: 'Ada', guildId: guild.guildId }));
    // Global commands, so every guild has /salon.
    await deployCommands({ token: discord.token, apiBase: discord.apiBase });
    this.redisPort = await freePort();
    this.redis = await this.startRedis();
    if (this.options.privatePostgres) this.privatePg = await PrivatePostgres.create(tempDir('salon-pg-').path);
  }

  private startRedis(): Promise<ChildProcess> {
    return startRedis(this.redisPort, this.dir.path, { persist: this.options.persistentRedis ?? true });
  }

  get storeUrl(): string {
    return `${this.privatePg?.url ?? POSTGRES_URL}?schema=${this.schema}`;
  }

  /** Starts a process of `role` and waits until it is at work; `stream` overrides the cluster's setting for it. */
  async launch(role: Role, env: Record<string, string> = {}, stream = this.options.stream): Promise<ChildBot> {
    const name = `${role}-${this.processes.filter((p) => p.role === role).length}`;
    const port = role === 'proxy' || role === 'web' ? await freePort() : undefined;
    const bot = ChildBot.start({
      apiBase: role === 'proxy' ? '' : (this.proxyUrl ?? this.discord.apiBase),
      token: this.discord.token,
      modelsBaseURL: this.models.baseURL,
      dir: this.dir.path,
      storeUrl: this.storeUrl,
      rounds: this.options.rounds,
      stream,
      configName: `${name}.yaml`,
      env: {
        SALON_ROLE: role,
        SALON_QUEUE_URL: `redis://127.0.0.1:${this.redisPort}`,
        SALON_QUEUE_PREFIX: this.prefix,
        SALON_LEASE_MS: String(this.options.leaseMs),
        SALON_SWEEP_SECONDS: '2',
        ...(port && role === 'proxy' ? { SALON_PROXY_PORT: String(port), SALON_PROXY_HOST: '127.0.0.1', SALON_PROXY_UPSTREAM: this.discord.apiBase } : {}),
        ...(port && role === 'web' ? { SALON_WEB_PORT: String(port), SALON_WEB_HOST: '127.0.0.1', SALON_PUBLIC_URL: `http://127.0.0.1:${port}` } : {}),
        // The gateways give the web role's links when they share a salon.
        ...(this.webUrl && role !== 'web' ? { SALON_PUBLIC_URL: this.webUrl } : {}),
        ...env,
      },
    });
    this.processes.push({ role, bot, name });
    const ready = {
      gateway: 'salons loaded; taking commands',
      worker: 'taking salon steps from the job queue',
      proxy: 'REST proxy listening',
      web: 'serving the web gallery',
    }[role];
    await bot.waitForLog((l) => l.msg === ready, 30_000);
    if (port && role === 'proxy') this.proxyUrl = `http://127.0.0.1:${port}/api`;
    if (port && role === 'web') this.webUrl = `http://127.0.0.1:${port}`;
    return bot;
  }

  /** A gateway for shard `shard` of the cluster's shard count. */
  gateway(shard: number): Promise<ChildBot> {
    return this.launch('gateway', { SHARD_IDS: String(shard), SHARD_COUNT: String(this.options.shards) });
  }

  /** Starts a salon in guild `guild` and resolves with its thread id once the reply links to it. */
  async startSalon(guild: number, options: Record<string, string | number> = {}, timeoutMs = 30_000): Promise<string> {
    const { channelId, guildId } = this.guilds[guild]!;
    const ix = command(this.discord, this.members[guild]!, { guildId, channelId }, 'start', { topic: `Salon in guild ${guild}`, ...options });
    const reply = await ix.response(timeoutMs);
    const threadId = /<#(\d+)>/.exec(reply.content)?.[1];
    if (!threadId) throw new Error(`no thread link in the reply: ${reply.content}\n${this.errors().join('\n')}`);
    return threadId;
  }

  /** Resolves once every thread shows its salon's "finished" notice. */
  async whenFinished(threads: string[], timeoutMs: number): Promise<void> {
    // Read from the requests as they come, not by copying every thread's messages at every change: this check runs in
    // the fake's own process, and a slow one would hold up the fake's clock and bunch requests into one window.
    const finished = new Set<string>();
    let seen = 0;
    const check = () => {
      const { requests } = this.discord;
      for (; seen < requests.length; seen++) {
        const r = requests[seen]!;
        const content = (r.body as { content?: unknown } | undefined)?.content;
        const channel = /^\/channels\/(\d+)\/messages$/.exec(r.path)?.[1];
        if (channel && r.method === 'POST' && typeof content === 'string' && content.includes('The salon has finished')) finished.add(channel);
      }
      return threads.every((t) => finished.has(t));
    };
    await this.discord.waitFor(check, { timeoutMs, description: `${threads.length} salons finished` }).catch((err: Error) => {
      const left = threads.filter((t) => !finished.has(t));
      const about = process.env.SALON_CLUSTER_DEBUG
        ? [
            ...this.processes.flatMap(({ bot, name }) => bot.lines.filter((l) => l.includes(left[0] ?? '-')).map((l) => `${name} ${l.slice(0, 400)}`)),
            ...this.queueState(left[0] ?? '-'),
            ...this.processes.flatMap(({ bot, name }) => bot.lines.slice(-8).map((l) => `last ${name} ${l.slice(0, 300)}`)),
          ]
        : [];
      throw new Error(
        `${err.message}: ${left.length} not finished (${left.slice(0, 5).join(', ')}…)\n${[...this.errors().slice(-20), ...about.slice(-60)].join('\n')}`,
      );
    });
  }

  async record(id: string): Promise<SalonRecord | undefined> {
    this.reader ??= await PostgresSalonStore.open(this.privatePg?.url ?? POSTGRES_URL, { schema: this.schema, maxConnections: 4 });
    return this.reader.get(id);
  }

  /**
   * What users would see wrong in the threads: a turn shown on more or fewer messages than it needs, out of order,
   * or with other text; a salon without all its turns; any post twice.
   */
  async problems(threads: string[], asBot = false): Promise<string[]> {
    const problems: string[] = [];
    for (const id of threads) {
      const salon = await this.record(id);
      if (!salon) {
        problems.push(`${id}: no salon`);
        continue;
      }
      if (salon.turns.length !== 2 * salon.rounds) problems.push(`${id}: ${salon.turns.length} turns of ${2 * salon.rounds}`);
      const shown = this.discord.messages(id).filter((m: StoredMessage) => MARK.test(m.content));
      const wrong = turnProblems(
        salon,
        shown.map((m) => m.content),
        asBot,
      );
      problems.push(...wrong);
      // What it takes to tell how: each message, and the ids the record gave each turn.
      if (wrong.length > 0 && process.env.SALON_CLUSTER_DEBUG) {
        problems.push(`  messages: ${shown.map((m) => `${m.id} ${m.author.username} ${m.content.slice(0, 12)}`).join(' | ')}`);
        problems.push(`  turns: ${salon.turns.map((t) => `${t.index}:${(t.messageIds ?? []).join(',')}`).join(' | ')}`);
        const lines = this.processes.flatMap(({ bot, name }) => bot.lines.filter((l) => l.includes(id)).map((l) => `${name} ${l.slice(0, 300)}`));
        problems.push(...lines.filter((l) => /"level":(4|5)\d|lease|letting|drive ended|posting/.test(l)).slice(-40));
      }
      const notices = this.discord.messages(id).filter((m) => m.content.includes('The salon has finished'));
      if (notices.length !== 1) problems.push(`${id}: ${notices.length} "finished" notices`);
      const headers = this.discord.messages(id).filter((m) => m.embeds.length > 0);
      if (headers.length !== 1) problems.push(`${id}: ${headers.length} headers`);
    }
    return problems;
  }

  /** The requests Discord answered 429, by method, route shape and scope: what a rate-limit failure is about. */
  rateLimitReport(): string {
    const counts = new Map<string, number>();
    for (const r of this.discord.requests.filter((q) => q.status === 429)) {
      const shape = r.path.replace(/\d{5,}/g, ':id').replace(/\/webhooks\/:id\/[^/]+/, '/webhooks/:id/:token');
      const key = `${r.method} ${shape} (${(r.response as { global?: boolean } | undefined)?.global ? 'global' : 'bucket'}) from ${this.senderName(r.headers['user-agent'])}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    return [...counts].map(([k, n]) => `${n}× ${k}`).join('; ') || 'no 429s';
  }

  private senderName(userAgent: string | undefined): string {
    return this.processes.find((p) => userAgent?.includes(`:${p.bot.process.pid}`))?.name ?? 'the proxy';
  }

  /** The process whose lease the salon's record names (its owner is `host:pid:…`). */
  async driverOf(salonId: string): Promise<ChildBot> {
    const owner = (await this.record(salonId))?.lease?.owner;
    const pid = Number(owner?.split(':')[1]);
    const found = this.processes.find((p) => p.bot.process.pid === pid);
    if (!found) throw new Error(`no process holds salon ${salonId} (lease owner ${owner ?? 'none'})`);
    return found.bot;
  }

  /** The queue's keys and lists as Redis holds them for one salon: for telling why a salon did not move. */
  private queueState(salonId: string): string[] {
    const cli = (...args: string[]) => spawnSync('redis-cli', ['-p', String(this.redisPort), ...args], { encoding: 'utf8' }).stdout.trim();
    const base = `${this.prefix}:salon-steps`;
    return [
      `keys: ${cli('--scan', '--pattern', `${base}:*${salonId}*`).split('\n').join(' ')}`,
      `wait: ${cli('LRANGE', `${base}:wait`, '0', '-1')}`,
      `active: ${cli('LRANGE', `${base}:active`, '0', '-1')}`,
      `delayed: ${cli('ZRANGE', `${base}:delayed`, '0', '-1', 'WITHSCORES')}`,
      `marker: ${cli('ZRANGE', `${base}:marker`, '0', '-1', 'WITHSCORES')}`,
      `dedup: ${cli('GET', `${base}:de:${salonId}`)}`,
      `now: ${Date.now()}`,
    ];
  }

  /** Every error (and worse) any process logged, with the process's name. */
  errors(): string[] {
    return this.processes.flatMap(({ bot, name }) => bot.lines.filter((l) => /"level":(5|6)\d/.test(l)).map((l) => `${name}: ${l}`));
  }

  /** Which process (by the name in its User-Agent) sent a recorded request. */
  senderOf(userAgent: string | undefined): ChildBot | undefined {
    return this.processes.find((p) => userAgent?.includes(`:${p.bot.process.pid}`))?.bot;
  }

  async restartRedis(whileDown: () => Promise<void> = async () => {}): Promise<void> {
    this.redis.kill('SIGKILL');
    await new Promise((resolve) => this.redis.once('exit', resolve));
    await whileDown();
    this.redis = await this.startRedis();
  }

  async restartPostgres(whileDown: () => Promise<void> = async () => {}): Promise<void> {
    if (!this.privatePg) throw new Error('restartPostgres needs privatePostgres');
    this.privatePg.stop();
    await whileDown();
    this.privatePg.start();
  }

  async close(): Promise<void> {
    for (const { bot } of this.processes.splice(0)) {
      if (bot.process.exitCode === null && bot.process.signalCode === null) {
        bot.process.kill('SIGCONT');
        await bot.kill();
      }
    }
    await this.reader?.close().catch(() => {});
    await this.discord.stop();
    await this.models.stop();
    this.redis?.kill('SIGKILL');
    if (this.privatePg) {
      this.privatePg.stop(true);
    } else {
      await dropSchema(POSTGRES_URL, this.schema);
    }
    this.dir.cleanup();
  }
}
