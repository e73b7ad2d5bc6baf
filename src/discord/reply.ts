/**
 * Answers to interactions. Every refusal is ephemeral and says what is wrong; an unexpected failure is logged
 * and told to the person without detail. Works whether or not the interaction was deferred, and falls back to
 * a channel message when the interaction token has expired (15 minutes).
 */
import { DiscordAPIError, MessageFlags, RESTJSONErrorCodes, type ChatInputCommandInteraction, type InteractionReplyOptions } from 'discord.js';
import type { Logger } from 'pino';
import { SalonError } from '../domain/errors.js';
import { NO_MENTIONS } from './mentions.js';
import { refusalText, UNEXPECTED_FAILURE_REPLY, warning } from '../wording/index.js';

export async function respond(
  interaction: ChatInputCommandInteraction,
  options: { content?: string; ephemeral?: boolean; files?: InteractionReplyOptions['files']; embeds?: InteractionReplyOptions['embeds'] },
  log: Logger,
): Promise<void> {
  const payload = {
    content: options.content,
    files: options.files,
    embeds: options.embeds,
    allowedMentions: NO_MENTIONS,
  };
  try {
    if ((interaction.deferred || interaction.replied) && options.ephemeral && !interaction.ephemeral) {
      // A refusal after a public acknowledgement must not be public: drop the placeholder, answer privately.
      await interaction.deleteReply().catch(() => {});
      await interaction.followUp({ ...payload, flags: MessageFlags.Ephemeral });
    } else if (interaction.deferred || interaction.replied) {
      await interaction.editReply(payload);
    } else {
      await interaction.reply({ ...payload, flags: options.ephemeral ? MessageFlags.Ephemeral : undefined });
    }
  } catch (err) {
    const expired =
      err instanceof DiscordAPIError && (err.code === RESTJSONErrorCodes.InvalidWebhookToken || err.code === RESTJSONErrorCodes.UnknownInteraction);
    if (!expired || options.ephemeral || !interaction.channel?.isSendable()) throw err;
    // The token outlived its 15 minutes; a public answer can still go to the channel.
    log.warn({ interaction: interaction.id }, 'interaction token expired; answering in the channel');
    await interaction.channel.send({ ...payload, content: `<@${interaction.user.id}> ${options.content ?? ''}` });
  }
}

async function refuse(interaction: ChatInputCommandInteraction, message: string, log: Logger): Promise<void> {
  await respond(interaction, { content: warning(message), ephemeral: true }, log);
}

/** Turns a thrown error into an answer: a SalonError in its words, anything else as a generic failure. */
export async function answerError(interaction: ChatInputCommandInteraction, err: unknown, log: Logger): Promise<void> {
  if (err instanceof SalonError) {
    await refuse(interaction, refusalText(err.refusal), log);
    return;
  }
  log.error({ err, command: interaction.commandName, subcommand: interaction.options.getSubcommand(false) }, 'command failed');
  await refuse(interaction, UNEXPECTED_FAILURE_REPLY, log).catch(() => {});
}
