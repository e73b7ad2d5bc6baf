/** Using the bot's `/salon` command as a person would, through the fake Discord. */
import type { FakeDiscord, InteractionHandle, Member, OptionValue } from '../fakes/discord/index.js';

/**
 * Where a command is used: a channel or thread by id (a salon's thread, most often), or a place spelt out; the
 * guild's salon channel when undefined.
 */
export type Where = string | undefined | { channelId?: string; guildId?: string; inDM?: boolean };

/** Sends `/salon <subcommand>` as `user`, where `where` says, with `options`. */
export function command(discord: FakeDiscord, user: Member, where: Where, subcommand: string, options?: Record<string, OptionValue>): InteractionHandle {
  const { channelId, guildId, inDM } = typeof where === 'string' ? { channelId: where } : (where ?? {});
  return discord.interact({
    user,
    ...(channelId ? { channelId } : {}),
    ...(guildId ? { guildId } : {}),
    ...(inDM ? { inDM } : {}),
    name: 'salon',
    subcommand,
    ...(options ? { options } : {}),
  });
}
