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
import { Client, Events, GatewayCloseCodes, GatewayIntentBits, Options, Status, type Interaction, type Message } from 'discord.js';
import type { Logger } from 'pino';
import * as salonCommand from '../commands/salon.js';
import type { Config } from './config/index.js';
import type { BotContext } from './discord/context.js';
import { onThreadMessage } from './discord/messages.js';
import { fencedRequest } from './discord/fenced-request.js';
import { signInRestOnly } from './discord/rest-sign-in.js';
import { DiscordPublisher } from './discord/thread-publisher.js';
import { StartupGate } from './discord/startup-gate.js';
import { SalonEngine, type EngineOptions } from './engine/engine.js';
import { OpenAIModelClient } from './models/openai-client.js';
import type { ModelClient, SalonStore } from './engine/ports.js';
import { openSalonStore } from './store/open-store.js';
import { openJobQueue, type JobQueue } from './queue/job-queue.js';
import { startSalonWorker, type RunningWorker } from './queue/salon-worker.js';

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
}

export interface RunningBot {
  role: Role;
  /** Logged in to the gateway for a gateway; signed in to REST only for a worker. */
  client: Client<true>;
  engine: SalonEngine;
  /** Whether plain thread messages can be read (the Message Content intent is enabled). */
  messageContent: boolean;
  /** Whether each part of this process is working: the gateway ready, the worker taking jobs. */
  health(): { ok: boolean; role: Role; gateway?: string; worker?: boolean; shards?: number[] };
  stop(): Promise<void>;
}

export class StartupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StartupError';
  }
}

/** Which process sent a request, in its User-Agent: for Discord's own support, a proxy's logs, and our tests. */
const PROCESS_NAME = `salon ${hostname()}:${process.pid}`;

function createClient(apiBase: string | undefined, messageContent: boolean, shards?: BotOptions['shards']): Client {
  return new Client({
    intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages, ...(messageContent ? [GatewayIntentBits.MessageContent] : [])],
    ...(shards ? { shards: shards.ids, shardCount: shards.count } : {}),
    rest: {
      ...(apiBase ? { api: apiBase } : {}),
      makeRequest: fencedRequest,
      userAgentAppendix: `Node.js ${process.version} ${PROCESS_NAME}`,
    },
    // Nothing the bot posts may ping anyone unless a call says otherwise.
    allowedMentions: { parse: [] },
    // salon never reads messages back from the cache (it fetches when it must look), and a long-running bot
    // would otherwise keep up to 200 messages per thread, its own posts included.
    makeCache: Options.cacheWithLimits({ ...Options.DefaultMakeCacheSettings, MessageManager: 0 }),
  });
}

/** Subcommands whose answers are private (commands/status.ts, commands/transcript.ts): a deferral must be too. */
const PRIVATE_ANSWERS = new Set(['status', 'transcript']);

/**
 * Everything the bot hears, attached to each client before it logs in: discord.js emits what arrived while it
 * was getting ready the moment it is ready, to the handlers attached by then, and drops it otherwise. The gate
 * holds it all until the engine has loaded the stored salons.
 */
function listen(client: Client, gate: StartupGate<BotContext>, log: Logger): void {
  client.on(Events.InteractionCreate, (interaction: Interaction) => {
    if (interaction.isChatInputCommand() && interaction.commandName === salonCommand.data.name) {
      const ephemeral = PRIVATE_ANSWERS.has(interaction.options.getSubcommand(false) ?? '');
      void gate
        .command(interaction, { ephemeral })
        .then((ctx) => ctx && salonCommand.execute(interaction, ctx))
        .catch((err: unknown) => log.warn({ err, interaction: interaction.id }, 'could not acknowledge a command while starting'));
    } else if (interaction.isAutocomplete() && interaction.commandName === salonCommand.data.name) {
      void gate
        .autocomplete(interaction)
        .then((ctx) => ctx && salonCommand.autocomplete(interaction, ctx))
        .catch((err: unknown) => log.warn({ err }, 'autocomplete failed'));
    }
  });
  client.on(Events.MessageCreate, (message: Message) => {
    // Only what onThreadMessage could take is kept while starting, so other chatter does not pile up.
    if (message.author.bot || !message.channel.isThread()) return;
    gate.later((ctx) => void onThreadMessage(message, ctx).catch((err: unknown) => log.error({ err }, 'handling a thread message failed')));
  });
  client.on(Events.ThreadDelete, (thread) => {
    gate.later((ctx) => void ctx.engine.threadGone(thread.id).catch((err: unknown) => log.error({ err }, 'handling a deleted thread failed')));
  });
  client.on(Events.Error, (err) => log.error({ err }, 'discord client error'));
  client.on(Events.ShardResume, () => log.info('gateway session resumed'));
}

/** Logs in and waits for READY. Resolves 'disallowed' when Discord refuses the Message Content intent. */
async function connect(client: Client, token: string, timeoutMs: number): Promise<'ready' | 'disallowed'> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => finish(() => reject(new StartupError(`the Discord gateway was not ready within ${timeoutMs / 1000} s`))), timeoutMs);
    const onReady = () => finish(() => resolve('ready'));
    const onDisconnect = (event: { code: number }) => {
      const code = event.code as GatewayCloseCodes;
      if (code === GatewayCloseCodes.DisallowedIntents) finish(() => resolve('disallowed'));
      else if (code === GatewayCloseCodes.AuthenticationFailed)
        finish(() => reject(new StartupError('DISCORD_TOKEN was refused by Discord (check the bot token)')));
      else finish(() => reject(new StartupError(`the Discord gateway closed the connection (code ${event.code})`)));
    };
    const finish = (settle: () => void) => {
      clearTimeout(timer);
      client.off(Events.ClientReady, onReady);
      client.off(Events.ShardDisconnect, onDisconnect);
      settle();
    };
    client.once(Events.ClientReady, onReady);
    client.on(Events.ShardDisconnect, onDisconnect);
    client
      .login(token)
      .catch((err: Error & { status?: number }) =>
        finish(() =>
          reject(
            new StartupError(
              err.status === 401 || /token/i.test(err.message)
                ? 'DISCORD_TOKEN was refused by Discord (check the bot token)'
                : `cannot reach Discord: ${err.message}`,
            ),
          ),
        ),
      );
  });
}

async function openStore(url: string, log: Logger): Promise<SalonStore> {
  const opened = await openSalonStore(url, log);
  log.info({ store: opened.description }, 'store open');
  return opened.store;
}

export async function startBot(options: BotOptions): Promise<RunningBot> {
  const { config, log } = options;
  const role = options.role ?? 'both';
  if (role !== 'both' && !options.cluster) {
    throw new StartupError(`SALON_ROLE=${role} needs SALON_QUEUE_URL: the job queue its salons are shared through`);
  }
  const store = options.store ?? (await openStore(options.storeUrl, log));
  let queue: JobQueue | undefined;
  if (options.cluster) {
    try {
      queue = await openJobQueue(options.cluster.queueUrl, options.cluster.queuePrefix ?? 'salon', log);
    } catch (err) {
      await store.close();
      throw err;
    }
  }
  const hasGateway = role !== 'worker';
  const leaseMs = options.cluster?.leaseMs ?? 30_000;

  const gate = new StartupGate<BotContext>({ log });
  let messageContent = true;
  let client = createClient(options.apiBase, true, options.shards);
  try {
    if (hasGateway) {
      listen(client, gate, log);
      if ((await connect(client, options.token, options.readyTimeoutMs ?? 30_000)) === 'disallowed') {
        messageContent = false;
        log.warn(
          'the Message Content intent is not enabled for this bot, so plain messages in salon threads are not read; /salon ask still works. ' +
            'Enable it in the Developer Portal (Bot → Privileged Gateway Intents).',
        );
        await client.destroy();
        client = createClient(options.apiBase, false, options.shards);
        listen(client, gate, log);
        await connect(client, options.token, options.readyTimeoutMs ?? 30_000);
      }
    } else {
      await signInRestOnly(client, options.token).catch((err: Error & { status?: number }) => {
        throw new StartupError(err.status === 401 ? 'DISCORD_TOKEN was refused by Discord (check the bot token)' : `cannot reach Discord: ${err.message}`);
      });
    }
  } catch (err) {
    gate.fail();
    await client.destroy();
    await queue?.close();
    await store.close();
    throw err;
  }
  const ready = client as Client<true>;
  if (hasGateway) log.info({ user: ready.user.tag, guilds: ready.guilds.cache.size, shards: options.shards?.ids }, 'connected to Discord');
  else log.info({ user: ready.user.tag }, 'signed in to Discord over REST');

  const models = options.models ?? new OpenAIModelClient(config.models, log);
  const workerId = `${hostname()}:${process.pid}:${randomUUID().slice(0, 4)}`;
  const engine = new SalonEngine({
    config,
    store,
    models,
    publisher: new DiscordPublisher(ready, config, log),
    log,
    ...(queue ? { driving: 'leased' as const, wakeups: queue.wakeups, leaseMs, workerId } : {}),
    ...options.engine,
  });
  const ctx: BotContext = { config, engine, client: ready, log };

  // Salons resume before commands are handled, so a command never races the record being loaded; until then
  // the gate holds (and if need be defers) what arrives.
  const loading = performance.now();
  try {
    await engine.start();
  } catch (err) {
    gate.fail();
    await engine.stop().catch(() => {});
    await ready.destroy();
    await queue?.close();
    await store.close();
    throw err;
  }
  if (hasGateway) {
    log.info({ ms: Math.round(performance.now() - loading) }, 'salons loaded; taking commands');
    gate.open(ctx);
  }
  let worker: RunningWorker | undefined;
  if (queue && role !== 'gateway') {
    const cluster = options.cluster!;
    worker = startSalonWorker({
      engine,
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
    health() {
      const gateway = hasGateway ? Status[ready.ws.status] : undefined;
      const ok = (!hasGateway || ready.ws.status === Status.Ready) && (!worker || worker.running);
      const shards = options.shards ? { shards: options.shards.ids } : {};
      return { ok, role, ...(gateway ? { gateway } : {}), ...(worker ? { worker: worker.running } : {}), ...shards };
    },
    stop() {
      stopping ??= (async () => {
        // The worker takes no new job; salons in hand are handed back (with a wake-up for at once) as the engine stops.
        const closing = worker?.close();
        await engine.stop();
        await closing;
        await ready.destroy();
        await queue?.close();
        await store.close();
        log.info('stopped');
      })();
      return stopping;
    },
  };
}
