import { AttachmentBuilder, MessageFlags, type ChatInputCommandInteraction } from 'discord.js';
import type { BotContext, Subcommand } from '../src/discord/context.js';
import { respond } from '../src/discord/reply.js';
import { roundsDone, type SalonRecord } from '../src/domain/salon.js';
import { renderTranscript, transcriptFileName } from '../src/domain/transcript.js';
import { exportHtml } from '../src/web/render/export-html.js';
import { exportJson } from '../src/web/render/export-json.js';
import { descriptions, TRANSCRIPT_SO_FAR_FILE, transcriptReply } from '../src/wording/index.js';
import { salonHere } from './salon-thread.js';

/** The options' names, declared once: the builder and the handler both read them here. */
const Option = {
  Format: 'format',
} as const;

/** The three forms of a salon: the archive, one page that opens offline, and data for programs (as the web exports). */
const FORMATS = {
  md: (salon: SalonRecord, now: Date) => renderTranscript(salon, now),
  html: (salon: SalonRecord, now: Date) => exportHtml(salon, now),
  json: (salon: SalonRecord, now: Date) => `${JSON.stringify(exportJson(salon, now), null, 2)}\n`,
} as const;

const transcript: Subcommand = {
  name: 'transcript',
  ephemeral: true,
  define: (b) =>
    b
      .setDescription(descriptions.transcript.summary)
      .addStringOption((o) =>
        o
          .setName(Option.Format)
          .setDescription(descriptions.transcript.format)
          .addChoices({ name: 'md', value: 'md' }, { name: 'html', value: 'html' }, { name: 'json', value: 'json' }),
      ),

  async execute(interaction: ChatInputCommandInteraction, ctx: BotContext) {
    const salon = await salonHere(interaction, ctx, 'transcript');
    // A long salon's file takes a moment to upload: acknowledge (privately) within Discord's 3 seconds first.
    if (!interaction.deferred) await interaction.deferReply({ flags: MessageFlags.Ephemeral }); // the start-up gate may have deferred it already
    const now = new Date();
    const format = (interaction.options.getString(Option.Format) ?? 'md') as keyof typeof FORMATS;
    const render = Object.hasOwn(FORMATS, format) ? FORMATS[format] : FORMATS.md;
    const file = new AttachmentBuilder(Buffer.from(render(salon, now), 'utf8'), {
      name: transcriptFileName(salon, now).replace(/\.md$/, `.${Object.hasOwn(FORMATS, format) ? format : 'md'}`),
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
