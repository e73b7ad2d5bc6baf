/** What the bot's own posts look like: the thread's header, laid out as an embed from src/wording's words. */
import { EmbedBuilder } from 'discord.js';
import type { SalonRecord } from '../domain/salon.js';
import { cutOnWord } from '../domain/text.js';
import { headerText } from '../wording/index.js';

const COLOR = 0x8a6fd1;

/** The thread's first post: the topic, the two participants with their model ids, rounds and pace. */
export function headerEmbed(salon: SalonRecord): EmbedBuilder {
  const text = headerText(salon);
  // Discord takes at most 256 characters in an embed's title and 4,096 in its description.
  return new EmbedBuilder()
    .setColor(COLOR)
    .setTitle(cutOnWord(text.title, 256))
    .setDescription(cutOnWord(text.description, 4_000))
    .addFields(...text.fields)
    .setFooter({ text: text.footer });
}
