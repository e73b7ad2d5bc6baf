/**
 * The proxy role. Discord's global limit (50 requests/s) and its per-route buckets belong to the bot token, not to
 * a process. Once salon runs as several processes, their REST traffic has to go through one rate limiter, and this
 * is it: an HTTP server running @discordjs/proxy in front of one REST client (upstream-rest.ts). A bot process
 * points discord.js at it with `rest: { api: url }` (DISCORD_API_BASE) and needs no other change.
 */
import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { proxyRequests } from '@discordjs/proxy';
import type { RESTOptions } from 'discord.js';
import type { Logger } from 'pino';
import { FENCE_HEADER } from '../discord/fenced-request.js';
import { SlidingWindow } from './global-window.js';
import { LeaseEndedError, log429s, upstreamRequest, UpstreamREST } from './upstream-rest.js';

export interface RestProxyOptions {
  /** The bot token. Only requests that carry it, or no token at all (webhooks, interactions), are relayed. */
  token: string;
  /** Upstream REST base, e.g. a fake's http://127.0.0.1:PORT/api. Discord's own when absent. */
  apiBase?: string;
  /** 0 picks a free port. */
  port: number;
  /** Default 127.0.0.1. Use 0.0.0.0 when the bot processes run on other hosts or containers. */
  host?: string;
  log: Logger;
  /** The bot's global limit. Discord's default is 50; only a bot that Discord has granted more should raise it. */
  globalRequestsPerSecond?: number;
}

export interface RunningRestProxy {
  /** What the bot processes use as DISCORD_API_BASE (discord.js appends /v10), e.g. http://127.0.0.1:PORT/api. */
  url: string;
  /** Stops taking connections and resolves once the requests in flight have been answered. */
  close(): Promise<void>;
}

export async function startRestProxy(options: RestProxyOptions): Promise<RunningRestProxy> {
  const { log } = options;
  const restOptions: Partial<RESTOptions> = {
    // Each client keeps its own retry policy: salon's webhook sender asks for none, so that a post whose answer
    // was lost is looked for rather than sent again. Retrying here as well would post it twice behind its back.
    // A 429 is still waited out and retried here, whatever this says, and that is the whole point of the proxy.
    retries: 0,
    makeRequest: upstreamRequest(new SlidingWindow(options.globalRequestsPerSecond ?? 50)),
  };
  // A key set to undefined would override @discordjs/rest's default instead of leaving it.
  if (options.apiBase) restOptions.api = options.apiBase.replace(/\/+$/, '');
  if (options.globalRequestsPerSecond) restOptions.globalRequestsPerSecond = options.globalRequestsPerSecond;
  const rest = new UpstreamREST(restOptions).setToken(options.token);
  log429s(rest, log);
  const forward = proxyRequests(rest);
  const botAuthorization = Buffer.from(`Bot ${options.token}`);

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = new URL(req.url ?? '/', 'http://proxy.invalid').pathname;
    if (path === '/health' && (req.method === 'GET' || req.method === 'HEAD')) {
      return answer(res, 200, { ok: true, role: 'proxy' });
    }
    // proxyRequests would forward any path at all, with only /api and the version cut off the front.
    if (!path.startsWith('/api/')) return answer(res, 404, { message: '404: Not Found', code: 0 });
    // The proxy relays whatever Authorization header it is given. Without this check, a process holding another
    // bot's token would be served from this bot's buckets and counted against its global limit.
    if (isAnotherToken(req.headers.authorization, botAuthorization)) {
      log.warn({ method: req.method, path: pathForLog(path) }, 'refused a request carrying another token than the bot token');
      return answer(res, 401, { message: '401: Unauthorized', code: 0 });
    }

    const gone = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) gone.abort();
    });
    // proxyRequests ends the response in a `finally`, even after an error it does not know, such as an unreachable
    // upstream, and then rethrows it. The status it leaves is the default 200 with an empty body, which a client
    // would take for success. 502 is what such a client sees instead.
    res.statusCode = 502;
    try {
      await rest.serve({ res, signal: gone.signal, deadline: fenceDeadline(req.headers[FENCE_HEADER]) }, () => forward(req, res));
      // Which process sent what (its User-Agent names it), for an operator tracing a salon across workers.
      log.debug({ method: req.method, path: pathForLog(path), status: res.statusCode, client: req.headers['user-agent'] }, 'relayed');
    } catch (err) {
      if (err instanceof LeaseEndedError) {
        log.warn(
          { method: req.method, path: pathForLog(path), client: req.headers['user-agent'] },
          'dropped a request whose lease ended while it waited; a newer worker has the salon',
        );
      } else if (gone.signal.aborted) {
        log.debug({ method: req.method, path: pathForLog(path) }, 'the client went away; its request was dropped unless already sent');
      } else {
        log.error({ err, method: req.method, path: pathForLog(path) }, 'could not relay a request to Discord');
      }
    }
  };

  const server = createServer((req, res) => void handle(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (err) => log.error({ err }, 'REST proxy server error'));
  const { address, port } = server.address() as AddressInfo;
  const url = `http://${reachable(address)}:${port}/api`;
  log.info({ url, upstream: rest.options.api, globalRequestsPerSecond: rest.options.globalRequestsPerSecond }, 'REST proxy listening');

  let closing: Promise<void> | undefined;
  return {
    url,
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        server.close((err) => {
          rest.clearHashSweeper();
          rest.clearHandlerSweeper();
          if (err) reject(err);
          else resolve();
        });
        server.closeIdleConnections();
      });
      return closing;
    },
  };
}

function answer(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

function isAnotherToken(header: string | undefined, expected: Buffer): boolean {
  if (header === undefined) return false;
  const given = Buffer.from(header);
  return given.length !== expected.length || !timingSafeEqual(given, expected);
}

/** Webhook and interaction paths carry a token that lets anyone post; ids alone are enough to go on. */
function pathForLog(path: string): string {
  return path.replace(/(\/(?:webhooks|interactions)\/\d+\/)[^/]+/, '$1:token');
}

/** An address the bots can use: a wildcard bind is reached over loopback from the same host. */
function reachable(address: string): string {
  if (address === '0.0.0.0') return '127.0.0.1';
  if (address === '::') return '[::1]';
  return address.includes(':') ? `[${address}]` : address;
}

/** The fence deadline a worker sent, or undefined for none (or one that is not a number). */
function fenceDeadline(header: string | string[] | undefined): number | undefined {
  const value = Number(Array.isArray(header) ? header[0] : header);
  return header !== undefined && Number.isFinite(value) ? value : undefined;
}
