import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cleanProviderText, OpenAIModelClient } from '../../src/models/openai-client.js';
import { ModelAbortedError, ModelError } from '../../src/engine/ports.js';
import { FakeOpenAI, openRouterUsage, responseSchemaOf } from '../fakes/openai-server.js';
import { testConfig } from '../helpers/config.js';
import { memoryLogger } from '../helpers/log.js';

const messages = [
  { role: 'system' as const, content: 'You are a test.' },
  { role: 'user' as const, content: 'Hello?' },
];

describe('OpenAI-compatible model client', () => {
  let server: FakeOpenAI;
  let client: OpenAIModelClient;
  let lines: string[];

  beforeEach(async () => {
    server = await FakeOpenAI.start();
  });
  afterEach(async () => {
    client?.close();
    await server.stop();
  });

  function connect(options: Parameters<typeof testConfig>[1] = {}) {
    const logged = memoryLogger(['sk-test-0123456789abcdef']);
    lines = logged.lines;
    client = new OpenAIModelClient(testConfig(server.baseURL, options).models, logged.log, { baseDelayMs: 20, maxDelayMs: 100, maxRetryAfterMs: 2_000 });
    return client;
  }

  it('sends the model, messages, max tokens and key, and returns text with usage', async () => {
    server.setScript(() => ({
      text: '  Hello back.  ',
      usage: { prompt_tokens: 12, completion_tokens: 3, total_tokens: 15, prompt_tokens_details: { cached_tokens: 8 } },
    }));
    const result = await connect().complete({ modelKey: 'glm', messages });
    expect(result).toMatchObject({
      text: 'Hello back.',
      finishReason: 'stop',
      attempts: 1,
      usage: { promptTokens: 12, completionTokens: 3, totalTokens: 15, cachedPromptTokens: 8 },
    });
    const [req] = server.requests;
    expect(req!.body).toMatchObject({ model: 'z-ai/glm-4.7', messages, max_tokens: 256 });
    expect(req!.headers.authorization).toBe('Bearer sk-test-0123456789abcdef');
  });

  it('works with an endpoint that reports no usage', async () => {
    server.setScript(() => ({ text: 'No usage here.', usage: null }));
    const result = await connect().complete({ modelKey: 'glm', messages });
    expect(result.text).toBe('No usage here.');
    expect(result.usage).toBeUndefined();
  });

  it('reports a reply cut at max tokens', async () => {
    server.setScript(() => ({ text: 'It was the best of', finishReason: 'length' }));
    expect((await connect().complete({ modelKey: 'glm', messages })).finishReason).toBe('length');
  });

  it('retries 5xx and dropped connections with backoff, then succeeds', async () => {
    server.setScript((req) => (req.index === 0 ? { status: 502 } : req.index === 1 ? { drop: true } : { text: 'Finally.' }));
    const result = await connect({ maxRetries: 3 }).complete({ modelKey: 'glm', messages });
    expect(result).toMatchObject({ text: 'Finally.', attempts: 3 });
    expect(lines.filter((l) => l.includes('retrying'))).toHaveLength(2);
  });

  it('waits as long as Retry-After says on 429', async () => {
    server.setScript((req) => (req.index === 0 ? { status: 429, headers: { 'retry-after-ms': '400' } } : { text: 'OK.' }));
    await connect().complete({ modelKey: 'glm', messages });
    const [first, second] = server.requests;
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(390);
  });

  it('gives up when Retry-After is longer than it will wait, without waiting', async () => {
    server.setScript(() => ({ status: 429, headers: { 'retry-after': '3600' } }));
    const err = await connect()
      .complete({ modelKey: 'glm', messages })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelError);
    expect((err as ModelError).permanent).toBe(false);
    expect(server.requests).toHaveLength(1);
  });

  it.each([
    [401, 'the API key was refused'],
    [403, 'access to the model is forbidden'],
    [404, 'the model or endpoint was not found'],
    [400, 'the endpoint refused the request'],
  ])('does not retry %i: it fails at once as permanent', async (status, reason) => {
    server.setScript(() => ({ status, error: 'Incorrect API key provided: sk-test-0123456789abcdef' }));
    const err = (await connect()
      .complete({ modelKey: 'glm', messages })
      .catch((e: unknown) => e)) as ModelError;
    expect(err).toBeInstanceOf(ModelError);
    expect(err.permanent).toBe(true);
    expect(err.status).toBe(status);
    expect(err.reason).toContain(reason);
    expect(err.reason).not.toContain('sk-test');
    expect(server.requests).toHaveLength(1);
  });

  it('times out a request that hangs, retries it, then fails as transient', async () => {
    server.setScript(() => ({ hang: true }));
    const config = testConfig(server.baseURL, { timeoutSeconds: 0.3, maxRetries: 1 });
    const logged = memoryLogger();
    client = new OpenAIModelClient(config.models, logged.log, { baseDelayMs: 10, maxDelayMs: 10, maxRetryAfterMs: 100 });
    const err = (await client.complete({ modelKey: 'glm', messages }).catch((e: unknown) => e)) as ModelError;
    expect(err).toBeInstanceOf(ModelError);
    expect(err.reason).toBe('no reply within 0.3 s');
    expect(err.permanent).toBe(false);
    expect(server.requests).toHaveLength(2);
  });

  it('retries an empty reply once, then fails', async () => {
    server.setScript(() => ({ text: '' }));
    const err = (await connect()
      .complete({ modelKey: 'glm', messages })
      .catch((e: unknown) => e)) as ModelError;
    expect(err.reason).toContain('returned an empty reply');
    expect(server.requests).toHaveLength(2);
  });

  it('aborts requests in flight on close', async () => {
    server.setScript(() => ({ hang: true }));
    const pending = connect().complete({ modelKey: 'glm', messages });
    await server.waitForRequests(1);
    client.close();
    await expect(pending).rejects.toBeInstanceOf(ModelAbortedError);
  });

  it('shares one SDK client per endpoint and key', async () => {
    const c = connect();
    await c.complete({ modelKey: 'glm', messages });
    await c.complete({ modelKey: 'claude', messages });
    expect((c as unknown as { clients: Map<string, unknown> }).clients.size).toBe(1);
  });

  describe('a quick structured request (the moderator’s pick)', () => {
    const schema = {
      type: 'object',
      properties: { next: { type: 'string', enum: ['A', 'B', 'C'] }, why: { type: 'string' } },
      required: ['next', 'why'],
      additionalProperties: false,
    };
    const answerSchema = { name: 'next_speaker', schema };
    const answer = { next: 'C', why: 'C has not spoken yet' };

    /** A client whose models are changed by `change` after the config is parsed (as a config file would set them). */
    function connectWith(change: (models: ReturnType<typeof testConfig>['models']) => void, options: Parameters<typeof testConfig>[1] = {}) {
      const config = testConfig(server.baseURL, options);
      change(config.models);
      client = new OpenAIModelClient(config.models, memoryLogger().log, { baseDelayMs: 10, maxDelayMs: 20, maxRetryAfterMs: 2_000 });
      return client;
    }

    /** Settles with `promise`, or fails the test once `ms` have passed: a broken deadline cannot hang the suite. */
    async function within<T>(promise: Promise<T>, ms: number): Promise<T> {
      let timer: NodeJS.Timeout | undefined;
      const bound = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`still pending after ${ms} ms`)), ms);
      });
      try {
        return await Promise.race([promise, bound]);
      } finally {
        clearTimeout(timer);
      }
    }

    for (const streaming of [false, true]) {
      it(`asks for the answer in the schema, strict, where the model takes structured output, and returns the JSON as text (${streaming ? 'stream' : 'whole'})`, async () => {
        server.setScript(() => ({ json: answer, chunkSize: 7 }));
        const shown: string[] = [];
        const result = await connect().complete({ modelKey: 'glm', messages, answerSchema, ...(streaming ? { onText: (t: string) => shown.push(t) } : {}) });
        const [req] = server.requests;
        expect(req!.body.response_format).toEqual({ type: 'json_schema', json_schema: { name: 'next_speaker', strict: true, schema } });
        expect(responseSchemaOf(req!)).toEqual(schema);
        expect(req!.body.stream ?? false).toBe(streaming);
        expect(result).toMatchObject({ text: JSON.stringify(answer), finishReason: 'stop', attempts: 1 });
        expect(JSON.parse(result.text)).toEqual(answer);
        if (streaming) expect(shown.at(-1)).toBe(JSON.stringify(answer));
      });
    }

    it('sends no response_format where the model’s config turns structured output off, nor when no schema is asked for', async () => {
      server.setScript(() => ({ text: 'next: C' }));
      const c = connectWith((models) => (models.glm!.structuredOutput = false));
      expect((await c.complete({ modelKey: 'glm', messages, answerSchema })).text).toBe('next: C');
      await c.complete({ modelKey: 'claude', messages });
      const [withoutStructured, withoutSchema] = server.requests;
      expect(withoutStructured!.body.model).toBe('z-ai/glm-4.7');
      expect(withoutStructured!.body).not.toHaveProperty('response_format');
      expect(withoutSchema!.body.model).toBe('anthropic/claude-opus-4.5');
      expect(withoutSchema!.body).not.toHaveProperty('response_format');
      // The same config with structured output on does send it: the absence above is the flag's doing.
      c.close();
      await connectWith(() => {}).complete({ modelKey: 'glm', messages, answerSchema });
      expect(responseSchemaOf(server.requests[2]!)).toEqual(schema);
    });

    it('timeoutMs is the deadline of each attempt in place of the model’s, and the failure says its seconds', async () => {
      server.setScript(() => ({ hang: true }));
      connect({ timeoutSeconds: 20, maxRetries: 0 });
      const started = performance.now();
      const err = (await within(
        client.complete({ modelKey: 'glm', messages, answerSchema, timeoutMs: 500 }).catch((e: unknown) => e),
        5_000,
      )) as ModelError;
      const elapsed = performance.now() - started;
      expect(err).toBeInstanceOf(ModelError);
      expect(err.failure).toEqual({ code: 'timeout', seconds: 0.5 });
      expect(err.reason).toBe('no reply within 0.5 s');
      expect(err.permanent).toBe(false);
      expect(elapsed).toBeGreaterThanOrEqual(490);
      expect(elapsed).toBeLessThan(2_500);
      expect(server.requests).toHaveLength(1);
    });

    it('timeoutMs cuts a stream that trickles, too', async () => {
      server.setScript(() => ({ chunks: ['{"next":', '"A"'], hang: true }));
      connect({ timeoutSeconds: 20, maxRetries: 0 });
      const shown: string[] = [];
      const err = (await within(
        client.complete({ modelKey: 'glm', messages, timeoutMs: 300, onText: (t) => shown.push(t) }).catch((e: unknown) => e),
        5_000,
      )) as ModelError;
      expect(err).toBeInstanceOf(ModelError);
      expect(err.failure).toEqual({ code: 'timeout', seconds: 0.3 });
      expect(shown.at(-1)).toBe('{"next":"A"');
    });

    it('maxRetries in place of the model’s: 0 fails a 500 after exactly one attempt, 2 makes three where the model allows one', async () => {
      server.setScript(() => ({ status: 500, error: 'overloaded' }));
      const c = connect({ maxRetries: 3 });
      const err = (await c.complete({ modelKey: 'glm', messages, maxRetries: 0 }).catch((e: unknown) => e)) as ModelError;
      expect(err).toBeInstanceOf(ModelError);
      expect(err.status).toBe(500);
      expect(err.permanent).toBe(false);
      expect(server.requests).toHaveLength(1);

      c.close();
      server.reset();
      const again = (await connect({ maxRetries: 0 })
        .complete({ modelKey: 'glm', messages, maxRetries: 2 })
        .catch((e: unknown) => e)) as ModelError;
      expect(again.status).toBe(500);
      expect(server.requests.map((r) => r.status)).toEqual([500, 500, 500]);
    });

    it('each attempt gets the whole timeoutMs: two attempts of a hanging request take two deadlines', async () => {
      server.setScript(() => ({ hang: true }));
      connect({ timeoutSeconds: 20, maxRetries: 0 });
      const err = (await within(
        client.complete({ modelKey: 'glm', messages, timeoutMs: 300, maxRetries: 1 }).catch((e: unknown) => e),
        5_000,
      )) as ModelError;
      expect(err.reason).toBe('no reply within 0.3 s');
      const [first, second] = server.requests;
      expect(server.requests).toHaveLength(2);
      expect(second!.arrivedAt - first!.arrivedAt).toBeGreaterThanOrEqual(290);
    });

    it('a timeoutMs or maxRetries that cannot be meant (0, NaN, negative) is the model’s own', async () => {
      server.setScript(() => ({ hang: true }));
      connect({ timeoutSeconds: 0.3, maxRetries: 1 });
      for (const [timeoutMs, maxRetries] of [
        [0, Number.NaN],
        [-1, -1],
        [Number.NaN, 0.5],
      ]) {
        server.reset();
        const err = (await within(
          client.complete({ modelKey: 'glm', messages, timeoutMs, maxRetries }).catch((e: unknown) => e),
          5_000,
        )) as ModelError;
        expect(err.reason).toBe('no reply within 0.3 s');
        expect(server.requests).toHaveLength(2);
      }
    });
  });

  describe('against endpoints as they really behave', () => {
    /** Streams one reply, keeping every text the client showed. */
    async function stream(modelKey = 'glm'): Promise<{ result?: Awaited<ReturnType<OpenAIModelClient['complete']>>; error?: unknown; shown: string[] }> {
      const shown: string[] = [];
      try {
        const result = await client.complete({ modelKey, messages, onText: (t) => shown.push(t) });
        return { result, shown };
      } catch (error) {
        return { error, shown };
      }
    }

    const twelve = Array.from({ length: 12 }, (_, i) => `part ${i}. `);

    it('takes a stream that stops cleanly without a finish reason as cut short, not as the reply', async () => {
      server.setScript(() => ({ chunks: twelve, stopAfterChunks: 6 }));
      connect();
      const { error, shown } = await stream();
      expect(error).toBeInstanceOf(ModelError);
      const err = error as ModelError;
      expect(err.permanent).toBe(false);
      expect(err.failure).toEqual({ code: 'cut_short', characters: twelve.slice(0, 6).join('').length });
      expect(err.reason).toContain('the reply stopped before it was finished');
      // Text was shown: the client leaves the retry to the engine, which finishes the draft in place.
      expect(shown.at(-1)).toBe(twelve.slice(0, 6).join(''));
      expect(server.requests).toHaveLength(1);
    });

    it('retries a stream cut short before any text was shown, and returns the whole reply', async () => {
      server.setScript((req) => (req.index === 0 ? { chunks: twelve, stopAfterChunks: 0 } : { chunks: twelve }));
      connect({ maxRetries: 2 });
      const { result } = await stream();
      expect(result).toMatchObject({ text: twelve.join('').trim(), finishReason: 'stop', attempts: 2 });
    });

    it('keeps a reply that stopped at the length limit, with its finish reason', async () => {
      server.setScript(() => ({ chunks: twelve.slice(0, 3), finishReason: 'length' }));
      connect();
      const { result } = await stream();
      expect(result).toMatchObject({ text: twelve.slice(0, 3).join('').trim(), finishReason: 'length' });
    });

    it('an aborted stream is an abort, not a stream cut short', async () => {
      server.setScript(() => ({ chunks: twelve.slice(0, 2), hang: true }));
      connect();
      const shown: string[] = [];
      const pending = client.complete({ modelKey: 'glm', messages, onText: (t) => shown.push(t) });
      await server.waitForRequests(1);
      await expect.poll(() => shown.length).toBeGreaterThan(0);
      client.close();
      await expect(pending).rejects.toBeInstanceOf(ModelAbortedError);
    });

    it('ignores SSE comments and reasoning: the reply is the content alone, with usage, cost and cached tokens', async () => {
      server.setScript(() => ({
        chunks: ['The salamanders ', 'kept their fire.'],
        comment: 'OPENROUTER PROCESSING',
        reasoning: ['Let me think about ', 'salamanders.'],
        usage: openRouterUsage({ prompt: 120, completion: 40, cached: 100, reasoning: 30, cost: 0.0123 }),
      }));
      connect();
      const { result, shown } = await stream();
      expect(result).toMatchObject({
        text: 'The salamanders kept their fire.',
        finishReason: 'stop',
        usage: { promptTokens: 120, completionTokens: 40, totalTokens: 160, cachedPromptTokens: 100, costUSD: 0.0123 },
      });
      expect(shown.every((t) => !t.includes('think'))).toBe(true);
    });

    it("an error event mid-stream fails with the endpoint's own message, cleaned of keys", async () => {
      server.setScript(() => ({
        chunks: ['Half a ', 'thought'],
        streamError: { code: 'server_error', message: 'Provider disconnected unexpectedly (key sk-or-v1-abcdef0123456789)' },
      }));
      connect();
      const { error } = await stream();
      const err = error as ModelError;
      expect(err).toBeInstanceOf(ModelError);
      expect(err.permanent).toBe(false);
      expect(err.reason).toBe('the endpoint sent an error in the middle of the reply (server_error: Provider disconnected unexpectedly (key [redacted]))');
    });

    for (const streaming of [false, true]) {
      it(`a 200 whose body is an error object fails with the endpoint's message and is retried (${streaming ? 'stream' : 'whole'})`, async () => {
        server.setScript(() => ({ errorBody: { code: 502, message: 'Upstream provider overloaded', metadata: { provider_name: 'Fake' } } }));
        connect({ maxRetries: 1 });
        const err = (await (streaming ? stream().then((r) => r.error) : client.complete({ modelKey: 'glm', messages }).catch((e: unknown) => e))) as ModelError;
        expect(err).toBeInstanceOf(ModelError);
        expect(err.reason).toBe('the endpoint answered with an error instead of a reply (502: Upstream provider overloaded)');
        expect(err.reason).not.toContain('empty reply');
        expect(err.permanent).toBe(false);
        expect(server.requests).toHaveLength(2);
      });
    }

    it('a 200 error body with a permanent code (no credit) is not retried', async () => {
      server.setScript(() => ({ errorBody: { code: 402, message: 'Insufficient credits' } }));
      const err = (await connect()
        .complete({ modelKey: 'glm', messages })
        .catch((e: unknown) => e)) as ModelError;
      expect(err.permanent).toBe(true);
      expect(err.reason).toContain('Insufficient credits');
      expect(server.requests).toHaveLength(1);
    });

    for (const streaming of [false, true]) {
      it(`reasoning that used the whole max_tokens fails at once, naming the config key (${streaming ? 'stream' : 'whole'})`, async () => {
        server.setScript(() => ({
          text: '',
          reasoning: ['Thinking hard ', 'about everything...'],
          finishReason: 'length',
          usage: openRouterUsage({ prompt: 50, completion: 256, reasoning: 256, cost: 0.001 }),
        }));
        connect();
        const err = (await (streaming ? stream().then((r) => r.error) : client.complete({ modelKey: 'glm', messages }).catch((e: unknown) => e))) as ModelError;
        expect(err).toBeInstanceOf(ModelError);
        expect(err.permanent).toBe(true);
        expect(err.reason).toBe(
          'its reasoning used the whole maxTokens (256 tokens) before writing a word of the reply; raise `models.glm.maxTokens` in the config',
        );
        expect(server.requests).toHaveLength(1);
      });
    }

    it('an endpoint that ignores stream and answers with a whole completion still gives the reply', async () => {
      server.setScript(() => ({ text: 'Whole, not streamed.', ignoreStream: true }));
      connect();
      const { result, shown } = await stream();
      expect(result).toMatchObject({ text: 'Whole, not streamed.', finishReason: 'stop' });
      expect(shown).toEqual(['Whole, not streamed.']);
    });
  });

  describe('cleanProviderText', () => {
    it('removes what looks like a key and cuts long text', () => {
      const cleaned = cleanProviderText(
        'bad key sk-or-v1-0123456789abcdef, Authorization: Bearer abc.def-123 api_key=xyz123456 token AbCdEf0123456789AbCdEf0123456789xyz end',
        ['my-own-secret'],
      );
      expect(cleaned).toBe('bad key [redacted], Authorization: Bearer [redacted] api_key=[redacted] token [redacted] end');
      expect(cleanProviderText('the secret is my-own-secret', ['my-own-secret'])).toBe('the secret is [redacted]');
      expect(cleanProviderText('provider-returned-error for model z-ai/glm-4.7')).toBe('provider-returned-error for model z-ai/glm-4.7');
      expect(cleanProviderText('word '.repeat(400)).length).toBeLessThanOrEqual(300);
      // A huge error page is cleaned in no time (only its start can be shown).
      const started = performance.now();
      expect(cleanProviderText('a-'.repeat(100_000)).length).toBeLessThanOrEqual(300);
      expect(performance.now() - started).toBeLessThan(500);
    });
  });
});
