// The fake OpenAI server's timing and failure controls, seen through the real openai SDK (whose retries and
// Retry-After handling are the point) and through raw fetch where the wire itself is checked.

import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { clock, FakeOpenAI, openRouterUsage, responseSchemaOf, type ChatRequest, type FakeOpenAIOptions, type Script } from './openai-server.js';

let fake: FakeOpenAI | undefined;

afterEach(async () => {
  await fake?.stop();
  fake = undefined;
});

async function start(script?: Script, options?: FakeOpenAIOptions): Promise<FakeOpenAI> {
  fake = await FakeOpenAI.start(script, options);
  return fake;
}

function client(server: FakeOpenAI, maxRetries = 3): OpenAI {
  return new OpenAI({ baseURL: server.baseURL, apiKey: 'test', maxRetries, timeout: 10_000 });
}

const ask = { model: 'm', messages: [{ role: 'user' as const, content: 'hello' }] };

/** Streams one reply and notes when each text delta arrived (on the fake's clock). */
async function streamed(server: FakeOpenAI): Promise<{ text: string; deltas: Array<{ at: number; text: string }>; sentAt: number }> {
  const sentAt = clock();
  const stream = await client(server).chat.completions.create({ ...ask, stream: true });
  const deltas: Array<{ at: number; text: string }> = [];
  for await (const chunk of stream) {
    const text = chunk.choices[0]?.delta?.content;
    if (text) deltas.push({ at: clock(), text });
  }
  return { text: deltas.map((d) => d.text).join(''), deltas, sentAt };
}

describe('fake OpenAI server timing', () => {
  it('delays the first chunk after the headers, spaces the rest and cuts text by chunkSize', async () => {
    const server = await start(() => ({ text: 'abcdefghij', chunkSize: 3, firstChunkMs: 120, chunkDelayMs: 40 }));
    const { text, deltas } = await streamed(server);
    expect(text).toBe('abcdefghij');
    expect(deltas.map((d) => d.text)).toEqual(['abc', 'def', 'ghi', 'j']);
    const [request] = server.requests;
    expect(deltas[0]!.at - request!.arrivedAt).toBeGreaterThanOrEqual(119);
    // Counted from the request's arrival: a client that reads late (a busy machine) can only see chunks later.
    for (let i = 1; i < deltas.length; i++) expect(deltas[i]!.at - request!.arrivedAt).toBeGreaterThanOrEqual(120 + 40 * i - 2);
    expect(request).toMatchObject({ events: 4, text: 'abcdefghij', attempt: 0 });
    expect(request!.endAt! - request!.arrivedAt).toBeGreaterThanOrEqual(120 + 3 * 40 - 2);
  });

  it('a global timing applies to every reply, and a reply can override it', async () => {
    const server = await start((req) => (req.index === 0 ? { text: 'early' } : { text: 'late', firstChunkMs: 150 }), {
      timing: { firstChunkMs: 0, chunkSize: 2 },
    });
    const early = await streamed(server);
    const late = await streamed(server);
    expect(early.deltas.map((d) => d.text)).toEqual(['ea', 'rl', 'y']);
    expect(late.deltas.map((d) => d.text)).toEqual(['la', 'te']);
    expect(early.deltas[0]!.at - server.requests[0]!.arrivedAt).toBeLessThan(100);
    expect(late.deltas[0]!.at - server.requests[1]!.arrivedAt).toBeGreaterThanOrEqual(149);

    server.setTiming({ delayMs: 80 });
    const t0 = clock();
    await client(server).chat.completions.create(ask);
    expect(server.requests[2]!.endAt! - t0).toBeGreaterThanOrEqual(79);
  });

  it('draws random chunk spacing from the seed: the same seed gives the same schedule', async () => {
    const gaps = async (seed: number): Promise<number[]> => {
      const server = await start(() => ({ text: 'x'.repeat(8), chunkSize: 1, chunkDelayMs: [0, 25] }), { seed });
      const { deltas } = await streamed(server);
      expect(deltas).toHaveLength(8);
      const due = server.requests[0]!.chunkDueMs!;
      await server.stop();
      fake = undefined;
      return due.slice(1).map((at, i) => at - due[i]!);
    };
    const first = await gaps(7);
    expect(first).toHaveLength(7);
    for (const gap of first) {
      expect(gap).toBeGreaterThanOrEqual(0);
      expect(gap).toBeLessThanOrEqual(25);
    }
    expect(new Set(first.map((g) => g.toFixed(6))).size).toBeGreaterThan(1);
    const again = await gaps(7);
    again.forEach((gap, i) => expect(gap).toBeCloseTo(first[i]!, 6));
    const other = await gaps(8);
    expect(other.some((gap, i) => Math.abs(gap - first[i]!) > 1e-6)).toBe(true);
  });
});

describe('fake OpenAI server failures', () => {
  it('failNext answers the next N requests with a status before the script; the SDK retries through them', async () => {
    let asked = 0;
    const server = await start(() => {
      asked++;
      return { text: 'finally' };
    });
    server.failNext({ status: 500, count: 2 });
    const reply = await client(server).chat.completions.create(ask);
    expect(reply.choices[0]?.message.content).toBe('finally');
    expect(server.requests.map((r) => [r.attempt, r.status])).toEqual([
      [0, 500],
      [1, 500],
      [2, undefined],
    ]);
    expect(asked).toBe(1);
  });

  it('429 with Retry-After: the SDK waits as long as told', async () => {
    const server = await start();
    server.failNext({ status: 429, retryAfterMs: 300 });
    await client(server).chat.completions.create(ask);
    const [limited, retried] = server.requests as [ChatRequest, ChatRequest];
    expect(limited.status).toBe(429);
    expect(retried.arrivedAt - limited.endAt!).toBeGreaterThanOrEqual(290);
  });

  it('failAttempts fails the first attempts of one request, and the client gives up when they outnumber its retries', async () => {
    const server = await start(() => ({ text: 'ok', failAttempts: { count: 2, status: 503, retryAfterMs: 10 } }));
    const reply = await client(server).chat.completions.create(ask);
    expect(reply.choices[0]?.message.content).toBe('ok');
    expect(server.requests.map((r) => r.status)).toEqual([503, 503, undefined]);

    server.reset();
    const error = await client(server, 1)
      .chat.completions.create(ask)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(503);
    expect(server.requests).toHaveLength(2);
  });

  it('a failure rule with match only counts the requests it accepts', async () => {
    const server = await start();
    server.failNext({ status: 500, match: (r) => r.body.model === 'b' });
    const a = await client(server, 0).chat.completions.create(ask);
    expect(a.choices[0]?.message.content).toBe('Reply 0 from m.');
    const error = await client(server, 0)
      .chat.completions.create({ ...ask, model: 'b' })
      .catch((e: unknown) => e);
    expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(500);
  });
});

/** The raw SSE body of one stream request, and its events' data parsed (comments and [DONE] kept as they are). */
async function rawStream(server: FakeOpenAI): Promise<{ status: number; body: string; events: any[] }> {
  const res = await fetch(`${server.baseURL}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ...ask, stream: true, stream_options: { include_usage: true } }),
  });
  const body = await res.text();
  const events = body
    .split('\n\n')
    .filter(Boolean)
    .map((block) => (block.startsWith('data: ') ? (block === 'data: [DONE]' ? '[DONE]' : JSON.parse(block.slice(6))) : { comment: block }));
  return { status: res.status, body, events };
}

describe('fake OpenAI server: endpoints as OpenRouter documents them', () => {
  it('sends SSE comments before and between chunks, which the SDK ignores', async () => {
    const server = await start(() => ({ chunks: ['a', 'b', 'c'], comment: 'OPENROUTER PROCESSING' }));
    const raw = await rawStream(server);
    expect(raw.events.filter((e) => e.comment === ': OPENROUTER PROCESSING')).toHaveLength(4);
    expect(raw.events[0]).toEqual({ comment: ': OPENROUTER PROCESSING' });
    expect((await streamed(server)).text).toBe('abc');
  });

  it('streams reasoning before the content, as delta.reasoning with reasoning_details; and in a whole reply', async () => {
    const server = await start(() => ({ chunks: ['Answer.'], reasoning: ['Hmm, ', 'let me see.'] }));
    const raw = await rawStream(server);
    const deltas = raw.events.filter((e) => e.choices?.length).map((e) => e.choices[0].delta);
    const firstContent = deltas.findIndex((d) => d.content);
    const reasoning = deltas.filter((d) => d.reasoning);
    expect(reasoning.map((d) => d.reasoning)).toEqual(['Hmm, ', 'let me see.']);
    expect(reasoning[0].reasoning_details).toEqual([{ type: 'reasoning.text', text: 'Hmm, ', format: 'unknown', index: 0 }]);
    expect(deltas.indexOf(reasoning[1])).toBeLessThan(firstContent);

    const whole = (await client(server).chat.completions.create(ask)) as any;
    expect(whole.choices[0].message).toMatchObject({ content: 'Answer.', reasoning: 'Hmm, let me see.' });
  });

  it('an error event mid-stream: status 200, finish_reason "error", no [DONE]; the SDK throws an APIError without status', async () => {
    const server = await start(() => ({ chunks: ['Half'], streamError: { code: 'server_error', message: 'Provider disconnected unexpectedly' } }));
    const raw = await rawStream(server);
    expect(raw.status).toBe(200);
    const last = raw.events.at(-1);
    expect(last).toMatchObject({ error: { code: 'server_error', message: 'Provider disconnected unexpectedly' }, choices: [{ finish_reason: 'error' }] });
    expect(raw.body).not.toContain('[DONE]');

    const error = await streamed(server).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect((error as InstanceType<typeof OpenAI.APIError>).status).toBeUndefined();
    expect((error as Error).message).toBe('Provider disconnected unexpectedly');
  });

  it('stopAfterChunks ends the stream cleanly with no finish reason, no usage and no [DONE]; the SDK ends quietly', async () => {
    const server = await start(() => ({ chunks: Array.from({ length: 12 }, (_, i) => `${i},`), stopAfterChunks: 6 }));
    const raw = await rawStream(server);
    expect(raw.events.filter((e) => e.choices?.[0]?.delta?.content)).toHaveLength(6);
    expect(raw.events.some((e) => e.choices?.[0]?.finish_reason || e.usage)).toBe(false);
    expect(raw.body).not.toContain('[DONE]');
    expect((await streamed(server)).text).toBe('0,1,2,3,4,5,');
  });

  it('errorBody answers 200 with an error object, to stream requests too', async () => {
    const server = await start(() => ({ errorBody: { code: 502, message: 'Upstream overloaded' } }));
    const whole = (await client(server, 0).chat.completions.create(ask)) as any;
    expect(whole).toEqual({ error: { code: 502, message: 'Upstream overloaded' } });
    const res = await fetch(`${server.baseURL}/chat/completions`, { method: 'POST', body: JSON.stringify({ ...ask, stream: true }) });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(await res.json()).toEqual({ error: { code: 502, message: 'Upstream overloaded' } });
  });

  it('sends OpenRouter usage (cost, cached and reasoning tokens) on the last chunk, with no choices, before [DONE]', async () => {
    const usage = openRouterUsage({ prompt: 10, completion: 5, cached: 8, reasoning: 3, cost: 0.002 });
    const server = await start(() => ({ text: 'ok', usage }));
    const raw = await rawStream(server);
    expect(raw.events.at(-1)).toBe('[DONE]');
    expect(raw.events.at(-2)).toMatchObject({
      choices: [],
      usage: { cost: 0.002, prompt_tokens_details: { cached_tokens: 8 }, completion_tokens_details: { reasoning_tokens: 3 } },
    });
    expect(raw.events.at(-3)).toMatchObject({ choices: [{ finish_reason: 'stop' }] });
  });
});

describe('fake OpenAI server: structured output', () => {
  const schema = {
    type: 'object',
    properties: { next: { type: 'string', enum: ['A', 'B'] } },
    required: ['next'],
    additionalProperties: false,
  };
  const format = { type: 'json_schema' as const, json_schema: { name: 'next_speaker', strict: true, schema } };

  it('keeps response_format in the body as sent, and responseSchemaOf gives the schema asked for (or undefined)', async () => {
    const server = await start();
    await client(server, 0).chat.completions.create({ ...ask, response_format: format });
    await client(server, 0).chat.completions.create(ask);
    await client(server, 0).chat.completions.create({ ...ask, response_format: { type: 'json_object' } });
    const [structured, plain, jsonObject] = server.requests as [ChatRequest, ChatRequest, ChatRequest];
    expect(structured.body.response_format).toEqual(format);
    expect(responseSchemaOf(structured)).toEqual(schema);
    expect(plain.body.response_format).toBeUndefined();
    expect(responseSchemaOf(plain)).toBeUndefined();
    expect(responseSchemaOf(jsonObject)).toBeUndefined();
  });

  it('a json reply is the content, whole or streamed (cut by chunkSize), in place of text and chunks', async () => {
    const answer = { next: 'B', why: 'A spoke last' };
    const server = await start(() => ({ json: answer, text: 'not this', chunks: ['nor ', 'this'], chunkSize: 5 }));
    const whole = await client(server).chat.completions.create({ ...ask, response_format: format });
    expect(whole.choices[0]?.message.content).toBe(JSON.stringify(answer));
    expect(JSON.parse(whole.choices[0]!.message.content!)).toEqual(answer);

    const { text, deltas } = await streamed(server);
    expect(text).toBe(JSON.stringify(answer));
    expect(deltas.map((d) => d.text)).toEqual(JSON.stringify(answer).match(/.{1,5}/g));
    expect(server.requests.map((r) => r.text)).toEqual([JSON.stringify(answer), JSON.stringify(answer)]);
  });

  it('answers a structured-output request with whatever the script says: the schema is not checked', async () => {
    const server = await start(() => ({ text: 'B, I think.' }));
    const reply = await client(server).chat.completions.create({ ...ask, response_format: format });
    expect(reply.choices[0]?.message.content).toBe('B, I think.');
  });
});
