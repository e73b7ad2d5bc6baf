import type { ChatInputCommandInteraction } from 'discord.js';
import type { BotContext, Subcommand } from '../src/discord/context.js';
import { assertCanControl, displayName } from '../src/discord/permissions.js';
import { respond } from '../src/discord/reply.js';
import { SalonError } from '../src/domain/errors.js';
import { descriptions, nextChosenReply } from '../src/wording/index.js';
import { salonHere } from './salon-thread.js';
import { resolveSeat, salonSeatChoices } from './salon-setup.js';

/** The options' names, declared once: the builder and the handler both read them here. */
const Option = {
  Speaker: 'speaker',
} as const;

const next: Subcommand = {
  name: 'next',
  define: (b) =>
    b
      .setDescription(descriptions.next.summary)
      .addStringOption((o) => o.setName(Option.Speaker).setDescription(descriptions.next.speaker).setRequired(true).setAutocomplete(true).setMaxLength(100)),

  autocomplete: salonSeatChoices,

  async execute(interaction: ChatInputCommandInteraction, ctx: BotContext) {
    const salon = await salonHere(interaction, ctx, 'next');
    assertCanControl(interaction, salon, 'next');
    const seat = resolveSeat(salon, interaction.options.getString(Option.Speaker), 'next');
    if (seat === undefined) throw new SalonError({ code: 'unknown_speaker', wanted: '', names: salon.seats.map((p) => p.name), command: 'next' });
    const person = { id: interaction.user.id, name: displayName(interaction) };
    const { salon: after, round } = await ctx.engine.chooseNext(salon.id, seat, person);
    const afterCurrent = after.next?.index === after.turns.length;
    await respond(interaction, { content: nextChosenReply({ by: interaction.user.toString(), name: after.seats[seat]!.name, round, afterCurrent }) }, ctx.log);
  },
};

export default next;
