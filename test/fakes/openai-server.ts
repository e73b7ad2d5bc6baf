/**
 * A local OpenAI-compatible chat completions server for tests. The real `openai` SDK talks to it over real
 * HTTP, so retries, timeouts, Retry-After and dropped connections are exercised as they happen in production.
 */
import { once, EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ChatRequest {
  /** Position of this request among all received, from 0. */
  index: number;
  path: string;
  headers: IncomingMessage['headers'];
  body: {
    model: string;
    messages: { role: string; content: string }[];
    stream?: boolean;
    max_tokens?: number;
    temperature?: number;
    [key: string]: unknown;
  };
  at: number;
}

/** What the server does with one request. */
export interface Reply {
  text?: string;
  /** An HTTP error status; `error` becomes the body's error message. */
  status?: number;
  error?: string;
  headers?: Record<string, string>;
  finishReason?: string;
  /** `null` sends no usage at all, as some local servers do. */
  usage?: Record<string, unknown> | null;
  /** Wait this long before answering. */
  delayMs?: number;
  /** Never answer (until the client gives up or the server stops); with `chunks` on a stream, send them first. */
  hang?: boolean;
  /** Destroy the socket without a response. */
  drop?: boolean;
  /** For stream requests: the text in pieces, sent `chunkDelayMs` apart. */
  chunks?: string[];
  chunkDelayMs?: number;
  /** For stream requests: cut the connection after the chunks, as a provider failing mid-stream does. */
  dropAfterChunks?: boolean;
}

export type Script = (request: ChatRequest) => Reply | Promise<Reply>;

/** The default: a short, deterministic reply that names the model and the request number. */
export const echoScript: Script = (req) => ({ text: `Reply ${req.index} from ${req.body.model}.` });

function usageFor(req: ChatRequest, text: string): Record<string, unknown> {
  const prompt = req.body.messages.reduce((n, m) => n + Math.ceil(String(m.content).length / 4), 0);
  const completion = Math.ceil(text.length / 4);
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}

export class FakeOpenAI extends EventEmitter<{ request: [ChatRequest] }> {
  readonly requests: ChatRequest[] = [];
  private script: Script = echoScript;
  private readonly open = new Set<ServerResponse>();

  private constructor(private readonly server: Server) {
    super();
  }

  static async start(script?: Script): Promise<FakeOpenAI> {
    const server = createServer();
    const fake = new FakeOpenAI(server);
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
    for (const res of this.open) res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
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
    };
    this.requests.push(request);
    this.open.add(res);
    res.on('close', () => this.open.delete(res));
    this.emit('request', request);
    const reply = await this.script(request);
    if (reply.delayMs) await new Promise((r) => setTimeout(r, reply.delayMs));
    if (res.destroyed) return;
    // A stream that hangs shows its chunks first, then never ends.
    if (reply.hang && !(request.body.stream && reply.chunks)) return;
    if (reply.drop) {
      req.socket.destroy();
      return;
    }
    if (reply.status && reply.status >= 400) {
      res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
      res.end(JSON.stringify({ error: { message: reply.error ?? `error ${reply.status}`, code: reply.status } }));
      return;
    }
    const text = reply.text ?? reply.chunks?.join('') ?? '';
    const usage = reply.usage === null ? undefined : (reply.usage ?? usageFor(request, text));
    const id = `chatcmpl-${request.index}`;
    const created = Math.floor(Date.now() / 1000);
    if (request.body.stream) {
      res.writeHead(200, { 'content-type': 'text/event-stream', ...reply.headers });
      const send = (data: unknown) => res.write(`data: ${JSON.stringify(data)}\n\n`);
      const pieces = reply.chunks ?? [text];
      for (const [i, piece] of pieces.entries()) {
        if (i > 0 && reply.chunkDelayMs) await new Promise((r) => setTimeout(r, reply.chunkDelayMs));
        if (res.destroyed) return;
        send({ id, object: 'chat.completion.chunk', created, model: request.body.model, choices: [{ index: 0, delta: { content: piece }, finish_reason: null }] });
      }
      if (reply.hang) return;
      if (reply.dropAfterChunks) {
        req.socket.destroy();
        return;
      }
      send({ id, object: 'chat.completion.chunk', created, model: request.body.model, choices: [{ index: 0, delta: {}, finish_reason: reply.finishReason ?? 'stop' }] });
      if (usage) send({ id, object: 'chat.completion.chunk', created, model: request.body.model, choices: [], usage });
      res.end('data: [DONE]\n\n');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', ...reply.headers });
    res.end(
      JSON.stringify({
        id,
        object: 'chat.completion',
        created,
        model: request.body.model,
        choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: reply.finishReason ?? 'stop' }],
        ...(usage ? { usage } : {}),
      }),
    );
  }
}
