import type { ChatInputCommandInteraction } from 'discord.js';
import type { BotContext, Subcommand } from '../src/discord/context.js';
import { cleanText } from '../src/discord/input.js';
import { LIMITS } from '../src/domain/limits.js';
import { displayName } from '../src/discord/permissions.js';
import { respond } from '../src/discord/reply.js';
import { askedReply, descriptions } from '../src/wording/index.js';
import { salonHere } from './salon-thread.js';
import { resolveSeat, salonSeatChoices } from './salon-setup.js';

/** The options' names, declared once: the builder and the handler both read them here. */
const Option = {
  Question: 'question',
  To: 'to',
} as const;

const ask: Subcommand = {
  name: 'ask',
  define: (b) =>
    b
      .setDescription(descriptions.ask.summary)
      .addStringOption((o) => o.setName(Option.Question).setDescription(descriptions.ask.question).setRequired(true).setMaxLength(LIMITS.question))
      .addStringOption((o) => o.setName(Option.To).setDescription(descriptions.ask.to).setAutocomplete(true).setMaxLength(100)),

  autocomplete: salonSeatChoices,

  async execute(interaction: ChatInputCommandInteraction, ctx: BotContext) {
    const salon = await salonHere(interaction, ctx, 'ask');
    const text = cleanText(interaction.options.getString(Option.Question), 'question', LIMITS.question);
    const to = resolveSeat(salon, interaction.options.getString(Option.To), 'ask');
    const name = displayName(interaction);
    const { salon: after, answeredIn } = await ctx.engine.ask(salon.id, { id: interaction.id, author: { id: interaction.user.id, name }, text, to });
    // The question is shown in the thread so everyone watching knows what is coming.
    await respond(interaction, { content: askedReply(after, { name, text, to }, answeredIn) }, ctx.log);
  },
};

export default ask;
