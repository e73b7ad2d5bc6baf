import type { ChatInputCommandInteraction } from 'discord.js';
import type { BotContext, Subcommand } from '../src/discord/context.js';
import { assertCanControl } from '../src/discord/permissions.js';
import { respond } from '../src/discord/reply.js';
import { knownParticipant } from '../src/domain/order.js';
import { nextTurn } from '../src/domain/salon.js';
import { LIMITS } from '../src/domain/limits.js';
import { budgetSetReply, descriptions, resumedReply } from '../src/wording/index.js';
import { salonHere } from './salon-thread.js';
import { checkBudget } from './salon-setup.js';

/** The options' names, declared once: the builder and the handler both read them here. */
const Option = {
  Budget: 'budget',
} as const;

const resume: Subcommand = {
  name: 'resume',
  define: (b) =>
    b
      .setDescription(descriptions.resume.summary)
      .addNumberOption((o) =>
        o.setName(Option.Budget).setDescription(descriptions.resume.budget).setMinValue(LIMITS.budget.min).setMaxValue(LIMITS.budget.max),
      ),

  async execute(interaction: ChatInputCommandInteraction, ctx: BotContext) {
    const salon = await salonHere(interaction, ctx, 'resume');
    assertCanControl(interaction, salon, 'resume');
    const budgetUSD = checkBudget(interaction.options.getNumber(Option.Budget), ctx.config);
    const after = await ctx.engine.resume(salon.id, { budgetUSD });
    if (salon.status === 'running') {
      await respond(interaction, { content: budgetSetReply(interaction.user.toString(), budgetUSD!) }, ctx.log);
      return;
    }
    const next = nextTurn(after);
    const nextSpeaker = next ? knownParticipant(after, next.index)?.name : undefined;
    await respond(interaction, { content: resumedReply({ by: interaction.user.toString(), budgetUSD, nextSpeaker }) }, ctx.log);
  },
};

export default resume;
