/**
 * ModelClient over the official `openai` SDK, for any OpenAI-compatible endpoint.
 *
 * The SDK's own retries are turned off: its timeout stops counting once headers arrive, so a body that
 * trickles forever would never time out. Each attempt here gets a whole-request deadline instead, and the
 * retry loop (429, 408, 409, 5xx, connection errors, timeouts; Retry-After honoured) lives in one place.
 */
import OpenAI, { APIConnectionError, APIError } from 'openai';
import type { Logger } from 'pino';
import type { ModelConfig } from '../config/index.js';
import type { Usage } from '../domain/salon.js';
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

/** The messages as sent: with cache breakpoints where the endpoint takes them. */
function wire(model: ModelConfig, messages: CompletionRequest['messages']): OpenAI.ChatCompletionMessageParam[] {
  return takesCacheBreakpoints(model) ? withCacheBreakpoints(messages) : messages;
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

  /** Removes anything that looks like the key from text that may be shown to people. */
  private scrub(text: string, model: ModelConfig): string {
    let out = text.replace(/\s+/g, ' ').trim();
    if (model.apiKey) out = out.split(model.apiKey).join('[redacted]');
    out = out.replace(/\b(sk|pk|rk)-[A-Za-z0-9_*-]{6,}/g, '[redacted]');
    return out.length > 300 ? `${out.slice(0, 299)}…` : out;
  }

  async complete(request: CompletionRequest): Promise<CompletionResult> {
    const model = this.models[request.modelKey];
    if (!model) throw new ModelError(`no model "${request.modelKey}" in the config`, true);
    const client = this.clientFor(model);
    const log = this.log.child({ model: model.model, modelKey: model.key });
    const callers = request.signal ? [this.shutdown.signal, request.signal] : [this.shutdown.signal];
    const cancelled = () => callers.some((s) => s.aborted);
    const started = performance.now();
    let emptyReplies = 0;

    for (let attempt = 1; ; attempt++) {
      const current = attemptSignal(callers, model.timeoutSeconds * 1000);
      const { signal } = current;
      let failure: ModelError;
      let wait: number | undefined;
      let streamed = false;
      try {
        const reply = request.onText
          ? await this.streamOnce(client, model, request.messages, signal, (text) => {
              streamed = true;
              request.onText!(text);
            })
          : await this.completeOnce(client, model, request.messages, signal);
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
        // An empty reply is usually a hiccup; once more, then it counts as a failure.
        emptyReplies += 1;
        failure = new ModelError(`${model.name} returned an empty reply${reply.finishReason ? ` (finish reason: ${reply.finishReason})` : ''}`, false);
        if (emptyReplies > 1) throw failure;
        wait = 0;
      } catch (err) {
        if (err instanceof ModelError || err instanceof ModelAbortedError) throw err;
        if (cancelled()) throw new ModelAbortedError();
        if (current.timedOut()) {
          failure = new ModelError(`no reply within ${model.timeoutSeconds} s`, false);
        } else if (err instanceof APIConnectionError) {
          failure = new ModelError(`could not reach ${new URL(model.baseURL).host} (${this.scrub(err.message, model)})`, false);
        } else if (err instanceof APIError && typeof err.status === 'number') {
          const status = err.status;
          const detail = this.scrub((err.error as { message?: string } | undefined)?.message ?? err.message, model);
          const permanent = PERMANENT_STATUSES.has(status) || !(RETRYABLE_STATUSES.has(status) || status >= 500);
          failure = new ModelError(`${describeStatus(status)} (HTTP ${status}${detail ? `: ${detail}` : ''})`, permanent, status);
          if (permanent) throw failure;
          wait = retryAfterMs(err.headers as Headers | undefined);
          if (wait !== undefined && wait > this.timing.maxRetryAfterMs) throw failure;
        } else if (err instanceof APIError) {
          failure = new ModelError(`the endpoint sent an error: ${this.scrub(err.message, model)}`, false);
        } else if (err instanceof TypeError || (err as NodeJS.ErrnoException)?.code) {
          // fetch reports a connection cut mid-body (a broken stream) as a TypeError ("terminated").
          failure = new ModelError(`the connection to ${new URL(model.baseURL).host} broke mid-reply (${this.scrub((err as Error).message, model)})`, false);
        } else {
          throw err;
        }
      } finally {
        current.dispose();
      }
      // Once text has been shown, a retry would start the turn over on screen: leave that to the engine's next attempt.
      if (attempt > model.maxRetries || streamed) throw failure;
      const delay = wait ?? Math.min(this.timing.maxDelayMs, this.timing.baseDelayMs * 2 ** (attempt - 1)) * (0.75 + Math.random() * 0.5);
      log.warn({ attempt, delayMs: Math.round(delay), reason: failure.reason }, 'model request failed; retrying');
      await sleep(delay, callers);
    }
  }

  private async completeOnce(client: OpenAI, model: ModelConfig, messages: CompletionRequest['messages'], signal: AbortSignal): Promise<Reply> {
    const response = await client.chat.completions.create(
      {
        model: model.model,
        messages: wire(model, messages),
        max_tokens: model.maxTokens,
        ...(model.temperature !== undefined ? { temperature: model.temperature } : {}),
        ...extraBody(model),
      },
      { signal, headers: model.headers, timeout: model.timeoutSeconds * 1000 },
    );
    const choice = response.choices?.[0];
    return { text: choice?.message?.content ?? '', finishReason: choice?.finish_reason ?? undefined, usage: mapUsage(response.usage) };
  }

  private async streamOnce(
    client: OpenAI,
    model: ModelConfig,
    messages: CompletionRequest['messages'],
    signal: AbortSignal,
    onText: (text: string) => void,
  ): Promise<Reply> {
    const stream = await client.chat.completions.create(
      {
        model: model.model,
        messages: wire(model, messages),
        max_tokens: model.maxTokens,
        stream: true,
        stream_options: { include_usage: true },
        ...(model.temperature !== undefined ? { temperature: model.temperature } : {}),
        ...extraBody(model),
      },
      { signal, headers: model.headers, timeout: model.timeoutSeconds * 1000 },
    );
    let text = '';
    let finishReason: string | undefined;
    let usage: Usage | undefined;
    for await (const chunk of stream) {
      const choice = chunk.choices?.[0];
      const delta = choice?.delta?.content;
      if (delta) {
        text += delta;
        // Leading whitespace is not worth showing; wait for the first real word.
        if (text.trim()) onText(text);
      }
      if (choice?.finish_reason) finishReason = choice.finish_reason;
      if (chunk.usage) usage = mapUsage(chunk.usage);
    }
    return { text, finishReason, usage };
  }

  close(): void {
    this.shutdown.abort();
  }
}

function describeStatus(status: number): string {
  switch (status) {
    case 400:
      return 'the endpoint refused the request';
    case 401:
      return 'the API key was refused';
    case 402:
      return 'the account is out of credit';
    case 403:
      return 'access to the model is forbidden';
    case 404:
      return 'the model or endpoint was not found';
    case 408:
      return 'the endpoint timed out';
    case 429:
      return 'rate-limited by the endpoint';
    default:
      return status >= 500 ? 'the endpoint had a server error' : 'the endpoint sent an error';
  }
}
