/**
 * The browser script of a live salon page, served at /assets/live.js (never inlined: the page's CSP forbids inline
 * script). It follows `<page>/events` with an EventSource: `turn` and `draft` put the article of one turn in place
 * (replacing any article of the same index, so a redelivered event never shows a turn twice), `state` replaces
 * the page's other changing parts (ledger, progress, synthesis, archived line) by their ids, `end` stops and drops a
 * turn left half-written (the salon was closed during it, and the thread deleted its messages too),
 * `gone` (the salon was unshared) stops and says so. The `html` of an event comes from the server's own renderer
 * (page.ts), which escaped everything in it; anything else shown is set as text. On a dropped connection the browser
 * reconnects by itself and sends Last-Event-ID, so the server resumes after the last turn it sent.
 */
export const LIVE_SCRIPT = `(() => {
  'use strict';
  const turns = document.getElementById('turns');
  if (!turns || typeof EventSource === 'undefined') return;
  const articles = () => Array.from(turns.querySelectorAll('article[data-turn-index]'));
  const indexOf = (el) => Number(el.getAttribute('data-turn-index'));
  let after = -1;
  for (const el of articles()) if (!el.hasAttribute('data-draft')) after = Math.max(after, indexOf(el));

  const read = (data) => {
    try { return JSON.parse(data); } catch { return undefined; }
  };
  // The one way markup enters the page: html the server rendered, and escaped, itself.
  const fromServer = (html) => {
    if (typeof html !== 'string') return null;
    const template = document.createElement('template');
    template.innerHTML = html;
    return template.content.firstElementChild;
  };

  const place = (data, draft) => {
    const msg = read(data);
    if (!msg || !Number.isInteger(msg.index)) return;
    const el = fromServer(msg.html);
    if (!el) return;
    el.setAttribute('data-turn-index', String(msg.index));
    if (draft) { el.setAttribute('data-draft', 'true'); el.classList.add('writing'); }
    else el.removeAttribute('data-draft');
    const same = articles().filter((a) => indexOf(a) === msg.index);
    // A late draft never replaces its finished turn.
    if (draft && same.some((a) => !a.hasAttribute('data-draft'))) return;
    if (same.length > 0) {
      same[0].replaceWith(el);
      for (const extra of same.slice(1)) extra.remove();
    } else {
      const later = articles().find((a) => indexOf(a) > msg.index);
      if (later) later.before(el); else turns.append(el);
    }
    if (!draft) {
      after = Math.max(after, msg.index);
      // Questions that were waiting for this turn now show inside it.
      for (const q of document.querySelectorAll('[data-before-turn]')) {
        if (Number(q.getAttribute('data-before-turn')) <= msg.index) q.remove();
      }
    }
  };

  const source = new EventSource(location.pathname + '/events?after=' + after);
  source.addEventListener('turn', (e) => place(e.data, false));
  source.addEventListener('draft', (e) => place(e.data, true));
  source.addEventListener('state', (e) => {
    const msg = read(e.data);
    if (!msg) return;
    for (const el of [fromServer(msg.summary), fromServer(msg.closing)]) {
      const old = el && el.id ? document.getElementById(el.id) : null;
      if (old) old.replaceWith(el);
    }
  });
  source.addEventListener('end', () => {
    source.close();
    for (const el of turns.querySelectorAll('article[data-draft]')) el.remove();
  });
  source.addEventListener('gone', () => {
    source.close();
    let notice = document.getElementById('live-notice');
    if (!notice) {
      notice = document.createElement('p');
      notice.id = 'live-notice';
      notice.className = 'notice';
      notice.setAttribute('role', 'status');
      document.body.append(notice);
    }
    notice.textContent = 'This salon is no longer shared.';
    notice.hidden = false;
  });
})();
`;
