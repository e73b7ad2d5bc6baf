/** The bot process: validate everything, start this process's role, run until SIGINT/SIGTERM, then shut down cleanly. */
import type { Logger } from 'pino';
import { startBot, type RunningBot } from './app.js';
import { StartupError } from './startup-error.js';
import { ConfigError, loadConfig, type Config } from './config/index.js';
import { EnvError, loadDotEnv, readEnv, type Env } from './env.js';
import { startHealthServer, type HealthReport } from './health-server.js';
import { startHeartbeat } from './heartbeat.js';
import { createLogger } from './logger.js';
import { startRestProxy } from './proxy/rest-proxy.js';
import { StoreError } from './store/store-error.js';
import { startWebRole } from './web/web-role.js';

/** What main.ts runs: the bot in one of its roles, or the REST proxy. */
interface Running {
  health(): HealthReport;
  stop(): Promise<void>;
}

async function main(): Promise<void> {
  loadDotEnv();
  let env: Env;
  try {
    env = readEnv();
  } catch (err) {
    if (err instanceof EnvError) {
      console.error(`salon: bad environment\n${err.message}`);
      process.exit(2);
    }
    throw err;
  }
  // The proxy and the web gallery call no model: they need no config file.
  let config: Config | undefined;
  if (env.role !== 'proxy' && env.role !== 'web') {
    try {
      config = loadConfig(env.configFile);
    } catch (err) {
      if (err instanceof ConfigError) {
        console.error(`salon: bad config\n${err.message}`);
        process.exit(2);
      }
      throw err;
    }
  }
  const secrets = [env.token, ...Object.values(config?.models ?? {}).map((m) => m.apiKey)].filter((s): s is string => !!s);
  // Every line says which role (and which shards) wrote it, as logs from many processes end up in one place.
  const log = createLogger({ level: env.logLevel, secrets }).child({ role: env.role, ...(env.shards ? { shards: env.shards.ids } : {}) });
  const token = env.token;
  // The web role holds no Discord token: it only reads the store.
  if (!token && env.role !== 'web') {
    log.fatal('DISCORD_TOKEN is not set; put the bot token in the environment (see .env.example)');
    process.exit(2);
  }

  // Signals are heeded from here on: one that arrives while the process is still starting stops it as soon as it is up.
  let running: Running | undefined;
  let signalled: string | undefined;
  let stopping = false;
  const stopExtras: Array<() => unknown> = [];
  const shutdown = (signal: string) => {
    signalled ??= signal;
    if (!running || stopping) return;
    stopping = true;
    log.info({ signal: signalled }, 'shutting down');
    for (const stop of stopExtras) void stop();
    const force = setTimeout(() => {
      log.error('shutdown took too long; exiting');
      process.exit(1);
    }, 15_000);
    force.unref();
    running.stop().then(
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
    running =
      env.role === 'web'
        ? await startWebRole({ ...env.web, port: env.web.port!, storeUrl: env.storeUrl, queueUrl: env.queueUrl, queuePrefix: env.queuePrefix, log })
        : env.role === 'proxy'
          ? await startProxy(env, token!, log)
          : await startBotRole(env, config!, token!, log);
  } catch (err) {
    if (err instanceof StoreError || err instanceof StartupError) {
      log.fatal(err.message);
      process.exit(1);
    }
    throw err;
  }
  if (signalled) return shutdown(signalled);
  const current = running;
  if (env.healthFile) stopExtras.push(startHeartbeat(() => current.health().ok, env.healthFile));
  if (env.healthPort) {
    const server = await startHealthServer(env.healthPort, () => current.health());
    stopExtras.push(() => server.close());
    log.info({ port: env.healthPort }, 'serving GET /health');
  }
}

async function startBotRole(env: Env, config: Config, token: string, log: Logger): Promise<RunningBot> {
  return startBot({
    config,
    token,
    apiBase: env.apiBase,
    storeUrl: env.storeUrl,
    log,
    role: env.role === 'proxy' || env.role === 'web' ? 'both' : env.role,
    shards: env.shards,
    web: env.web,
    cluster: env.queueUrl
      ? { queueUrl: env.queueUrl, queuePrefix: env.queuePrefix, leaseMs: env.leaseMs, concurrency: env.workerConcurrency, sweepEveryMs: env.sweepEveryMs }
      : undefined,
  });
}

async function startProxy(env: Env, token: string, log: Logger): Promise<Running> {
  const proxy = await startRestProxy({
    token,
    apiBase: env.proxyUpstream,
    port: env.proxyPort,
    host: env.proxyHost,
    log,
    globalRequestsPerSecond: env.proxyGlobalPerSecond,
  });
  return { health: () => ({ ok: true, role: 'proxy' }), stop: () => proxy.close() };
}

main().catch((err: unknown) => {
  console.error('salon: failed to start:', err);
  process.exit(1);
});
