/**
 * An OpenAI-compatible chat completions server for the bench. Like test/fakes/openai-server.ts (whose request
 * shape it shares), but it timestamps, on the bench's one clock, when each request arrived and when the last byte
 * of its reply was handed to the socket, which the relay-overhead figure starts from.
 *
 * Streaming requests (`stream: true`) get one SSE event per "token" of about four characters, as OpenRouter and
 * OpenAI send them; the first comes after `firstTokenMs` and the rest are spread evenly until the latency is over,
 * written in bursts at most every `burstMs` (each holding every event due by then), so the bot parses as many
 * events, in reads of about the size, as it would from a real endpoint streaming at the same speed.
 */
import { EventEmitter, once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ChatRequest } from '../../test/fakes/openai-server.js';
import { now } from './stats.js';

export interface ModelCall {
  index: number;
  model: string;
  messages: ChatRequest['body']['messages'];
  /** The `[s<n>]` tag the bench puts in each salon's topic, when present. */
  salonTag?: number;
  /** Epoch ms (sub-ms) when the whole request body had arrived. */
  arrivedAt: number;
  /** Epoch ms (sub-ms) when the last byte of the reply was written; undefined while pending. */
  endAt?: number;
  stream: boolean;
  /** SSE events sent (streaming). */
  events?: number;
  text?: string;
}

export interface ModelBehaviour {
  /** The reply text; the server prefixes a unique `(r<index>) ` marker so posts can be matched to replies. */
  text(call: ModelCall): string;
  /** From the request's arrival to the reply's last byte; Infinity never answers (until stop). */
  latencyMs(call: ModelCall, text: string): number;
  /** Streaming: from arrival to the first text event (default 30% of the latency). */
  firstTokenMs?(call: ModelCall, latencyMs: number): number;
  /** Streaming: characters per SSE event (default 4). */
  tokenChars?: number;
  /** Streaming: the shortest time between two writes (default 20 ms). */
  burstMs?: number;
}

/** Latency of a model that answers after `firstTokenMs` and then streams `tokensPerSecond` tokens of four characters. */
export function streamingLatency(firstTokenMs: number, text: string, tokensPerSecond: number): number {
  return firstTokenMs + (Math.ceil(text.length / 4) / tokensPerSecond) * 1000;
}

export const MARKER = /\(r(\d+)\)/;

/** A message's text, whether its content is a string or parts (as when cache breakpoints are marked). */
export function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((part) => (typeof part === 'object' && part && 'text' in part ? String((part as { text: unknown }).text) : '')).join('');
  return '';
}

export class BenchModelServer extends EventEmitter<{ call: [ModelCall]; end: [ModelCall] }> {
  readonly calls: ModelCall[] = [];
  private readonly open = new Set<ServerResponse>();
  private readonly timers = new Set<NodeJS.Timeout>();

  private constructor(
    private readonly server: Server,
    public behaviour: ModelBehaviour,
  ) {
    super();
  }

  static async start(behaviour: ModelBehaviour): Promise<BenchModelServer> {
    const server = createServer();
    const fake = new BenchModelServer(server, behaviour);
    server.keepAliveTimeout = 120_000;
    server.on('request', (req, res) => void fake.handle(req, res));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return fake;
  }

  get baseURL(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1`;
  }

  /** Forgets recorded calls (keeps the server and its connections). */
  reset(): void {
    this.calls.length = 0;
  }

  async stop(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    for (const res of this.open) res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const arrivedAt = now();
    if (req.method !== 'POST' || !req.url?.endsWith('/chat/completions')) {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: 'no route' } }));
      return;
    }
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as ChatRequest['body'];
    const tag = /\[s(\d+)\]/.exec(contentText(body.messages[0]?.content))?.[1];
    const call: ModelCall = { index: this.calls.length, model: body.model, messages: body.messages, arrivedAt, stream: body.stream === true, ...(tag ? { salonTag: Number(tag) } : {}) };
    this.calls.push(call);
    this.open.add(res);
    res.on('close', () => this.open.delete(res));
    this.emit('call', call);
    const text = `(r${call.index}) ${this.behaviour.text(call)}`;
    const latency = this.behaviour.latencyMs(call, text);
    if (!Number.isFinite(latency)) return;
    const prompt = body.messages.reduce((n, m) => n + Math.ceil(contentText(m.content).length / 4), 0);
    const completion = Math.ceil(text.length / 4);
    const usage = { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
    const id = `chatcmpl-${call.index}`;
    const created = Math.floor(Date.now() / 1000);
    const finish = () => {
      call.endAt = now();
      call.text = text;
      this.emit('end', call);
    };
    if (call.stream) {
      await this.stream(res, call, latency, text, { id, created, model: body.model, usage }, finish);
      return;
    }
    // Serialise before the wait, so the reply goes out the moment the latency is over.
    const payload = JSON.stringify({
      id,
      object: 'chat.completion',
      created,
      model: body.model,
      choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' }],
      usage,
    });
    await this.waitUntil(arrivedAt + latency);
    if (res.destroyed) return;
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) });
    res.end(payload, finish);
  }

  private async stream(
    res: ServerResponse,
    call: ModelCall,
    latency: number,
    text: string,
    meta: { id: string; created: number; model: string; usage: Record<string, number> },
    finish: () => void,
  ): Promise<void> {
    const tokenChars = this.behaviour.tokenChars ?? 4;
    const burstMs = this.behaviour.burstMs ?? 20;
    const first = call.arrivedAt + Math.min(latency, this.behaviour.firstTokenMs?.(call, latency) ?? latency * 0.3);
    const last = call.arrivedAt + latency;
    const event = (choices: unknown[], extra: object = {}) =>
      `data: ${JSON.stringify({ id: meta.id, object: 'chat.completion.chunk', created: meta.created, model: meta.model, choices, ...extra })}\n\n`;
    // The first event carries the whole `(r<n>) ` marker, so that even the first draft of the turn names its call.
    const markerEnd = text.indexOf(' ') + 1;
    const pieces: string[] = [text.slice(0, markerEnd + tokenChars)];
    for (let i = markerEnd + tokenChars; i < text.length; i += tokenChars) pieces.push(text.slice(i, i + tokenChars));
    const dueAt = (i: number) => (pieces.length <= 1 ? first : first + ((last - first) * i) / (pieces.length - 1));
    await this.waitUntil(first);
    if (res.destroyed) return;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    res.write(event([{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }]));
    let sent = 0;
    while (sent < pieces.length) {
      let burst = '';
      const t = now();
      while (sent < pieces.length && dueAt(sent) <= t + 0.5) burst += event([{ index: 0, delta: { content: pieces[sent++] }, finish_reason: null }]);
      if (burst) res.write(burst);
      if (sent < pieces.length) await this.waitUntil(Math.max(dueAt(sent), t + burstMs));
      if (res.destroyed) return;
    }
    call.events = pieces.length;
    res.end(event([{ index: 0, delta: {}, finish_reason: 'stop' }]) + event([], { usage: meta.usage }) + 'data: [DONE]\n\n', finish);
  }

  private waitUntil(at: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        resolve();
      }, Math.max(0, at - now()));
      this.timers.add(timer);
    });
  }
}
