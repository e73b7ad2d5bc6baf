/**
 * Markdown written by models and people, rendered for the web gallery. Everything it is given is untrusted: raw HTML
 * is shown as text, a link may only go to http:, https: or mailto:, and an image is never loaded (it becomes a link to
 * its address). The output carries no style attribute, so a strict Content-Security-Policy has nothing to block.
 */
import MarkdownIt from 'markdown-it';

/** The rel of every link a model or a person wrote. */
export const LINK_REL = 'nofollow ugc noopener noreferrer';

/**
 * Whether a link (as markdown-it normalised it) may be followed: an absolute http(s) address with a host, or mailto:.
 * Relative and protocol-relative addresses are refused too: a page's links lead where they say.
 */
export function allowedUrl(url: string): boolean {
  const s = url.trim();
  // A control character or whitespace inside the scheme could make a browser read another scheme.
  // eslint-disable-next-line no-control-regex -- control characters are exactly what this refuses
  if (/[\u0000-\u0020\u007f-\u009f]/.test(s)) return false;
  return /^https?:\/\/[^/\\?#@]/i.test(s) || /^mailto:[^/\\]/i.test(s);
}

const md = new MarkdownIt('default', { html: false, linkify: true, typographer: false });
md.validateLink = allowedUrl;

md.renderer.rules.link_open = (tokens, idx, options, _env, self) => {
  tokens[idx]?.attrSet('rel', LINK_REL);
  return self.renderToken(tokens, idx, options);
};

/** Whether the token at `idx` of an inline run sits inside a link (an image there is shown as its text). */
function insideLink(tokens: { type: string }[], idx: number): boolean {
  let depth = 0;
  for (let i = 0; i < idx; i++) {
    if (tokens[i]?.type === 'link_open') depth++;
    else if (tokens[i]?.type === 'link_close') depth--;
  }
  return depth > 0;
}

// An image is never loaded: it becomes a link to its address (text: its alt, else the address), or plain text when the
// address may not be linked or the image sits inside a link already.
md.renderer.rules.image = (tokens, idx, options, env, self) => {
  const token = tokens[idx];
  if (!token) return '';
  const src = token.attrGet('src') ?? '';
  const alt = self.renderInlineAsText(token.children ?? [], options, env);
  const text = md.utils.escapeHtml(alt || src);
  if (!allowedUrl(src) || insideLink(tokens, idx)) return text;
  return `<a href="${md.utils.escapeHtml(src)}" rel="${LINK_REL}" class="image-link">${text}</a>`;
};

// A heading in a turn is a heading inside the page's own section: h1 becomes h3, and so on, never past h6.
const demote = (tag: string) => `h${Math.min(6, Number(tag.slice(1)) + 2)}`;
md.core.ruler.push('salon_web', (state) => {
  for (const token of state.tokens) {
    if (token.type === 'heading_open' || token.type === 'heading_close') token.tag = demote(token.tag);
    // Table alignment: a class, not a style attribute.
    const style = token.attrGet('style');
    if (style !== null) {
      const align = /text-align:(left|center|right)/.exec(style)?.[1];
      token.attrs = (token.attrs ?? []).filter(([name]) => name !== 'style');
      if (align) token.attrJoin('class', `align-${align}`);
    }
  }
});

/** Markdown to HTML (block level), safe to place in a page. */
export function renderMarkdown(text: string): string {
  return md.render(text);
}
