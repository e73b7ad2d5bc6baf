/**
 * Figure 9: salon as a cluster of processes (README, "Running on several machines"): workers (SALON_ROLE=worker)
 * sharing salons through the machine's PostgreSQL (a schema of their own per run) and a BullMQ queue on a private
 * redis-server, every worker's REST going through one proxy process (SALON_ROLE=proxy, SALON_PROXY_UPSTREAM = the
 * fake Discord), all compiled into bench/.build and run as their own processes. The fake Discord runs with its rate
 * limits ON (its defaults: 50 requests/s global per token, 5 posts or edits per 5 s per channel) and the bot may not
 * manage webhooks (bit 29 off), so it posts as the bot and the bot token's global limit is what binds. No gateway
 * runs: nothing here comes from a command.
 *
 * Throughput (one run per worker count): `salons` threads are created in the fake over REST, spread over `guilds`
 * guilds (their channels), through the proxy with the bot token, as the bot would create them. The salon records
 * are written straight into the PostgreSQL store with the project's own domain and store code (bench/lib/seed.ts:
 * `createSalon`, then the header post marked delivered, so every Discord request of the run is a turn's or the
 * "finished" notice's), one round (two turns), delay 0, due now. The workers start idle (their start-up sweep finds
 * nothing), then the bench wakes every salon through the queue at once (`QueueWakeups.wake`, opened with
 * `openJobQueue`, as a gateway does): an explicit moment zero, where the sweep (SALON_SWEEP_SECONDS, left at its
 * default of 60 s) would only have found them at its next period. Models answer within 20–50 ms (`stream: false`:
 * the whole reply; streamed: in chunks over about 50 ms). Leases and concurrency are the product's defaults
 * (SALON_LEASE_MS 30 s, SALON_WORKER_CONCURRENCY 50).
 *   A turn counts when the fake Discord first answers 2xx to a post or edit that shows its whole reply. The window
 * runs from the moment `from` of the turns were shown to the moment `to` were, and the run stops there (all due
 * salons stay queued well past it, so the window is the steady state, not the start-up or the tail). Over the
 * window: turns/s, requests/s arriving at the fake (all of them count toward the global limit), their share of
 * 50/s; over the whole run: 429s, as the fake counts them (`rateLimited`: a 429 the client could not foresee;
 * `rateLimitViolations`: a request sent although told to wait).
 *
 * Fail-over: one worker takes `salons` salons (woken over `spreadMs`, so their lease renewals fall at every phase
 * of the kill) whose model requests the fake OpenAI server holds open: they are mid-turn. A second worker starts
 * (its start-up sweep finds every salon's job active, so it takes nothing) and the first is killed with SIGKILL.
 * Per salon: the time from the kill to its model request arriving again at the model server (the turn resumed on
 * the other worker), and to its turn shown on the fake Discord. SALON_LEASE_MS is set short (10 s; the default
 * 30 s would make a slow bench), and it scales the result: see the notes in run.ts for the expected bound.
 */
import { randomUUID } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { join } from 'node:path';
import pg from 'pg';
import { pino } from 'pino';
import { openJobQueue, type JobQueue } from '../../src/queue/job-queue.js';
import { PostgresSalonStore } from '../../src/store/postgres-salon-store.js';
import { DEFAULT_BOT_PERMISSIONS, FakeDiscord, Permission, type AddedGuild, type RecordedRequest } from '../../test/fakes/discord/index.js';
import { FakeOpenAI, type ChatRequest, type Reply } from '../../test/fakes/openai-server.js';
import { freePort, startRedis } from '../../test/helpers/servers.js';
import { POSTGRES_URL } from '../../test/helpers/server-urls.js';
import { ELD_RESOLUTION_MS } from '../probe.js';
import { BotProcess } from '../lib/bot.js';
import { MARKER, salonTag } from '../lib/models.js';
import { buildRecord } from '../lib/seed.js';
import { now, rng, sleep } from '../lib/stats.js';
import { prose } from '../lib/texts.js';

/** Discord's global limit for a bot token, and the fake's default. */
export const GLOBAL_PER_SECOND = 50;
/** Posting as the bot: every permission the product asks for but Manage Webhooks. */
const AS_BOT = DEFAULT_BOT_PERMISSIONS & ~Permission.ManageWebhooks;
/** A model turn's length here: one Discord message, so a turn is one post (or a draft and its final edit). */
const REPLY_CHARS = 600;

export interface ThroughputOptions {
  salons: number;
  workers: number;
  stream: boolean;
  /** Fractions of all the turns (2 per salon) between which the window runs; the run stops at `to`. */
  from: number;
  to: number;
  /** Gives up on the run after this long from the wake-up (what was shown by then is still measured). */
  capSeconds: number;
}

export interface ThroughputRun {
  workers: number;
  salons: number;
  stream: boolean;
  guilds: number;
  /** Wake → the last turn of the window. */
  runSeconds: number;
  /** Enqueuing every wake-up. */
  wakeMs: number;
  /** Wake → the first turn shown on Discord. */
  firstTurnMs: number;
  /** The window: from `from` to `to` of all the turns (fractions). */
  from: number;
  to: number;
  /** Wake → the window's start (`from` of the turns shown). */
  rampSeconds: number;
  windowSeconds: number;
  windowTurns: number;
  turnsPerSecond: number;
  requestsPerSecond: number;
  /** requestsPerSecond ÷ 50. */
  globalShare: number;
  requestsPerTurn: number;
  /**
   * Turns/s in consecutive 10-s slices of the window. (Per second would mislead: the proxy lets 50 requests go at
   * once, then the next 50 about 1,025 ms later, so some whole seconds hold two bursts and some none.)
   */
  sliceTurnsPerSecond: number[];
  /** Most requests that arrived at the fake within any 1,000 ms, over the run. */
  maxInAnySecond: number;
  /** Requests that reached the fake over the whole run (wake → stop). */
  requests: number;
  /** Over the whole run, as the fake counts them. */
  rateLimited: number;
  rateLimitViolations: number;
  /** 429s by route and scope, over the whole run. */
  report429: string;
  /** Requests in the window by kind (e.g. "POST /channels/:id/messages"). */
  byRoute: Record<string, number>;
  /** Turns written per worker (its `turn written` log lines), over the run. */
  turnsPerWorker: number[];
  /** CPU (user + system) of the workers together, and of the proxy, per turn shown, over the run. */
  workerCpuPerTurnMs: number;
  proxyCpuPerTurnMs: number;
  /** Event-loop delay over the run, ms (10 ms resolution subtracted): the proxy's, and the bench process's (the fakes). */
  proxyEld: { p99: number; max: number };
  fakesEld: { p99: number; max: number };
  /** Turns shown on more than one message (their marker in two messages of a thread). */
  turnsShownTwice: number;
  /** Warnings and errors the processes logged (counts by message). */
  problems: Record<string, number>;
  /** Creating the run's threads through the proxy, before the workers started: the proxy alone at full speed. */
  threads: { count: number; seconds: number; rateLimited: number };
}

export interface FailoverOptions {
  salons: number;
  leaseMs: number;
  /** The salons are taken over this span, so their lease renewals (every third of the lease) fall at every phase of the kill. */
  spreadMs: number;
}

export interface FailoverRun {
  salons: number;
  leaseMs: number;
  spreadMs: number;
  /** Kill → the salon's model request arriving again (from the other worker), per salon. */
  resumedMs: number[];
  /** Kill → the salon's turn shown on Discord, per salon. */
  postedMs: number[];
  /** Salons that had not resumed when the bench stopped waiting. */
  missing: number;
  turnsShownTwice: number;
  problems: Record<string, number>;
}

type Log = (line: string) => void;

interface RunSetup {
  ids: string[];
  where: { storeUrl: string; prefix: string };
  workers: BotProcess[];
  queue: JobQueue;
  threads: { seconds: number; rateLimited: number };
}

/**
 * What every run of the figure shares: the fake Discord and its guilds, the model server, a private redis-server
 * and the proxy process. Each run has its own threads, PostgreSQL schema and queue prefix.
 */
export class ClusterRig {
  /** Model call index → its whole reply, for telling when Discord shows a turn in full. */
  private readonly replies = new Map<number, string>();
  private readonly schemas: string[] = [];
  private readonly processes: BotProcess[] = [];
  private runs = 0;

  private constructor(
    readonly dir: string,
    readonly discord: FakeDiscord,
    readonly models: FakeOpenAI,
    readonly guilds: AddedGuild[],
    private readonly redis: ChildProcess,
    readonly redisUrl: string,
    readonly proxy: BotProcess,
    readonly proxyUrl: string,
  ) {}

  static async start(guildCount: number): Promise<ClusterRig> {
    const dir = mkdtempSync(join(tmpdir(), 'salon-bench-cluster-'));
    // Rate limits on: the fake's defaults.
    const discord = await FakeDiscord.start({ botPermissions: AS_BOT });
    const guilds: AddedGuild[] = [{ guildId: discord.guildId, channelId: discord.channelId, shard: 0 }];
    while (guilds.length < guildCount) guilds.push(discord.addGuild());
    const models = await FakeOpenAI.start();
    let redis: ChildProcess | undefined;
    let proxy: BotProcess | undefined;
    try {
      const redisPort = await freePort();
      mkdirSync(join(dir, 'redis'));
      redis = await startRedis(redisPort, join(dir, 'redis'), { persist: false });
      const proxyPort = await freePort();
      proxy = BotProcess.start({
        dir: processDir(dir, 'proxy'),
        apiBase: '',
        token: discord.token,
        modelsBaseURL: models.baseURL,
        rounds: 1,
        turnDelaySeconds: 0,
        // Its event-loop delay tells whether it sent late (bench/probe.ts).
        probe: true,
        env: { SALON_ROLE: 'proxy', SALON_PROXY_PORT: String(proxyPort), SALON_PROXY_HOST: '127.0.0.1', SALON_PROXY_UPSTREAM: discord.apiBase },
      });
      const listening = await proxy.waitForMessage('REST proxy listening');
      const rig = new ClusterRig(dir, discord, models, guilds, redis, `redis://127.0.0.1:${redisPort}`, proxy, String(listening.line.url));
      rig.processes.push(proxy);
      return rig;
    } catch (err) {
      proxy?.child.kill('SIGKILL');
      redis?.kill('SIGKILL');
      await discord.stop();
      await models.stop();
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
  }

  /** The model's reply to call `index`: marked `(r<index>)` so posts can be matched to replies. */
  private reply(call: ChatRequest, random: () => number): Reply {
    const text = `(r${call.index}) ${prose(REPLY_CHARS, call.index + 1)}`;
    this.replies.set(call.index, text);
    const delayMs = 20 + random() * 30;
    if (call.body.stream !== true) return { text, delayMs };
    return { text, delayMs: delayMs / 2, firstChunkMs: 0, chunkSize: 80, chunkDelayMs: delayMs / 2 / 8 };
  }

  answerQuickly(seed: number): void {
    const random = rng(seed);
    this.models.setScript((call) => this.reply(call, random));
  }

  /** When Discord first showed each model call's whole reply (Date.now() of the request's arrival), from now on. */
  watchTurns(): { shown: Map<number, number>; stop: () => void } {
    const shown = new Map<number, number>();
    const listener = (r: RecordedRequest) => {
      if (r.status === null || r.status >= 300 || (r.method !== 'POST' && r.method !== 'PATCH')) return;
      if (!/^\/channels\/\d+\/messages(\/\d+)?$/.test(r.path)) return;
      const content = (r.body as { content?: unknown } | undefined)?.content;
      if (typeof content !== 'string') return;
      const call = Number(MARKER.exec(content)?.[1] ?? Number.NaN);
      if (Number.isNaN(call) || shown.has(call)) return;
      const text = this.replies.get(call);
      if (text !== undefined && content.includes(text)) shown.set(call, r.at);
    };
    this.discord.on('request', listener);
    return { shown, stop: () => this.discord.off('request', listener) };
  }

  /** Creates `count` public threads, spread over the guilds' channels, through the proxy with the bot token. */
  async createThreads(count: number): Promise<{ threads: Array<{ id: string; guild: AddedGuild }>; seconds: number; rateLimited: number }> {
    const before = this.discord.rateLimited + this.discord.rateLimitViolations;
    const started = performance.now();
    const threads: Array<{ id: string; guild: AddedGuild }> = Array.from({ length: count });
    let next = 0;
    const lane = async () => {
      while (next < count) {
        const i = next++;
        const guild = this.guilds[i % this.guilds.length]!;
        for (let attempt = 1; ; attempt++) {
          const res = await fetch(`${this.proxyUrl}/v10/channels/${guild.channelId}/threads`, {
            method: 'POST',
            headers: { authorization: `Bot ${this.discord.token}`, 'content-type': 'application/json' },
            body: JSON.stringify({ name: `salon ${this.runs}-${i}`, type: 11, auto_archive_duration: 10080 }),
          });
          if (res.status === 201) {
            threads[i] = { id: ((await res.json()) as { id: string }).id, guild };
            break;
          }
          const body = await res.text();
          if (attempt >= 5 || (res.status !== 429 && res.status < 500))
            throw new Error(`bench: creating a thread through the proxy answered ${res.status}: ${body}`);
          await sleep(500);
        }
      }
    };
    // The proxy queues and paces them; 60 in flight keep it busy without a connection per thread.
    await Promise.all(Array.from({ length: Math.min(60, count) }, lane));
    return { threads, seconds: (performance.now() - started) / 1000, rateLimited: this.discord.rateLimited + this.discord.rateLimitViolations - before };
  }

  /**
   * A run's cluster, ready to go: its threads, a fresh PostgreSQL schema and queue prefix, `workers` workers taking
   * jobs (their start-up sweep done, on a store still empty), then the salon records written in, due now. Nothing
   * wakes them until `wake`.
   */
  async setUp(count: number, workers: number, stream: boolean, env: Record<string, string> = {}): Promise<RunSetup> {
    const created = await this.createThreads(count);
    this.runs += 1;
    const run = this.runs;
    const schema = `salon_bench_cluster_${process.pid}_${run}`;
    this.schemas.push(schema);
    const where = { storeUrl: `${POSTGRES_URL}?schema=${schema}`, prefix: `bench-${run}-${randomUUID().slice(0, 8)}` };
    // Opening the store creates the schema and tables, before the workers open it too.
    const store = await PostgresSalonStore.open(POSTGRES_URL, { schema, maxConnections: 8 });
    let queue: JobQueue | undefined;
    const started: BotProcess[] = [];
    try {
      queue = await openJobQueue(this.redisUrl, where.prefix, pino({ level: 'silent' }));
      started.push(...(await Promise.all(Array.from({ length: workers }, (_, i) => this.worker(`run-${run}-worker-${i}`, where, stream, env)))));
      // Each worker arranges a sweep as it starts; it must have run (and found nothing) before the salons exist, or
      // it would wake them itself.
      const deadline = Date.now() + 15_000;
      for (;;) {
        const counts = await queue.queue.getJobCounts('waiting', 'active', 'delayed', 'completed');
        if (counts.completed! >= 1 && counts.waiting! + counts.active! === 0) break;
        if (Date.now() > deadline) throw new Error(`bench: the workers' start-up sweep did not run: ${JSON.stringify(counts)}`);
        await sleep(100);
      }
      const createdAt = Date.now();
      for (let i = 0; i < created.threads.length; i += 64) {
        await Promise.all(
          created.threads
            .slice(i, i + 64)
            .map(({ id, guild }, j) =>
              store.save(
                buildRecord({ id, channelId: guild.channelId, guildId: guild.guildId, tag: i + j, rounds: 1, delaySeconds: 0, turnsDone: 0, createdAt }),
              ),
            ),
        );
      }
    } catch (err) {
      await queue?.close();
      await this.stopAll(started);
      throw err;
    } finally {
      await store.close();
    }
    return { ids: created.threads.map((t) => t.id), where, workers: started, queue, threads: created };
  }

  /** Starts a worker and waits until it takes jobs. */
  async worker(name: string, where: { storeUrl: string; prefix: string }, stream: boolean, env: Record<string, string> = {}): Promise<BotProcess> {
    const bot = BotProcess.start({
      dir: processDir(this.dir, name),
      apiBase: this.proxyUrl,
      token: this.discord.token,
      modelsBaseURL: this.models.baseURL,
      storeUrl: where.storeUrl,
      rounds: 1,
      turnDelaySeconds: 0,
      salon: { stream },
      env: { SALON_ROLE: 'worker', SALON_QUEUE_URL: this.redisUrl, SALON_QUEUE_PREFIX: where.prefix, ...env },
    });
    this.processes.push(bot);
    await bot.waitForMessage('taking salon steps from the job queue');
    return bot;
  }

  /**
   * Wakes every salon of the run through the shared queue, as a gateway does after saving a change: all due now, or
   * spread evenly over `spreadMs`; closes the queue.
   */
  async wake(setup: RunSetup, spreadMs = 0): Promise<number> {
    const started = performance.now();
    try {
      const at = Date.now();
      const n = setup.ids.length;
      // Version 2: what buildRecord saved.
      for (let i = 0; i < n; i += 200) {
        await Promise.all(setup.ids.slice(i, i + 200).map((id, j) => setup.queue.wakeups.wake(id, 2, at + ((i + j) * spreadMs) / n)));
      }
    } finally {
      await setup.queue.close();
    }
    return performance.now() - started;
  }

  /** Turns shown on more than one message in these threads. */
  turnsShownTwice(threads: string[]): number {
    let twice = 0;
    for (const thread of threads) {
      const seen = new Map<string, number>();
      for (const m of this.discord.messages(thread)) {
        const call = MARKER.exec(m.content)?.[1];
        if (call !== undefined) seen.set(call, (seen.get(call) ?? 0) + 1);
      }
      for (const n of seen.values()) if (n > 1) twice += 1;
    }
    return twice;
  }

  /**
   * 429s by method, route shape and scope, with when they came (seconds after `since`); and the requests that
   * arrived after a 429 had been answered and before its reset, which the fake counts as sent although told to wait,
   * with how long after the answer they arrived (a few ms: they were on their way before the answer was).
   */
  static report429(requests: readonly RecordedRequest[], since: number): string {
    const seen = new Map<string, number[]>();
    const late: number[] = [];
    for (const r of requests) {
      if (r.status !== 429) continue;
      const body = r.response as { global?: boolean; retry_after?: number } | undefined;
      const key = `${routeOf(r)} (${body?.global ? 'global' : 'bucket'})`;
      seen.set(key, [...(seen.get(key) ?? []), (r.at - since) / 1000]);
      const answered = r.respondedAt ?? r.at;
      const reset = answered + (body?.retry_after ?? 0) * 1000;
      for (const q of requests) if (q !== r && q.at >= answered && q.at < reset && (body?.global || q.path === r.path)) late.push(q.at - answered);
    }
    if (seen.size === 0) return 'none';
    const list = [...seen].map(([k, at]) => `${at.length}× ${k} at ${at.map((t) => `${t.toFixed(1)} s`).join(', ')}`).join('; ');
    return late.length === 0
      ? `${list}; no request arrived after a 429's answer before its reset`
      : `${list}; ${late.length} request(s) arrived after a 429's answer before its reset, ${Math.min(...late)}–${Math.max(...late)} ms after it`;
  }

  async stopAll(bots: BotProcess[]): Promise<void> {
    for (const bot of bots) if (bot.child.exitCode === null && bot.child.signalCode === null) bot.child.kill('SIGKILL');
    await Promise.all(bots.map((b) => b.exited));
  }

  async close(): Promise<void> {
    await this.stopAll(this.processes);
    await this.discord.stop();
    await this.models.stop();
    this.redis.kill('SIGKILL');
    const client = new pg.Client({ connectionString: POSTGRES_URL });
    await client.connect();
    try {
      for (const schema of this.schemas) await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    } finally {
      await client.end();
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function processDir(root: string, name: string): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** "POST /channels/:id/messages" and the like. */
function routeOf(r: RecordedRequest): string {
  return `${r.method} ${r.path.replace(/\d{5,}/g, ':id').replace(/\/webhooks\/:id\/[^/]+/, '/webhooks/:id/:token')}`;
}

/** Warnings (40) and worse (50, 60) the processes logged, by message, over their logs from `from` on. */
function problemsOf(bots: Array<{ bot: BotProcess; from?: number }>): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const { bot, from = 0 } of bots) {
    for (const { line } of bot.logs.slice(from)) {
      const level = Number(line.level);
      if (!(level >= 40)) continue;
      const err = (line.err as { message?: unknown } | undefined)?.message;
      const why = typeof err === 'string' ? ` (${err.replace(/\d{5,}/g, ':id').slice(0, 160)})` : '';
      const key = `${level >= 50 ? 'error' : 'warn'}: ${String(line.msg)}${why}`;
      counts[key] = (counts[key] ?? 0) + 1;
    }
  }
  return counts;
}

/** Event-loop delay of the bench process itself, where the fakes run. */
function benchEld(): { stop: () => { p99: number; max: number } } {
  const histogram = monitorEventLoopDelay({ resolution: ELD_RESOLUTION_MS });
  histogram.enable();
  return {
    stop: () => {
      histogram.disable();
      return { p99: Math.max(0, histogram.percentile(99) / 1e6 - ELD_RESOLUTION_MS), max: Math.max(0, histogram.max / 1e6 - ELD_RESOLUTION_MS) };
    },
  };
}

/** The most requests that arrived within any 1,000 ms. */
function maxInAnySecond(requests: readonly RecordedRequest[]): number {
  let most = 0;
  for (let i = 0, j = 0; i < requests.length; i++) {
    while (requests[i]!.at - requests[j]!.at >= 1_000) j++;
    most = Math.max(most, i - j + 1);
  }
  return most;
}

/** 1,000 salons due at once, `workers` workers behind one proxy: see the top of the module. */
export async function throughputRun(rig: ClusterRig, options: ThroughputOptions, log: Log = () => {}): Promise<ThroughputRun> {
  const { discord } = rig;
  const proxyLogsFrom = rig.proxy.logs.length;
  const setup = await rig.setUp(options.salons, options.workers, options.stream);
  const { ids, workers, threads: created } = setup;
  log(`bench: figure 9: ${options.salons} threads created through the proxy in ${created.seconds.toFixed(1)} s; ${options.workers} worker(s) up`);
  rig.answerQuickly(options.workers * 7 + (options.stream ? 1 : 0));
  // Idle workers: the requests of their start-up (who am I, the application) are behind them.
  await sleep(500);
  const turns = rig.watchTurns();
  const total = options.salons * 2;
  const stopAt = Math.ceil(options.to * total);
  const cpuBefore = { workers: workers.map((w) => w.cpuMs()), proxy: rig.proxy.cpuMs() };
  const limiterBefore = { rateLimited: discord.rateLimited, violations: discord.rateLimitViolations };
  const firstRequest = discord.requests.length;
  await rig.proxy.probe('reset');
  const fakesEld = benchEld();
  const wokenAt = Date.now();
  let wakeMs: number;
  try {
    wakeMs = await rig.wake(setup);
    await discord
      .waitFor(() => turns.shown.size >= stopAt, { timeoutMs: options.capSeconds * 1000, description: `${stopAt} turns shown` })
      .catch(() => undefined);
  } finally {
    turns.stop();
  }
  const stoppedAt = Date.now();
  const eld = { fakes: fakesEld.stop(), proxy: (await rig.proxy.probe('stats')).eld };
  const cpuAfter = { workers: workers.map((w) => w.cpuMs()), proxy: rig.proxy.cpuMs() };
  const limiterAfter = { rateLimited: discord.rateLimited, violations: discord.rateLimitViolations };
  const turnsPerWorker = workers.map((w) => w.logs.filter((l) => l.line.msg === 'turn written').length);
  const problems = problemsOf([...workers.map((bot) => ({ bot })), { bot: rig.proxy, from: proxyLogsFrom }]);
  await rig.stopAll(workers);
  const requests = discord.requests.slice(firstRequest).filter((r) => r.at <= stoppedAt);

  const times = [...turns.shown.values()].sort((a, b) => a - b);
  if (times.length < 2) throw new Error(`bench: only ${times.length} turns were shown within ${options.capSeconds} s; ${JSON.stringify(problems)}`);
  const startIndex = Math.min(times.length - 2, Math.max(0, Math.ceil(options.from * total) - 1));
  const endIndex = Math.min(times.length - 1, stopAt - 1);
  const windowStart = times[startIndex]!;
  const windowEnd = times[endIndex]!;
  const windowMs = Math.max(1, windowEnd - windowStart);
  const inWindow = requests.filter((r) => r.at > windowStart && r.at <= windowEnd);
  const byRoute: Record<string, number> = {};
  for (const r of inWindow) byRoute[routeOf(r)] = (byRoute[routeOf(r)] ?? 0) + 1;
  const sliceTurnsPerSecond: number[] = [];
  for (let t = windowStart; t + 10_000 <= windowEnd; t += 10_000) sliceTurnsPerSecond.push(times.filter((at) => at > t && at <= t + 10_000).length / 10);
  const windowTurns = endIndex - startIndex;
  const workerCpu = cpuAfter.workers.reduce((n, v, i) => n + v - cpuBefore.workers[i]!, 0);
  const eldMs = (v: number) => Math.max(0, v - ELD_RESOLUTION_MS);
  return {
    workers: options.workers,
    salons: options.salons,
    stream: options.stream,
    guilds: rig.guilds.length,
    runSeconds: (windowEnd - wokenAt) / 1000,
    wakeMs,
    firstTurnMs: times[0]! - wokenAt,
    from: options.from,
    to: options.to,
    rampSeconds: (windowStart - wokenAt) / 1000,
    windowSeconds: windowMs / 1000,
    windowTurns,
    turnsPerSecond: (windowTurns * 1000) / windowMs,
    requestsPerSecond: (inWindow.length * 1000) / windowMs,
    globalShare: (inWindow.length * 1000) / windowMs / GLOBAL_PER_SECOND,
    requestsPerTurn: inWindow.length / Math.max(1, windowTurns),
    sliceTurnsPerSecond,
    maxInAnySecond: maxInAnySecond(requests),
    requests: requests.length,
    rateLimited: limiterAfter.rateLimited - limiterBefore.rateLimited,
    rateLimitViolations: limiterAfter.violations - limiterBefore.violations,
    report429: ClusterRig.report429(requests, wokenAt),
    byRoute,
    turnsPerWorker,
    workerCpuPerTurnMs: workerCpu / times.length,
    proxyCpuPerTurnMs: (cpuAfter.proxy - cpuBefore.proxy) / times.length,
    proxyEld: { p99: eldMs(eld.proxy.p99), max: eldMs(eld.proxy.max) },
    fakesEld: eld.fakes,
    turnsShownTwice: rig.turnsShownTwice(ids),
    problems,
    threads: {
      count: options.salons,
      seconds: created.seconds,
      rateLimited: created.rateLimited,
    },
  };
}

/** A worker killed with SIGKILL mid-turn on `salons` salons: see the top of the module. */
export async function failoverRun(rig: ClusterRig, options: FailoverOptions, log: Log = () => {}): Promise<FailoverRun> {
  const { models } = rig;
  // Each model request's salon, and when each salon's requests arrived.
  const tags = new Map<number, number>();
  const arrivals = new Map<number, number[]>();
  const onRequest = (call: ChatRequest) => {
    const tag = salonTag(call);
    if (tag === undefined) return;
    tags.set(call.index, tag);
    const list = arrivals.get(tag) ?? [];
    list.push(call.arrivedAt);
    arrivals.set(tag, list);
  };
  models.on('request', onRequest);
  // Every model request hangs until the kill: the salons are mid-turn on the first worker.
  models.setScript(() => ({ hang: true }));
  const env = { SALON_LEASE_MS: String(options.leaseMs) };
  let setup: RunSetup | undefined;
  let second: BotProcess | undefined;
  const turns = rig.watchTurns();
  try {
    setup = await rig.setUp(options.salons, 1, false, env);
    const first = setup.workers[0]!;
    await rig.wake(setup, options.spreadMs);
    const deadline = Date.now() + options.spreadMs + 30_000;
    while (arrivals.size < options.salons) {
      if (Date.now() > deadline) throw new Error(`bench: only ${arrivals.size} of ${options.salons} salons reached the model on the first worker`);
      await sleep(50);
    }
    // The second worker's own start-up sweep finds every salon's job active: it takes nothing until the kill.
    second = await rig.worker('failover-b', setup.where, false, env);
    await sleep(1_000);
    rig.answerQuickly(99);
    const killedAt = now();
    const killedAtWall = Date.now();
    first.child.kill('SIGKILL');
    await first.exited;
    log(`bench: figure 9: killed the first worker mid-turn on ${options.salons} salons; waiting for the second to take them over`);
    const resumedMs = new Map<number, number>();
    const postedMs = new Map<number, number>();
    const check = () => {
      for (const [tag, list] of arrivals) {
        const again = list.find((at) => at > killedAt);
        if (again !== undefined && !resumedMs.has(tag)) resumedMs.set(tag, again - killedAt);
      }
      // In the order Discord showed them: a salon's first turn shown after the kill is the one that was cut off.
      for (const [call, at] of turns.shown) {
        const tag = tags.get(call);
        if (tag !== undefined && !postedMs.has(tag)) postedMs.set(tag, at - killedAtWall);
      }
      return resumedMs.size >= options.salons && postedMs.size >= options.salons;
    };
    const waitUntil = Date.now() + options.leaseMs * 3 + 15_000;
    while (!check() && Date.now() < waitUntil) await sleep(100);
    return {
      salons: options.salons,
      leaseMs: options.leaseMs,
      spreadMs: options.spreadMs,
      resumedMs: [...resumedMs.values()],
      postedMs: [...postedMs.values()],
      missing: options.salons - resumedMs.size,
      turnsShownTwice: rig.turnsShownTwice(setup.ids),
      problems: problemsOf([{ bot: second }]),
    };
  } finally {
    turns.stop();
    models.off('request', onRequest);
    await rig.stopAll([...(setup?.workers ?? []), ...(second ? [second] : [])]);
  }
}

export interface ClusterOptions {
  salons: number;
  guilds: number;
  runs: Array<{ workers: number; stream: boolean }>;
  from: number;
  to: number;
  capSeconds: number;
  failover: FailoverOptions;
}

export interface ClusterFigure {
  throughput: ThroughputRun[];
  failover: FailoverRun;
}

/** Every run of figure 9 on one rig: the throughput runs in order, then the fail-over. */
export async function clusterFigure(options: ClusterOptions, log: Log = () => {}): Promise<ClusterFigure> {
  const rig = await ClusterRig.start(options.guilds);
  try {
    const throughput: ThroughputRun[] = [];
    for (const run of options.runs) {
      const r = await throughputRun(rig, { salons: options.salons, ...run, from: options.from, to: options.to, capSeconds: options.capSeconds }, log);
      log(
        `bench: figure 9: ${run.workers} worker(s)${run.stream ? ', streamed' : ''}: ${r.turnsPerSecond.toFixed(1)} turns/s, ${r.requestsPerSecond.toFixed(1)} requests/s, ${r.rateLimited + r.rateLimitViolations} 429s`,
      );
      throughput.push(r);
    }
    const failover = await failoverRun(rig, options.failover, log);
    return { throughput, failover };
  } finally {
    await rig.close();
  }
}
