import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OpenAIModelClient } from '../../src/models/openai-client.js';
import { ModelAbortedError, ModelError } from '../../src/engine/ports.js';
import { FakeOpenAI } from '../fakes/openai-server.js';
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
});
