/** What every command handler gets: the parts of the running bot, and nothing global. */
import type { AutocompleteInteraction, ChatInputCommandInteraction, Client, SlashCommandSubcommandBuilder } from 'discord.js';
import type { Logger } from 'pino';
import type { Config } from '../config/index.js';
import type { SalonEngine } from '../engine/engine.js';
import type { LiveFeed } from '../web/live-feed.js';

export interface BotContext {
  config: Config;
  engine: SalonEngine;
  client: Client;
  log: Logger;
  /** Where shared salons are shown: absent when this deployment serves no web gallery (no SALON_PUBLIC_URL). */
  web?: { publicUrl: string; feed: LiveFeed };
}

/** One `/salon <name>` subcommand, as its own module under commands/. */
export interface Subcommand {
  name: string;
  /** Declares the subcommand's description and options, with their limits, on the builder. */
  define(builder: SlashCommandSubcommandBuilder): SlashCommandSubcommandBuilder;
  /** Its answers are private: a deferral made for it while the bot is starting must be too. */
  ephemeral?: boolean;
  execute(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<void>;
  autocomplete?(interaction: AutocompleteInteraction, ctx: BotContext): Promise<void>;
}

/** A top-level slash command as the gateway hands it interactions (commands/salon.ts is the one there is). */
export interface Command {
  data: { name: string };
  execute(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<void>;
  autocomplete(interaction: AutocompleteInteraction, ctx: BotContext): Promise<void>;
  /** Whether the subcommand used answers privately (its `ephemeral` flag). */
  answersPrivately(interaction: ChatInputCommandInteraction): boolean;
}
