import type { ChatInputCommandInteraction } from 'discord.js';
import type { BotContext, Subcommand } from '../src/discord/context.js';
import { assertCanControl } from '../src/discord/permissions.js';
import { respond } from '../src/discord/reply.js';
import { SalonError } from '../src/domain/errors.js';
import { closedReply, descriptions } from '../src/wording/index.js';
import { salonHere } from './salon-thread.js';

/** The options' names, declared once: the builder and the handler both read them here. */
const Option = {
  Synthesis: 'synthesis',
} as const;

const close: Subcommand = {
  name: 'close',
  define: (b) => b.setDescription(descriptions.close.summary).addBooleanOption((o) => o.setName(Option.Synthesis).setDescription(descriptions.close.synthesis)),

  async execute(interaction: ChatInputCommandInteraction, ctx: BotContext) {
    const salon = await salonHere(interaction, ctx, 'close');
    assertCanControl(interaction, salon, 'close');
    // Refuse before acknowledging, so a second close never flashes a public "thinking…".
    if (salon.status === 'closed') throw new SalonError({ code: 'closed' });
    // Acknowledge first: the reply must exist before the thread is locked, or it could not be edited.
    if (!interaction.deferred) await interaction.deferReply(); // the start-up gate may have deferred it already
    const synthesis = interaction.options.getBoolean(Option.Synthesis) ?? undefined;
    const closed = await ctx.engine.close(salon.id, { synthesis });
    // The archive may lock the thread before this edit lands; the transcript itself says the salon is closed.
    await respond(interaction, { content: closedReply(interaction.user.toString(), closed.synthesis) }, ctx.log).catch((err: unknown) =>
      ctx.log.debug({ err }, 'could not confirm the close'),
    );
  },
};

export default close;
