import { ChannelType, ThreadAutoArchiveDuration, type AutocompleteInteraction, type ChatInputCommandInteraction } from 'discord.js';
import type { BotContext, Subcommand } from '../src/discord/context.js';
import { cleanText, checkInteger } from '../src/discord/input.js';
import { LIMITS } from '../src/domain/limits.js';
import { displayName } from '../src/discord/permissions.js';
import { respond } from '../src/discord/reply.js';
import { SalonError } from '../src/domain/errors.js';
import { auditLogReasons, descriptions, startedReply } from '../src/wording/index.js';
import {
  admission,
  assertBotCanHost,
  checkBudget,
  createOrDropThread,
  PANEL_OPTION,
  resolveOrder,
  resolveSeats,
  SEAT_OPTIONS,
  seatOptionChoices,
  threadName,
} from './salon-setup.js';

/** The options' names, declared once: the builder and the handler both read them here. */
const Option = {
  Topic: 'topic',
  Rounds: 'rounds',
  Delay: 'delay',
  Budget: 'budget',
  Order: 'order',
} as const;

const start: Subcommand = {
  name: 'start',
  define: (b) => {
    b.setDescription(descriptions.start.summary).addStringOption((o) =>
      o.setName(Option.Topic).setDescription(descriptions.start.topic).setRequired(true).setMaxLength(LIMITS.topic),
    );
    // The first two seats, then the options people use most, then the rest of a panel's seats.
    for (const option of SEAT_OPTIONS.slice(0, 2)) {
      b.addStringOption((o) => o.setName(option).setDescription(descriptions.start[option]).setAutocomplete(true).setMaxLength(100));
    }
    b.addIntegerOption((o) => o.setName(Option.Rounds).setDescription(descriptions.start.rounds).setMinValue(LIMITS.rounds.min).setMaxValue(LIMITS.rounds.max))
      .addIntegerOption((o) => o.setName(Option.Delay).setDescription(descriptions.start.delay).setMinValue(LIMITS.delay.min).setMaxValue(LIMITS.delay.max))
      .addNumberOption((o) => o.setName(Option.Budget).setDescription(descriptions.start.budget).setMinValue(LIMITS.budget.min).setMaxValue(LIMITS.budget.max));
    for (const option of SEAT_OPTIONS.slice(2)) {
      b.addStringOption((o) => o.setName(option).setDescription(descriptions.start[option]).setAutocomplete(true).setMaxLength(100));
    }
    return b
      .addStringOption((o) => o.setName(PANEL_OPTION).setDescription(descriptions.start.panel).setAutocomplete(true).setMaxLength(100))
      .addStringOption((o) =>
        o
          .setName(Option.Order)
          .setDescription(descriptions.start.order)
          .addChoices({ name: 'round-robin', value: 'round-robin' }, { name: 'moderated', value: 'moderated' }),
      );
  },

  async autocomplete(interaction: AutocompleteInteraction, { config }: BotContext) {
    await seatOptionChoices(interaction, config);
  },

  async execute(interaction: ChatInputCommandInteraction, ctx: BotContext) {
    const { config, engine, log } = ctx;
    const channel = interaction.channel;
    if (!interaction.inGuild() || !channel || channel.type !== ChannelType.GuildText) {
      throw new SalonError({ code: 'not_a_text_channel' });
    }
    const topic = cleanText(interaction.options.getString(Option.Topic), 'topic', LIMITS.topic);
    const seats = resolveSeats(interaction, config, [config.salon.modelA, config.salon.modelB]);
    const { order, moderator } = resolveOrder(interaction.options.getString(Option.Order), config);
    const rounds = checkInteger(interaction.options.getInteger(Option.Rounds), 'rounds', LIMITS.rounds, config.salon.rounds);
    const delay = checkInteger(interaction.options.getInteger(Option.Delay), 'delay', LIMITS.delay, config.salon.turnDelaySeconds);
    const budgetUSD = checkBudget(interaction.options.getNumber(Option.Budget), config) ?? config.salon.budgetUSD;
    assertBotCanHost(channel);
    const admit = admission(interaction, ctx);
    admit(await engine.activeSalons());

    if (!interaction.deferred) await interaction.deferReply(); // the start-up gate may have deferred it already
    const thread = await channel.threads.create({
      name: threadName(topic),
      // Slow salons run for days; a week keeps the thread open between turns.
      autoArchiveDuration: ThreadAutoArchiveDuration.OneWeek,
      reason: auditLogReasons.started(interaction.user.tag),
    });
    const salon = await createOrDropThread(thread, () =>
      engine.create(
        {
          id: thread.id,
          guildId: interaction.guildId,
          channelId: channel.id,
          threadId: thread.id,
          starter: { id: interaction.user.id, name: displayName(interaction) },
          topic,
          seats,
          order,
          moderator,
          rounds,
          delaySeconds: delay,
          budgetUSD,
        },
        admit,
      ),
    );
    log.info({ salonId: salon.id, guildId: interaction.guildId, starter: interaction.user.id }, 'salon started');
    const names = seats.map((p) => p.name);
    await respond(interaction, { content: startedReply({ names, moderator: moderator?.name, thread: thread.toString(), rounds, budgetUSD }) }, log);
  },
};

export default start;
