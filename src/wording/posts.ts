/** The words around what the models say in a salon's thread. */
import { CUT_OFF_LINE } from '../domain/transcript.js';

/** A turn's text as posted: a reply cut off at the model's length limit says so under it, as the archive does. */
export function turnText(text: string, finishReason?: string): string {
  return finishReason === 'length' ? `${text.trimEnd()}\n\n${CUT_OFF_LINE}` : text;
}
