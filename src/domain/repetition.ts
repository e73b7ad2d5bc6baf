/**
 * How much a turn repeats what the salon has just said: the Jaccard similarity of its word shingles with those
 * of each recent turn, the highest taken. Cheap (no model call), and blind to paraphrase on purpose: it catches
 * the attractor loops where two models trade the same lines, not two turns on the same subject.
 */
const SHINGLE = 3;

export function shingles(text: string, size = SHINGLE): Set<string> {
  const words = text
    .toLowerCase()
    .normalize('NFKC')
    .split(/[^\p{L}\p{N}']+/u)
    .filter(Boolean);
  const out = new Set<string>();
  for (let i = 0; i + size <= words.length; i++) out.add(words.slice(i, i + size).join(' '));
  // A turn shorter than one shingle is compared by its words.
  if (out.size === 0 && words.length > 0) out.add(words.join(' '));
  return out;
}

export function jaccard(a: Set<string>, b: Set<string>): number {
  if (a.size === 0 || b.size === 0) return 0;
  const [small, large] = a.size <= b.size ? [a, b] : [b, a];
  let shared = 0;
  for (const s of small) if (large.has(s)) shared += 1;
  return shared / (a.size + b.size - shared);
}

// A stored turn is never edited in place (the engine shares unchanged turns between versions of a salon), so its
// shingles are worked out once: scoring a turn costs one text's shingling, however many turns it is compared with.
const shinglesOfTurn = new WeakMap<object, Set<string>>();

function shinglesOf(item: string | { text: string }): Set<string> {
  if (typeof item === 'string') return shingles(item);
  let set = shinglesOfTurn.get(item);
  if (!set) shinglesOfTurn.set(item, (set = shingles(item.text)));
  return set;
}

/** The highest similarity between `text` and any of `recent` (texts, or stored turns, whose shingles are kept). */
export function repetitionScore(text: string, recent: readonly (string | { text: string })[]): number {
  const mine = shingles(text);
  let best = 0;
  for (const other of recent) best = Math.max(best, jaccard(mine, shinglesOf(other)));
  return best;
}

/** How many earlier turns a new turn is compared with: every seat's last two. */
export function repetitionWindow(seats: number): number {
  return 2 * seats;
}
