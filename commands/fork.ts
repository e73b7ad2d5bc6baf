import { ChannelType, ThreadAutoArchiveDuration, type AutocompleteInteraction, type ChatInputCommandInteraction } from 'discord.js';
import type { BotContext, Subcommand } from '../src/discord/context.js';
import { checkInteger, cleanText } from '../src/discord/input.js';
import { LIMITS } from '../src/domain/limits.js';
import { displayName } from '../src/discord/permissions.js';
import { respond } from '../src/discord/reply.js';
import { SalonError } from '../src/domain/errors.js';
import { roundsDone } from '../src/domain/salon.js';
import { auditLogReasons, descriptions, forkedReply, forkThreadName } from '../src/wording/index.js';
import { salonHere } from './salon-thread.js';
import { admission, assertBotCanHost, createOrDropThread, PANEL_OPTION, resolveSeats, SEAT_OPTIONS, seatOptionChoices, threadName } from './salon-setup.js';

/** The options' names, declared once: the builder and the handler both read them here. */
const Option = {
  FromRound: 'from_round',
  Rounds: 'rounds',
  Direction: 'direction',
} as const;

const fork: Subcommand = {
  name: 'fork',
  define: (b) => {
    b.setDescription(descriptions.fork.summary)
      .addIntegerOption((o) => o.setName(Option.FromRound).setDescription(descriptions.fork.from_round).setMinValue(0).setMaxValue(LIMITS.totalRounds))
      .addIntegerOption((o) => o.setName(Option.Rounds).setDescription(descriptions.fork.rounds).setMinValue(LIMITS.rounds.min).setMaxValue(LIMITS.rounds.max));
    for (const option of SEAT_OPTIONS.slice(0, 2)) {
      b.addStringOption((o) => o.setName(option).setDescription(descriptions.fork[option]).setAutocomplete(true).setMaxLength(100));
    }
    b.addStringOption((o) => o.setName(Option.Direction).setDescription(descriptions.fork.direction).setMaxLength(LIMITS.question));
    for (const option of SEAT_OPTIONS.slice(2)) {
      b.addStringOption((o) => o.setName(option).setDescription(descriptions.fork[option]).setAutocomplete(true).setMaxLength(100));
    }
    return b.addStringOption((o) => o.setName(PANEL_OPTION).setDescription(descriptions.fork.panel).setAutocomplete(true).setMaxLength(100));
  },

  async autocomplete(interaction: AutocompleteInteraction, { config }: BotContext) {
    await seatOptionChoices(interaction, config);
  },

  async execute(interaction: ChatInputCommandInteraction, ctx: BotContext) {
    const { config, engine, log } = ctx;
    const parent = await salonHere(interaction, ctx, 'fork');
    const thread = interaction.channel;
    const channel = thread?.isThread() ? thread.parent : null;
    if (!channel || channel.type !== ChannelType.GuildText) throw new SalonError({ code: 'fork_no_channel' });
    const done = roundsDone(parent);
    const fromRound = checkInteger(interaction.options.getInteger(Option.FromRound), 'fork_round', { min: 0, max: done }, done);
    const rounds = checkInteger(interaction.options.getInteger(Option.Rounds), 'rounds', LIMITS.rounds, Math.min(parent.rounds, LIMITS.rounds.max));
    if (fromRound + rounds > LIMITS.totalRounds) throw new SalonError({ code: 'fork_too_many_rounds', max: LIMITS.totalRounds, carried: fromRound, rounds });
    const seats = resolveSeats(
      interaction,
      config,
      parent.seats.map((p) => p.key),
    );
    const rawDirection = interaction.options.getString(Option.Direction);
    const direction = rawDirection === null ? undefined : cleanText(rawDirection, 'direction', LIMITS.question);
    assertBotCanHost(channel);
    const admit = admission(interaction, ctx);
    admit(await engine.activeSalons());

    if (!interaction.deferred) await interaction.deferReply(); // the start-up gate may have deferred it already
    const forked = await channel.threads.create({
      name: threadName(forkThreadName(parent.topic)),
      autoArchiveDuration: ThreadAutoArchiveDuration.OneWeek,
      reason: auditLogReasons.forked(interaction.user.tag),
    });
    const starter = { id: interaction.user.id, name: displayName(interaction) };
    const salon = await createOrDropThread(forked, () =>
      engine.create(
        {
          id: forked.id,
          guildId: interaction.guildId ?? undefined,
          channelId: channel.id,
          threadId: forked.id,
          starter,
          topic: parent.topic,
          seats,
          // The parent's order and moderator carry over with its seats.
          order: parent.order,
          moderator: parent.moderator,
          rounds: fromRound + rounds,
          delaySeconds: parent.delaySeconds,
          fork: {
            origin: { salonId: parent.id, threadId: parent.threadId, fromRound, topic: parent.topic },
            turns: parent.turns.filter((t) => t.round <= fromRound),
            direction: direction ? { id: interaction.id, author: starter, text: direction } : undefined,
          },
          // The server's default, not the parent's: a budget someone raised for their salon is not everyone's to copy.
          budgetUSD: config.salon.budgetUSD,
        },
        admit,
      ),
    );
    log.info({ salonId: salon.id, parent: parent.id, fromRound }, 'salon forked');
    await respond(interaction, { content: forkedReply({ fromRound, thread: forked.toString(), names: seats.map((p) => p.name), rounds, direction }) }, log);
  },
};

export default fork;
