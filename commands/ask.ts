import type { ChatInputCommandInteraction } from 'discord.js';
import type { BotContext, Subcommand } from '../src/discord/context.js';
import { cleanText } from '../src/discord/input.js';
import { LIMITS } from '../src/discord/limits.js';
import { displayName } from '../src/discord/permissions.js';
import { respond } from '../src/discord/reply.js';
import { nextTurn } from '../src/domain/salon.js';
import { salonHere } from './salon-thread.js';

const ask: Subcommand = {
  name: 'ask',
  define: (b) =>
    b
      .setDescription('Put a question to the salon; the next speaker answers it')
      .addStringOption((o) => o.setName('question').setDescription('Your question').setRequired(true).setMaxLength(LIMITS.question)),

  async execute(interaction: ChatInputCommandInteraction, ctx: BotContext) {
    const salon = await salonHere(interaction, ctx, 'ask');
    const text = cleanText(interaction.options.getString('question'), 'question', LIMITS.question);
    const name = displayName(interaction);
    const { salon: after } = await ctx.engine.ask(salon.id, { id: interaction.id, author: { id: interaction.user.id, name }, text });
    const next = nextTurn(after);
    const who = next ? after.seats[next.seat].name : 'the next speaker';
    const when = after.status === 'paused' ? ' once the salon is resumed' : '';
    // The question is shown in the thread so everyone watching knows what the next turn is answering.
    await respond(interaction, { content: `❓ **${name}** asks: ${text}\n-# ${who} will answer it next${when}.` }, ctx.log);
  },
};

export default ask;
