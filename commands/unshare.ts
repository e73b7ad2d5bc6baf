import type { ChatInputCommandInteraction } from 'discord.js';
import type { BotContext, Subcommand } from '../src/discord/context.js';
import { assertCanControl } from '../src/discord/permissions.js';
import { respond } from '../src/discord/reply.js';
import { descriptions, unsharedReply } from '../src/wording/index.js';
import { salonHere } from './salon-thread.js';

const unshare: Subcommand = {
  name: 'unshare',
  ephemeral: true,
  define: (b) => b.setDescription(descriptions.unshare.summary),

  async execute(interaction: ChatInputCommandInteraction, ctx: BotContext) {
    const salon = await salonHere(interaction, ctx, 'unshare');
    assertCanControl(interaction, salon, 'unshare');
    await ctx.engine.unshare(salon.id);
    // Open pages stop now; a page opened from here on finds nothing (the store no longer knows the token).
    ctx.web?.feed.publish(salon.id, { type: 'gone' });
    ctx.log.info({ salonId: salon.id }, 'salon unshared');
    await respond(interaction, { content: unsharedReply(), ephemeral: true }, ctx.log);
  },
};

export default unshare;
