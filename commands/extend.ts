import type { ChatInputCommandInteraction } from 'discord.js';
import type { BotContext, Subcommand } from '../src/discord/context.js';
import { checkInteger } from '../src/discord/input.js';
import { LIMITS } from '../src/domain/limits.js';
import { checkCaps } from '../src/discord/access.js';
import { assertCanControl } from '../src/discord/permissions.js';
import { respond } from '../src/discord/reply.js';
import { knownParticipant } from '../src/domain/order.js';
import { nextTurn } from '../src/domain/salon.js';
import { descriptions, extendedReply } from '../src/wording/index.js';
import { salonHere } from './salon-thread.js';

/** The options' names, declared once: the builder and the handler both read them here. */
const Option = {
  Rounds: 'rounds',
} as const;

const extend: Subcommand = {
  name: 'extend',
  define: (b) =>
    b
      .setDescription(descriptions.extend.summary)
      .addIntegerOption((o) =>
        o.setName(Option.Rounds).setDescription(descriptions.extend.rounds).setRequired(true).setMinValue(LIMITS.rounds.min).setMaxValue(LIMITS.rounds.max),
      ),

  async execute(interaction: ChatInputCommandInteraction, ctx: BotContext) {
    const salon = await salonHere(interaction, ctx, 'extend');
    assertCanControl(interaction, salon, 'extend');
    const rounds = checkInteger(interaction.options.getInteger(Option.Rounds), 'rounds_to_add', LIMITS.rounds, 0);
    // A finished salon that carries on is active again: it counts against its starter's and the server's caps.
    if (salon.status === 'finished') checkCaps(ctx.config.access, { guildId: salon.guildId ?? '', userId: salon.starter.id }, await ctx.engine.activeSalons());
    const after = await ctx.engine.extend(salon.id, rounds);
    const next = nextTurn(after);
    const nextSpeaker = salon.status === 'finished' && next ? knownParticipant(after, next.index)?.name : undefined;
    await respond(interaction, { content: extendedReply({ by: interaction.user.toString(), added: rounds, total: after.rounds, nextSpeaker }) }, ctx.log);
  },
};

export default extend;
