/**
 * A salon's page in the web gallery: what the transcript shows (src/domain/transcript.ts), as server-rendered HTML.
 * Everything a model or a person wrote is untrusted: Markdown goes through renderMarkdown, every other string is
 * escaped. The page holds no Discord id, no share token and no inline script or style: it links one stylesheet and,
 * while the salon is live, one deferred script.
 */
import { formatCost, formatTokens, ledgerOf } from '../../domain/ledger.js';
import { questionsByTurn, roundsDone, type Interjection, type SalonRecord } from '../../domain/salon.js';
import { closeOpenCodeFence, cutOnWord, listOf, neutraliseMarkdownBlocks, slugify } from '../../domain/text.js';
import { formatDate, inDialogue, orderLine } from '../../domain/transcript.js';
import { attr, escapeHtml, timeHtml } from './html.js';
import { renderMarkdown } from './markdown.js';

export const STYLESHEET_PATH = '/assets/salon.css';
export const LIVE_SCRIPT_PATH = '/assets/live.js';

export interface PageOptions {
  /** The gallery's address (SALON_PUBLIC_URL). */
  publicUrl: string;
  /** This page's address; the exports are `<pageUrl>.md`, `.json` and `.html`. */
  pageUrl: string;
  /** Load the live script: the salon may still take turns. */
  live: boolean;
  now: Date;
}

/** The transcript's title, as plain text (escape it to place it): `Salon: A, B and C — topic`. */
export function salonTitle(salon: Pick<SalonRecord, 'seats' | 'topic'>): string {
  return `Salon: ${listOf(salon.seats.map((p) => p.name))} — ${cutOnWord(salon.topic, 80)}`;
}

/** What a share preview says: who, and about what, in about 200 characters. */
export function salonDescription(salon: Pick<SalonRecord, 'seats' | 'topic'>): string {
  return cutOnWord(`A salon between ${listOf(salon.seats.map((p) => `${p.name} (${p.model})`))}: ${salon.topic}`, 200);
}

/** Text from people (topic, questions) as the transcript places it: no forged headings, no open code fence. */
function peopleMarkdown(text: string): string {
  return renderMarkdown(neutraliseMarkdownBlocks(closeOpenCodeFence(text.trim())));
}

/** Text from models (turns, synthesis). */
function modelMarkdown(text: string): string {
  return renderMarkdown(closeOpenCodeFence(text.trim()));
}

/**
 * Each turn's anchor, by index: `round-<n>-<slug of the speaker's name>`; a second turn that would get the same
 * anchor (two names that slugify alike) gets `-2`, a third `-3`. A turn's anchor depends only on the turns before it,
 * so it never changes as the salon goes on.
 */
export function turnAnchors(salon: Pick<SalonRecord, 'turns'>): string[] {
  const seen = new Map<string, number>();
  return salon.turns.map((turn) => {
    const base = `round-${turn.round}-${slugify(turn.name)}`;
    const n = (seen.get(base) ?? 0) + 1;
    seen.set(base, n);
    return n === 1 ? base : `${base}-${n}`;
  });
}

/** Where a question is shown: where it was asked, or just before the turn that answered it if that came first. */
function questionsByPosition(salon: SalonRecord): Map<number, Interjection[]> {
  return questionsByTurn(salon, (q) => Math.min(q.afterTurns, q.answeredBy ?? q.afterTurns));
}

function questionHtml(salon: SalonRecord, q: Interjection, extra = ''): string {
  const to = q.to !== undefined ? `, for ${salon.seats[q.to]?.name ?? ''}` : '';
  const waiting =
    q.answeredBy !== undefined
      ? ''
      : salon.status === 'running' || salon.status === 'paused'
        ? '<p class="muted"><em>Waiting for an answer.</em></p>'
        : '<p class="muted"><em>Asked too late to be answered.</em></p>';
  return (
    `<aside class="question"${extra}>` +
    `<h3>${escapeHtml(`Question from ${q.author.name}${to}`)}</h3>` +
    `<div class="text">${peopleMarkdown(q.text)}</div>${waiting}</aside>`
  );
}

/**
 * The HTML of the salon's turns: one `<article>` per turn under its speaker's name and round, with the questions
 * shown just before it. The page renders every turn with it, and the live stream sends a finished turn with it too.
 * Anchors and the questions' places are worked out once, so a page of n turns costs n turns, not n².
 */
export function turnRenderer(salon: SalonRecord): (index: number) => string {
  const anchors = turnAnchors(salon);
  const questions = questionsByPosition(salon);
  return (index) => {
    const turn = salon.turns[index];
    if (!turn) throw new RangeError(`salon has no turn ${index}`);
    const id = anchors[index] ?? `turn-${index}`;
    const asked = (questions.get(index) ?? []).map((q) => questionHtml(salon, q)).join('');
    const cutOff = turn.finishReason === 'length' ? '<p class="cut-off"><em>(cut off: the reply reached its length limit)</em></p>' : '';
    return (
      `<article class="turn" ${attr('id', id)} ${attr('data-turn-index', index)} ${attr('aria-labelledby', `${id}-h`)}>` +
      asked +
      `<header><h2 ${attr('id', `${id}-h`)}><a ${attr('href', `#${id}`)}>${escapeHtml(`Round ${turn.round}: ${turn.name}`)}</a></h2>` +
      `<p class="model"><code>${escapeHtml(turn.model)}</code> · ${timeHtml(turn.finishedAt)}</p></header>` +
      `<div class="text">${modelMarkdown(turn.text)}</div>${cutOff}</article>`
    );
  };
}

/** The HTML of turn `index` alone (see turnRenderer, for more than one). */
export function renderTurnHtml(salon: SalonRecord, index: number): string {
  return turnRenderer(salon)(index);
}

/**
 * A turn still being written, as far as it has streamed: marked as a draft, without an anchor (the finished turn
 * gets one). `index`, when given, is the turn it will be; the live script sets it from the event either way.
 */
export function renderDraftHtml(name: string, round: number, text: string, index?: number): string {
  const at = index === undefined ? '' : ` ${attr('data-turn-index', index)}`;
  return (
    `<article class="turn writing" data-draft="true"${at} aria-busy="true">` +
    `<header><h2>${escapeHtml(`Round ${round}: ${name}`)}</h2></header>` +
    `<div class="text">${modelMarkdown(text)}</div></article>`
  );
}

function ledgerHtml(salon: SalonRecord): string {
  const { byModel, moderator, total } = ledgerOf(salon);
  const row = (cells: string[], cls = '') => `<tr${cls ? ` class="${cls}"` : ''}>${cells.join('')}</tr>`;
  const td = (html: string, num = false) => `<td${num ? ' class="num"' : ''}>${html}</td>`;
  const code = (s: string) => `<code>${escapeHtml(s)}</code>`;
  const rows = byModel.map(({ name, model, tally }) =>
    row([td(escapeHtml(name)), td(code(model)), td(String(tally.count), true), td(escapeHtml(formatTokens(tally))), td(escapeHtml(formatCost(tally)))]),
  );
  if (moderator) {
    const picks = `${moderator.tally.count} ${moderator.tally.count === 1 ? 'pick' : 'picks'}`;
    rows.push(
      row(
        [
          td(`Moderator: ${escapeHtml(moderator.name)}`),
          td(code(moderator.model)),
          td(picks, true),
          td(escapeHtml(formatTokens(moderator.tally))),
          td(escapeHtml(formatCost(moderator.tally))),
        ],
        'moderator',
      ),
    );
  }
  const totalLabel = salon.synthesis?.status === 'done' ? 'Total (synthesis included)' : 'Total';
  rows.push(row([td(totalLabel), td(''), td(String(total.count), true), td(escapeHtml(formatTokens(total))), td(escapeHtml(formatCost(total)))], 'total'));
  return (
    '<div class="ledger"><table><thead><tr><th scope="col">Participant</th><th scope="col">Model</th><th scope="col" class="num">Turns</th>' +
    `<th scope="col">Tokens</th><th scope="col">Cost</th></tr></thead><tbody>${rows.join('')}</tbody></table></div>`
  );
}

/** Who speaks when, as the transcript's context says it. */
function p(text: string, cls?: string): string {
  return `<p${cls ? ` class="${cls}"` : ''}>${escapeHtml(text)}</p>`;
}

export interface BodyOptions {
  now: Date;
  /** The page's address, for the links to the exports; absent in a saved file. */
  pageUrl?: string;
  /** The gallery's address, for a link back to it. */
  publicUrl?: string;
  /** Leave room for the live script's notice. */
  live?: boolean;
}

/**
 * The parts of a page that change as the salon goes on, besides its turns: each is one element with an id, which
 * the live script replaces whole when the stream sends a newer one (`state`), so an open page ends as a reload would.
 */
export interface LiveParts {
  /** Participants with their tokens and cost, and how far the salon is. */
  summary: string;
  /** Questions still waiting, how it ended, the synthesis and the archived line (empty while none applies). */
  closing: string;
}

export function renderLiveParts(salon: SalonRecord, now: Date): LiveParts {
  const done = roundsDone(salon);
  const state = salon.status === 'running' ? ' · In progress' : salon.status === 'paused' ? ' · Paused' : '';
  const summary =
    `<div id="salon-summary"><section class="participants" aria-label="Participants">${ledgerHtml(salon)}</section>` +
    `<p class="progress">Rounds: ${done} of ${salon.rounds} · Started ${timeHtml(salon.createdAt)}` +
    `${salon.finishedAt ? ` · Ended ${timeHtml(salon.finishedAt)}` : ''}${state}</p></div>`;
  const parts: string[] = [];
  // Questions no turn has shown yet: waiting for the next turns, or asked too late.
  const waiting = [...questionsByPosition(salon)]
    .filter(([at]) => at >= salon.turns.length)
    .flatMap(([at, qs]) => qs.map((q) => questionHtml(salon, q, ` ${attr('data-before-turn', at)}`)));
  if (waiting.length > 0) parts.push(`<section class="waiting" aria-label="Questions">${waiting.join('')}</section>`);

  if (salon.status === 'finished' || salon.status === 'closed') {
    if (salon.endedEarly) parts.push(p(`The salon ended early, after ${done} of ${salon.rounds} rounds: ${salon.endedEarly}.`, 'ended'));
    else if (done < salon.rounds) parts.push(p(`The salon ended after ${done} of ${salon.rounds} rounds.`, 'ended'));
  }
  const synthesis = salon.synthesis;
  if (synthesis?.status === 'done') {
    parts.push(
      `<section class="synthesis" id="synthesis"><h2>Synthesis</h2><div class="text">${modelMarkdown(synthesis.text)}</div>` +
        `<p class="signature"><em>Written by ${escapeHtml(synthesis.name)} (<code>${escapeHtml(synthesis.model)}</code>).</em></p></section>`,
    );
  } else if (synthesis?.status === 'failed') {
    parts.push(
      `<section class="synthesis" id="synthesis"><h2>Synthesis</h2>${p(`The synthesis could not be written: ${synthesis.reason}.`, 'muted')}</section>`,
    );
  } else if (synthesis?.status === 'pending') {
    parts.push(`<section class="synthesis" id="synthesis"><h2>Synthesis</h2>${p('The synthesis is being written.', 'muted')}</section>`);
  }

  if (salon.status === 'closed') {
    const plain = salon.seats.map((s) => `${s.name} (${s.model})`);
    const footer = inDialogue(plain);
    const archived = new Date(salon.closedAt ?? now.getTime());
    parts.push(
      `<footer class="archived"><p><em>Archived <time ${attr('datetime', archived.toISOString())}>${escapeHtml(formatDate(archived))}</time></em></p>` +
        `${p(footer)}</footer>`,
    );
  }

  return { summary, closing: `<div id="salon-closing">${parts.join('\n')}</div>` };
}

/** The page's `<body>` content: shared by the page and the self-contained HTML export. */
export function renderSalonBody(salon: SalonRecord, options: BodyOptions): string {
  const parts: string[] = [];
  const started = new Date(salon.createdAt);
  const withModels = salon.seats.map((s) => `${escapeHtml(s.name)} (<code>${escapeHtml(s.model)}</code>)`);
  const plural = salon.rounds === 1 ? 'round' : 'rounds';
  parts.push(
    `<header class="salon-header"><h1>${escapeHtml(salonTitle(salon))}</h1>` +
      `<div class="meta"><p><time ${attr('datetime', salon.createdAt)}>${escapeHtml(formatDate(started))}</time></p>` +
      `<p>A salon in ${salon.rounds} ${plural} between ${listOf(withModels)}</p></div></header>`,
  );
  const live = renderLiveParts(salon, options.now);
  parts.push(live.summary);

  const context = [
    `<h2>Context</h2><div class="topic">${peopleMarkdown(salon.topic)}</div>`,
    p(
      `Set by ${salon.starter.name}. ${orderLine(
        salon,
        salon.seats.map((s) => s.name),
        salon.moderator && `${salon.moderator.name}, ${salon.moderator.model}`,
      )}`,
    ),
  ];
  // The parent's topic and round, never its thread: a fork's page holds no Discord id.
  if (salon.parent) context.push(p(`Forked from the salon “${cutOnWord(salon.parent.topic, 120)}” after its round ${salon.parent.fromRound}.`));
  parts.push(`<section class="context">${context.join('')}</section>`);

  const carried = salon.carried ?? 0;
  const turns: string[] = [];
  if (carried > 0) {
    turns.push(
      `<div class="fork-note"><h2>Carried over from the parent salon</h2>` +
        p(`These ${carried} turns come from the parent salon; they were not posted again in this thread.`) +
        '</div>',
    );
  }
  const turnHtml = turnRenderer(salon);
  salon.turns.forEach((_, i) => {
    if (carried > 0 && i === carried) turns.push(forkBegins());
    turns.push(turnHtml(i));
  });
  if (carried > 0 && salon.turns.length === carried) turns.push(forkBegins());
  parts.push(`<section id="turns" class="turns" aria-label="Turns" ${attr('data-last-turn', salon.turns.length - 1)}>${turns.join('')}</section>`);

  parts.push(live.closing);

  const links: string[] = [];
  if (options.pageUrl) {
    for (const [ext, label] of [
      ['md', 'Markdown'],
      ['json', 'JSON'],
      ['html', 'HTML (one file)'],
    ] as const) {
      links.push(`<li><a ${attr('href', `${options.pageUrl}.${ext}`)} ${attr('download', '')}>${label}</a></li>`);
    }
  }
  if (options.publicUrl) links.push(`<li><a ${attr('href', `${trimSlash(options.publicUrl)}/`)}>All shared salons</a></li>`);
  if (links.length > 0) parts.push(`<nav class="exports" aria-label="Downloads"><ul>${links.join('')}</ul></nav>`);
  if (options.live) parts.push('<p id="live-notice" class="notice" role="status" aria-live="polite" hidden></p>');
  return `<div class="page"><main>${parts.join('\n')}</main></div>`;
}

function forkBegins(): string {
  return `<div class="fork-note fork-begins"><h2>The fork begins</h2>${p('From here on, the turns were taken in this salon.')}</div>`;
}

export function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}

/** A complete HTML5 document for the salon's page. */
export function renderSalonPage(salon: SalonRecord, options: PageOptions): string {
  const title = salonTitle(salon);
  const description = salonDescription(salon);
  const meta = (key: 'name' | 'property', name: string, content: string) => `<meta ${attr(key, name)} ${attr('content', content)}>`;
  const head = [
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(title)}</title>`,
    ...(salon.share?.listed ? [] : ['<meta name="robots" content="noindex">']),
    meta('name', 'description', description),
    `<link rel="canonical" ${attr('href', options.pageUrl)}>`,
    meta('property', 'og:type', 'article'),
    meta('property', 'og:site_name', 'Salon'),
    meta('property', 'og:title', title),
    meta('property', 'og:description', description),
    meta('property', 'og:url', options.pageUrl),
    meta('name', 'twitter:card', 'summary'),
    meta('name', 'twitter:title', title),
    meta('name', 'twitter:description', description),
    '<meta name="color-scheme" content="light dark">',
    `<link rel="stylesheet" href="${STYLESHEET_PATH}">`,
    ...(options.live ? [`<script src="${LIVE_SCRIPT_PATH}" defer></script>`] : []),
  ];
  const body = renderSalonBody(salon, { now: options.now, pageUrl: options.pageUrl, publicUrl: options.publicUrl, live: options.live });
  return `<!doctype html>\n<html lang="en">\n<head>\n${head.join('\n')}\n</head>\n<body>\n${body}\n</body>\n</html>\n`;
}

/** What every unknown, unshared or revoked link gets: the same page, which says nothing about why. */
export function renderNotFoundPage(): string {
  const head = [
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="robots" content="noindex">',
    '<meta name="color-scheme" content="light dark">',
    '<title>Not found</title>',
    `<link rel="stylesheet" href="${STYLESHEET_PATH}">`,
  ];
  const body = '<main><h1>Not found</h1><p>There is no shared salon here. It may never have been shared, or it is no longer shared.</p></main>';
  return `<!doctype html>\n<html lang="en">\n<head>\n${head.join('\n')}\n</head>\n<body>\n${body}\n</body>\n</html>\n`;
}
