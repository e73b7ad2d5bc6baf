/**
 * The `/salon` command: one top-level command whose subcommands live in their own modules,
 * as the discord.js guide lays commands out.
 */
import { InteractionContextType, SlashCommandBuilder, type AutocompleteInteraction, type ChatInputCommandInteraction } from 'discord.js';
import type { BotContext, Subcommand } from '../src/discord/context.js';
import { answerError } from '../src/discord/reply.js';
import { descriptions } from '../src/wording/index.js';
import ask from './ask.js';
import close from './close.js';
import extend from './extend.js';
import fork from './fork.js';
import next from './next.js';
import pause from './pause.js';
import resume from './resume.js';
import start from './start.js';
import status from './status.js';
import share from './share.js';
import transcript from './transcript.js';
import unshare from './unshare.js';

const subcommands: Subcommand[] = [start, ask, next, pause, resume, status, transcript, extend, fork, share, unshare, close];
const byName = new Map(subcommands.map((s) => [s.name, s]));

export const data = new SlashCommandBuilder().setName('salon').setDescription(descriptions.salon).setContexts(InteractionContextType.Guild);
for (const sub of subcommands) data.addSubcommand((b) => sub.define(b.setName(sub.name)));

export async function execute(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<void> {
  const sub = byName.get(interaction.options.getSubcommand());
  try {
    if (!sub) throw new Error(`unknown subcommand ${interaction.options.getSubcommand()}`);
    await sub.execute(interaction, ctx);
  } catch (err) {
    // The answer itself can fail (an interaction that expired meanwhile): log it, never let it escape.
    await answerError(interaction, err, ctx.log).catch((answerErr: unknown) => ctx.log.warn({ err: answerErr, cause: err }, 'could not answer a command'));
  }
}

export async function autocomplete(interaction: AutocompleteInteraction, ctx: BotContext): Promise<void> {
  const sub = byName.get(interaction.options.getSubcommand());
  try {
    if (sub?.autocomplete) await sub.autocomplete(interaction, ctx);
    else await interaction.respond([]);
  } catch (err) {
    ctx.log.warn({ err }, 'autocomplete failed');
  }
}

/** Whether the subcommand used answers privately (its `ephemeral` flag), so a deferral made before it runs is private too. */
export function answersPrivately(interaction: ChatInputCommandInteraction): boolean {
  return byName.get(interaction.options.getSubcommand(false) ?? '')?.ephemeral ?? false;
}
