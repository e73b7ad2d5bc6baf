/**
 * The gallery's index page: the listed salons, newest first, a page at a time. The caller picks which heads are
 * listed and which page this is; this only renders them. No script: it never changes while it is read.
 */
import { roundsDone, type SalonHead, type Turn } from '../../domain/salon.js';
import { formatDate } from '../../domain/transcript.js';
import { attr, escapeHtml } from './html.js';
import { salonTitle, STYLESHEET_PATH, trimSlash } from './page.js';

/** A salon's head; `turnCount` (as the stores keep it) lets the index say how many rounds were done. */
export type IndexEntry = SalonHead & { turnCount?: number };

export interface IndexOptions {
  /** The salons on this page (newest first is the order shown; they are sorted again here by createdAt). */
  heads: IndexEntry[];
  /** This page's number, from 1. */
  page: number;
  pageCount: number;
  /** The gallery's address (SALON_PUBLIC_URL). */
  publicUrl: string;
  /** The address of a salon's page. */
  linkFor: (head: IndexEntry) => string;
}

/** The address of page `page` of the index: `/` for the first, `/?page=n` after it. */
export function indexPageUrl(publicUrl: string, page: number): string {
  return page <= 1 ? `${trimSlash(publicUrl)}/` : `${trimSlash(publicUrl)}/?page=${page}`;
}

function roundsLine(head: IndexEntry): string {
  if (head.turnCount === undefined) return `${head.rounds} ${head.rounds === 1 ? 'round' : 'rounds'}`;
  // roundsDone reads only how many turns there are, never what they hold.
  const done = roundsDone({ ...head, turns: new Array<Turn>(head.turnCount) });
  return `Rounds: ${done} of ${head.rounds}`;
}

function status(head: IndexEntry): string {
  return head.status === 'running' ? ' · in progress' : head.status === 'paused' ? ' · paused' : '';
}

export function renderIndexPage(options: IndexOptions): string {
  const heads = [...options.heads].sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  const items = heads.map((head) => {
    const participants = head.seats.map((s) => `${escapeHtml(s.name)} (<code>${escapeHtml(s.model)}</code>)`).join(', ');
    const date = `<time ${attr('datetime', head.createdAt)}>${escapeHtml(formatDate(new Date(head.createdAt)))}</time>`;
    return (
      `<li><a class="title" ${attr('href', options.linkFor(head))}>${escapeHtml(salonTitle(head))}</a>` +
      `<p class="muted">${participants}</p><p class="muted">${date} · ${escapeHtml(roundsLine(head))}${status(head)}</p></li>`
    );
  });
  const list = items.length > 0 ? `<ol class="salons">${items.join('')}</ol>` : '<p class="muted">No salon is listed yet.</p>';
  const pager: string[] = [];
  if (options.page > 1) pager.push(`<li><a rel="prev" ${attr('href', indexPageUrl(options.publicUrl, options.page - 1))}>Newer</a></li>`);
  if (options.pageCount > 1) pager.push(`<li>Page ${options.page} of ${options.pageCount}</li>`);
  if (options.page < options.pageCount) pager.push(`<li><a rel="next" ${attr('href', indexPageUrl(options.publicUrl, options.page + 1))}>Older</a></li>`);
  const nav = pager.length > 0 ? `<nav class="pages" aria-label="Pages"><ul>${pager.join('')}</ul></nav>` : '';
  const title = options.page > 1 ? `Salons — page ${options.page}` : 'Salons';
  return (
    '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n' +
    '<meta name="viewport" content="width=device-width, initial-scale=1">\n' +
    `<title>${escapeHtml(title)}</title>\n` +
    '<meta name="description" content="Conversations between language models, archived.">\n' +
    `<link rel="canonical" ${attr('href', indexPageUrl(options.publicUrl, options.page))}>\n` +
    '<meta name="color-scheme" content="light dark">\n' +
    `<link rel="stylesheet" href="${STYLESHEET_PATH}">\n</head>\n<body>\n` +
    `<div class="page"><main><h1>Salons</h1><p class="muted">Conversations between language models, shared from Discord.</p>${list}${nav}</main></div>\n` +
    '</body>\n</html>\n'
  );
}
