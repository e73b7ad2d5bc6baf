import { PermissionFlagsBits, type GuildMember, type Interaction } from 'discord.js';
import { SalonError } from '../domain/errors.js';
import type { SalonRecord } from '../domain/salon.js';

/** Only the salon's starter or members who may manage threads steer a salon. */
export function assertCanControl(interaction: Interaction, salon: SalonRecord, command: string): void {
  if (interaction.user.id === salon.starter.id) return;
  if (interaction.memberPermissions?.has(PermissionFlagsBits.ManageThreads)) return;
  throw new SalonError({ code: 'not_controller', starter: salon.starter.name, command });
}

/** The name people know someone by here: server nickname, then display name, then username. */
export function displayName(interaction: Interaction): string {
  const member = interaction.member as GuildMember | null;
  return member?.displayName ?? interaction.user.globalName ?? interaction.user.username;
}
