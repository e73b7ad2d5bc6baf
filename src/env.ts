import { existsSync } from 'node:fs';

/** The environment the bot reads, checked once at start-up. */
export interface Env {
  token?: string;
  applicationId?: string;
  guildId?: string;
  apiBase?: string;
  configFile: string;
  storeUrl: string;
  logLevel: string;
  /** File touched while the gateway is ready; the container health check reads its age. */
  healthFile?: string;
}

export function readEnv(env: NodeJS.ProcessEnv = process.env): Env {
  const value = (name: string) => env[name]?.trim() || undefined;
  return {
    token: value('DISCORD_TOKEN'),
    applicationId: value('DISCORD_APPLICATION_ID'),
    guildId: value('DISCORD_GUILD_ID'),
    apiBase: value('DISCORD_API_BASE')?.replace(/\/+$/, ''),
    configFile: value('SALON_CONFIG') ?? 'config/salon.yaml',
    storeUrl: value('SALON_STORE_URL') ?? 'sqlite://data/salons.sqlite',
    logLevel: value('LOG_LEVEL') ?? 'info',
    healthFile: value('SALON_HEALTH_FILE'),
  };
}

/** Reads `.env` from the working directory when there is one, for convenience; variables already set win. */
export function loadDotEnv(file = '.env'): void {
  if (existsSync(file)) process.loadEnvFile(file);
}
