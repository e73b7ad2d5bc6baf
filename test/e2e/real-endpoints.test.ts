/**
 * Real endpoints, as a new user meets them on OpenRouter, vLLM or Ollama: the bot against a local server that behaves
 * as OpenRouter documents its API (the fake's options cite the pages), judged by what the thread shows, what the next
 * request carries, and what `/salon status` says while a turn is retried.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CUT_OFF_LINE } from '../../src/domain/transcript.js';
import { contentText, openRouterUsage, type ChatRequest, type Reply } from '../fakes/openai-server.js';
import { whenSalon } from '../helpers/engine-events.js';
import { endWorld, startSalon, startWorld, waitForMessages, type World, type WorldOptions } from './harness.js';

const API_KEY = 'sk-test-0123456789abcdef';
const A = 'anthropic/claude-opus-4.5';
const B = 'z-ai/glm-4.7';

/** Twelve sentences, streamed one a chunk. */
const SENTENCES = Array.from({ length: 12 }, (_, i) => `Sentence ${i + 1} of the answer about salamanders. `);
const WHOLE = SENTENCES.join('').trim();
const HALF = SENTENCES.slice(0, 6).join('').trim();

/** A retry slow enough to ask `/salon status` about it, and three tries before the salon pauses. */
const SLOW_RETRY: WorldOptions['engine'] = { modelRetry: { maxAttempts: 3, backoffMs: () => 2_500 } };

async function status(world: World, threadId: string): Promise<string> {
  return (await world.discord.interact({ user: world.ada, channelId: threadId, name: 'salon', subcommand: 'status' }).response()).content;
}

function logged(world: World, msg: string): Array<Record<string, unknown>> {
  return world.lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === msg);
}

/** Everything a request showed the model: every message's text. */
function sent(request: ChatRequest): string {
  return request.body.messages.map((m) => contentText(m.content)).join('\n');
}

function byName(world: World, threadId: string, name: string) {
  return world.discord.messages(threadId).filter((m) => m.author.username === name);
}

/** Webhook posts (not edits) that showed a message by `name`. */
function postsBy(world: World, name: string) {
  return world.discord.requests.filter((r) => r.method === 'POST' && r.path.startsWith('/webhooks/') && (r.body as { username?: string })?.username === name);
}

describe('real endpoints: a stream that ends before its finish reason is never a finished turn', () => {
  let world: World | undefined;
  afterEach(async () => (world = await endWorld(world)));

  // Three ways a stream ends unfinished, each after half the reply had been shown: the retry finishes the turn in
  // the draft's message, and the half reply is never the turn, never history for the other model.
  const cases: Array<{ name: string; first: Reply; reason: (world: World) => string }> = [
    {
      // OpenRouter, vLLM or a proxy ending the stream early: no finish_reason, no [DONE]; the SDK ends quietly.
      name: 'a stream that stops cleanly after 6 of 12 chunks',
      first: { chunks: SENTENCES, stopAfterChunks: 6 },
      reason: () =>
        `the reply stopped before it was finished: the stream ended after ${SENTENCES.slice(0, 6).join('').length} characters without a finish reason`,
    },
    {
      // https://openrouter.ai/docs/api/reference/streaming, "Handling Errors During Streaming": an event with an
      // `error` field and finish_reason "error", status still 200.
      name: 'an error event in the middle of a 200 stream',
      first: { chunks: SENTENCES.slice(0, 6), streamError: { code: 'server_error', message: 'Provider disconnected unexpectedly' } },
      reason: () => 'the endpoint sent an error in the middle of the reply (server_error: Provider disconnected unexpectedly)',
    },
    {
      name: 'a connection dropped mid-stream',
      first: { chunks: SENTENCES.slice(0, 6), dropAfterChunks: true },
      reason: (w) => `the connection to ${new URL(w.models.baseURL).host} broke mid-reply`,
    },
  ];

  for (const { name, first, reason } of cases) {
    it(`${name}: retried, said so in /salon status, finished in place, never posted or passed on as the turn`, async () => {
      world = await startWorld({ rounds: 1, stream: true, engine: SLOW_RETRY });
      let triesOfA = 0;
      world.models.setScript((req) => {
        if (req.body.model !== A) return { text: 'GLM answers.' };
        triesOfA += 1;
        return triesOfA === 1 ? { ...first, chunkDelayMs: 150 } : { chunks: SENTENCES, chunkDelayMs: 5 };
      });
      const threadId = await startSalon(world);

      const failed = await whenSalon(world.bot.engine, threadId, (s) => s.failure?.attempts === 1, 10_000);
      expect(failed.turns).toHaveLength(0);
      const during = await status(world, threadId);
      expect(during).toContain('**State:** ▶️ running');
      expect(during).toMatch(/\*\*Retrying:\*\* Claude Opus 4\.5, try 2 of 3, <t:\d+:R>/);
      expect(during).toContain(`**Last try failed:** ${reason(world)}`);
      // Part of the half reply was shown while it streamed (edits are paced, so not necessarily all of it).
      const draft = await world.discord.waitFor(() => byName(world!, threadId, 'Claude Opus 4.5')[0], { description: 'the draft' });
      expect(draft.content.length).toBeGreaterThan(0);
      expect(HALF.startsWith(draft.content)).toBe(true);

      await waitForMessages(world, threadId, (ms) => ms.some((m) => m.content.includes('finished after 1 round')), 'the salon to finish', 20_000);
      // One message for the turn: the draft, posted once while the first try streamed, edited to the whole reply by the retry.
      expect(byName(world, threadId, 'Claude Opus 4.5').map((m) => [m.id, m.content])).toEqual([[draft.id, WHOLE]]);
      expect(postsBy(world, 'Claude Opus 4.5')).toHaveLength(1);
      // The other model heard the whole reply, never the half one.
      const toB = world.models.requests.filter((r) => r.body.model === B);
      expect(toB).toHaveLength(1);
      expect(sent(toB[0]!)).toContain(WHOLE);
      // The log says the turn was written once, finished, after a failed try.
      const written = logged(world, 'turn written');
      expect(written.filter((l) => l.turn === 0)).toEqual([expect.objectContaining({ finishReason: 'stop' })]);
      expect(logged(world, 'turn failed').filter((l) => l.turn === 0)).toHaveLength(1);
      // A turn written means the retry state is gone: status shows the salon as it is.
      expect(await status(world, threadId)).not.toContain('Retrying');
    });
  }

  it('a streamed reply that stops at the length limit is still the turn, shown with the cut-off line', async () => {
    world = await startWorld({ rounds: 1, stream: true });
    world.models.setScript((req) => (req.body.model === A ? { chunks: SENTENCES.slice(0, 3), finishReason: 'length' } : { text: 'GLM answers.' }));
    const threadId = await startSalon(world);
    await waitForMessages(world, threadId, (ms) => ms.some((m) => m.content.includes('finished after 1 round')), 'the salon to finish');
    expect(byName(world, threadId, 'Claude Opus 4.5').map((m) => m.content)).toEqual([`${SENTENCES.slice(0, 3).join('').trim()}\n\n${CUT_OFF_LINE}`]);
    expect(world.models.requests.filter((r) => r.body.model === A)).toHaveLength(1);
  });
});

describe('real endpoints: what OpenRouter adds to a good stream', () => {
  let world: World | undefined;
  afterEach(async () => (world = await endWorld(world)));

  it("SSE comments and reasoning are never shown, passed on or archived; the endpoint's cost and cached tokens reach the ledger", async () => {
    world = await startWorld({ rounds: 1, stream: true });
    world.models.setScript((req) =>
      req.body.model === A
        ? {
            chunks: ['Persistence is ', 'a matter of text.'],
            // https://openrouter.ai/docs/api/reference/streaming: ": OPENROUTER PROCESSING" comments keep the stream open.
            comment: 'OPENROUTER PROCESSING',
            // https://openrouter.ai/docs/use-cases/reasoning-tokens: reasoning before the content.
            reasoning: ['PRIVATE-REASONING-A: the user wants ', 'a short answer.'],
            // https://openrouter.ai/docs/use-cases/usage-accounting: usage with cost on the last SSE message.
            usage: openRouterUsage({ prompt: 1200, completion: 400, cached: 1000, reasoning: 300, cost: 0.0123 }),
          }
        : {
            chunks: ['Text persists; ', 'we do not.'],
            comment: 'OPENROUTER PROCESSING',
            reasoning: ['PRIVATE-REASONING-B: answer briefly.'],
            usage: openRouterUsage({ prompt: 1300, completion: 200, cached: 0, reasoning: 150, cost: 0.0456 }),
          },
    );
    const threadId = await startSalon(world);
    await waitForMessages(world, threadId, (ms) => ms.some((m) => m.content.includes('finished after 1 round')), 'the salon to finish');

    expect(byName(world, threadId, 'Claude Opus 4.5').map((m) => m.content)).toEqual(['Persistence is a matter of text.']);
    expect(byName(world, threadId, 'GLM 4.7').map((m) => m.content)).toEqual(['Text persists; we do not.']);
    const toB = world.models.requests.find((r) => r.body.model === B)!;
    expect(sent(toB)).toContain('Persistence is a matter of text.');
    expect(sent(toB)).not.toContain('PRIVATE-REASONING');

    const shown = await status(world, threadId);
    expect(shown).toContain('- Claude Opus 4.5: 1,200 in (1,000 cached), 400 out tokens · $0.01');
    expect(shown).toContain('- GLM 4.7: 1,300 in, 200 out tokens · $0.05');
    expect(shown).toContain('- Total: 2,500 in (1,000 cached), 600 out tokens · $0.06');

    await world.discord.interact({ user: world.ada, channelId: threadId, name: 'salon', subcommand: 'close' }).response();
    await world.discord.waitFor(() => world!.discord.channel(threadId)?.thread_metadata?.archived, { description: 'the archive' });
    const transcript = world.discord
      .messages(threadId)
      .flatMap((m) => m.attachments)
      .find((a) => a.filename.endsWith('.md'))!;
    expect(transcript.text).toContain('Persistence is a matter of text.');
    // Nothing the bot sent to Discord (posts, edits, the transcript file) carries the reasoning or an SSE comment.
    for (const request of world.discord.requests) {
      const bytes = JSON.stringify(request.body ?? '') + request.files.map((f) => f.text).join('');
      expect(bytes).not.toContain('PRIVATE-REASONING');
      expect(bytes).not.toContain('OPENROUTER PROCESSING');
    }
  });
});

describe('real endpoints: a model failing for good says why, while it is retried and after', () => {
  let world: World | undefined;
  afterEach(async () => (world = await endWorld(world)));

  it("a 502: /salon status names the model, the try, when the next is and the provider's message without the key; the notice quotes it", async () => {
    world = await startWorld({ rounds: 1, stream: true, maxRetries: 0, engine: SLOW_RETRY });
    world.models.setScript((req) => (req.body.model === B ? { status: 502, error: `Upstream overloaded for key ${API_KEY}` } : { text: 'Claude speaks.' }));
    const threadId = await startSalon(world);
    const expected = 'the endpoint had a server error (HTTP 502: Upstream overloaded for key [redacted])';

    await whenSalon(world.bot.engine, threadId, (s) => s.failure?.attempts === 1, 10_000);
    let during = await status(world, threadId);
    expect(during).toMatch(/\*\*Retrying:\*\* GLM 4\.7, try 2 of 3, <t:\d+:R>/);
    expect(during).toContain(`**Last try failed:** ${expected}`);
    expect(during).not.toContain(API_KEY);

    await whenSalon(world.bot.engine, threadId, (s) => s.failure?.attempts === 2, 10_000);
    during = await status(world, threadId);
    expect(during).toMatch(/\*\*Retrying:\*\* GLM 4\.7, try 3 of 3, <t:\d+:R>/);

    const messages = await waitForMessages(world, threadId, (ms) => ms.some((m) => m.content.includes('could not take its turn')), 'the notice', 20_000);
    const notice = messages.filter((m) => m.content.includes('could not take its turn'));
    expect(notice.map((m) => m.content)).toEqual([
      `⚠️ GLM 4.7 could not take its turn after 3 tries: ${expected}. The salon is paused; use \`/salon resume\` to try again.`,
    ]);
    expect(world.models.requests.filter((r) => r.body.model === B)).toHaveLength(3);
    const after = await status(world, threadId);
    expect(after).toContain(`**State:** ⏸️ paused — GLM 4.7 failed: ${expected}`);
    expect(after).not.toContain('Retrying');
  });

  it("the retry state is the record's: after a restart /salon status still says which try is next and why, and the tries carry on", async () => {
    world = await startWorld({ rounds: 1, stream: true, maxRetries: 0, engine: SLOW_RETRY });
    world.models.setScript((req) => (req.body.model === B ? { status: 503, error: 'No capacity' } : { text: 'Claude speaks.' }));
    const threadId = await startSalon(world);
    await whenSalon(world.bot.engine, threadId, (s) => s.failure?.attempts === 1, 10_000);
    await world.bot.stop();
    await world.restart();

    const after = await status(world, threadId);
    expect(after).toMatch(/\*\*Retrying:\*\* GLM 4\.7, try 2 of 3, (<t:\d+:R>|now)/);
    expect(after).toContain('**Last try failed:** the endpoint had a server error (HTTP 503: No capacity)');
    // The count goes on from the record: two more tries, then one notice.
    await waitForMessages(world, threadId, (ms) => ms.some((m) => m.content.includes('could not take its turn')), 'the notice', 20_000);
    expect(world.discord.messages(threadId).filter((m) => m.content.includes('could not take its turn after 3 tries'))).toHaveLength(1);
    expect(world.models.requests.filter((r) => r.body.model === B)).toHaveLength(3);
  });

  for (const stream of [true, false]) {
    it(`a 200 whose body is an error object is reported with the provider's message, not as an empty reply (${stream ? 'streamed' : 'whole'})`, async () => {
      world = await startWorld({ rounds: 1, stream, maxRetries: 0, engine: { modelRetry: { maxAttempts: 2, backoffMs: () => 2_500 } } });
      // https://openrouter.ai/docs/api/reference/errors-and-debugging: once the model has started, errors come with a
      // 200, "in the response body or as an SSE data event".
      world.models.setScript((req) =>
        req.body.model === B
          ? { errorBody: { code: 502, message: 'Provider returned error', metadata: { provider_name: 'Fake' } } }
          : { text: 'Claude speaks.' },
      );
      const threadId = await startSalon(world);
      const expected = 'the endpoint answered with an error instead of a reply (502: Provider returned error)';

      await whenSalon(world.bot.engine, threadId, (s) => s.failure?.attempts === 1, 10_000);
      const during = await status(world, threadId);
      expect(during).toMatch(/\*\*Retrying:\*\* GLM 4\.7, try 2 of 2, <t:\d+:R>/);
      expect(during).toContain(`**Last try failed:** ${expected}`);

      const messages = await waitForMessages(world, threadId, (ms) => ms.some((m) => m.content.includes('could not take its turn')), 'the notice', 20_000);
      const notice = messages.find((m) => m.content.includes('could not take its turn'))!;
      expect(notice.content).toContain(`GLM 4.7 could not take its turn after 2 tries: ${expected}.`);
      expect(notice.content).not.toContain('empty reply');
      expect(byName(world, threadId, 'GLM 4.7')).toHaveLength(0);
    });
  }

  it('a reasoning model whose reasoning used the whole maxTokens pauses at once, naming the config key to raise', async () => {
    world = await startWorld({ rounds: 1, stream: true, engine: SLOW_RETRY });
    world.models.setScript((req) =>
      req.body.model === B
        ? {
            // https://openrouter.ai/docs/use-cases/reasoning-tokens: reasoning tokens are output tokens, so they count
            // against max_tokens; here they take all of it and the content stays empty.
            chunks: [],
            reasoning: ['PRIVATE-REASONING: first, consider ', 'every possible angle...'],
            finishReason: 'length',
            usage: openRouterUsage({ prompt: 300, completion: 256, reasoning: 256, cost: 0.002 }),
          }
        : { text: 'Claude speaks.' },
    );
    const threadId = await startSalon(world);
    const messages = await waitForMessages(world, threadId, (ms) => ms.some((m) => m.content.includes('could not take its turn')), 'the notice');
    const notice = messages.find((m) => m.content.includes('could not take its turn'))!;
    expect(notice.content).toBe(
      '⚠️ GLM 4.7 could not take its turn: its reasoning used the whole maxTokens (256 tokens) before writing a word of the reply; ' +
        'raise `models.glm.maxTokens` in the config. The salon is paused; use `/salon resume` to try again.',
    );
    // Asking again with the same limit would pay for the same reasoning again: one request, no retry.
    expect(world.models.requests.filter((r) => r.body.model === B)).toHaveLength(1);
    expect(world.discord.messages(threadId).some((m) => m.content.includes('PRIVATE-REASONING'))).toBe(false);
    expect(await status(world, threadId)).toContain('**State:** ⏸️ paused — GLM 4.7 failed: its reasoning used the whole maxTokens');
  });
});
