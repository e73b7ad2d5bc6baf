/**
 * A local OpenAI-compatible chat completions server, for the tests and the bench. The real `openai` SDK talks to
 * it over real HTTP, so retries, timeouts, Retry-After and dropped connections are exercised as they happen in
 * production.
 *
 * Timing is an input: per reply (fields of `Reply`) or for every reply (`start(script, { timing })`,
 * `setTiming()`), a test sets the wait before the answer (`delayMs`), the wait between the headers and the first
 * text (`firstChunkMs`), the spacing of the text chunks (`chunkDelayMs`: fixed, a `[min, max]` range drawn from a
 * seeded PRNG, or a function of the gap's index), their size (`chunkSize`) and how writes coalesce (`burstMs`).
 * Failures: `failNext({ status, count, retryAfterMs })` fails the next requests before the script is asked;
 * `Reply.failAttempts` fails the first attempts of one request (the SDK's retries are counted by its
 * `X-Stainless-Retry-Count` header).
 *
 * What real OpenAI-compatible endpoints do besides the happy path, as OpenRouter documents it (each field of `Reply`
 * cites its page): SSE comment lines (`comment`), reasoning before the content (`reasoning`), an error event in the
 * middle of a 200 stream (`streamError`), a 200 whose body is an error object (`errorBody`), usage with `cost`, cached
 * and reasoning tokens on the last chunk (`usage`, see `openRouterUsage`); and what proxies and local servers do: a
 * stream that stops cleanly before its finish reason (`stopAfterChunks`), a connection dropped mid-stream
 * (`dropAfterChunks`).
 *
 * Structured output: a request's `response_format` is kept in its body as sent (`responseSchemaOf(request)` gives the
 * JSON schema it asked for, if any), and `Reply.json` answers as a structured-output endpoint does, with the JSON as the
 * message's content (https://platform.openai.com/docs/guides/structured-outputs). The server checks neither the schema
 * nor the answer against it: what the model answers is the script's to say, whatever the request asked for.
 *
 * Every request is timestamped on one clock (`performance.timeOrigin + performance.now()`, sub-millisecond):
 * when its body had arrived (`arrivedAt`) and when the last byte of its reply was handed to the socket (`endAt`),
 * which the bench's relay figures start from.
 */
import { EventEmitter, once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DEFAULT_SEED, deriveRandom, drawMs, type DurationSpec } from './random.js';

export interface ChatRequest {
  /** Position of this request among all received (since the last `reset()`), from 0. */
  index: number;
  path: string;
  headers: IncomingMessage['headers'];
  body: {
    model: string;
    messages: { role: string; content: string }[];
    stream?: boolean;
    max_tokens?: number;
    temperature?: number;
    /** `{ type: 'json_schema', json_schema: { name, strict, schema } }` when the client asked for structured output. */
    response_format?: { type: string; json_schema?: { name?: string; strict?: boolean | null; schema?: Record<string, unknown> } };
    [key: string]: unknown;
  };
  /** Date.now() when the whole body had arrived. */
  at: number;
  /** The same moment on the sub-millisecond clock (see `clock()`). */
  arrivedAt: number;
  /** 0 for a first try, n for the client's n-th retry of it (the SDK's `X-Stainless-Retry-Count`). */
  attempt: number;
  /** The error status it was answered with, when it was failed (`failNext`, `failAttempts` or `Reply.status`). */
  status?: number;
  /** When the last byte of the reply was handed to the socket; undefined while pending, hanging or dropped. */
  endAt?: number;
  /** Streams: text events sent. */
  events?: number;
  /** Streams: when each text chunk was due, in ms after `arrivedAt` (what a seed replays). */
  chunkDueMs?: number[];
  /** The reply text, once sent in full. */
  text?: string;
}

/** How a reply is paced. Every field may be set per reply or as a default for all (`setTiming`). */
export interface ReplyTiming {
  /** Wait this long before answering at all (no headers yet). A range draws from the seeded PRNG. */
  delayMs?: DurationSpec;
  /** Streams: after the headers, wait this long before the first text chunk. */
  firstChunkMs?: DurationSpec;
  /** Streams: the time between two text chunks; a function gets the gap's index (1 = before the second chunk). */
  chunkDelayMs?: DurationSpec<[number]>;
  /** Streams without `chunks`: cut `text` into pieces of this many characters. Default: one piece. */
  chunkSize?: number;
  /** Streams: the shortest time between two writes; chunks falling due meanwhile go out together. Default 0. */
  burstMs?: number;
}

/** What the server does with one request. */
export interface Reply extends ReplyTiming {
  text?: string;
  /**
   * Answer as a structured-output endpoint does: `JSON.stringify(json)` is the message's content, in a whole reply or
   * streamed (cut by `chunkSize`). It takes the place of `text` and `chunks`. Sent as is, whatever the request asked for.
   */
  json?: unknown;
  /** An HTTP error status; `error` becomes the body's error message. */
  status?: number;
  error?: string;
  headers?: Record<string, string>;
  finishReason?: string;
  /** `null` sends no usage at all, as some local servers do. */
  usage?: Record<string, unknown> | null;
  /** Never answer (until the client gives up or the server stops); a stream with `chunks` or `chunkSize` sends them first. */
  hang?: boolean;
  /** Destroy the socket without a response. */
  drop?: boolean;
  /** For stream requests: the text in pieces, sent `chunkDelayMs` apart. */
  chunks?: string[];
  /** For stream requests: cut the connection after the chunks, as a provider failing mid-stream does. */
  dropAfterChunks?: boolean;
  /**
   * For stream requests: after this many text chunks, end the response cleanly, with no finish reason, no usage and no
   * `data: [DONE]`, as OpenRouter, vLLM or a proxy ending a stream early do. The SDK ends its iterator quietly then.
   */
  stopAfterChunks?: number;
  /**
   * For stream requests: an SSE comment line (`: <comment>`) sent as soon as the headers are out and before every text
   * chunk. OpenRouter "occasionally sends comments to prevent connection timeouts", `: OPENROUTER PROCESSING`, to
   * be ignored per the SSE spec (https://openrouter.ai/docs/api/reference/streaming, "Additional information").
   */
  comment?: string;
  /**
   * Reasoning sent before the content: streamed as `delta.reasoning` with `delta.reasoning_details`
   * (`[{ type: 'reasoning.text', text, format, index }]`), or as `message.reasoning` / `message.reasoning_details` in a
   * whole reply. Reasoning tokens "appear in the reasoning field of each message" and count as output tokens
   * (https://openrouter.ai/docs/use-cases/reasoning-tokens).
   */
  reasoning?: string[];
  /**
   * For stream requests: after the chunks, an event carrying `error: { code, message }` and a choice with
   * `finish_reason: "error"`, then the stream ends (no `[DONE]`). The status stays 200: "errors that occur
   * mid-generation still arrive as regular data: events with an error field"
   * (https://openrouter.ai/docs/api/reference/streaming, "Handling Errors During Streaming").
   */
  streamError?: { code: string | number; message: string };
  /** Answer a stream request with a whole JSON completion, as a server that does not stream does. */
  ignoreStream?: boolean;
  /**
   * Answer 200 with `{ error: errorBody }` as the JSON body (to stream requests too): "any error occurred while the
   * LLM is producing the output will be emitted in the response body or as an SSE data event"
   * (https://openrouter.ai/docs/api/reference/errors-and-debugging).
   */
  errorBody?: { code: number | string; message: string; metadata?: Record<string, unknown> };
  /** Answer the first `count` (default 1) attempts of this request (attempt < count) with `status` (default 500) instead. */
  failAttempts?: Partial<Omit<FailRule, 'match'>>;
}

/** A failure: `status` for `count` requests (default 1); 429 and 503 carry Retry-After. */
export interface FailRule {
  status: number;
  count?: number;
  /** Sent as `retry-after` (seconds) and `retry-after-ms`, which the SDK waits for. Default 1,000 for 429 and 503, else none. */
  retryAfterMs?: number;
  error?: string;
  /** Only requests this accepts (counted only when it does). */
  match?: (request: ChatRequest) => boolean;
}

export interface FakeOpenAIOptions {
  /** Seeds the PRNG that timing ranges draw from (one stream per request index), so a failing run replays. */
  seed?: number;
  /** Default timing for every reply; a reply's own fields win. */
  timing?: ReplyTiming;
}

export type Script = (request: ChatRequest) => Reply | Promise<Reply>;

/**
 * Usage as OpenRouter reports it with usage accounting on: token counts with cached and reasoning tokens, and `cost` in
 * credits (USD). Streamed, it is "included in the last SSE message" (https://openrouter.ai/docs/use-cases/usage-accounting).
 */
export function openRouterUsage(u: { prompt: number; completion: number; cached?: number; reasoning?: number; cost: number }): Record<string, unknown> {
  return {
    prompt_tokens: u.prompt,
    completion_tokens: u.completion,
    total_tokens: u.prompt + u.completion,
    prompt_tokens_details: { cached_tokens: u.cached ?? 0, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: u.reasoning ?? 0 },
    cost: u.cost,
    cost_details: { upstream_inference_cost: null },
    is_byok: false,
  };
}

/** The JSON schema a request asked its answer to follow (`response_format.json_schema.schema`), or undefined. */
export function responseSchemaOf(request: ChatRequest): Record<string, unknown> | undefined {
  const format = request.body.response_format;
  return format?.type === 'json_schema' ? format.json_schema?.schema : undefined;
}

/** The default: a short, deterministic reply that names the model and the request number. */
export const echoScript: Script = (req) => ({ text: `Reply ${req.index} from ${req.body.model}.` });

/** The clock requests are timestamped on: epoch milliseconds, sub-millisecond. */
export function clock(): number {
  return performance.timeOrigin + performance.now();
}

/** A message's text, whether its content is a string or parts (as when cache breakpoints are marked). */
export function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content.map((part) => (typeof part === 'object' && part && 'text' in part ? String((part as { text: unknown }).text) : '')).join('');
  }
  return '';
}

function usageFor(req: ChatRequest, text: string): Record<string, unknown> {
  const prompt = req.body.messages.reduce((n, m) => n + Math.ceil(contentText(m.content).length / 4), 0);
  const completion = Math.ceil(text.length / 4);
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}

function retryHeaders(rule: Pick<FailRule, 'status' | 'retryAfterMs'>): Record<string, string> {
  const ms = rule.retryAfterMs ?? (rule.status === 429 || rule.status === 503 ? 1_000 : undefined);
  return ms === undefined ? {} : { 'retry-after': (ms / 1000).toFixed(3), 'retry-after-ms': String(Math.round(ms)) };
}

export class FakeOpenAI extends EventEmitter<{ request: [ChatRequest]; end: [ChatRequest] }> {
  readonly requests: ChatRequest[] = [];
  private script: Script = echoScript;
  private timing: ReplyTiming;
  private readonly failures: Array<{ rule: FailRule; remaining: number }> = [];
  private readonly open = new Set<ServerResponse>();
  private readonly timers = new Map<NodeJS.Timeout, () => void>();

  private constructor(
    private readonly server: Server,
    readonly seed: number,
    timing: ReplyTiming,
  ) {
    super();
    this.timing = timing;
  }

  static async start(script?: Script, options: FakeOpenAIOptions = {}): Promise<FakeOpenAI> {
    const server = createServer();
    // Clients keep connections for many replies (the bench runs for minutes).
    server.keepAliveTimeout = 120_000;
    const fake = new FakeOpenAI(server, options.seed ?? DEFAULT_SEED, options.timing ?? {});
    if (script) fake.script = script;
    server.on('request', (req, res) => void fake.handle(req, res));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return fake;
  }

  get baseURL(): string {
    const { port } = this.server.address() as AddressInfo;
    return `http://127.0.0.1:${port}/v1`;
  }

  setScript(script: Script): void {
    this.script = script;
  }

  /** Default timing for every later reply (replaces the previous defaults); a reply's own fields win. */
  setTiming(timing: ReplyTiming): void {
    this.timing = timing;
  }

  /** The next `count` (default 1) requests `match` accepts answer `status`, before the script is asked. */
  failNext(rule: FailRule): void {
    this.failures.push({ rule, remaining: rule.count ?? 1 });
  }

  /** Forgets recorded requests (indexes start again at 0); keeps the server, its connections and its settings. */
  reset(): void {
    this.requests.length = 0;
  }

  /** Resolves once `count` requests in total have arrived; rejects after `timeoutMs`. */
  waitForRequests(count: number, timeoutMs = 10_000): Promise<ChatRequest[]> {
    if (this.requests.length >= count) return Promise.resolve(this.requests.slice(0, count));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.off('request', onRequest);
        reject(new Error(`expected ${count} model requests, got ${this.requests.length} within ${timeoutMs} ms`));
      }, timeoutMs);
      const onRequest = () => {
        if (this.requests.length < count) return;
        clearTimeout(timer);
        this.off('request', onRequest);
        resolve(this.requests.slice(0, count));
      };
      this.on('request', onRequest);
    });
  }

  async stop(): Promise<void> {
    for (const [timer, resolve] of this.timers) {
      clearTimeout(timer);
      resolve();
    }
    this.timers.clear();
    for (const res of this.open) res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private takeFailure(request: ChatRequest): FailRule | undefined {
    const index = this.failures.findIndex((f) => f.rule.match?.(request) ?? true);
    const entry = this.failures[index];
    if (!entry) return undefined;
    if (--entry.remaining <= 0) this.failures.splice(index, 1);
    return entry.rule;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const arrivedAt = clock();
    if (req.method !== 'POST' || !req.url?.endsWith('/chat/completions')) {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: `no route ${req.method} ${req.url}` } }));
      return;
    }
    const request: ChatRequest = {
      index: this.requests.length,
      path: req.url,
      headers: req.headers,
      body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as ChatRequest['body'],
      at: Date.now(),
      arrivedAt,
      attempt: Number(req.headers['x-stainless-retry-count'] ?? 0) || 0,
    };
    this.requests.push(request);
    this.open.add(res);
    res.on('close', () => this.open.delete(res));
    this.emit('request', request);
    const failure = this.takeFailure(request);
    const scripted: Reply = failure ? {} : await this.script(request);
    const reply: Reply = { ...this.timing, ...scripted };
    const random = deriveRandom(this.seed, request.index);
    const start = clock();
    const headersDue = start + drawMs(reply.delayMs ?? 0, random);
    await this.waitUntil(headersDue);
    if (res.destroyed) return;
    const attempts = reply.failAttempts;
    const fail = failure ?? (attempts && request.attempt < (attempts.count ?? 1) ? { ...attempts, status: attempts.status ?? 500 } : undefined);
    if (fail) return this.sendError(res, request, fail.status, fail.error, { ...reply.headers, ...retryHeaders(fail) });
    const pieced = reply.chunks !== undefined || reply.chunkSize !== undefined;
    // A stream that hangs shows its chunks first, then never ends.
    if (reply.hang && !(request.body.stream && pieced)) return;
    if (reply.drop) {
      req.socket.destroy();
      return;
    }
    if (reply.status && reply.status >= 400) return this.sendError(res, request, reply.status, reply.error, reply.headers ?? {});
    if (reply.errorBody) {
      const payload = JSON.stringify({ error: reply.errorBody });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)), ...reply.headers });
      res.end(payload, () => {
        request.endAt = clock();
        this.emit('end', request);
      });
      return;
    }
    const json = reply.json !== undefined ? JSON.stringify(reply.json) : undefined;
    const text = json ?? reply.text ?? reply.chunks?.join('') ?? '';
    const usage = reply.usage === null ? undefined : (reply.usage ?? usageFor(request, text));
    const id = `chatcmpl-${request.index}`;
    const created = Math.floor(Date.now() / 1000);
    const model = request.body.model;
    const finish = () => {
      request.endAt = clock();
      request.text = text;
      this.emit('end', request);
    };
    if (!request.body.stream || reply.ignoreStream) {
      const payload = JSON.stringify({
        id,
        object: 'chat.completion',
        created,
        model,
        choices: [
          {
            index: 0,
            message: {
              role: 'assistant',
              content: text,
              ...(reply.reasoning ? { reasoning: reply.reasoning.join(''), reasoning_details: [reasoningDetail(reply.reasoning.join(''))] } : {}),
            },
            finish_reason: reply.finishReason ?? 'stop',
          },
        ],
        ...(usage ? { usage } : {}),
      });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)), ...reply.headers });
      res.end(payload, finish);
      return;
    }

    const event = (choices: unknown[], extra: object = {}) =>
      `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices, ...extra })}\n\n`;
    const pieces = (json === undefined ? reply.chunks : undefined) ?? splitText(text, reply.chunkSize);
    // Every chunk has a due time fixed in advance, so late timers do not add up.
    const due: number[] = [];
    for (const [i] of pieces.entries()) {
      due.push(i === 0 ? headersDue + drawMs(reply.firstChunkMs ?? 0, random) : due[i - 1]! + drawMs(reply.chunkDelayMs ?? 0, random, i));
    }
    request.chunkDueMs = due.map((at) => at - arrivedAt);
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', ...reply.headers });
    const comment = reply.comment !== undefined ? `: ${reply.comment}\n\n` : '';
    res.write(comment + event([{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }]));
    for (const piece of reply.reasoning ?? []) {
      res.write(event([{ index: 0, delta: { content: '', reasoning: piece, reasoning_details: [reasoningDetail(piece)] }, finish_reason: null }]));
    }
    const burstMs = reply.burstMs ?? 0;
    const last = Math.min(pieces.length, reply.stopAfterChunks ?? pieces.length);
    let sent = 0;
    while (sent < last) {
      let burst = '';
      const t = clock();
      while (sent < last && due[sent]! <= t + 0.5) burst += comment + event([{ index: 0, delta: { content: pieces[sent++] }, finish_reason: null }]);
      if (burst) res.write(burst);
      request.events = sent;
      if (sent < last) await this.waitUntil(Math.max(due[sent]!, t + burstMs));
      if (res.destroyed) return;
    }
    if (reply.hang) return;
    if (reply.dropAfterChunks) {
      req.socket.destroy();
      return;
    }
    if (reply.stopAfterChunks !== undefined || reply.streamError) {
      // Ends cleanly but unfinished: no finish reason, no usage, no [DONE] (after an error event, as OpenRouter does).
      const error = reply.streamError
        ? event([{ index: 0, delta: { content: '' }, finish_reason: 'error' }], { provider: 'fake', error: reply.streamError })
        : '';
      res.end(error, () => {
        request.endAt = clock();
        this.emit('end', request);
      });
      return;
    }
    res.end(event([{ index: 0, delta: {}, finish_reason: reply.finishReason ?? 'stop' }]) + (usage ? event([], { usage }) : '') + 'data: [DONE]\n\n', finish);
  }

  private sendError(res: ServerResponse, request: ChatRequest, status: number, error: string | undefined, headers: Record<string, string>): void {
    request.status = status;
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify({ error: { message: error ?? `error ${status}`, code: status } }), () => {
      request.endAt = clock();
      this.emit('end', request);
    });
  }

  private waitUntil(at: number): Promise<void> {
    const ms = at - clock();
    if (ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        resolve();
      }, ms);
      this.timers.set(timer, resolve);
    });
  }
}

/** One entry of OpenRouter's `reasoning_details`: reasoning as plain text. */
function reasoningDetail(text: string): Record<string, unknown> {
  return { type: 'reasoning.text', text, format: 'unknown', index: 0 };
}

function splitText(text: string, size: number | undefined): string[] {
  if (!size || size <= 0 || text.length <= size) return [text];
  const pieces: string[] = [];
  for (let i = 0; i < text.length; i += size) pieces.push(text.slice(i, i + size));
  return pieces;
}
