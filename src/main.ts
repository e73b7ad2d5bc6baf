/** The bot process: validate everything, connect, run until SIGINT/SIGTERM, then shut down cleanly. */
import { startBot, StartupError, type RunningBot } from './app.js';
import { ConfigError, loadConfig } from './config/index.js';
import { loadDotEnv, readEnv } from './env.js';
import { startHeartbeat } from './heartbeat.js';
import { createLogger } from './logger.js';
import { StoreError } from './store/keyv-factory.js';

async function main(): Promise<void> {
  loadDotEnv();
  const env = readEnv();
  let config;
  try {
    config = loadConfig(env.configFile);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`salon: bad config\n${err.message}`);
      process.exit(2);
    }
    throw err;
  }
  const secrets = [env.token, ...Object.values(config.models).map((m) => m.apiKey)].filter((s): s is string => !!s);
  const log = createLogger({ level: env.logLevel, secrets });
  if (!env.token) {
    log.fatal('DISCORD_TOKEN is not set; put the bot token in the environment (see .env.example)');
    process.exit(2);
  }

  // Signals are heeded from here on: one that arrives while the bot is still starting stops it as soon as it is up.
  let bot: RunningBot | undefined;
  let signalled: string | undefined;
  let stopping = false;
  let stopHeartbeat = () => {};
  const shutdown = (signal: string) => {
    signalled ??= signal;
    if (!bot || stopping) return;
    stopping = true;
    log.info({ signal: signalled }, 'shutting down');
    stopHeartbeat();
    const force = setTimeout(() => {
      log.error('shutdown took too long; exiting');
      process.exit(1);
    }, 15_000);
    force.unref();
    bot.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  // A promise nobody awaited must not take every salon down with it: log it and carry on.
  process.on('unhandledRejection', (err) => log.error({ err }, 'unhandled rejection'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));

  try {
    bot = await startBot({ config, token: env.token, apiBase: env.apiBase, storeUrl: env.storeUrl, log });
  } catch (err) {
    if (err instanceof StoreError || err instanceof StartupError) {
      log.fatal(err.message);
      process.exit(1);
    }
    throw err;
  }
  if (signalled) shutdown(signalled);
  else if (env.healthFile) stopHeartbeat = startHeartbeat(bot.client, env.healthFile);
}

main().catch((err: unknown) => {
  console.error('salon: failed to start:', err);
  process.exit(1);
});
