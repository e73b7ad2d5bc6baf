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
import { DiscordPublisher } from './discord/publisher.js';
import { SalonEngine, type EngineOptions } from './engine/engine.js';
import { OpenAIModelClient } from './models/openai-client.js';
import type { ModelClient } from './engine/ports.js';
import { openKeyv } from './store/keyv-factory.js';
import { KeyvSalonStore } from './store/keyv-salon-store.js';

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

/** Logs in and waits for READY. Resolves 'disallowed' when Discord refuses the Message Content intent. */
async function connect(client: Client, token: string, timeoutMs: number): Promise<'ready' | 'disallowed'> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => finish(() => reject(new StartupError(`the Discord gateway was not ready within ${timeoutMs / 1000} s`))), timeoutMs);
    const onReady = () => finish(() => resolve('ready'));
    const onDisconnect = (event: { code: number }) => {
      if (event.code === GatewayCloseCodes.DisallowedIntents) finish(() => resolve('disallowed'));
      else if (event.code === GatewayCloseCodes.AuthenticationFailed) finish(() => reject(new StartupError('DISCORD_TOKEN was refused by Discord (check the bot token)')));
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
    client.login(token).catch((err: Error & { status?: number }) =>
      finish(() => reject(new StartupError(err.status === 401 || /token/i.test(err.message) ? 'DISCORD_TOKEN was refused by Discord (check the bot token)' : `cannot reach Discord: ${err.message}`))),
    );
  });
}

export async function startBot(options: BotOptions): Promise<RunningBot> {
  const { config, log } = options;
  const opened = await openKeyv(options.storeUrl);
  log.info({ store: opened.description }, 'store open');
  const store = new KeyvSalonStore(opened.keyv, opened.close);

  let messageContent = true;
  let client = createClient(options.apiBase, true);
  try {
    if ((await connect(client, options.token, options.readyTimeoutMs ?? 30_000)) === 'disallowed') {
      messageContent = false;
      log.warn('the Message Content intent is not enabled for this bot, so plain messages in salon threads are not read; /salon ask still works. Enable it in the Developer Portal (Bot → Privileged Gateway Intents).');
      await client.destroy();
      client = createClient(options.apiBase, false);
      await connect(client, options.token, options.readyTimeoutMs ?? 30_000);
    }
  } catch (err) {
    await client.destroy();
    await store.close();
    throw err;
  }
  const ready = client as Client<true>;
  log.info({ user: ready.user.tag, guilds: ready.guilds.cache.size }, 'connected to Discord');

  const models = options.models ?? new OpenAIModelClient(config.models, log);
  const engine = new SalonEngine({ config, store, models, publisher: new DiscordPublisher(ready, config, log), log, ...options.engine });
  const ctx: BotContext = { config, engine, client: ready, log };

  // Salons resume before commands are taken, so a command never races the record being loaded.
  await engine.start();

  ready.on(Events.InteractionCreate, (interaction: Interaction) => {
    if (interaction.isChatInputCommand() && interaction.commandName === salonCommand.data.name) {
      void salonCommand.execute(interaction, ctx);
    } else if (interaction.isAutocomplete() && interaction.commandName === salonCommand.data.name) {
      void salonCommand.autocomplete(interaction, ctx);
    }
  });
  ready.on(Events.MessageCreate, (message: Message) => {
    void onThreadMessage(message, ctx).catch((err: unknown) => log.error({ err }, 'handling a thread message failed'));
  });
  ready.on(Events.ThreadDelete, (thread) => {
    void engine.threadGone(thread.id).catch((err: unknown) => log.error({ err }, 'handling a deleted thread failed'));
  });
  ready.on(Events.Error, (err) => log.error({ err }, 'discord client error'));
  ready.on(Events.ShardResume, () => log.info('gateway session resumed'));

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
