import type { ChatInputCommandInteraction } from 'discord.js';
import type { BotContext, Subcommand } from '../src/discord/context.js';
import { descriptions, statusText } from '../src/wording/index.js';
import { respond } from '../src/discord/reply.js';
import { salonHere } from './salon-thread.js';

const status: Subcommand = {
  name: 'status',
  ephemeral: true,
  define: (b) => b.setDescription(descriptions.status.summary),

  async execute(interaction: ChatInputCommandInteraction, ctx: BotContext) {
    const salon = await salonHere(interaction, ctx, 'status');
    await respond(interaction, { content: statusText(salon, Date.now()), ephemeral: true }, ctx.log);
  },
};

export default status;
