import type { ChatInputCommandInteraction } from 'discord.js';
import type { BotContext, Subcommand } from '../src/discord/context.js';
import { assertCanControl } from '../src/discord/permissions.js';
import { respond } from '../src/discord/reply.js';
import { descriptions, pausedReply } from '../src/wording/index.js';
import { salonHere } from './salon-thread.js';

const pause: Subcommand = {
  name: 'pause',
  define: (b) => b.setDescription(descriptions.pause.summary),

  async execute(interaction: ChatInputCommandInteraction, ctx: BotContext) {
    const salon = await salonHere(interaction, ctx, 'pause');
    assertCanControl(interaction, salon, 'pause');
    await ctx.engine.pause(salon.id);
    await respond(interaction, { content: pausedReply(interaction.user.toString()) }, ctx.log);
  },
};

export default pause;
