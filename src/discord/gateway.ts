/**
 * The Discord client a process runs on, made and signed in: a gateway logs in with every event handler attached
 * (./events), a worker signs in over REST alone. Either way every request goes through fencedRequest.
 */
import { hostname } from 'node:os';
import { Client, Events, GatewayCloseCodes, GatewayIntentBits, Options } from 'discord.js';
import type { Logger } from 'pino';
import { StartupError } from '../startup-error.js';
import { listen, type Listening } from './events/index.js';
import { fencedRequest } from './fenced-request.js';
import { signInRestOnly } from './rest-sign-in.js';

interface DiscordOptions {
  token: string;
  /** REST base, e.g. http://127.0.0.1:PORT/api for a local fake; Discord's own when absent. */
  apiBase?: string;
  /** The gateway shards this process holds, of `count`; absent, Discord's recommended count, all here. */
  shards?: { ids: number[]; count: number };
  log: Logger;
}

/** A client signed in, and whether it reads plain thread messages (the Message Content intent is enabled). */
interface Connected {
  client: Client<true>;
  messageContent: boolean;
}

/** Which process sent a request, in its User-Agent: for Discord's own support, a proxy's logs, and our tests. */
const PROCESS_NAME = `salon ${hostname()}:${process.pid}`;

const TOKEN_REFUSED = 'DISCORD_TOKEN was refused by Discord (check the bot token)';

/**
 * Logs in to the gateway with every handler listening, and waits for READY. When Discord refuses the Message
 * Content intent, logs in again without it: plain thread messages then go unread, and the rest works.
 */
export async function connectGateway(options: DiscordOptions & { readyTimeoutMs: number }, listening: Listening): Promise<Connected> {
  const { log } = options;
  let client = createClient(options, true);
  let messageContent = true;
  if ((await connectOrDestroy(client, options, listening)) === 'disallowed') {
    messageContent = false;
    log.warn(
      'the Message Content intent is not enabled for this bot, so plain messages in salon threads are not read; /salon ask still works. ' +
        'Enable it in the Developer Portal (Bot → Privileged Gateway Intents).',
    );
    await client.destroy();
    client = createClient(options, false);
    await connectOrDestroy(client, options, listening);
  }
  const ready = client as Client<true>;
  log.info({ user: ready.user.tag, guilds: ready.guilds.cache.size, shards: options.shards?.ids }, 'connected to Discord');
  return { client: ready, messageContent };
}

/** Signs a worker in over REST alone: it takes no events, and learns who it is without READY. */
export async function signInWorker(options: DiscordOptions): Promise<Connected> {
  const client = createClient(options, true);
  await signInRestOnly(client, options.token).catch(async (err: Error & { status?: number }) => {
    await client.destroy();
    throw new StartupError(err.status === 401 ? TOKEN_REFUSED : `cannot reach Discord: ${err.message}`);
  });
  const ready = client as Client<true>;
  options.log.info({ user: ready.user.tag }, 'signed in to Discord over REST');
  return { client: ready, messageContent: true };
}

function createClient(options: DiscordOptions, messageContent: boolean): Client {
  const { apiBase, shards } = options;
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

/** Listens, logs in and waits for READY; a client that did not get there is destroyed. */
async function connectOrDestroy(client: Client, options: DiscordOptions & { readyTimeoutMs: number }, listening: Listening): Promise<'ready' | 'disallowed'> {
  listen(client, listening);
  try {
    return await connect(client, options.token, options.readyTimeoutMs);
  } catch (err) {
    await client.destroy();
    throw err;
  }
}

/** Logs in and waits for READY. Resolves 'disallowed' when Discord refuses the Message Content intent. */
async function connect(client: Client, token: string, timeoutMs: number): Promise<'ready' | 'disallowed'> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => finish(() => reject(new StartupError(`the Discord gateway was not ready within ${timeoutMs / 1000} s`))), timeoutMs);
    const onReady = () => finish(() => resolve('ready'));
    const onDisconnect = (event: { code: number }) => {
      const code = event.code as GatewayCloseCodes;
      if (code === GatewayCloseCodes.DisallowedIntents) finish(() => resolve('disallowed'));
      else if (code === GatewayCloseCodes.AuthenticationFailed) finish(() => reject(new StartupError(TOKEN_REFUSED)));
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
        finish(() => reject(new StartupError(err.status === 401 || /token/i.test(err.message) ? TOKEN_REFUSED : `cannot reach Discord: ${err.message}`))),
      );
  });
}
