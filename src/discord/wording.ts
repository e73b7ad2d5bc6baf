/**
 * Every word the bot says in Discord, rendered from data: the domain and the handlers say what happened (a code
 * and its values), and this module alone says it in words. What people see is defined here and nowhere else.
 */
import { CUT_OFF_LINE } from '../domain/transcript.js';

/** A turn's text as posted: a reply cut off at the model's length limit says so under it, as the archive does. */
export function turnText(text: string, finishReason?: string): string {
  return finishReason === 'length' ? `${text.trimEnd()}\n\n${CUT_OFF_LINE}` : text;
}
