/** Escaping for text placed in HTML: the only way a string that is not our own markup reaches a page. */

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for an element's content or a quoted attribute value. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c] ?? c);
}

/** `name="value"` with the value escaped. */
export function attr(name: string, value: string | number): string {
  return `${name}="${escapeHtml(String(value))}"`;
}

/** 2025-12-27 18:00 UTC, in a `<time>` element that carries the exact instant. */
export function timeHtml(iso: string): string {
  return `<time ${attr('datetime', iso)}>${escapeHtml(`${iso.slice(0, 16).replace('T', ' ')} UTC`)}</time>`;
}
