/**
 * The web gallery: a shared salon's page (live while it runs), its exports, and an index of the listed ones, on
 * Fastify with helmet's headers and a per-IP rate limit. It reads salons through the same store port the engine
 * uses and holds no Discord token. Nothing is served but what someone shared: an unknown or revoked token is a 404,
 * the same 404 whatever the reason.
 */
import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { renderTranscript, transcriptFileName } from '../domain/transcript.js';
import type { SalonHead, SalonRecord } from '../domain/salon.js';
import type { SalonStore } from '../engine/ports.js';
import { exportHtml } from './render/export-html.js';
import { exportJson } from './render/export-json.js';
import { renderIndexPage } from './render/index-page.js';
import { LIVE_SCRIPT } from './render/live-script.js';
import { renderNotFoundPage, renderSalonPage } from './render/page.js';
import { SALON_CSS } from './render/style.js';
import { StartupError } from '../startup-error.js';
import type { LiveFeed } from './live-feed.js';
import { LiveViewers } from './live-viewers.js';

export interface WebOptions {
  store: SalonStore;
  feed: LiveFeed;
  log: Logger;
  port: number;
  host: string;
  /** The address people reach the server at, for links and preview tags; `http://<host>:<port>` when absent. */
  publicUrl?: string;
  /** Behind a reverse proxy: trust its X-Forwarded-For for the client's address (rate limits count per client). */
  trustProxy?: boolean | string;
  /** Requests one address may make in a minute, every route together. */
  requestsPerMinute?: number;
  /**
   * Several gallery processes behind one address count each client's requests together in this Redis (the job
   * queue's); absent, each process counts its own.
   */
  sharedLimits?: { redisUrl: string; prefix: string };
  clock?: () => number;
}

export interface RunningWeb {
  /** Where it listens, e.g. http://127.0.0.1:8080. */
  url: string;
  publicUrl: string;
  /** Live viewers connected now (for health and the bench). */
  viewers(): number;
  close(): Promise<void>;
}

/** A share token: what `share-token.ts` makes (base64url, 24 characters for 144 bits); anything else finds nothing. */
const TOKEN = /^[A-Za-z0-9_-]{22,64}$/;
const PAGE_SIZE = 20;
/** Rendered pages kept for their next readers, by size: a few long salons or many short ones. */
const PAGE_CACHE_BYTES = 32 * 1024 * 1024;
const EXPORTS = { md: 'text/markdown; charset=utf-8', json: 'application/json; charset=utf-8', html: 'text/html; charset=utf-8' } as const;

export async function startWebServer(options: WebOptions): Promise<RunningWeb> {
  const { store, log } = options;
  const now = options.clock ?? Date.now;
  // The page links and preview tags need the public address; with port 0 it is known once listening.
  const app: FastifyInstance = Fastify({ logger: false, trustProxy: options.trustProxy ?? false, exposeHeadRoutes: true });
  await app.register(helmet, {
    contentSecurityPolicy: {
      useDefaults: false,
      // Our own stylesheet and script, and the page's own event stream; nothing inline, nothing from elsewhere.
      directives: {
        defaultSrc: ["'none'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'"],
        connectSrc: ["'self'"],
        baseUri: ["'none'"],
        formAction: ["'none'"],
        frameAncestors: ["'none'"],
      },
    },
    // A link followed from a page must not carry the page's address (its token) to another site.
    referrerPolicy: { policy: 'no-referrer' },
    // Plain http stays usable on a LAN or behind a TLS proxy that terminates elsewhere.
    strictTransportSecurity: false,
  });
  const limits = options.sharedLimits ? new Redis(options.sharedLimits.redisUrl, { maxRetriesPerRequest: 1, enableOfflineQueue: false }) : undefined;
  limits?.on('error', (err: unknown) => log.warn({ err }, 'the shared rate-limit store is unavailable; requests are let through meanwhile'));
  await app.register(rateLimit, {
    max: options.requestsPerMinute ?? 300,
    timeWindow: 60_000,
    ...(limits ? { redis: limits, nameSpace: `${options.sharedLimits!.prefix}:web-limit:`, skipOnError: true } : {}),
  });
  const fallbackUrl = `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${options.port}`;
  let publicUrl = (options.publicUrl ?? fallbackUrl).replace(/\/+$/, '');
  const viewers = new LiveViewers({ store, feed: options.feed, log });
  addRoutes(app, { ...options, publicUrl: () => publicUrl }, viewers, now);
  let url: string;
  try {
    url = await app.listen({ port: options.port, host: options.host });
  } catch (err) {
    await app.close().catch(() => {});
    limits?.disconnect();
    throw new StartupError(`the web server cannot listen on ${options.host}:${options.port} (SALON_WEB_PORT, SALON_WEB_HOST): ${(err as Error).message}`);
  }
  // Port 0 (tests, the bench) is known only now.
  if (!options.publicUrl) publicUrl = url;
  log.info({ url, publicUrl }, 'serving the web gallery');
  return {
    url,
    get publicUrl() {
      return publicUrl;
    },
    viewers: () => viewers.count(),
    async close() {
      viewers.closeAll();
      await app.close();
      limits?.disconnect();
    },
  };
}

/** The routes, apart from the set-up so the order (plugins, routes, listen) reads top to bottom. */
function addRoutes(app: FastifyInstance, options: Omit<WebOptions, 'publicUrl'> & { publicUrl: () => string }, viewers: LiveViewers, now: () => number): void {
  const { store, log } = options;
  const pageUrl = (token: string) => `${options.publicUrl()}/s/${token}`;
  const pages = new RenderedPages(PAGE_CACHE_BYTES);
  const notFound = (reply: FastifyReply) => reply.code(404).type('text/html; charset=utf-8').header('cache-control', 'no-store').send(renderNotFoundPage());

  const shared = async (token: string): Promise<SalonRecord | undefined> => {
    if (!TOKEN.test(token)) return undefined;
    try {
      return await store.findShared(token);
    } catch (err) {
      log.warn({ err }, 'a shared salon could not be read');
      return undefined;
    }
  };

  app.get('/assets/salon.css', (_request, reply) => reply.type('text/css; charset=utf-8').header('cache-control', 'public, max-age=300').send(SALON_CSS));
  app.get('/assets/live.js', (_request, reply) =>
    reply.type('text/javascript; charset=utf-8').header('cache-control', 'public, max-age=300').send(LIVE_SCRIPT),
  );

  // Browsers ask for it on every page; there is none, and a 404 would be noise in their consoles.
  app.get('/favicon.ico', (_request, reply) => reply.code(204).header('cache-control', 'public, max-age=86400').send());

  app.get<{ Querystring: { page?: string } }>('/', async (request, reply) => {
    const page = Math.max(1, Math.min(10_000, Number.parseInt(request.query.page ?? '1', 10) || 1));
    const { heads, total } = await store.listedHeads({ offset: (page - 1) * PAGE_SIZE, limit: PAGE_SIZE });
    const html = renderIndexPage({
      heads,
      page,
      pageCount: Math.max(1, Math.ceil(total / PAGE_SIZE)),
      publicUrl: options.publicUrl(),
      linkFor: (head: SalonHead) => pageUrl(head.share!.token),
    });
    return reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(html);
  });

  app.get<{ Params: { file: string } }>('/s/:file', async (request, reply) => {
    const match = /^([^.]+)(?:\.(md|json|html))?$/.exec(request.params.file);
    const token = match?.[1];
    const salon = token ? await shared(token) : undefined;
    if (!token || !salon) return notFound(reply);
    const format = match[2] as keyof typeof EXPORTS | undefined;
    // Shared pages change as the salon runs, and stop being shared at once: nobody in between may keep a copy.
    reply.header('cache-control', 'no-store').header('x-robots-tag', salon.share!.listed ? 'all' : 'noindex');
    const at = now();
    if (!format) {
      // A page is a function of the salon's version (and the share, in the key): rendered once for every reader of it.
      const key = `${token}:${salon.version}`;
      let html = pages.get(key);
      if (html === undefined) {
        html = renderSalonPage(salon, { publicUrl: options.publicUrl(), pageUrl: pageUrl(token), live: salon.status !== 'closed', now: new Date(at) });
        pages.set(key, html);
      }
      return reply.type('text/html; charset=utf-8').send(html);
    }
    const name = transcriptFileName(salon, new Date(at)).replace(/\.md$/, `.${format}`);
    const date = new Date(at);
    const body =
      format === 'md' ? renderTranscript(salon, date) : format === 'json' ? `${JSON.stringify(exportJson(salon, date), null, 2)}\n` : exportHtml(salon, date);
    // The .html export is a file to keep, not a page of this site: it downloads, so it never runs under this origin.
    const disposition = format === 'html' ? 'attachment' : 'inline';
    return reply.type(EXPORTS[format]).header('content-disposition', `${disposition}; filename="${name}"`).send(body);
  });

  app.get<{ Params: { token: string }; Querystring: { after?: string } }>('/s/:token/events', async (request, reply) => {
    const { token } = request.params;
    const salon = await shared(token);
    if (!salon) return notFound(reply);
    // EventSource sends the last id it saw when it reconnects; the page's first connection says what it shows.
    const lastId = /^t(\d+)$/.exec(String(request.headers['last-event-id'] ?? ''))?.[1];
    const after = lastId !== undefined ? Number(lastId) : Number.parseInt(request.query.after ?? '-1', 10);
    reply.hijack();
    reply.raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-accel-buffering': 'no',
      connection: 'keep-alive',
      ...securityHeaders(reply),
    });
    try {
      await viewers.add({ salonId: salon.id, token, after: Number.isFinite(after) ? after : -1, stream: reply.raw, request: request.raw });
    } catch (err) {
      // The feed could not be joined (Redis down): the page's EventSource tries again by itself.
      log.warn({ err }, 'a live page could not be followed');
      reply.raw.end();
    }
  });
}

/** The headers helmet set on a reply that was then hijacked (an event stream writes its own head). */
function securityHeaders(reply: FastifyReply): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(reply.getHeaders())) if (typeof value === 'string') out[name] = value;
  return out;
}

/**
 * The pages rendered last, least recently used out first once they pass `maxBytes` (counted as UTF-16 length, near
 * enough). Keyed by token and version: a new turn, an unshare (a new token) or any change is a new key, never a stale page.
 */
class RenderedPages {
  private readonly pages = new Map<string, string>();
  private bytes = 0;

  constructor(private readonly maxBytes: number) {}

  get(key: string): string | undefined {
    const html = this.pages.get(key);
    if (html !== undefined) {
      this.pages.delete(key);
      this.pages.set(key, html);
    }
    return html;
  }

  set(key: string, html: string): void {
    if (html.length > this.maxBytes || this.pages.has(key)) return;
    this.pages.set(key, html);
    this.bytes += html.length;
    for (const [oldest, page] of this.pages) {
      if (this.bytes <= this.maxBytes) break;
      this.pages.delete(oldest);
      this.bytes -= page.length;
    }
  }
}
