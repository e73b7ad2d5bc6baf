/**
 * Who may start a salon, where, and how many may run at once (config `access`). Counts come from the engine's
 * live salons, which it loads from the store at start-up, so they survive restarts. Members who may manage
 * threads and the server owner are held to the same concurrency caps as everyone else.
 */
import { GuildMemberRoleManager, type ChatInputCommandInteraction } from 'discord.js';
import type { AccessConfig } from '../config/index.js';
import { SalonError } from '../domain/errors.js';
import type { SalonHead } from '../domain/salon.js';

interface AccessRequest {
  guildId: string;
  channelId: string;
  userId: string;
  roleIds: string[];
}

export function roleIdsOf(interaction: ChatInputCommandInteraction): string[] {
  const roles = interaction.member?.roles;
  if (!roles) return [];
  return roles instanceof GuildMemberRoleManager ? [...roles.cache.keys()] : roles;
}

/** Throws a SalonError naming the limit when `request` may not start one more salon. */
export function checkAccess(access: AccessConfig, request: AccessRequest, active: SalonHead[]): void {
  if (access.channels.length > 0 && !access.channels.includes(request.channelId)) {
    throw new SalonError({ code: 'channel_not_allowed', channelIds: access.channels });
  }
  if (access.startRoles.length > 0 && !access.startRoles.some((id) => request.roleIds.includes(id))) {
    throw new SalonError({ code: 'role_required', roleIds: access.startRoles });
  }
  checkCaps(access, request, active);
}

/** The concurrency caps alone: for a salon that becomes active again (a finished salon extended). */
export function checkCaps(access: AccessConfig, request: Pick<AccessRequest, 'guildId' | 'userId'>, active: SalonHead[]): void {
  const inGuild = active.filter((s) => s.guildId === request.guildId);
  if (access.maxActivePerGuild !== undefined && inGuild.length >= access.maxActivePerGuild) {
    throw new SalonError({ code: 'guild_cap', active: inGuild.length });
  }
  const mine = inGuild.filter((s) => s.starter.id === request.userId);
  if (access.maxActivePerUser !== undefined && mine.length >= access.maxActivePerUser) {
    throw new SalonError({ code: 'user_cap', active: mine.length });
  }
}
