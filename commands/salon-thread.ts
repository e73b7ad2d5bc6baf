/** Finds the salon of the thread a command was used in, or says where the command belongs. */
import type { ChatInputCommandInteraction } from 'discord.js';
import type { BotContext } from '../src/discord/context.js';
import { SalonError } from '../src/domain/errors.js';
import type { SalonRecord } from '../src/domain/salon.js';

export async function salonHere(interaction: ChatInputCommandInteraction, { engine }: BotContext, command: string): Promise<SalonRecord> {
  if (!interaction.inGuild() || !interaction.channel?.isThread()) throw new SalonError({ code: 'not_a_thread', command });
  const salon = await engine.get(interaction.channelId);
  if (!salon) throw new SalonError({ code: 'thread_not_salon', command });
  return salon;
}
