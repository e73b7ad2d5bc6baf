/** Finds the salon of the thread a command was used in, or says where the command belongs. */
import type { ChatInputCommandInteraction } from 'discord.js';
import type { BotContext } from '../src/discord/context.js';
import { SalonError } from '../src/domain/errors.js';
import type { SalonRecord } from '../src/domain/salon.js';

export async function salonHere(interaction: ChatInputCommandInteraction, { engine }: BotContext, command: string): Promise<SalonRecord> {
  const where = `Use \`/salon ${command}\` inside a salon's thread (start one with \`/salon start\`).`;
  if (!interaction.inGuild() || !interaction.channel?.isThread()) throw new SalonError('not_found', `This is not a salon thread. ${where}`);
  const salon = await engine.get(interaction.channelId);
  if (!salon) throw new SalonError('not_found', `This thread is not a salon. ${where}`);
  return salon;
}
