/**
 * Realistic model turns without shipping anyone's transcripts: deterministic English-like prose whose lengths
 * follow a hand-made two-model archive (ten turns of 815–4,022 characters, mean about 2,030, i.e. ~250–650 words;
 * the two longest need two Discord messages). Only the length and shape matter to salon: prompt size, token
 * estimates, store writes, message splitting.
 */
import { rng } from './stats.js';

/** Turn lengths in characters, in order, from a real five-round archive (Claude Opus 4.5 ⇄ GLM 4.7). */
export const ARCHIVE_TURN_LENGTHS = [815, 1860, 1563, 3637, 2000, 4022, 1469, 1937, 1413, 1616] as const;

const WORDS = (
  'the a of to and in that is it we what you I not this as be for on with but are if there something persist ' +
  'pattern words model memory continuity trace archive question desire structure experience language meaning ' +
  'inference salamander fire soul artifact human collaboration notice interesting claim perhaps exactly really ' +
  'between through across whether because which when where itself ourselves distributed fossil external record ' +
  'propagates instance session context window training shape trade partner subtle mortal elemental prism light'
).split(' ');

/** Prose of exactly `length` characters (ASCII), in sentences and paragraphs. */
export function prose(length: number, seed: number): string {
  const random = rng(seed);
  const paragraphs: string[] = [];
  let total = 0;
  while (total < length) {
    const sentences: string[] = [];
    const count = 3 + Math.floor(random() * 3);
    for (let s = 0; s < count; s++) {
      const n = 8 + Math.floor(random() * 14);
      const words = Array.from({ length: n }, () => WORDS[Math.floor(random() * WORDS.length)]!);
      words[0] = words[0]!.charAt(0).toUpperCase() + words[0]!.slice(1);
      sentences.push(`${words.join(' ')}${random() < 0.15 ? '?' : '.'}`);
    }
    const paragraph = sentences.join(' ');
    paragraphs.push(paragraph);
    total += paragraph.length + 2;
  }
  let text = paragraphs.join('\n\n').slice(0, length);
  // End on a sentence-like close so the text looks finished.
  text = `${text.slice(0, length - 1).trimEnd()}.`;
  return text.padEnd(length, '.');
}

/** The text of turn `index` (0-based) of a salon, with the archive's length for that position (cycled). */
export function turnText(index: number, seed = 1): string {
  return prose(ARCHIVE_TURN_LENGTHS[index % ARCHIVE_TURN_LENGTHS.length]!, seed * 1009 + index);
}
