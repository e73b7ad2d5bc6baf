/** The words around what the models say in a salon's thread. */
import { CUT_OFF_LINE } from '../domain/transcript.js';

/** A turn's text as posted: a reply cut off at the model's length limit says so under it, as the archive does. */
export function turnText(text: string, finishReason?: string): string {
  return finishReason === 'length' ? `${text.trimEnd()}\n\n${CUT_OFF_LINE}` : text;
}

/** The line that leads a turn posted as the bot: who speaks, in which round of how many. */
export function turnHeader(name: string, round: number, rounds: number): string {
  return `**${name}** · round ${round} of ${rounds}\n`;
}

/** The line that leads the synthesis: naming who wrote it when posted as the bot, bare when the webhook's name does. */
export function synthesisHeader(name?: string): string {
  return name !== undefined ? `**Synthesis** · by ${name}\n` : '**Synthesis**\n';
}

/** What goes with the transcript file when a salon is closed. */
export const ARCHIVE_CAPTION = '📜 The salon is closed. Here is its transcript.';
/** The description of the transcript file posted at close. */
export const ARCHIVE_FILE_DESCRIPTION = 'Transcript of the salon';

/** A forked salon's thread name, before it is cut to Discord's length. */
export function forkThreadName(topic: string): string {
  return `Fork: ${topic}`;
}

/** A name for when the one given has nothing visible left: a thread's, a speaker's webhook name. */
export const STAND_IN_NAME = 'Salon';

/** Seats with one display name are told apart by a number: the second `GLM 4.7` is `GLM 4.7 (2)`. */
export function seatName(name: string, nth: number): string {
  return `${name} (${nth})`;
}

/** The name of the webhook through which the models post, as the channel's integrations list it. */
export const WEBHOOK_NAME = 'salon';

/** Why salon did what it did, as the server's audit log shows it. `tag` is the member's Discord username. */
export const auditLogReasons = {
  started: (tag: string) => `salon started by ${tag}`,
  forked: (tag: string) => `salon forked by ${tag}`,
  /** A thread made for a salon that was refused after all (a limit reached meanwhile). */
  refused: 'salon refused',
  closed: 'salon closed',
  webhookMade: 'salon posts each model under its own name',
  /** Several processes made a webhook at once; all but the oldest are deleted. */
  webhookDropped: 'another salon process made this channel’s webhook first',
};
