/** /salon commands and their autocompletes, handed to the command once the gate lets them through. */
import { Events } from 'discord.js';
import type { GatewayEvent } from './index.js';

export default {
  name: Events.InteractionCreate,
  execute({ gate, command, log }, interaction) {
    if (interaction.isChatInputCommand() && interaction.commandName === command.data.name) {
      void gate
        .command(interaction, { ephemeral: command.answersPrivately(interaction) })
        .then((ctx) => ctx && command.execute(interaction, ctx))
        .catch((err: unknown) => log.warn({ err, interaction: interaction.id }, 'could not acknowledge a command while starting'));
    } else if (interaction.isAutocomplete() && interaction.commandName === command.data.name) {
      void gate
        .autocomplete(interaction)
        .then((ctx) => ctx && command.autocomplete(interaction, ctx))
        .catch((err: unknown) => log.warn({ err }, 'autocomplete failed'));
    }
  },
} satisfies GatewayEvent<Events.InteractionCreate>;
