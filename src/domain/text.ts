/** Small text helpers shared by prompts, transcripts and the Discord adapter. */
import { scanCodeFences } from './code-fences.js';

/** A rough, deliberately pessimistic token count (about 3 characters a token) so trimming errs towards fitting. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 3);
}

export function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Strips a leading speaker's name ("GLM 4.7: …", "**Claude Opus 4.5:** …", "### GLM 4.7\n…"), which models add
 * when they see a named dialogue: their own, or in a panel the name of the participant they answer. Only a name
 * followed by a colon, a dash or a line break counts, so a reply that merely begins with a name in a sentence is
 * left alone. Give longer names first, so `GLM 4.7 (2)` is found before `GLM 4.7`.
 */
export function stripNamePrefix(text: string, names: string[]): string {
  return namePrefixStripper(names)(text);
}

/** stripNamePrefix with its patterns compiled once, for text that is stripped again and again as it streams. */
export function namePrefixStripper(names: string[]): (text: string) => string {
  const patterns = names
    .filter(Boolean)
    .map(
      (name) =>
        new RegExp(`^\\s*(?:#{1,6}\\s*)?(?:[*_]{1,3})?\\[?${escapeRegExp(name)}\\]?(?:[*_]{1,3})?\\s*(?:[:：]|[-—–]\\s|\\n)(?:[*_]{1,3}(?=\\s))?\\s*`, 'i'),
    );
  return (text) => {
    for (const re of patterns) {
      const stripped = text.replace(re, '');
      if (stripped !== text && stripped.trim().length > 0) return stripped;
    }
    return text;
  };
}

/**
 * Cuts a reply where it starts writing another participant's lines: a later line that opens with another
 * speaker's name and a colon ("\n\nGLM 4.7: I agree…"), as a model that sees a named dialogue may go on to write
 * the whole of it. What comes before stays; a reply that would be left empty is kept whole.
 */
export function othersLinesCutter(others: string[]): (text: string) => string {
  const names = others.filter(Boolean).map(escapeRegExp);
  if (names.length === 0) return (text) => text;
  const line = new RegExp(`\\n[^\\S\\n]*(?:[*_]{1,3})?\\[?(?:${names.join('|')})\\]?(?:[*_]{1,3})?[^\\S\\n]*[:：]`, 'i');
  return (text) => {
    const at = text.search(line);
    if (at < 0) return text;
    const kept = text.slice(0, at).trimEnd();
    return kept.trim().length > 0 ? kept : text;
  };
}

/** `A`, `A and B`, `A, B and C` (or with `or`): names in a sentence. */
export function listOf(items: readonly string[], last: 'and' | 'or' = 'and'): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} ${last} ${items.at(-1)}`;
}

/** Cuts text to at most `max` characters on a word boundary, adding an ellipsis when cut. */
export function cutOnWord(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  if (flat.length <= max) return flat;
  // Room for max-1 characters plus the ellipsis; a space right after that room means the last word fits whole.
  // Never cut between the two halves of a surrogate pair (an emoji).
  const room = flat.slice(0, /[\uD800-\uDBFF]/.test(flat[max - 2] ?? '') ? max - 2 : max - 1);
  const space = flat[max - 1] === ' ' ? room.length : room.lastIndexOf(' ');
  return `${(space > max / 2 ? room.slice(0, space) : room).trimEnd()}…`;
}

/** A file-name-safe slug: lower-case ASCII words joined by dashes. */
export function slugify(text: string, max = 60): string {
  const slug = text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  const cut = slug.length <= max ? slug : slug[max] === '-' ? slug.slice(0, max) : slug.slice(0, max).replace(/-[^-]*$/, '');
  return cut || 'salon';
}

/** Closes a code fence left open, so one turn's stray ``` cannot swallow what follows it. */
export function closeOpenCodeFence(text: string): string {
  const last = scanCodeFences(text).at(-1);
  return last && !last.closed ? `${text}\n${last.marker}` : text;
}

/**
 * Text written by people, made safe to place inside a Markdown document: a line that would start a heading, a
 * setext underline or a rule is escaped, so a topic or a question cannot forge a `## Round` heading.
 */
export function neutraliseMarkdownBlocks(text: string): string {
  return text.replace(/^( {0,3})(#{1,6}(?=\s|$)|=+[ \t]*$|-{3,}[ \t]*$|\*{3,}[ \t]*$|_{3,}[ \t]*$)/gm, '$1\\$2');
}
