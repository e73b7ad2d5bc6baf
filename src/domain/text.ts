/** Small text helpers shared by prompts, transcripts and the Discord adapter. */

/** A rough, deliberately pessimistic token count (about 3 characters a token) so trimming errs towards fitting. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 3);
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Strips a leading echo of the speaker's own name ("GLM 4.7: …", "**Claude Opus 4.5:** …", "### GLM 4.7\n…"),
 * which models add when they see a named dialogue. Only a name followed by a colon, a dash or a line break counts,
 * so a reply that merely begins with the name in a sentence is left alone.
 */
export function stripOwnName(text: string, names: string[]): string {
  for (const name of names.filter(Boolean)) {
    const n = escapeRegExp(name);
    const re = new RegExp(`^\\s*(?:#{1,6}\\s*)?(?:[*_]{1,3})?\\[?${n}\\]?(?:[*_]{1,3})?\\s*(?:[:：]|[-—–]\\s|\\n)(?:[*_]{1,3}(?=\\s))?\\s*`, 'i');
    const stripped = text.replace(re, '');
    if (stripped !== text && stripped.trim().length > 0) return stripped;
  }
  return text;
}

/** Cuts text to at most `max` characters on a word boundary, adding an ellipsis when cut. */
export function cutOnWord(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  if (flat.length <= max) return flat;
  const room = flat.slice(0, max - 1);
  const space = room.lastIndexOf(' ');
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
  const cut = slug.length > max ? slug.slice(0, max).replace(/-[^-]*$/, '') : slug;
  return cut || 'salon';
}

/** Closes a code fence left open, so one turn's stray ``` cannot swallow what follows it. */
export function closeOpenFence(text: string): string {
  const fences = text.match(/^\s*(```|~~~)/gm)?.length ?? 0;
  return fences % 2 === 1 ? `${text}\n\`\`\`` : text;
}
