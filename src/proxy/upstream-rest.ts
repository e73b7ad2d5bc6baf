/**
 * The one @discordjs/rest client the proxy sends every request through. Its buckets and its global counter live in
 * this instance, so all the bot processes behind the proxy share them.
 *
 * proxyRequests (@discordjs/proxy 2.1) takes any REST, and this one makes up for three things the handler cannot
 * do on its own:
 * - Replayable bodies. The handler passes the incoming request stream as the body. @discordjs/rest sends the same
 *   body again after a 429 (and on its own retries), but a stream that has been read once is empty the second
 *   time. A post that drew a 429 then reached Discord with no body and failed with a 400, so the message was lost.
 *   Here the body is read into memory first.
 * - Rate-limit headers. The handler drops every `x-ratelimit-*` header from a successful answer. Salon reads those
 *   headers (RateLimitGauge, and the webhook sender's wait for a spent bucket) to hold back optional streaming edits.
 *   With the headers, a discord.js client also waits for a spent bucket on its own side, where its request timeout
 *   is not running, instead of waiting in the proxy's queue, where it is. The proxy still does the enforcing, so a
 *   client that ignores the headers cannot overrun Discord.
 * - Clients that give up. The handler passes no abort signal, so a request whose client timed out (and will send
 *   it again) would still go out when its turn came, and the message would be posted twice. When the client
 *   disconnects, its request is dropped from the queue.
 * - Leases that end. A worker sends the deadline of its lease on the salon with each request (FENCE_HEADER); a
 *   request still queued here when it passes is dropped, not sent: another worker may have taken the salon over
 *   and looked at the thread already, and would not see this post coming.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
// @discordjs/rest through discord.js, which re-exports it: the package itself is not a direct dependency.
import { DefaultRestOptions, REST, RESTEvents, type InternalRequest, type RESTOptions, type ResponseLike } from 'discord.js';
import type { Logger } from 'pino';
import type { SlidingWindow } from './global-window.js';

/** The HTTP exchange one proxied request belongs to. */
export interface Exchange {
  res: ServerResponse;
  /** Aborted when the client goes away before its answer. */
  signal: AbortSignal;
  /** Epoch ms past which the request must not be sent on (the client's lease ends). */
  deadline?: number;
}

/** A request reached the front of the queue after its client's lease had ended; it was not sent. */
export class LeaseEndedError extends Error {
  constructor() {
    super('the lease the request was sent under has ended; dropped unsent');
    this.name = 'LeaseEndedError';
  }
}

/**
 * The proxy's request function: waits for a place in the global limit's window (interaction callbacks are not
 * counted, as Discord does not), then sends on, unless the exchange's lease has ended meanwhile: checked as late as
 * the proxy can, when the request leaves. The place is held until the answer is back; a global 429 in that answer
 * stops every request still waiting for a place until its Retry-After has passed.
 */
export function upstreamRequest(global: SlidingWindow): RESTOptions['makeRequest'] {
  return async (url, init) => {
    const exchange = exchanges.getStore();
    if (new URL(url).pathname.includes('/interactions/')) {
      if (leaseEnded(exchange)) throw new LeaseEndedError();
      return DefaultRestOptions.makeRequest(url, init);
    }
    const slot = await global.take(exchange?.signal);
    // A request whose client went away while it waited takes no place in the window: it is not sent.
    if (!slot) throw new Error('the client went away; dropped unsent');
    if (leaseEnded(exchange)) {
      slot.unused();
      throw new LeaseEndedError();
    }
    try {
      const response = await DefaultRestOptions.makeRequest(url, init);
      if (response.status === 429 && response.headers.has('x-ratelimit-global')) global.pause(retryAfterMs(response.headers.get('retry-after')));
      return response;
    } finally {
      slot.answered();
    }
  };
}

function leaseEnded(exchange: Exchange | undefined): boolean {
  const deadline = exchange?.deadline;
  return deadline !== undefined && Date.now() >= deadline;
}

/** Retry-After is in seconds (Discord sends whole ones); without one, a second, Discord's global window. */
function retryAfterMs(header: string | null): number {
  const seconds = Number(header ?? undefined);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1_000 : 1_000;
}

// proxyRequests calls queueRequest from inside the handler's own async chain, so the exchange can travel with it.
// Nothing passes it as an argument.
const exchanges = new AsyncLocalStorage<Exchange>();

export class UpstreamREST extends REST {
  /** Runs `forward` (the proxyRequests handler for this exchange) so that queueRequest can see the exchange. */
  serve<T>(exchange: Exchange, forward: () => T): T {
    return exchanges.run(exchange, forward);
  }

  override async queueRequest(request: InternalRequest): Promise<ResponseLike> {
    const exchange = exchanges.getStore();
    const body = request.body instanceof Readable ? await readAll(request.body) : request.body;
    const response = await super.queueRequest({ ...request, body, signal: exchange?.signal ?? request.signal });
    if (exchange) {
      for (const [name, value] of response.headers) if (name.startsWith('x-ratelimit-')) exchange.res.setHeader(name, value);
    }
    return response;
  }
}

/** Logs every 429 Discord sends back (the proxy then waits and retries). Bucket routes carry no ids and no tokens. */
export function log429s(rest: REST, log: Logger): void {
  rest.on(RESTEvents.Response, (request, response) => {
    if (response.status !== 429) return;
    const retryAfter = response.headers.get('retry-after');
    log.warn(
      {
        method: request.method,
        route: request.route,
        retryAfterMs: retryAfter === null ? undefined : Math.round(Number(retryAfter) * 1000),
        global: response.headers.has('x-ratelimit-global'),
        scope: response.headers.get('x-ratelimit-scope') ?? undefined,
      },
      'Discord answered 429; the proxy waits and retries',
    );
  });
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string));
  return Buffer.concat(chunks);
}
