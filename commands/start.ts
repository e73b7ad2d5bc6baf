import { ChannelType, ThreadAutoArchiveDuration, type AutocompleteInteraction, type ChatInputCommandInteraction } from 'discord.js';
import type { BotContext, Subcommand } from '../src/discord/context.js';
import { cleanText, checkInteger } from '../src/discord/input.js';
import { LIMITS } from '../src/domain/limits.js';
import { displayName } from '../src/discord/permissions.js';
import { respond } from '../src/discord/reply.js';
import { SalonError } from '../src/domain/errors.js';
import { auditLogReasons, descriptions, startedReply } from '../src/wording/index.js';
import { admission, assertBotCanHost, checkBudget, createOrDropThread, distinctNames, modelChoices, resolveModel, threadName } from './salon-setup.js';

/** The options' names, declared once: the builder and the handler both read them here. */
const Option = {
  Topic: 'topic',
  ModelA: 'model_a',
  ModelB: 'model_b',
  Rounds: 'rounds',
  Delay: 'delay',
  Budget: 'budget',
} as const;

const start: Subcommand = {
  name: 'start',
  define: (b) =>
    b
      .setDescription(descriptions.start.summary)
      .addStringOption((o) => o.setName(Option.Topic).setDescription(descriptions.start.topic).setRequired(true).setMaxLength(LIMITS.topic))
      .addStringOption((o) => o.setName(Option.ModelA).setDescription(descriptions.start.model_a).setAutocomplete(true).setMaxLength(100))
      .addStringOption((o) => o.setName(Option.ModelB).setDescription(descriptions.start.model_b).setAutocomplete(true).setMaxLength(100))
      .addIntegerOption((o) => o.setName(Option.Rounds).setDescription(descriptions.start.rounds).setMinValue(LIMITS.rounds.min).setMaxValue(LIMITS.rounds.max))
      .addIntegerOption((o) => o.setName(Option.Delay).setDescription(descriptions.start.delay).setMinValue(LIMITS.delay.min).setMaxValue(LIMITS.delay.max))
      .addNumberOption((o) => o.setName(Option.Budget).setDescription(descriptions.start.budget).setMinValue(LIMITS.budget.min).setMaxValue(LIMITS.budget.max)),

  async autocomplete(interaction: AutocompleteInteraction, { config }: BotContext) {
    await interaction.respond(modelChoices(config, String(interaction.options.getFocused())));
  },

  async execute(interaction: ChatInputCommandInteraction, ctx: BotContext) {
    const { config, engine, log } = ctx;
    const channel = interaction.channel;
    if (!interaction.inGuild() || !channel || channel.type !== ChannelType.GuildText) {
      throw new SalonError({ code: 'not_a_text_channel' });
    }
    const topic = cleanText(interaction.options.getString(Option.Topic), 'topic', LIMITS.topic);
    const seatA = resolveModel(config, interaction.options.getString(Option.ModelA), config.salon.modelA, 'model_a');
    const seatB = resolveModel(config, interaction.options.getString(Option.ModelB), config.salon.modelB, 'model_b');
    distinctNames(seatA, seatB);
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
          seats: { A: seatA, B: seatB },
          rounds,
          delaySeconds: delay,
          budgetUSD,
        },
        admit,
      ),
    );
    log.info({ salonId: salon.id, guildId: interaction.guildId, starter: interaction.user.id }, 'salon started');
    await respond(interaction, { content: startedReply({ a: seatA.name, b: seatB.name, thread: thread.toString(), rounds, budgetUSD }) }, log);
  },
};

export default start;
