/**
 * The gallery's one stylesheet: served at /assets/salon.css, and inlined in the self-contained HTML export, so both
 * look the same. System fonts only (no remote load), light and dark by the reader's preference, readable from a phone
 * to a wide screen.
 */
export const SALON_CSS = `:root {
  color-scheme: light dark;
  --bg: #fbfaf7;
  --fg: #1f1d1a;
  --muted: #6a655d;
  --rule: #e2ddd3;
  --card: #ffffff;
  --accent: #8a4b16;
  --question: #f3efe6;
  --code: #f1ede4;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #171614;
    --fg: #ebe7df;
    --muted: #a59f94;
    --rule: #34312c;
    --card: #1f1e1b;
    --accent: #e3a469;
    --question: #26241f;
    --code: #2a2823;
  }
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; text-size-adjust: 100%; }
body {
  margin: 0;
  background: var(--bg);
  color: var(--fg);
  font: 1.0625rem/1.6 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  overflow-wrap: anywhere;
}
.page { max-width: 46rem; margin: 0 auto; padding: 1.25rem 1rem 3rem; }
a { color: var(--accent); }
h1 { font-size: 1.6rem; line-height: 1.25; margin: 0.5rem 0; }
h2 { font-size: 1.25rem; margin: 2rem 0 0.5rem; }
h3, h4, h5, h6 { font-size: 1.05rem; }
.muted, .meta, .progress, .ended, .archived, .cut-off, .signature { color: var(--muted); }
.meta p, .archived p { margin: 0.15rem 0; }
.ledger { width: 100%; overflow-x: auto; }
table { border-collapse: collapse; margin: 0.75rem 0; font-size: 0.95rem; }
th, td { border-bottom: 1px solid var(--rule); padding: 0.35rem 0.6rem; text-align: left; vertical-align: top; }
th { overflow-wrap: normal; }
@media (max-width: 36rem) {
  table { font-size: 0.85rem; }
  th, td { padding: 0.3rem 0.35rem; }
}
td.num, th.num, .align-right { text-align: right; }
.align-center { text-align: center; }
tr.moderator td { font-style: italic; }
tr.total td { font-weight: 600; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 0.9em; }
code { background: var(--code); padding: 0.05em 0.3em; border-radius: 3px; }
pre { background: var(--code); padding: 0.75rem; overflow-x: auto; border-radius: 6px; overflow-wrap: normal; }
pre code { background: none; padding: 0; }
blockquote { margin: 0.75rem 0; padding-left: 0.9rem; border-left: 3px solid var(--rule); color: var(--muted); }
hr { border: 0; border-top: 1px solid var(--rule); margin: 1.5rem 0; }
.turns { margin-top: 1.5rem; }
.turn { background: var(--card); border: 1px solid var(--rule); border-radius: 8px; padding: 0.25rem 1rem 0.75rem; margin: 1rem 0; }
.turn > header h2 { margin: 0.75rem 0 0.25rem; font-size: 1.15rem; }
.turn > header .model { color: var(--muted); font-size: 0.85rem; }
.turn.writing { border-style: dashed; }
.turn.writing > header h2::after { content: " — writing…"; color: var(--muted); font-weight: normal; }
.question { background: var(--question); border-radius: 6px; padding: 0.25rem 0.9rem; margin: 0.75rem 0; }
.question h3 { margin: 0.5rem 0 0.25rem; }
.fork-note { color: var(--muted); font-style: italic; }
.exports ul, .pages ul { list-style: none; padding: 0; display: flex; flex-wrap: wrap; gap: 0.5rem 1.25rem; }
.notice {
  position: sticky; bottom: 0; margin: 1rem 0 0; padding: 0.75rem 1rem;
  background: var(--question); border: 1px solid var(--rule); border-radius: 6px;
}
.salons { list-style: none; padding: 0; }
.salons li { border-bottom: 1px solid var(--rule); padding: 0.75rem 0; }
.salons .title { font-weight: 600; }
img { max-width: 100%; }
@media (max-width: 30rem) {
  body { font-size: 1rem; }
  .page { padding: 0.75rem 0.75rem 2rem; }
  .turn { padding: 0.25rem 0.75rem 0.5rem; }
}
`;
