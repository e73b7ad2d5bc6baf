import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiError, Errors } from './api-error.js';
import type { ApiRequest, ApiResponse, Core } from './core.js';
import { parseBody } from './request-body.js';
import { matchRoute, type Route } from './router.js';
import type { RecordedRequest } from './types.js';

const API_PREFIX = '/api/v10';

/**
 * The HTTP side of the fake. Each request goes through the same steps Discord's
 * edge would take, in this order: record → (test latency 'before') → route →
 * auth → (test hold) → (test fault) → rate limit → handler (which validates
 * the body) → (test fault or hold with `afterEffect`) → (test latency 'after')
 * → answer.
 */
export function createRestHandler(core: Core, routes: readonly Route[]) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    handle(core, routes, req, res).catch((error: unknown) => {
      // A bug in the fake itself: fail loudly, and make tests that assert
      // "no violations" notice.
      console.error('[fake-discord] internal error', error);
      core.recordViolation('protocol', { method: req.method ?? '', path: req.url ?? '' }, [{ path: '', code: 'FAKE_INTERNAL_ERROR', message: String(error) }]);
      if (!res.headersSent) send(res, { status: 500, body: { code: 0, message: '500: Internal Server Error' } });
    });
  };
}

async function handle(core: Core, routes: readonly Route[], req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://fake.invalid');
  const method = (req.method ?? 'GET').toUpperCase();
  if (url.pathname.startsWith('/attachments/')) return serveAttachment(core, url, res);

  const raw = await readAll(req);
  const parsed = await parseBody(raw, req.headers['content-type']);
  const fullPath = decodePath(url.pathname);
  const versioned = fullPath.startsWith(`${API_PREFIX}/`);
  const path = versioned ? fullPath.slice(API_PREFIX.length) : fullPath;
  const record: RecordedRequest = {
    seq: core.requests.length + 1,
    method,
    path,
    query: Object.fromEntries(url.searchParams),
    headers: redactedHeaders(req),
    body: parsed.body,
    files: parsed.files,
    multipart: parsed.multipart,
    status: null,
    response: undefined,
    clientAborted: false,
    dropped: false,
    latencyMs: 0,
    at: Date.now(),
    respondedAt: null,
  };
  core.requests.push(record);
  core.changed();

  // Every answer waits out the 'after' latencies, then goes out once.
  // `delivered` runs once the answer is out (the rate limiter's "the client has now been told").
  const answer = async (response: ApiResponse, delivered?: () => void): Promise<void> => {
    await core.faults.delay('after', record);
    record.clientAborted = res.destroyed || req.socket.destroyed;
    send(res, response);
    delivered?.();
    record.status = response.status;
    record.response = response.body;
    record.respondedAt = Date.now();
    core.emit('request', record);
    core.changed();
  };
  const drop = (): void => {
    record.clientAborted = res.destroyed || req.socket.destroyed;
    record.dropped = true;
    record.respondedAt = Date.now();
    req.socket.destroy();
    core.emit('request', record);
    core.changed();
  };

  await core.faults.delay('before', record);

  const match = versioned ? matchRoute(routes, method, path) : ({ kind: 'none' } as const);
  if (match.kind !== 'found') {
    core.recordViolation('unknown-route', { method, path: fullPath }, [
      { path: '', code: 'UNKNOWN_ROUTE', message: `The fake has no route ${method} ${fullPath}` },
    ]);
    return answer(errorResponse(match.kind === 'wrong-method' ? Errors.methodNotAllowed() : Errors.notFound()));
  }
  const { route, params } = match;
  const apiReq: ApiRequest = {
    method,
    path,
    params,
    query: url.searchParams,
    body: parsed.body,
    files: parsed.files,
    multipart: parsed.multipart,
    record,
  };

  if (route.auth === 'bot' && req.headers.authorization !== `Bot ${core.config.token}`) {
    return answer(errorResponse(Errors.unauthorized()));
  }

  const hold = core.faults.takeHold(method, path);
  if (hold && !hold.rule.afterEffect) {
    const outcome = await hold.capture(record);
    if (outcome.kind === 'drop') return drop();
    if (outcome.kind === 'respond') return answer({ status: outcome.status, body: outcome.body });
  }
  // A hold with afterEffect sees the answer the request got, whatever it is, before it goes out.
  const heldAnswer = async (response: ApiResponse, delivered?: () => void): Promise<void> => {
    if (!hold?.rule.afterEffect) return answer(response, delivered);
    const outcome = await hold.capture(record);
    if (outcome.kind === 'drop') return drop();
    if (outcome.kind === 'respond') return answer({ status: outcome.status, body: outcome.body });
    return answer(response, delivered);
  };

  const fault = core.faults.takeFailure(method, path);
  if (fault && !fault.afterEffect) return heldAnswer(fault);

  if (parsed.invalidJson) {
    core.recordViolation('invalid-json', apiReq, [{ path: '', code: 'INVALID_JSON', message: 'The request body contains invalid JSON.' }]);
    return heldAnswer(errorResponse(Errors.invalidJson()));
  }

  const limit = core.limiter.check(route.bucket?.(params, core), route.auth === 'bot' ? core.config.token : undefined, Date.now(), record.at);
  if (!limit.allowed) return heldAnswer({ status: 429, body: limit.body, headers: limit.headers }, limit.deliver);

  let response: ApiResponse;
  try {
    response = await route.handle(apiReq, core);
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    response = errorResponse(error);
  }
  if (fault) return heldAnswer(fault);
  return heldAnswer({ ...response, headers: { ...limit.headers, ...response.headers } }, limit.deliver);
}

export function errorResponse(error: ApiError): ApiResponse {
  return { status: error.status, body: error.toBody() };
}

function send(res: ServerResponse, response: ApiResponse): void {
  const headers: Record<string, string> = { ...response.headers };
  if (response.status === 204 || response.body === undefined) {
    res.writeHead(response.status, headers).end();
    return;
  }
  headers['content-type'] = 'application/json';
  res.writeHead(response.status, headers).end(JSON.stringify(response.body));
}

function readAll(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** Percent-decodes each segment: @discordjs/rest sends `@original` as `%40original`. */
function decodePath(pathname: string): string {
  return pathname
    .split('/')
    .map((segment) => {
      try {
        return decodeURIComponent(segment);
      } catch {
        return segment;
      }
    })
    .join('/');
}

function redactedHeaders(req: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  if (headers.authorization !== undefined) {
    headers.authorization = headers.authorization.startsWith('Bot ') ? 'Bot [redacted]' : '[redacted]';
  }
  return headers;
}

/** The fake's "CDN": attachment bytes at the URL given in the message. */
function serveAttachment(core: Core, url: URL, res: ServerResponse): void {
  const id = url.pathname.split('/')[3] ?? '';
  const bytes = core.state.attachmentBytes.get(id);
  if (!bytes) {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': bytes.length }).end(bytes);
}
