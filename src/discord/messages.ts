/**
 * Plain messages in a salon thread count as questions, like `/salon ask`. Only people's messages count:
 * never bots (this one included) or webhooks, and never empty or attachment-only messages.
 */
import { type Message } from 'discord.js';
import { SalonError } from '../domain/errors.js';
import { type SalonRecord, type Seat } from '../domain/salon.js';
import { escapeRegExp } from '../domain/text.js';
import type { BotContext } from './context.js';
import { cleanText } from './input.js';
import { LIMITS } from '../domain/limits.js';
import { NO_MENTIONS } from './mentions.js';
import { refusalText, warning } from '../wording/index.js';

export async function onThreadMessage(message: Message, ctx: BotContext): Promise<void> {
  if (message.author.bot || message.webhookId || message.system || !message.inGuild() || !message.channel.isThread()) return;
  if (!message.content.trim()) return;
  // Only running or paused salons take questions; where the engine holds them all, a memory look-up, so chat in
  // other threads costs nothing.
  const salon = await ctx.engine.findActive(message.channelId);
  if (!salon) return;
  try {
    const { to, question } = aimedAt(salon, message.content);
    const text = cleanText(question, 'question', LIMITS.question);
    const name = message.member?.displayName ?? message.author.globalName ?? message.author.username;
    await ctx.engine.ask(salon.id, { id: message.id, author: { id: message.author.id, name }, text, to });
    // A reaction acknowledges it on the asker's own message without adding noise to the thread.
    await message.react('✅').catch(() => {});
  } catch (err) {
    if (!(err instanceof SalonError)) throw err;
    if (err.code === 'question_duplicate') return;
    await message.reply({ content: warning(refusalText(err.refusal)), allowedMentions: NO_MENTIONS }).catch(() => {});
  }
}

/** "GLM 4.7: what about memory?" or "glm, what about memory?" puts the question to that seat. */
function aimedAt(salon: SalonRecord, content: string): { to?: Seat; question: string } {
  for (const [seat, { name, key }] of salon.seats.entries()) {
    const names = [name, key].map(escapeRegExp).join('|');
    const match = new RegExp(`^\\s*(?:${names})\\s*[:,]\\s*([\\s\\S]+)$`, 'i').exec(content);
    if (match) return { to: seat, question: match[1]! };
  }
  return { question: content };
}
