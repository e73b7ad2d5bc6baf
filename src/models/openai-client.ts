/**
 * ModelClient over the official `openai` SDK, for any OpenAI-compatible endpoint.
 *
 * The SDK's own retries are turned off: its timeout stops counting once headers arrive, so a body that
 * trickles forever would never time out. Each attempt here gets a whole-request deadline instead, and the
 * retry loop (429, 408, 409, 5xx, connection errors, timeouts; Retry-After honoured) lives in one place.
 *
 * What OpenAI-compatible endpoints do besides the happy path, and what this client makes of it:
 * - A stream ends with a chunk whose `finish_reason` is set; one that ends without it was cut short (OpenRouter, vLLM
 *   and proxies can end a stream early, and the SDK then ends its iterator quietly): a failure, never a turn.
 * - An error after the headers comes as a 200: as a stream event with an `error` field (the SDK throws an APIError
 *   with no status), or as a JSON body `{ error: { code, message } }` (https://openrouter.ai/docs/api/reference/errors-and-debugging).
 *   The endpoint's own message is what the thread is told.
 * - Reasoning (`delta.reasoning`, `reasoning_details`, vLLM's `reasoning_content`) is never part of the reply; a reply
 *   that reached max_tokens before any text says the limit was spent, and which config key raises it.
 * - Structured output: a request with an `answerSchema` asks for `response_format: { type: 'json_schema', strict }` when the
 *   model's config has `structuredOutput` (the default); otherwise it goes without, and the caller reads a plain answer.
 *   Either way the answer is the reply's text.
 * A request may carry its own deadline (`timeoutMs`, per attempt) and retry count (`maxRetries`), as a quick call that
 * must not hold anything up does; the model's `timeoutSeconds` and `maxRetries` are for every other request.
 * Every reason is put in words by src/wording (modelFailureText), from data made here.
 */
import OpenAI, { APIConnectionError, APIError } from 'openai';
import type { Logger } from 'pino';
import type { ModelConfig } from '../config/index.js';
import type { ModelFailure } from '../domain/errors.js';
import type { Usage } from '../domain/salon.js';
import { modelFailureText } from '../wording/index.js';
import { takesCacheBreakpoints, withCacheBreakpoints } from './prompt-cache.js';
import { ModelAbortedError, ModelError, type CompletionRequest, type CompletionResult, type ModelClient } from '../engine/ports.js';

export interface RetryTiming {
  /** First backoff in ms; doubles each attempt, with jitter. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** The longest Retry-After honoured; beyond it the attempt fails and the engine tries again later. */
  maxRetryAfterMs: number;
}

interface Reply {
  text: string;
  finishReason?: string;
  usage?: Usage;
  /** The model reasoned (reasoning text or reasoning tokens were reported), whether or not it wrote a reply. */
  reasoned: boolean;
}

/** An error the endpoint sent in a 200 reply: as the body, or as an event of its stream. */
class ErrorInReply extends Error {
  constructor(
    readonly where: 'body' | 'stream',
    readonly error: { code?: unknown; message?: unknown } | undefined,
  ) {
    super(`error in the reply's ${where}`);
  }
}

/** A stream that ended without a finish reason, after `characters` of text. */
class CutShort extends Error {
  constructor(readonly characters: number) {
    super('the stream ended without a finish reason');
  }
}

/** A ModelError carrying its failure as data, in src/wording's words. */
function modelError(failure: ModelFailure, permanent: boolean): ModelError {
  return new ModelError(modelFailureText(failure), permanent, failure.code === 'http_status' ? failure.status : undefined, failure);
}

/**
 * Text that may be shown to people, cleaned of anything that looks like a key (the model's own key, bearer tokens,
 * `sk-…` style keys, `key=…`, long opaque tokens) and cut to 300 characters.
 */
export function cleanProviderText(text: string, secrets: Array<string | undefined> = []): string {
  // Only the first 300 characters are kept: the rest (an HTML error page, say) need not be searched.
  let out = text.slice(0, 2_000).replace(/\s+/g, ' ').trim();
  for (const secret of secrets) if (secret) out = out.split(secret).join('[redacted]');
  out = out
    .replace(/\bBearer\s+[^\s,;"']+/gi, 'Bearer [redacted]')
    .replace(/\b(sk|pk|rk)-[A-Za-z0-9_*-]{6,}/g, '[redacted]')
    .replace(/\b((?:api[_-]?)?key|token|secret|password)(["']?\s*[:=]\s*["']?)[^\s"',;&]{6,}/gi, '$1$2[redacted]')
    .replace(/\b(?=[A-Za-z0-9_-]*\d)(?=[A-Za-z0-9_-]*[A-Za-z])[A-Za-z0-9_-]{32,}/g, '[redacted]');
  return out.length > 300 ? `${out.slice(0, 299)}…` : out;
}

const DEFAULT_TIMING: RetryTiming = { baseDelayMs: 500, maxDelayMs: 8_000, maxRetryAfterMs: 60_000 };
const PERMANENT_STATUSES = new Set([400, 401, 402, 403, 404, 422]);
const RETRYABLE_STATUSES = new Set([408, 409, 429]);

/**
 * One attempt's abort signal: fired by any caller signal or by the whole-request deadline. Every listener it puts
 * on the long-lived caller signals is removed by `dispose`, so nothing of a finished attempt stays reachable
 * (AbortSignal.any keeps combined signals alive for as long as their sources live: a leak per request).
 */
function attemptSignal(sources: AbortSignal[], timeoutMs: number) {
  const controller = new AbortController();
  let timedOut = false;
  const abort = () => controller.abort();
  for (const source of sources) {
    if (source.aborted) controller.abort();
    else source.addEventListener('abort', abort, { once: true });
  }
  const timer = timeoutMs > 0 ? setTimeout(() => ((timedOut = true), controller.abort()), timeoutMs) : undefined;
  return {
    signal: controller.signal,
    timedOut: () => timedOut,
    dispose() {
      clearTimeout(timer);
      for (const source of sources) source.removeEventListener('abort', abort);
    },
  };
}

async function sleep(ms: number, sources: AbortSignal[]): Promise<void> {
  const wait = attemptSignal(sources, 0);
  try {
    await new Promise<void>((resolve, reject) => {
      if (wait.signal.aborted) return reject(new ModelAbortedError());
      const timer = setTimeout(resolve, ms);
      wait.signal.addEventListener('abort', () => (clearTimeout(timer), reject(new ModelAbortedError())), { once: true });
    });
  } finally {
    wait.dispose();
  }
}

function retryAfterMs(headers: Headers | undefined): number | undefined {
  const ms = headers?.get('retry-after-ms');
  if (ms && Number.isFinite(Number(ms))) return Number(ms);
  const value = headers?.get('retry-after');
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return seconds * 1000;
  const date = Date.parse(value);
  return Number.isFinite(date) ? Math.max(0, date - Date.now()) : undefined;
}

function mapUsage(usage: (OpenAI.CompletionUsage & { cost?: unknown }) | undefined | null): Usage | undefined {
  if (!usage) return undefined;
  return {
    promptTokens: usage.prompt_tokens,
    completionTokens: usage.completion_tokens,
    totalTokens: usage.total_tokens,
    cachedPromptTokens: usage.prompt_tokens_details?.cached_tokens ?? undefined,
    // OpenRouter's own figure, present when the request asked for usage accounting.
    ...(typeof usage.cost === 'number' && Number.isFinite(usage.cost) ? { costUSD: usage.cost } : {}),
  };
}

/** Reasoning fields endpoints add to a message or a delta: OpenRouter's `reasoning` and `reasoning_details`, vLLM's `reasoning_content`. */
interface ReasoningFields {
  reasoning?: unknown;
  reasoning_content?: unknown;
  reasoning_details?: unknown;
}

function hasReasoning(part: ReasoningFields): boolean {
  const text = (v: unknown) => typeof v === 'string' && v.length > 0;
  return text(part.reasoning) || text(part.reasoning_content) || (Array.isArray(part.reasoning_details) && part.reasoning_details.length > 0);
}

function reasoningTokens(usage: OpenAI.CompletionUsage): number {
  return usage.completion_tokens_details?.reasoning_tokens ?? 0;
}

function isJSON(contentType: string | null): boolean {
  const media = contentType?.split(';')[0]?.trim().toLowerCase() ?? '';
  return media === 'application/json' || media.endsWith('+json');
}

/**
 * A whole reply's body: a completion, or an error object sent with a 200 (OpenRouter sends errors that occur once the
 * model has started "in the response body or as an SSE data event":
 * https://openrouter.ai/docs/api/reference/errors-and-debugging). A choice that finished with "error" is one too.
 */
function replyFromBody(body: unknown): Reply {
  const completion = body as Partial<OpenAI.ChatCompletion> & { error?: { code?: unknown; message?: unknown } };
  if (completion?.error) throw new ErrorInReply('body', completion.error);
  const choice = completion?.choices?.[0];
  const finishReason: string | undefined = choice?.finish_reason ?? undefined;
  if (finishReason === 'error') throw new ErrorInReply('body', undefined);
  const message: (OpenAI.ChatCompletionMessage & ReasoningFields) | undefined = choice?.message;
  const usage = completion?.usage ?? undefined;
  return {
    text: message?.content ?? '',
    finishReason,
    usage: mapUsage(usage),
    reasoned: (message ? hasReasoning(message) : false) || (usage ? reasoningTokens(usage) > 0 : false),
  };
}

/** The messages as sent: with cache breakpoints where the endpoint takes them. */
function wire(model: ModelConfig, messages: CompletionRequest['messages']): OpenAI.ChatCompletionMessageParam[] {
  return takesCacheBreakpoints(model) ? withCacheBreakpoints(messages) : messages;
}

/** Asks for the answer in `request.answerSchema` (strict), where the model's config allows structured output. */
function responseFormat(model: ModelConfig, request: CompletionRequest): { response_format?: OpenAI.ResponseFormatJSONSchema } {
  const answer = request.answerSchema;
  if (!answer || !model.structuredOutput) return {};
  return { response_format: { type: 'json_schema', json_schema: { name: answer.name, strict: true, schema: answer.schema } } };
}

/**
 * One request's deadline per attempt and retry count: its own where it sets them, else the model's. A value that
 * could not be meant (no deadline at all, a retry count that is not a whole number) is the model's too: a deadline of 0
 * would be none, and NaN retries would never stop.
 */
function limitsFor(model: ModelConfig, request: CompletionRequest): { timeoutMs: number; maxRetries: number } {
  const { timeoutMs, maxRetries } = request;
  return {
    timeoutMs: timeoutMs !== undefined && Number.isFinite(timeoutMs) && timeoutMs > 0 ? timeoutMs : model.timeoutSeconds * 1000,
    maxRetries: maxRetries !== undefined && Number.isInteger(maxRetries) && maxRetries >= 0 ? maxRetries : model.maxRetries,
  };
}

/** Extra request fields: OpenRouter's usage accounting, asked of endpoints known to take it. */
function extraBody(model: ModelConfig): Record<string, unknown> {
  const accounting = model.usageAccounting ?? new URL(model.baseURL).hostname.endsWith('openrouter.ai');
  return accounting ? { usage: { include: true } } : {};
}

export class OpenAIModelClient implements ModelClient {
  private readonly clients = new Map<string, OpenAI>();
  private readonly shutdown = new AbortController();

  constructor(
    private readonly models: Record<string, ModelConfig>,
    private readonly log: Logger,
    private readonly timing: RetryTiming = DEFAULT_TIMING,
  ) {}

  /** One SDK client per endpoint and key, shared by every model that uses them. */
  private clientFor(model: ModelConfig): OpenAI {
    // Timeouts are per request, so models sharing an endpoint and key share the client whatever their timeout.
    const id = `${model.baseURL}\u0000${model.apiKey ?? ''}`;
    let client = this.clients.get(id);
    if (!client) {
      const openRouter = new URL(model.baseURL).hostname.endsWith('openrouter.ai');
      client = new OpenAI({
        baseURL: model.baseURL,
        // The SDK insists on a key; keyless endpoints such as a local Ollama ignore this one.
        apiKey: model.apiKey ?? 'no-key',
        maxRetries: 0,
        defaultHeaders: openRouter ? { 'HTTP-Referer': 'https://github.com/salon-bot/salon', 'X-Title': 'salon' } : undefined,
      });
      this.clients.set(id, client);
    }
    return client;
  }

  /** Removes anything that looks like a key from text that may be shown to people. */
  private scrub(text: unknown, model: ModelConfig): string | undefined {
    if (text === undefined || text === null || text === '') return undefined;
    return cleanProviderText(typeof text === 'string' ? text : JSON.stringify(text), [model.apiKey]) || undefined;
  }

  async complete(request: CompletionRequest): Promise<CompletionResult> {
    const model = this.models[request.modelKey];
    if (!model) throw modelError({ code: 'not_in_config', modelKey: request.modelKey }, true);
    const client = this.clientFor(model);
    const log = this.log.child({ model: model.model, modelKey: model.key });
    const callers = request.signal ? [this.shutdown.signal, request.signal] : [this.shutdown.signal];
    const cancelled = () => callers.some((s) => s.aborted);
    const started = performance.now();
    const host = new URL(model.baseURL).host;
    const { timeoutMs, maxRetries } = limitsFor(model, request);
    let emptyReplies = 0;

    for (let attempt = 1; ; attempt++) {
      const current = attemptSignal(callers, timeoutMs);
      const { signal } = current;
      let failure: ModelError;
      let wait: number | undefined;
      let streamed = false;
      try {
        const reply = request.onText
          ? await this.streamOnce(client, model, request, timeoutMs, signal, (text) => {
              streamed = true;
              request.onText!(text);
            })
          : await this.completeOnce(client, model, request, timeoutMs, signal);
        if (cancelled()) throw new ModelAbortedError();
        // An aborted stream ends quietly: a deadline that fired mid-stream must still count as a timeout.
        if (current.timedOut()) throw new DOMException('deadline', 'TimeoutError');
        const text = reply.text.trim();
        if (text) {
          return {
            text,
            finishReason: reply.finishReason,
            usage: reply.usage,
            latencyMs: Math.round(performance.now() - started),
            attempts: attempt,
          };
        }
        if (reply.finishReason === 'length') {
          // The whole max_tokens went before a word of the reply (to reasoning, on a reasoning model). Asking again
          // with the same limit pays for the same again: the config must change, so the salon pauses at once.
          throw modelError({ code: 'no_room_to_reply', modelKey: model.key, maxTokens: model.maxTokens, reasoning: reply.reasoned }, true);
        }
        // An empty reply is usually a hiccup; once more, then it counts as a failure.
        emptyReplies += 1;
        failure = modelError({ code: 'empty_reply', name: model.name, finishReason: reply.finishReason }, false);
        if (emptyReplies > 1) throw failure;
        wait = 0;
      } catch (err) {
        if (err instanceof ModelError || err instanceof ModelAbortedError) throw err;
        if (cancelled()) throw new ModelAbortedError();
        if (current.timedOut()) {
          failure = modelError({ code: 'timeout', seconds: timeoutMs / 1000 }, false);
        } else if (err instanceof CutShort) {
          failure = modelError({ code: 'cut_short', characters: err.characters }, false);
        } else if (err instanceof ErrorInReply) {
          const code = typeof err.error?.code === 'number' || typeof err.error?.code === 'string' ? err.error.code : undefined;
          // An error code that would be a permanent HTTP status (a bad key, no credit) is as permanent inside a 200.
          const permanent = typeof code === 'number' && PERMANENT_STATUSES.has(code);
          failure = modelError({ code: 'error_in_reply', where: err.where, errorCode: code, message: this.scrub(err.error?.message, model) }, permanent);
          if (permanent) throw failure;
        } else if (err instanceof APIConnectionError) {
          failure = modelError({ code: 'unreachable', host, message: this.scrub(err.message, model) }, false);
        } else if (err instanceof APIError && typeof err.status === 'number') {
          const status = err.status;
          const message = this.scrub((err.error as { message?: unknown } | undefined)?.message ?? err.message, model);
          const permanent = PERMANENT_STATUSES.has(status) || !(RETRYABLE_STATUSES.has(status) || status >= 500);
          failure = modelError({ code: 'http_status', status, message }, permanent);
          if (permanent) throw failure;
          wait = retryAfterMs(err.headers as Headers | undefined);
          if (wait !== undefined && wait > this.timing.maxRetryAfterMs) throw failure;
        } else if (err instanceof APIError) {
          // An event with an `error` field in a stream: the SDK throws it with no status
          // (https://openrouter.ai/docs/api/reference/streaming, "Handling Errors During Streaming").
          const error = err.error as { code?: unknown; message?: unknown } | undefined;
          const code = typeof error?.code === 'number' || typeof error?.code === 'string' ? error.code : undefined;
          failure = modelError({ code: 'error_in_reply', where: 'stream', errorCode: code, message: this.scrub(error?.message ?? err.message, model) }, false);
        } else if (err instanceof TypeError || (err as NodeJS.ErrnoException)?.code) {
          // fetch reports a connection cut mid-body (a broken stream) as a TypeError ("terminated").
          failure = modelError({ code: 'connection_broken', host, message: this.scrub((err as Error).message, model) }, false);
        } else {
          throw err;
        }
      } finally {
        current.dispose();
      }
      // Once text has been shown, a retry would start the turn over on screen: leave that to the engine's next attempt.
      if (attempt > maxRetries || streamed) throw failure;
      const delay = wait ?? Math.min(this.timing.maxDelayMs, this.timing.baseDelayMs * 2 ** (attempt - 1)) * (0.75 + Math.random() * 0.5);
      log.warn({ attempt, delayMs: Math.round(delay), reason: failure.reason }, 'model request failed; retrying');
      await sleep(delay, callers);
    }
  }

  private async completeOnce(client: OpenAI, model: ModelConfig, request: CompletionRequest, timeoutMs: number, signal: AbortSignal): Promise<Reply> {
    const response = await client.chat.completions.create(
      {
        model: model.model,
        messages: wire(model, request.messages),
        max_tokens: model.maxTokens,
        ...(model.temperature !== undefined ? { temperature: model.temperature } : {}),
        ...responseFormat(model, request),
        ...extraBody(model),
      },
      { signal, headers: model.headers, timeout: timeoutMs },
    );
    return replyFromBody(response);
  }

  private async streamOnce(
    client: OpenAI,
    model: ModelConfig,
    request: CompletionRequest,
    timeoutMs: number,
    signal: AbortSignal,
    onText: (text: string) => void,
  ): Promise<Reply> {
    const { data: stream, response } = await client.chat.completions
      .create(
        {
          model: model.model,
          messages: wire(model, request.messages),
          max_tokens: model.maxTokens,
          stream: true,
          stream_options: { include_usage: true },
          ...(model.temperature !== undefined ? { temperature: model.temperature } : {}),
          ...responseFormat(model, request),
          ...extraBody(model),
        },
        { signal, headers: model.headers, timeout: timeoutMs },
      )
      .withResponse();
    if (isJSON(response.headers.get('content-type'))) {
      // Not a stream at all: an error object sent with a 200 (OpenRouter: "emitted in the response body"), or an
      // endpoint that ignores `stream` and answers with the whole completion. The SDK would read either as an empty
      // stream; the body says which it is.
      const reply = replyFromBody(await response.json());
      if (reply.text.trim()) onText(reply.text);
      return reply;
    }
    let text = '';
    let finishReason: string | undefined;
    let usage: Usage | undefined;
    let reasoned = false;
    for await (const chunk of stream) {
      const choice = chunk.choices?.[0];
      const delta: (OpenAI.ChatCompletionChunk.Choice.Delta & ReasoningFields) | undefined = choice?.delta;
      if (delta?.content) {
        text += delta.content;
        // Leading whitespace is not worth showing; wait for the first real word.
        if (text.trim()) onText(text);
      }
      // Reasoning is read only to know that there was some: it is never shown, never passed on.
      if (delta && hasReasoning(delta)) reasoned = true;
      if (choice?.finish_reason) finishReason = choice.finish_reason;
      if (chunk.usage) {
        usage = mapUsage(chunk.usage);
        if (reasoningTokens(chunk.usage) > 0) reasoned = true;
      }
    }
    // An aborted request ends the loop quietly too: that is the caller's to tell (closed, shut down, timed out).
    if (signal.aborted) return { text, finishReason, usage, reasoned };
    if (finishReason === 'error') throw new ErrorInReply('stream', undefined);
    // Every complete stream says why it stopped; one that does not was cut short, however cleanly it closed.
    if (!finishReason) throw new CutShort(text.length);
    return { text, finishReason, usage, reasoned };
  }

  close(): void {
    this.shutdown.abort();
  }
}
