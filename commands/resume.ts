import type { ChatInputCommandInteraction } from 'discord.js';
import type { BotContext, Subcommand } from '../src/discord/context.js';
import { assertCanControl } from '../src/discord/permissions.js';
import { respond } from '../src/discord/reply.js';
import { nextTurn } from '../src/domain/salon.js';
import { salonHere } from './salon-thread.js';

const resume: Subcommand = {
  name: 'resume',
  define: (b) => b.setDescription('Resume a paused salon'),

  async execute(interaction: ChatInputCommandInteraction, ctx: BotContext) {
    const salon = await salonHere(interaction, ctx, 'resume');
    assertCanControl(interaction, salon, 'resume');
    const after = await ctx.engine.resume(salon.id);
    const next = nextTurn(after);
    await respond(interaction, { content: `▶️ Resumed by ${interaction.user}.${next ? ` ${after.seats[next.seat].name} speaks next.` : ''}` }, ctx.log);
  },
};

export default resume;
