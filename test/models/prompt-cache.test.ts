import { afterEach, describe, expect, it } from 'vitest';
import { buildPrompt } from '../../src/domain/prompts.js';
import { createSalon } from '../../src/domain/salon.js';
import { commitTurn } from '../../src/domain/transitions.js';
import { OpenAIModelClient } from '../../src/models/openai-client.js';
import { takesCacheBreakpoints, withCacheBreakpoints } from '../../src/models/prompt-cache.js';
import { FakeOpenAI } from '../fakes/openai-server.js';
import { testConfig } from '../helpers/config.js';
import { memoryLogger } from '../helpers/log.js';

const settings = { contextTokens: 32_000, maxTokens: 1024 };

function salonWithTurns(count: number) {
  const salon = createSalon(
    {
      id: 's',
      starter: { id: 'u', name: 'Ada' },
      topic: 'Persistence',
      seats: [
        { key: 'claude', name: 'Claude Opus 4.5', model: 'anthropic/claude-opus-4.5' },
        { key: 'glm', name: 'GLM 4.7', model: 'z-ai/glm-4.7' },
      ],
      rounds: 5,
      delaySeconds: 0,
    },
    0,
  );
  for (let i = 0; i < count; i++) commitTurn(salon, { index: i, text: `Turn ${i}: ${'words '.repeat(50)}`, startedAt: i, answered: [] }, i + 1);
  return salon;
}

describe('prompt caching', () => {
  let server: FakeOpenAI | undefined;
  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });

  it('marks the system prompt and the seat’s last own turn, a prefix the next prompt repeats exactly', () => {
    const earlier = withCacheBreakpoints(buildPrompt(salonWithTurns(2), 0, settings).messages);
    const later = withCacheBreakpoints(buildPrompt(salonWithTurns(4), 0, settings).messages);
    const marked = (ms: typeof earlier) => ms.flatMap((m, i) => (Array.isArray(m.content) ? [i] : []));
    expect(marked(earlier)).toEqual([0, 2]);
    expect(marked(later)).toEqual([0, 4]);
    // Everything up to and including the earlier breakpoint is sent again with the same text, so it is read from cache
    // (a breakpoint marker is not part of the cached text).
    const text = (ms: typeof earlier) => ms.map((m) => ({ role: m.role, text: Array.isArray(m.content) ? m.content[0]!.text : m.content }));
    expect(text(later).slice(0, 3)).toEqual(text(earlier).slice(0, 3));
  });

  it('is on by default only where breakpoints are understood', () => {
    expect(takesCacheBreakpoints({ model: 'anthropic/claude-opus-4.5', baseURL: 'https://openrouter.ai/api/v1' })).toBe(true);
    expect(takesCacheBreakpoints({ model: 'z-ai/glm-4.7', baseURL: 'https://openrouter.ai/api/v1' })).toBe(false);
    expect(takesCacheBreakpoints({ model: 'anthropic/claude-opus-4.5', baseURL: 'http://localhost:8000/v1' })).toBe(false);
    expect(takesCacheBreakpoints({ model: 'llama', baseURL: 'http://localhost:8000/v1', promptCaching: true })).toBe(true);
  });

  it('sends cache_control over the wire when the model is configured for it', async () => {
    server = await FakeOpenAI.start();
    const config = testConfig(server.baseURL);
    config.models.claude!.promptCaching = true;
    const client = new OpenAIModelClient(config.models, memoryLogger().log);
    const messages = buildPrompt(salonWithTurns(2), 0, settings).messages;
    await client.complete({ modelKey: 'claude', messages });
    await client.complete({ modelKey: 'glm', messages });
    client.close();
    const [cached, plain] = server.requests;
    expect(JSON.stringify(cached!.body.messages)).toContain('"cache_control":{"type":"ephemeral"}');
    expect(plain!.body.messages).toEqual(messages);
  });
});
