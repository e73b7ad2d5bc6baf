/**
 * Everything the bot hears from the gateway, one module per event (as discord.js's create-discord-bot template lays
 * them out); this index only wires them to a client.
 */
import type { Client, ClientEvents } from 'discord.js';
import type { Logger } from 'pino';
import type { BotContext, Command } from '../context.js';
import type { StartupGate } from '../startup-gate.js';
import clientError from './client-error.js';
import interactionCreate from './interaction-create.js';
import messageCreate from './message-create.js';
import shardResume from './shard-resume.js';
import threadDelete from './thread-delete.js';

/** What every handler gets besides the event: the gate the bot's context comes through once it is ready. */
export interface Listening {
  gate: StartupGate<BotContext>;
  /** The slash command interactions go to. */
  command: Command;
  log: Logger;
}

/** One event's handler, as its own module. */
export interface GatewayEvent<K extends keyof ClientEvents = keyof ClientEvents> {
  name: K;
  execute(listening: Listening, ...args: ClientEvents[K]): void;
}

const events: GatewayEvent[] = [interactionCreate, messageCreate, threadDelete, clientError, shardResume];

/**
 * Attaches every handler to `client` before it logs in: discord.js emits what arrived while it was getting ready
 * the moment it is ready, to the handlers attached by then, and drops it otherwise. The gate holds it all until
 * the engine has loaded the stored salons.
 */
export function listen(client: Client, listening: Listening): void {
  for (const event of events) client.on(event.name, (...args) => event.execute(listening, ...args));
}
