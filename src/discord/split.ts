/**
 * Splits a model's reply into messages Discord will accept. Discord counts content in UTF-16 code units and
 * refuses more than 2,000, so every length here is `string.length`.
 *
 * Each message is filled as far as it will go, ending at the most natural seam available: a blank line, then a
 * line break, then a sentence end, then a space, and only as a last resort a cut through a word (at a grapheme
 * boundary). A code block cut in two is closed at the end of one message and reopened, with its language tag,
 * at the start of the next, so both halves still render as code; those code fence lines count against the limit.
 */

import { scanCodeFences, type CodeFence } from '../domain/code-fences.js';
import { DISCORD_LIMITS } from './limits.js';

export interface SplitOptions {
  /** Most code units in any message. Default 2,000. */
  limit?: number;
  /** Room in the first message, when something else (a header line) shares it. Defaults to `limit`. */
  firstLimit?: number;
}

/**
 * Returns the messages to post, in order. Text that fits comes back whole, trimmed of trailing whitespace only;
 * whitespace-only text gives no messages at all. Apart from whitespace at the seams and the code fence lines added
 * around a cut code block, joining the messages gives back the text.
 */
export function splitMessage(text: string, options: SplitOptions = {}): string[] {
  const limit = options.limit ?? DISCORD_LIMITS.message;
  const firstLimit = options.firstLimit ?? limit;
  // Two code units is the least that always holds one character, surrogate pairs included.
  for (const [name, value] of [
    ['limit', limit],
    ['firstLimit', firstLimit],
  ] as const) {
    if (!Number.isInteger(value) || value < 2) throw new RangeError(`splitMessage: ${name} must be an integer of at least 2, got ${value}`);
  }
  const body = text.trimEnd();
  if (body.trim() === '') return [];
  if (body.length <= firstLimit) return [body];
  return new Splitter(body, limit).split(firstLimit);
}

/*
 * Seams, best first. A worse seam is used only when the piece after the best seam that fits would not fit in a
 * message of its own either: that piece has to be split anyway, so it may as well start filling this message.
 * Seams inside code rank below prose line breaks so that a code block that fits in the next message moves there
 * whole instead of being cut to top up this one.
 */
const PARAGRAPH = 0; // a blank line outside code, or the line break just before or after a code block
const LINE = 1;
const CODE_PARAGRAPH = 2;
const CODE_LINE = 3;
const SENTENCE = 4;
const WORD = 5; // any other whitespace, in prose or inside a code line
const RANKS = 6;

/** How far around a forced cut to look for grapheme boundaries; longer clusters are cut at a code point. */
const GRAPHEME_LOOKBEHIND = 64;
const GRAPHEME_LOOKAHEAD = 16;

interface Cut {
  /** The message takes text up to here (already clear of trailing whitespace)... */
  end: number;
  /** ...and the next one resumes here. */
  next: number;
  /** A cut made without regard to code fences, for limits too small to hold the code fence lines. */
  raw?: boolean;
}

/** A code block as scanCodeFences reads it, and where its code stops. */
interface CodeBlock extends CodeFence {
  /** Just after the last non-blank character of the code, so a seam there would leave only the closing line. */
  contentEnd: number;
}

class Splitter {
  private readonly n: number;
  private readonly blocks: CodeBlock[];
  /** Per rank, the seams in text order: where the message before would end and where the next would begin. */
  private readonly ends: number[][] = [];
  private readonly nexts: number[][] = [];

  constructor(
    private readonly text: string,
    private readonly limit: number,
  ) {
    this.n = text.length;
    // An unclosed block runs to the end; its last message stays unclosed like the original.
    this.blocks = scanCodeFences(text).map((f) => ({ ...f, contentEnd: trimmedEnd(text, f.bodyStart, f.closeStart) }));
    for (let r = 0; r < RANKS; r++) {
      this.ends.push([]);
      this.nexts.push([]);
    }
    this.findSeams();
  }

  split(firstLimit: number): string[] {
    const { text, n } = this;
    const chunks: string[] = [];
    let s = this.skipGap(0);
    while (s < n) {
      const room = chunks.length === 0 ? firstLimit : this.limit;
      const block = this.blockBodyAt(s);
      const header = block ? reopenLine(block, room) : '';
      if (header !== null && header.length + (n - s) <= room) {
        chunks.push(header + text.slice(s));
        break;
      }
      const picked = header !== null ? this.pick(s, room, header.length) : null;
      if (picked === null) {
        // Indentation too deep to fit in a message at all is given up rather than the code fences around it.
        if (isBreakSpace(text.charCodeAt(s))) {
          s = this.trimForward(s);
          continue;
        }
        const opened = this.lastBlockBefore(s + 1);
        if (opened?.openStart === s && this.trimForward(opened.bodyStart) < opened.contentEnd) {
          // Starting inside the code makes this message reopen the block, so its opening line is not lost.
          s = this.trimForward(opened.bodyStart);
          continue;
        }
      }
      const cut = picked ?? this.rawCut(s, room);
      const piece = text.slice(s, cut.end);
      // Only a pathological run of whitespace longer than a message could make this blank; drop it, it is only space.
      if (piece.trim() !== '') {
        if (cut.raw) {
          chunks.push(piece);
        } else {
          const open = this.blockBodyAt(cut.end);
          chunks.push((header ?? '') + piece + (open ? `\n${open.marker}` : ''));
        }
      }
      s = cut.next;
    }
    return chunks;
  }

  /** The best seam for a message starting at `s` with `room` code units, `headerLen` of them taken by a reopened block. */
  private pick(s: number, room: number, headerLen: number): Cut | null {
    let lo = s;
    let fallback: Cut | null = null;
    for (let rank = 0; rank < RANKS; rank++) {
      const i = this.lastFitting(rank, lo, s, room, headerLen);
      if (i < 0) continue;
      const cut = { end: this.ends[rank]![i]!, next: this.nexts[rank]![i]! };
      if (this.fitsAlone(cut.next, this.unitEnd(rank, cut.end))) return cut;
      fallback = cut;
      lo = cut.end;
    }
    return this.hardCut(s, room, headerLen, lo) ?? fallback;
  }

  /** Index of the last seam of `rank` after `lo` that leaves the message within `room`, or -1. */
  private lastFitting(rank: number, lo: number, s: number, room: number, headerLen: number): number {
    const ends = this.ends[rank]!;
    const maxEnd = s + room - headerLen;
    let bound = maxEnd;
    for (;;) {
      const i = upperBound(ends, bound) - 1;
      if (i < 0 || ends[i]! <= lo) return -1;
      const close = this.closeLen(ends[i]!);
      if (ends[i]! + close <= maxEnd) return i;
      // A seam inside a code block also needs room for the closing line: look again below a bound that leaves it.
      bound = maxEnd - close;
    }
  }

  /** Where the piece that follows a seam of `rank` at `end` stops: the next seam at least as good, or the text's end. */
  private unitEnd(rank: number, end: number): number {
    let best = this.n;
    for (let r = 0; r <= rank; r++) {
      const ends = this.ends[r]!;
      const i = upperBound(ends, end);
      if (i < ends.length && ends[i]! < best) best = ends[i]!;
    }
    return best;
  }

  private fitsAlone(from: number, to: number): boolean {
    const block = this.blockBodyAt(from);
    const header = block ? reopenLine(block, this.limit) : '';
    return header !== null && header.length + (to - from) + this.closeLen(to) <= this.limit;
  }

  /**
   * The fullest cut through an unbroken run (a huge word, a minified line, emoji without spaces) past `lo`,
   * at a grapheme boundary, and never inside a code fence line or just before a closing one.
   */
  private hardCut(s: number, room: number, headerLen: number, lo: number): Cut | null {
    let p = Math.min(this.n, s + room - headerLen);
    while (p > lo) {
      p = this.graphemeFloor(p, lo);
      if (p <= lo) return null;
      const end = this.trimBack(p, s);
      if (end <= lo) return null;
      const opening = this.lastBlockBefore(end);
      if (opening && end <= opening.bodyStart) {
        // Cutting through the opening line (or just after it) would leave a broken or empty block: cut before it.
        p = opening.openStart;
        continue;
      }
      const next = this.skipGap(p);
      const closing = this.lastBlockBefore(next);
      if (closing && next >= closing.contentEnd && next < closing.closeEnd) {
        // The next message would begin with a bare closing code fence, which would open a block instead.
        p = Math.min(p - 1, closing.contentEnd - 1);
        continue;
      }
      const over = headerLen + (end - s) + this.closeLen(end) - room;
      if (over > 0) {
        p = end - over;
        continue;
      }
      return { end, next };
    }
    return null;
  }

  /** A cut by length alone, for rooms too small for code fence lines; still never splits a surrogate pair. */
  private rawCut(s: number, room: number): Cut {
    let p = Math.min(this.n, s + room);
    if (p < this.n && isLowSurrogate(this.text.charCodeAt(p)) && isHighSurrogate(this.text.charCodeAt(p - 1)) && p - 1 > s) p--;
    const end = this.trimBack(p, s);
    return end > s ? { end, next: this.skipGap(end), raw: true } : { end: p, next: p, raw: true };
  }

  /** The last grapheme boundary at or before `p` and after `lo`; failing that, the last code point boundary. */
  private graphemeFloor(p: number, lo: number): number {
    const { text, n } = this;
    if (p >= n || p <= lo) return p;
    const from = Math.max(lo, p - GRAPHEME_LOOKBEHIND);
    let floor = -1;
    for (const { index } of graphemeSegmenter().segment(text.slice(from, Math.min(n, p + GRAPHEME_LOOKAHEAD)))) {
      const at = from + index;
      if (at > p) break;
      // The slice's own start is a boundary only by construction.
      if (at > from) floor = at;
    }
    if (floor > lo) return floor;
    return isLowSurrogate(text.charCodeAt(p)) && isHighSurrogate(text.charCodeAt(p - 1)) ? p - 1 : p;
  }

  private trimForward(p: number): number {
    while (p < this.n && isBreakSpace(this.text.charCodeAt(p))) p++;
    return p;
  }

  private trimBack(p: number, s: number): number {
    while (p > s && isBreakSpace(this.text.charCodeAt(p - 1))) p--;
    return p;
  }

  /**
   * Skips the whitespace at a seam. When it holds a line break, the next message starts at the beginning of the
   * following line, so that line keeps its indentation (which matters in code and nested lists).
   */
  private skipGap(p: number): number {
    const { text, n } = this;
    let lastNewline = -1;
    while (p < n) {
      const c = text.charCodeAt(p);
      if (!isBreakSpace(c)) break;
      if (c === 10) lastNewline = p;
      p++;
    }
    return lastNewline >= 0 ? lastNewline + 1 : p;
  }

  /** The code block whose code (up to its last non-blank character) contains `p`. */
  private blockBodyAt(p: number): CodeBlock | undefined {
    const { blocks } = this;
    let lo = 0;
    let hi = blocks.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (blocks[mid]!.bodyStart <= p) lo = mid + 1;
      else hi = mid;
    }
    const block = blocks[lo - 1];
    return block && p < block.contentEnd ? block : undefined;
  }

  private lastBlockBefore(p: number): CodeBlock | undefined {
    const { blocks } = this;
    let lo = 0;
    let hi = blocks.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (blocks[mid]!.openStart < p) lo = mid + 1;
      else hi = mid;
    }
    return blocks[lo - 1];
  }

  /** Length of the closing line a message ending at `end` needs: "\n" and the marker, when `end` is inside code. */
  private closeLen(end: number): number {
    const block = this.blockBodyAt(end);
    return block ? block.marker.length + 1 : 0;
  }

  /** One pass over the text recording every seam with its rank. */
  private findSeams(): void {
    const { text, n, blocks } = this;
    let bi = 0;
    const advance = (p: number): void => {
      while (bi < blocks.length && blocks[bi]!.closeEnd <= p) bi++;
    };
    const add = (rank: number, end: number, next: number): void => {
      this.ends[rank]!.push(end);
      this.nexts[rank]!.push(next);
    };
    let i = 0;
    while (i < n) {
      const c = text.charCodeAt(i);
      if (!isBreakSpace(c)) {
        i++;
        if (isCjkStop(c)) {
          // CJK sentences run on without a space, so the seam is right after the stop and any closing brackets.
          while (i < n && isCloser(text.charCodeAt(i))) i++;
          if (i < n && !isBreakSpace(text.charCodeAt(i))) {
            advance(i);
            const block = blocks[bi];
            if (!block || i < block.openStart) add(SENTENCE, i, i);
          }
        }
        continue;
      }
      const start = i;
      let newlines = 0;
      let lastNewline = -1;
      while (i < n) {
        const d = text.charCodeAt(i);
        if (!isBreakSpace(d)) break;
        if (d === 10) {
          newlines++;
          lastNewline = i;
        }
        i++;
      }
      if (start === 0 || i >= n) continue;
      const next = newlines > 0 ? lastNewline + 1 : i;
      advance(start);
      const block = blocks[bi];
      let rank: number;
      if (block && start >= block.openStart) {
        // Within the opening line or just after it, a cut would strand the code fence; just before the closing line, the code.
        if (start < block.bodyStart || start >= block.contentEnd) continue;
        rank = newlines >= 2 ? CODE_PARAGRAPH : newlines === 1 ? CODE_LINE : WORD;
      } else {
        const afterBlock = bi > 0 && blocks[bi - 1]!.closeEnd === start;
        const beforeBlock = block !== undefined && next === block.openStart;
        if (newlines >= 2 || (newlines === 1 && (afterBlock || beforeBlock))) rank = PARAGRAPH;
        else if (newlines === 1) rank = LINE;
        else rank = this.endsSentence(start) ? SENTENCE : WORD;
      }
      add(rank, start, next);
    }
  }

  /** Whether the text just before `p` ends a sentence: . ! ? … or a CJK stop, perhaps inside quotes or emphasis. */
  private endsSentence(p: number): boolean {
    const { text } = this;
    let k = p - 1;
    while (k > 0 && isCloser(text.charCodeAt(k))) k--;
    const c = text.charCodeAt(k);
    if (c === 0x2026 || c === 0x21 || c === 0x3f || isCjkStop(c)) return true;
    if (c !== 0x2e) return false;
    // "1." opening a line is a list marker; a seam after it would separate the number from its item.
    let d = k - 1;
    while (d >= 0 && isDigit(text.charCodeAt(d))) d--;
    if (d === k - 1) return true;
    while (d >= 0 && (text.charCodeAt(d) === 0x20 || text.charCodeAt(d) === 0x09)) d--;
    return !(d < 0 || text.charCodeAt(d) === 10);
  }
}

/** The line that reopens `block` in a new message, or null when even a bare marker leaves no room for code. */
function reopenLine(block: CodeBlock, room: number): string | null {
  const closeLen = block.marker.length + 1;
  const full = `${block.marker}${block.info}\n`;
  if (full.length + closeLen + 1 <= room) return full;
  // Only an absurd info string or a tiny limit gets here; the block still renders as code without its tag.
  const bare = `${block.marker}\n`;
  return bare.length + closeLen + 1 <= room ? bare : null;
}

function trimmedEnd(text: string, from: number, to: number): number {
  while (to > from && isBreakSpace(text.charCodeAt(to - 1))) to--;
  return to;
}

/** First index whose value is greater than `x`. */
function upperBound(values: number[], x: number): number {
  let lo = 0;
  let hi = values.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (values[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

let graphemes: Intl.Segmenter | undefined;
function graphemeSegmenter(): Intl.Segmenter {
  return (graphemes ??= new Intl.Segmenter(undefined, { granularity: 'grapheme' }));
}

/** Whitespace a message may be split at. No-break spaces are left out on purpose: they ask not to be broken. */
function isBreakSpace(c: number): boolean {
  return (
    c === 0x20 ||
    (c >= 0x09 && c <= 0x0d) ||
    c === 0x3000 ||
    (c >= 0x2000 && c <= 0x200a && c !== 0x2007) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x205f ||
    c === 0x1680
  );
}

function isCjkStop(c: number): boolean {
  return c === 0x3002 || c === 0xff01 || c === 0xff1f || c === 0xff0e || c === 0xff61;
}

/** Closing quotes, brackets and emphasis that may follow a sentence's final stop. */
function isCloser(c: number): boolean {
  switch (c) {
    case 0x29: // )
    case 0x5d: // ]
    case 0x22: // "
    case 0x27: // '
    case 0x2a: // *
    case 0x5f: // _
    case 0x201d: // ”
    case 0x2019: // ’
    case 0xbb: // »
    case 0x300d: // 」
    case 0x300f: // 』
    case 0xff09: // ）
    case 0x3011: // 】
    case 0x300b: // 》
    case 0x3009: // 〉
      return true;
    default:
      return false;
  }
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function isHighSurrogate(c: number): boolean {
  return c >= 0xd800 && c <= 0xdbff;
}

function isLowSurrogate(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}
