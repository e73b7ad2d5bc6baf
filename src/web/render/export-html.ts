/**
 * A salon as one self-contained HTML file that opens offline: the page's content with the stylesheet inlined, no
 * script, nothing to load. Its own Content-Security-Policy forbids any load, so even a saved copy opened from disk
 * cannot fetch a thing.
 */
import type { SalonRecord } from '../../domain/salon.js';
import { escapeHtml } from './html.js';
import { renderSalonBody, salonDescription, salonTitle } from './page.js';
import { SALON_CSS } from './style.js';

export const EXPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

export function exportHtml(salon: SalonRecord, now: Date): string {
  const head = [
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${escapeHtml(EXPORT_CSP)}">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="robots" content="noindex">',
    '<meta name="color-scheme" content="light dark">',
    `<title>${escapeHtml(salonTitle(salon))}</title>`,
    `<meta name="description" content="${escapeHtml(salonDescription(salon))}">`,
    // The stylesheet is ours, never untrusted text; `</` cannot occur in it, so it cannot end the element early.
    `<style>\n${SALON_CSS.replace(/<\//g, '<\\/')}</style>`,
  ];
  const body = renderSalonBody(salon, { now });
  return `<!doctype html>\n<html lang="en">\n<head>\n${head.join('\n')}\n</head>\n<body>\n${body}\n</body>\n</html>\n`;
}
