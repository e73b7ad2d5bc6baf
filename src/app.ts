/**
 * The running bot: config, store, engine and the Discord client wired together, with a clean shutdown.
 * main.ts runs it as a process; the end-to-end tests run it in-process against the fakes.
 *
 * Roles: 'both' is the whole bot in one process. With a job queue (queueUrl) the work splits: a 'gateway' holds
 * gateway shards, takes commands and thread messages, saves them and wakes the salon; a 'worker' has no gateway,
 * takes wake-ups from the queue, calls the models and posts over REST. 'both' with a queue is one of each.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { Status, type Client } from 'discord.js';
import type { Logger } from 'pino';
import * as salonCommand from '../commands/salon.js';
import type { Config } from './config/index.js';
import type { BotContext } from './discord/context.js';
import { connectGateway, signInWorker } from './discord/gateway.js';
import { DiscordPublisher } from './discord/thread-publisher.js';
import { StartupGate } from './discord/startup-gate.js';
import { SalonEngine, type EngineOptions } from './engine/engine.js';
import { OpenAIModelClient } from './models/openai-client.js';
import type { ModelClient, SalonStore } from './engine/ports.js';
import { openSalonStore } from './store/open-store.js';
import { openJobQueue } from './queue/job-queue.js';
import { startSalonWorker, type RunningWorker } from './queue/salon-worker.js';
import { StartupError } from './startup-error.js';
import { LocalLiveFeed, RedisLiveFeed, type LiveFeed } from './web/live-feed.js';
import { liveFeedPublisher } from './web/live-publisher.js';
import { startWebServer, type RunningWeb } from './web/server.js';

export type Role = 'both' | 'gateway' | 'worker';

/** How a bot that shares its salons with other processes reaches them. */
export interface ClusterOptions {
  /** Redis URL of the BullMQ job queue every process shares. */
  queueUrl: string;
  /** Put before the queue's keys, so several deployments (or tests) can share one Redis. */
  queuePrefix?: string;
  /** A salon's lease, and a job's lock: how long a worker that stopped answering keeps a salon from the others. */
  leaseMs?: number;
  /** Salons one worker drives at once. */
  concurrency?: number;
  /** How often some worker looks for live salons that no job will wake. */
  sweepEveryMs?: number;
}

export interface BotOptions {
  config: Config;
  token: string;
  /** REST base, e.g. http://127.0.0.1:PORT/api for a local fake; Discord's own when absent. */
  apiBase?: string;
  storeUrl: string;
  log: Logger;
  /** How long to wait for the gateway's READY before giving up. */
  readyTimeoutMs?: number;
  models?: ModelClient;
  /** A store to use instead of opening `storeUrl` (tests wrap one to slow it down); the bot closes it on stop. */
  store?: SalonStore;
  /** Engine settings to override, e.g. faster backoff in tests. */
  engine?: Pick<EngineOptions, 'deliveryBackoffMs' | 'modelRetry'>;
  /** Which parts run in this process; default 'both'. 'gateway' and 'worker' need `cluster`. */
  role?: Role;
  /** Several processes share the salons through a job queue; absent, this process drives them all on its own. */
  cluster?: ClusterOptions;
  /** The gateway shards this process holds, of `count`; absent, Discord's recommended count, all here. */
  shards?: { ids: number[]; count: number };
  /**
   * The web gallery. With `port`, this process serves it; `publicUrl` alone says where another process (the web
   * role) serves it, so `/salon share` can give its links.
   */
  web?: { port?: number; host?: string; publicUrl?: string; trustProxy?: boolean | string };
}

export interface RunningBot {
  role: Role;
  /** Logged in to the gateway for a gateway; signed in to REST only for a worker. */
  client: Client<true>;
  engine: SalonEngine;
  /** Whether plain thread messages can be read (the Message Content intent is enabled). */
  messageContent: boolean;
  /** The web gallery this process serves, if it does. */
  web?: RunningWeb;
  /** Whether each part of this process is working: the gateway ready, the worker taking jobs. */
  health(): { ok: boolean; role: Role; gateway?: string; worker?: boolean; shards?: number[] };
  stop(): Promise<void>;
}

async function openStore(url: string, log: Logger): Promise<SalonStore> {
  const opened = await openSalonStore(url, log);
  log.info({ store: opened.description }, 'store open');
  return opened.store;
}

/**
 * What the bot has opened, to close newest first: by a start that fails midway, and by stop(). Each is closed
 * whatever became of the one before; the first failure is thrown once all have been tried.
 */
class Opened {
  private readonly closers: Array<() => Promise<unknown>> = [];

  add(close: () => Promise<unknown>): void {
    this.closers.push(close);
  }

  async close(): Promise<void> {
    const failures: unknown[] = [];
    for (const close of this.closers.splice(0).reverse()) await close().catch((err: unknown) => failures.push(err));
    if (failures.length > 0) throw failures[0];
  }
}

export async function startBot(options: BotOptions): Promise<RunningBot> {
  const { config, log } = options;
  const role = options.role ?? 'both';
  if (role !== 'both' && !options.cluster) {
    throw new StartupError(`SALON_ROLE=${role} needs SALON_QUEUE_URL: the job queue its salons are shared through`);
  }
  const hasGateway = role !== 'worker';
  const leaseMs = options.cluster?.leaseMs ?? 30_000;
  const gate = new StartupGate<BotContext>({ log });
  const opened = new Opened();
  /** A step of the start: should it fail, what is open is closed, and what waits at the gate is dropped. */
  const starting = async <T>(step: () => Promise<T>): Promise<T> => {
    try {
      return await step();
    } catch (err) {
      gate.fail();
      await opened.close().catch((closeErr: unknown) => log.warn({ err: closeErr }, 'closing after a failed start failed'));
      throw err;
    }
  };

  const store = options.store ?? (await starting(() => openStore(options.storeUrl, log)));
  opened.add(() => store.close());
  const shared = options.cluster;
  const queue = shared && (await starting(() => openJobQueue(shared.queueUrl, shared.queuePrefix ?? 'salon', log)));
  if (queue) opened.add(() => queue.close());
  const discord = { token: options.token, apiBase: options.apiBase, shards: options.shards, log };
  const { client: ready, messageContent } = await starting(() =>
    hasGateway ? connectGateway({ ...discord, readyTimeoutMs: options.readyTimeoutMs ?? 30_000 }, { gate, command: salonCommand, log }) : signInWorker(discord),
  );
  opened.add(() => ready.destroy());

  // Open pages of shared salons hear of new turns from whichever process writes them.
  const feed: LiveFeed = shared ? await starting(() => RedisLiveFeed.open(shared.queueUrl, shared.queuePrefix ?? 'salon', log)) : new LocalLiveFeed();
  opened.add(() => feed.close());

  const models = options.models ?? new OpenAIModelClient(config.models, log);
  const workerId = `${hostname()}:${process.pid}:${randomUUID().slice(0, 4)}`;
  const engine = new SalonEngine({
    config,
    store,
    models,
    publisher: liveFeedPublisher(new DiscordPublisher(ready, config, log), feed),
    log,
    ...(queue ? { driving: 'leased' as const, wakeups: queue.wakeups, leaseMs, workerId } : {}),
    ...options.engine,
  });
  let worker: RunningWorker | undefined;
  opened.add(async () => {
    // The worker takes no new job; salons in hand are handed back (with a wake-up for at once) as the engine stops.
    const closing = worker?.close();
    await engine.stop();
    await closing;
  });
  const ctx: BotContext = { config, engine, client: ready, log };

  // Salons resume before commands are handled, so a command never races the record being loaded; until then
  // the gate holds (and if need be defers) what arrives.
  const loading = performance.now();
  await starting(() => engine.start());
  const webPort = options.web?.port;
  const web =
    webPort !== undefined && role !== 'worker'
      ? await starting(() =>
          startWebServer({
            store,
            feed,
            log,
            port: webPort,
            host: options.web?.host ?? '127.0.0.1',
            publicUrl: options.web?.publicUrl,
            trustProxy: options.web?.trustProxy,
            ...(shared ? { sharedLimits: { redisUrl: shared.queueUrl, prefix: shared.queuePrefix ?? 'salon' } } : {}),
          }),
        )
      : undefined;
  if (web) opened.add(() => web.close());
  const publicUrl = web?.publicUrl ?? options.web?.publicUrl;
  if (publicUrl) ctx.web = { publicUrl, feed };
  if (hasGateway) {
    log.info({ ms: Math.round(performance.now() - loading) }, 'salons loaded; taking commands');
    gate.open(ctx);
  }
  if (queue && role !== 'gateway') {
    const cluster = options.cluster!;
    worker = startSalonWorker({
      driver: engine.driver!,
      store,
      jobs: queue,
      concurrency: cluster.concurrency ?? 50,
      leaseMs,
      sweepEveryMs: cluster.sweepEveryMs,
      log,
    });
    log.info({ workerId, concurrency: cluster.concurrency ?? 50, leaseMs }, 'taking salon steps from the job queue');
  }

  let stopping: Promise<void> | undefined;
  return {
    role,
    client: ready,
    engine,
    messageContent,
    ...(web ? { web } : {}),
    health() {
      const gateway = hasGateway ? Status[ready.ws.status] : undefined;
      const ok = (!hasGateway || ready.ws.status === Status.Ready) && (!worker || worker.running);
      const shards = options.shards ? { shards: options.shards.ids } : {};
      return { ok, role, ...(gateway ? { gateway } : {}), ...(worker ? { worker: worker.running } : {}), ...shards };
    },
    stop() {
      stopping ??= (async () => {
        await opened.close();
        log.info('stopped');
      })();
      return stopping;
    },
  };
}
