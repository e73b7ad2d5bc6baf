import { AttachmentBuilder, MessageFlags, type ChatInputCommandInteraction } from 'discord.js';
import type { BotContext, Subcommand } from '../src/discord/context.js';
import { respond } from '../src/discord/reply.js';
import { roundsDone } from '../src/domain/salon.js';
import { renderTranscript, transcriptFileName } from '../src/domain/transcript.js';
import { descriptions, TRANSCRIPT_SO_FAR_FILE, transcriptReply } from '../src/wording/index.js';
import { salonHere } from './salon-thread.js';

const transcript: Subcommand = {
  name: 'transcript',
  ephemeral: true,
  define: (b) => b.setDescription(descriptions.transcript.summary),

  async execute(interaction: ChatInputCommandInteraction, ctx: BotContext) {
    const salon = await salonHere(interaction, ctx, 'transcript');
    // A long salon's file takes a moment to upload: acknowledge (privately) within Discord's 3 seconds first.
    if (!interaction.deferred) await interaction.deferReply({ flags: MessageFlags.Ephemeral }); // the start-up gate may have deferred it already
    const now = new Date();
    const file = new AttachmentBuilder(Buffer.from(renderTranscript(salon, now), 'utf8'), {
      name: transcriptFileName(salon, now),
      description: TRANSCRIPT_SO_FAR_FILE,
    });
    await respond(
      interaction,
      { content: transcriptReply({ done: roundsDone(salon), rounds: salon.rounds, turns: salon.turns.length }), files: [file], ephemeral: true },
      ctx.log,
    );
  },
};

export default transcript;
