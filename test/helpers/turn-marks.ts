/**
 * Model replies whose every few words carry the request's mark (⟨r12⟩), so any Discord message showing any part
 * of any reply can be told apart; and what a thread must show for a salon's turns, in order, as users read it.
 */
import { splitMessage } from '../../src/discord/split.js';
import type { SalonRecord } from '../../src/domain/salon.js';
import type { Random } from '../fakes/random.js';

const WORDS = ['salons', 'persist', 'memory', 'threads', 'archive', 'voices', 'relay', 'rounds', 'echo'];

export const MARK = /⟨r\d+⟩/;

/** A reply of 4 to 64 words, or one of 450 to 900 (a quarter of the time) that splits over several messages. */
export function markedReply(index: number, random: Random): string {
  const long = random() < 0.25;
  const words = long ? 450 + Math.floor(random() * 450) : 4 + Math.floor(random() * 60);
  // Ending on a mark too: a turn's last part may be a word or two, and must still be told apart.
  const marked = Array.from({ length: words }, (_, i) => (i % 5 === 0 ? `⟨r${index}⟩` : WORDS[(i * 7 + index) % WORDS.length]));
  return [...marked, `⟨r${index}⟩`].join(' ');
}

/** The messages the thread must show for the salon's turns, in order: through the webhook, or as the bot. */
export function expectedTurnMessages(salon: SalonRecord, asBot: boolean): string[] {
  return salon.turns.flatMap((turn) => {
    const header = asBot ? `**${turn.name}** · round ${turn.round} of ${salon.rounds}\n` : '';
    const parts = splitMessage(turn.text, { limit: 2000, firstLimit: 2000 - header.length });
    return parts.map((part, i) => (i === 0 ? header + part : part));
  });
}

/**
 * Compares what a thread shows (its messages' contents, in order) with what its turns need; a line per salon
 * whose thread differs, naming each message that is wrong.
 */
export function turnProblems(salon: SalonRecord, shown: string[], asBot: boolean): string[] {
  const expected = expectedTurnMessages(salon, asBot);
  if (JSON.stringify(shown) === JSON.stringify(expected)) return [];
  return [
    `${salon.id}: the thread shows ${shown.length} turn messages, the turns need ${expected.length}: ` +
      shown.map((c, i) => (c === expected[i] ? 'ok' : `#${i} ${JSON.stringify(c.slice(0, 60))}…`)).join(', '),
  ];
}
