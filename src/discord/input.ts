/**
 * Checks on what people type. Discord enforces the declared option limits in its client, but a request can
 * come from anywhere, so every value is checked again here, and invisible or control characters do not count
 * as content.
 */
import { SalonError, type NumberField, type TextField } from '../domain/errors.js';

// Format characters and everything Unicode says to render as nothing (zero-width spaces, direction marks,
// Hangul fillers, variation selectors…), which make a blank-looking value pass a length check.
const INVISIBLE = /[\p{Cf}\p{Default_Ignorable_Code_Point}]/gu;
// C0/C1 control characters other than tab and newline: matching them is the point.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F]/g;

/** The text with invisible and control characters removed and outer whitespace trimmed; refused if empty or too long. */
export function cleanText(raw: string | null | undefined, field: TextField, max: number): string {
  const text = (raw ?? '').replace(CONTROL, '').replace(/\r\n?/g, '\n').trim();
  const visible = text.replace(INVISIBLE, '').trim();
  if (!visible) throw new SalonError({ code: 'empty_text', field });
  if (text.length > max) throw new SalonError({ code: 'text_too_long', field, length: text.length, max });
  return text;
}

export function checkInteger(value: number | null, field: NumberField, range: { min: number; max: number }, fallback: number): number {
  const n = value ?? fallback;
  if (!Number.isInteger(n) || n < range.min || n > range.max) {
    throw new SalonError({ code: 'not_whole_number', field, min: range.min, max: range.max });
  }
  return n;
}

/** The text without invisible characters, for places where only what shows matters (a thread name). */
export function visibleText(text: string): string {
  return text.replace(INVISIBLE, '');
}
