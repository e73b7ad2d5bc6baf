/**
 * The one reading of fenced code blocks, shared by the Discord splitter (which closes and reopens a block it cuts)
 * and the transcript (which closes a block a turn left open).
 *
 * The rule, CommonMark-style: a line whose first non-blank characters are three or more backticks or tildes opens
 * a block (a backtick fence's info string may not contain backticks); a line of at least as many of the same
 * character, and nothing else, closes it. Any indentation is allowed, since models indent fences inside list items.
 */

export interface CodeFence {
  /** Start of the opening line, indentation included. */
  openStart: number;
  /** Just after the opening line's line break. */
  bodyStart: number;
  /** Start of the closing line, or the end of the text when the block is never closed. */
  closeStart: number;
  /** Just after the closing fence's marker, or the end of the text when the block is never closed. */
  closeEnd: number;
  /** The fence characters as opened, e.g. "```" or "~~~~": a closing line that repeats them closes the block. */
  marker: string;
  /** What follows the opening marker, trimmed: usually the language. */
  info: string;
  closed: boolean;
}

/** Every fenced code block in `text`, in order; an unclosed one runs to the end, as Discord and CommonMark render it. */
export function scanCodeFences(text: string): CodeFence[] {
  const fences: CodeFence[] = [];
  const n = text.length;
  let open: Pick<CodeFence, 'openStart' | 'bodyStart' | 'marker' | 'info'> | null = null;
  for (let lineStart = 0; lineStart < n;) {
    const newline = text.indexOf('\n', lineStart);
    const lineEnd = newline < 0 ? n : newline;
    let k = lineStart;
    while (k < lineEnd && (text.charCodeAt(k) === 0x20 || text.charCodeAt(k) === 0x09)) k++;
    const ch = text[k];
    if (ch === '`' || ch === '~') {
      let m = k;
      while (m < lineEnd && text[m] === ch) m++;
      if (m - k >= 3) {
        const rest = text.slice(m, lineEnd);
        if (open === null) {
          if (!(ch === '`' && rest.includes('`'))) {
            open = { openStart: lineStart, bodyStart: Math.min(n, lineEnd + 1), marker: text.slice(k, m), info: rest.trim() };
          }
        } else if (ch === open.marker[0] && m - k >= open.marker.length && rest.trim() === '') {
          fences.push({ ...open, closeStart: lineStart, closeEnd: m, closed: true });
          open = null;
        }
      }
    }
    lineStart = lineEnd + 1;
  }
  if (open) fences.push({ ...open, closeStart: n, closeEnd: n, closed: false });
  return fences;
}
