/**
 * The running bot: config, store, engine and the Discord client wired together, with a clean shutdown.
 * main.ts runs it as a process; the end-to-end tests run it in-process against the fakes.
 */
import { Client, Events, GatewayCloseCodes, GatewayIntentBits, Options, type Interaction, type Message } from 'discord.js';
import type { Logger } from 'pino';
import * as salonCommand from '../commands/salon.js';
import type { Config } from './config/index.js';
import type { BotContext } from './discord/context.js';
import { onThreadMessage } from './discord/messages.js';
import { DiscordPublisher } from './discord/thread-publisher.js';
import { StartupGate } from './discord/startup-gate.js';
import { SalonEngine, type EngineOptions } from './engine/engine.js';
import { OpenAIModelClient } from './models/openai-client.js';
import type { ModelClient, SalonStore } from './engine/ports.js';
import { openSalonStore } from './store/open-store.js';

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
}

export interface RunningBot {
  client: Client<true>;
  engine: SalonEngine;
  /** Whether plain thread messages can be read (the Message Content intent is enabled). */
  messageContent: boolean;
  stop(): Promise<void>;
}

export class StartupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StartupError';
  }
}

function createClient(apiBase: string | undefined, messageContent: boolean): Client {
  return new Client({
    intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages, ...(messageContent ? [GatewayIntentBits.MessageContent] : [])],
    rest: apiBase ? { api: apiBase } : {},
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
  const store = options.store ?? (await openStore(options.storeUrl, log));

  const gate = new StartupGate<BotContext>({ log });
  let messageContent = true;
  let client = createClient(options.apiBase, true);
  listen(client, gate, log);
  try {
    if ((await connect(client, options.token, options.readyTimeoutMs ?? 30_000)) === 'disallowed') {
      messageContent = false;
      log.warn(
        'the Message Content intent is not enabled for this bot, so plain messages in salon threads are not read; /salon ask still works. ' +
          'Enable it in the Developer Portal (Bot → Privileged Gateway Intents).',
      );
      await client.destroy();
      client = createClient(options.apiBase, false);
      listen(client, gate, log);
      await connect(client, options.token, options.readyTimeoutMs ?? 30_000);
    }
  } catch (err) {
    gate.fail();
    await client.destroy();
    await store.close();
    throw err;
  }
  const ready = client as Client<true>;
  log.info({ user: ready.user.tag, guilds: ready.guilds.cache.size }, 'connected to Discord');

  const models = options.models ?? new OpenAIModelClient(config.models, log);
  const engine = new SalonEngine({ config, store, models, publisher: new DiscordPublisher(ready, config, log), log, ...options.engine });
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
    await store.close();
    throw err;
  }
  log.info({ ms: Math.round(performance.now() - loading) }, 'salons loaded; taking commands');
  gate.open(ctx);

  let stopping: Promise<void> | undefined;
  return {
    client: ready,
    engine,
    messageContent,
    stop() {
      stopping ??= (async () => {
        await engine.stop();
        await ready.destroy();
        await store.close();
        log.info('stopped');
      })();
      return stopping;
    },
  };
}
