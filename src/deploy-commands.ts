/**
 * Registers the /salon command: in one guild when DISCORD_GUILD_ID is set (instant, for testing),
 * otherwise globally. The application id comes from DISCORD_APPLICATION_ID or from the API.
 */
import { pathToFileURL } from 'node:url';
import { REST, Routes, type RESTGetCurrentApplicationResult } from 'discord.js';
import { data } from '../commands/salon.js';
import { loadDotEnv, readEnv, type Env } from './env.js';

export async function deployCommands(env: Pick<Env, 'token' | 'apiBase' | 'applicationId' | 'guildId'>): Promise<{ scope: string; count: number }> {
  if (!env.token) throw new Error('DISCORD_TOKEN is not set');
  const rest = new REST(env.apiBase ? { api: env.apiBase } : {}).setToken(env.token);
  const applicationId = env.applicationId ?? ((await rest.get(Routes.currentApplication())) as RESTGetCurrentApplicationResult).id;
  const body = [data.toJSON()];
  const route = env.guildId ? Routes.applicationGuildCommands(applicationId, env.guildId) : Routes.applicationCommands(applicationId);
  const stored = (await rest.put(route, { body })) as unknown[];
  return { scope: env.guildId ? `guild ${env.guildId}` : 'global', count: stored.length };
}

// Run as a script (npm run deploy-commands), not when imported by tests.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  loadDotEnv();
  deployCommands(readEnv()).then(
    ({ scope, count }) => {
      console.log(`Registered ${count} command(s) (${scope}).${scope === 'global' ? ' Global commands can take up to an hour to appear.' : ''}`);
    },
    (err: Error) => {
      console.error(`deploy-commands failed: ${err.message}`);
      process.exit(1);
    },
  );
}
