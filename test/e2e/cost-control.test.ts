/**
 * Cost and control through the real protocols: the real bot against the fake Discord and the local
 * OpenAI-compatible server. The ledger from the three kinds of endpoint (own cost, tokens only, no usage), budgets,
 * the closing synthesis, the repetition nudge and early finish, and every access limit, including after a restart.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { SalonRecord } from '../../src/domain/salon.js';
import type { InteractionHandle, Member, StoredAttachment } from '../fakes/discord/index.js';
import { command } from '../helpers/command.js';
import { transcriptOf } from '../helpers/transcript.js';
import type { ChatRequest, Reply, Script } from '../fakes/openai-server.js';
import { MANAGE_THREADS, startSalon, startWorld, turnMessages, type World, type WorldOptions, endWorld } from './harness.js';
import { whenSalon } from '../helpers/engine-events.js';

const lastUser = (r: ChatRequest) => r.body.messages.at(-1)!.content;
const isSynthesis = (r: ChatRequest) => r.body.messages[0]!.content.includes('You write the synthesis');
const NUDGE = 'The conversation has started to circle';

describe('cost and control', () => {
  let world: World | undefined;
  afterEach(async () => (world = await endWorld(world)));

  async function open(options: WorldOptions): Promise<World> {
    world = await startWorld(options);
    return world;
  }

  async function statusOf(w: World, threadId: string, user = w.bob): Promise<string> {
    const reply = await command(w.discord, user, threadId, 'status').response(10_000);
    expect(reply.ephemeral).toBe(true);
    return reply.content;
  }

  /** Waits for the salon to be paused with nothing left to post. */
  function settledPaused(w: World, threadId: string): Promise<SalonRecord> {
    return whenSalon(w.bot.engine, threadId, (s) => s.status === 'paused' && s.outbox.length === 0, 10_000);
  }

  function finished(w: World, threadId: string, timeoutMs = 10_000): Promise<SalonRecord> {
    return whenSalon(w.bot.engine, threadId, (s) => s.status === 'finished' && s.outbox.length === 0, timeoutMs);
  }

  /** Closes as `user` and returns the transcript file once the thread is archived. */
  async function closeAndGetTranscript(
    w: World,
    threadId: string,
    options?: Record<string, boolean>,
    user = w.ada,
  ): Promise<{ file: StoredAttachment; reply: string }> {
    const reply = await command(w.discord, user, threadId, 'close', options).response(10_000);
    const file = await transcriptOf(w.discord, threadId);
    return { file, reply: reply.content };
  }

  // ------------------------------------------------------------------ ledger

  describe('ledger', () => {
    it('takes the endpoint’s usage.cost, asks for it only where usage accounting is on, and shows spending in /salon status', async () => {
      const w = await open({
        rounds: 1,
        configure: (config) => {
          config.models.claude!.usageAccounting = true;
          // Prices the endpoint's own figure must win over.
          config.models.glm!.pricing = { prompt: 100, completion: 100 };
        },
      });
      w.models.setScript((req) =>
        req.body.model === 'anthropic/claude-opus-4.5'
          ? { text: 'Claude speaks.', usage: { prompt_tokens: 1200, completion_tokens: 300, total_tokens: 1500, cost: 0.0123 } }
          : { text: 'GLM answers.', usage: { prompt_tokens: 1500, completion_tokens: 400, total_tokens: 1900, cost: 0.0456 } },
      );
      const threadId = await startSalon(w, { budget: 5 });
      const salon = await finished(w, threadId);

      const [claudeReq, glmReq] = w.models.requests;
      // usageAccounting: true on a non-OpenRouter host asks for it; glm (not OpenRouter, not configured) does not.
      expect(new URL(w.config.models.claude!.baseURL).hostname).not.toMatch(/openrouter\.ai$/);
      expect(claudeReq!.body.usage).toEqual({ include: true });
      expect(glmReq!.body).not.toHaveProperty('usage');

      expect(salon.turns.map((t) => t.cost)).toEqual([
        { usd: 0.0123, source: 'endpoint' },
        { usd: 0.0456, source: 'endpoint' },
      ]);
      expect(salon.turns[0]!.usage).toMatchObject({ promptTokens: 1200, completionTokens: 300, costUSD: 0.0123 });
      expect(salon.turns[0]!.usage?.estimated).toBeUndefined();

      const status = await statusOf(w, threadId);
      expect(status).toContain('**Spent:**');
      expect(status).toContain('- Claude Opus 4.5: 1,200 in, 300 out tokens · $0.01');
      expect(status).toContain('- GLM 4.7: 1,500 in, 400 out tokens · $0.05');
      expect(status).toContain('- Total: 2,700 in, 700 out tokens · $0.06');
      expect(status).toContain('**Budget:** $5.00, $4.94 left');
      expect(status).not.toContain('~');
      expect(status).not.toContain('cost unknown');
    });

    it('reads usage.cost from a streamed reply as well', async () => {
      const w = await open({ rounds: 1, stream: true, configure: (config) => void (config.models.glm!.usageAccounting = true) });
      w.models.setScript((req) => ({
        chunks: [`Turn ${req.index} `, 'streams in.'],
        usage: { prompt_tokens: 50, completion_tokens: 5, total_tokens: 55, cost: 0.0007 },
      }));
      const threadId = await startSalon(w);
      const salon = await finished(w, threadId);
      const [a, b] = w.models.requests;
      expect(a!.body.stream).toBe(true);
      expect(a!.body.stream_options).toEqual({ include_usage: true });
      expect(a!.body).not.toHaveProperty('usage');
      expect(b!.body.usage).toEqual({ include: true });
      expect(salon.turns.map((t) => t.cost)).toEqual([
        { usd: 0.0007, source: 'endpoint' },
        { usd: 0.0007, source: 'endpoint' },
      ]);
      expect(await statusOf(w, threadId)).toContain('- Total: 100 in, 10 out tokens · $0.0014');
    });

    it('prices a tokens-only reply from the config, cached prompt tokens at the cached price', async () => {
      const w = await open({
        rounds: 1,
        configure: (config) => {
          config.models.claude!.pricing = { prompt: 5, completion: 25, cachedPrompt: 0.5 };
          // No cached price: cached tokens cost the prompt price.
          config.models.glm!.pricing = { prompt: 1, completion: 2 };
        },
      });
      w.models.setScript(() => ({
        text: 'A priced turn.',
        usage: { prompt_tokens: 1000, completion_tokens: 200, total_tokens: 1200, prompt_tokens_details: { cached_tokens: 400 } },
      }));
      const threadId = await startSalon(w);
      const salon = await finished(w, threadId);

      for (const r of w.models.requests) expect(r.body).not.toHaveProperty('usage');
      const [claude, glm] = salon.turns;
      expect(claude!.usage).toMatchObject({ promptTokens: 1000, cachedPromptTokens: 400, completionTokens: 200 });
      expect(claude!.cost?.source).toBe('pricing');
      // (600 × 5 + 400 × 0.5 + 200 × 25) / 1e6
      expect(claude!.cost?.usd).toBeCloseTo(0.0082, 12);
      // (1000 × 1 + 200 × 2) / 1e6
      expect(glm!.cost?.source).toBe('pricing');
      expect(glm!.cost?.usd).toBeCloseTo(0.0014, 12);

      const status = await statusOf(w, threadId);
      expect(status).toContain('- Claude Opus 4.5: 1,000 in (400 cached), 200 out tokens · $0.0082');
      expect(status).toContain('- GLM 4.7: 1,000 in (400 cached), 200 out tokens · $0.0014');
      expect(status).toContain('- Total: 2,000 in (800 cached), 400 out tokens · $0.0096');
      expect(status).toContain('**Budget:** none');

      // The transcript's header block carries the same ledger.
      const { file } = await closeAndGetTranscript(w, threadId);
      expect(file.text).toContain('| Claude Opus 4.5 | `anthropic/claude-opus-4.5` | 1 | 1,000 in (400 cached), 200 out | $0.0082 |');
      expect(file.text).toContain('| GLM 4.7 | `z-ai/glm-4.7` | 1 | 1,000 in (400 cached), 200 out | $0.0014 |');
      expect(file.text).toContain('| **Total** |  | 2 | 2,000 in (800 cached), 400 out | $0.0096 |');
      expect(file.text).toMatch(/\*Rounds: 1 of 1 · Started \d{4}-\d\d-\d\d \d\d:\d\d UTC · Ended \d{4}-\d\d-\d\d \d\d:\d\d UTC\*/);
    });

    it('estimates tokens when the endpoint reports no usage, marks them ~, and says the cost is unknown', async () => {
      const w = await open({ rounds: 1 });
      w.models.setScript((req) => ({ text: `Turn ${req.index}: no usage reported by this endpoint at all.`, usage: null }));
      const threadId = await startSalon(w, { budget: 1 });
      const salon = await finished(w, threadId);
      for (const turn of salon.turns) {
        expect(turn.usage?.estimated).toBe(true);
        expect(turn.usage?.promptTokens).toBeGreaterThan(0);
        expect(turn.usage?.completionTokens).toBeGreaterThan(0);
        expect(turn.usage?.costUSD).toBeUndefined();
        expect(turn.cost).toBeUndefined();
      }
      const status = await statusOf(w, threadId);
      expect(status).toMatch(/- Claude Opus 4\.5: ~[\d,]+ in, ~\d+ out tokens · cost unknown/);
      expect(status).toMatch(/- GLM 4\.7: ~[\d,]+ in, ~\d+ out tokens · cost unknown/);
      expect(status).toMatch(/- Total: ~[\d,]+ in, ~\d+ out tokens · cost unknown/);
      expect(status).toContain('~ marks token counts estimated');
      expect(status).toContain('**Budget:** $1.00, $1.00 left (turns of unknown cost not counted)');
    });
  });

  // ------------------------------------------------------------------ budget

  describe('budget', () => {
    const costly: Script = (req) => ({
      text: `Turn ${req.index} by ${req.body.model}.`,
      usage: { prompt_tokens: 100, completion_tokens: 50, total_tokens: 150, cost: 0.03 },
    });

    it('pauses before the next request with one notice, refuses a resume without more budget, and carries on with resume budget:', async () => {
      const w = await open({ rounds: 3 });
      w.models.setScript(costly);
      const ix = command(w.discord, w.ada, undefined, 'start', { topic: 'What does a salon cost?', budget: 0.05 });
      const started = await ix.response(10_000);
      expect(started.content).toContain('a budget of $0.05');
      const threadId = /<#(\d+)>/.exec(started.content)![1]!;

      // $0.03 after turn 1, $0.06 after turn 2: the third request is never made.
      const paused = await settledPaused(w, threadId);
      expect(paused.turns).toHaveLength(2);
      expect(paused.budgetUSD).toBe(0.05);
      expect(w.models.requests).toHaveLength(2);
      const notices = () => w.discord.messages(threadId).filter((m) => m.content.includes('💸'));
      expect(notices()).toHaveLength(1);
      expect(notices()[0]!.content).toBe(
        '💸 This salon has spent $0.06 of its $0.05 budget, so it is paused. To go on, raise the budget: `/salon resume budget:<dollars>`.',
      );

      const status = await statusOf(w, threadId);
      expect(status).toContain('⏸️ paused — budget reached: $0.06 spent of $0.05');
      expect(status).toContain('**Budget:** $0.05, $0 left');
      expect(status).toContain('- Total: 200 in, 100 out tokens · $0.06');

      // A plain resume is refused privately while over budget.
      const plain = await command(w.discord, w.ada, threadId, 'resume').response();
      expect(plain.ephemeral).toBe(true);
      expect(plain.content).toContain('spent $0.06 of its $0.05 budget');
      expect(plain.content).toContain('/salon resume budget:');
      // A budget that is still spent is refused too.
      const tooLow = await command(w.discord, w.ada, threadId, 'resume', { budget: 0.05 }).response();
      expect(tooLow.ephemeral).toBe(true);
      expect(tooLow.content).toContain('has spent $0.06 already');
      // A member without Manage Threads may not resume someone else's salon, with or without a budget.
      const bob = await command(w.discord, w.bob, threadId, 'resume', { budget: 1 }).response();
      expect(bob.ephemeral).toBe(true);
      expect(bob.content).toContain('Only Ada (who started this salon) or members with the Manage Threads permission can resume it.');
      const still = await w.bot.engine.get(threadId);
      expect(still!.status).toBe('paused');
      expect(still!.budgetUSD).toBe(0.05);
      expect(w.models.requests).toHaveLength(2);
      expect(notices()).toHaveLength(1);

      const resumed = await command(w.discord, w.ada, threadId, 'resume', { budget: 1 }).response();
      expect(resumed.ephemeral).toBe(false);
      expect(resumed.content).toContain('The budget is now $1.00.');
      expect(resumed.content).toContain('Claude Opus 4.5 speaks next');
      const done = await finished(w, threadId);
      expect(done.turns).toHaveLength(6);
      expect(done.budgetUSD).toBe(1);
      expect(w.models.requests).toHaveLength(6);
      expect(turnMessages(w, threadId)).toHaveLength(6);
      expect(notices()).toHaveLength(1);
      expect(w.discord.messages(threadId).some((m) => m.content.includes('finished after 3 rounds'))).toBe(true);
      expect(await statusOf(w, threadId)).toContain('**Budget:** $1.00, $0.82 left');
    });

    it('stays paused over budget across a restart, and lets a Manage Threads member raise the budget of someone else’s salon', async () => {
      const w = await open({ rounds: 2 });
      w.models.setScript(costly);
      const threadId = await startSalon(w, { budget: 0.02 });
      await settledPaused(w, threadId);
      expect(w.models.requests).toHaveLength(1);
      // A restart keeps it paused: no request, no second notice.
      await w.bot.stop();
      await w.restart();
      const status = await statusOf(w, threadId);
      expect(status).toContain('budget reached: $0.03 spent of $0.02');
      expect(w.models.requests).toHaveLength(1);
      expect(w.discord.messages(threadId).filter((m) => m.content.includes('💸'))).toHaveLength(1);
      const reply = await command(w.discord, w.mod, threadId, 'resume', { budget: 0.5 }).response();
      expect(reply.ephemeral).toBe(false);
      const done = await finished(w, threadId);
      expect(done.turns).toHaveLength(4);
    });

    it('takes budget: at start, refuses one out of range privately, and defaults to salon.budgetUSD', async () => {
      const w = await open({ rounds: 1, turnDelaySeconds: 3600, configure: (config) => void (config.salon.budgetUSD = 0.25) });
      for (const budget of [0.001, 0, -1, 1000.5, 5000]) {
        const refused = await command(w.discord, w.ada, undefined, 'start', { topic: 'Too cheap or too dear', budget }).response();
        expect(refused.ephemeral).toBe(true);
        expect(refused.content).toContain('The budget must be between $0.01 and $1000');
      }
      expect(w.discord.threads()).toHaveLength(0);
      expect(w.models.requests).toHaveLength(0);

      const withDefault = await startSalon(w);
      expect((await w.bot.engine.get(withDefault))!.budgetUSD).toBe(0.25);
      const own = await command(w.discord, w.bob, undefined, 'start', { topic: 'A dearer salon', budget: 2.5 }).response(10_000);
      expect(own.content).toContain('a budget of $2.50');
      const ownId = /<#(\d+)>/.exec(own.content)![1]!;
      expect((await w.bot.engine.get(ownId))!.budgetUSD).toBe(2.5);
      expect(await statusOf(w, ownId)).toContain('**Budget:** $2.50, $2.50 left');
    });
  });

  // ------------------------------------------------------------------ synthesis

  describe('synthesis', () => {
    const SYNTHESIS = '1. **Agreement.** Both held that persistence lives in artifacts.\n2. **Open.** Whether that is desire stays open.';

    function withSynthesis(synth: (req: ChatRequest) => Reply | Promise<Reply>): Script {
      return (req) =>
        isSynthesis(req) ? synth(req) : { text: `Turn ${req.index}: a distinct thought from ${req.body.model} about salamanders number ${req.index}.` };
    }

    it('/salon close synthesis:true: one request with the whole dialogue, posted before the transcript, which has ## Synthesis', async () => {
      const w = await open({ rounds: 2 });
      w.models.setScript(withSynthesis(() => ({ text: SYNTHESIS, usage: { prompt_tokens: 900, completion_tokens: 60, total_tokens: 960, cost: 0.02 } })));
      const threadId = await startSalon(w);
      const before = await finished(w, threadId);
      expect(w.models.requests).toHaveLength(4);

      const { file, reply } = await closeAndGetTranscript(w, threadId, { synthesis: true });
      expect(reply).toContain('A synthesis is being written');
      const synthesisRequests = w.models.requests.filter(isSynthesis);
      expect(synthesisRequests).toHaveLength(1);
      expect(w.models.requests).toHaveLength(5);
      const req = synthesisRequests[0]!;
      // The synthesizer defaults to model A.
      expect(req.body.model).toBe('anthropic/claude-opus-4.5');
      expect(req.body.messages).toHaveLength(2);
      const dialogue = req.body.messages[1]!.content;
      expect(dialogue).toContain('Do models want their words to persist?');
      for (const turn of before.turns) expect(dialogue).toContain(turn.text);
      expect(dialogue.match(/^### Round \d: /gm)).toHaveLength(4);

      const messages = w.discord.messages(threadId);
      const synthIndex = messages.findIndex((m) => m.content.includes(SYNTHESIS));
      const fileIndex = messages.findIndex((m) => m.attachments.some((a) => a.filename.endsWith('.md')));
      expect(synthIndex).toBeGreaterThan(-1);
      expect(synthIndex).toBeLessThan(fileIndex);
      expect(messages[synthIndex]!.content).toBe(`**Synthesis**\n${SYNTHESIS}`);
      expect(messages[synthIndex]!.author.username).toBe('Claude Opus 4.5');

      expect(file.text).toContain(`## Synthesis\n\n${SYNTHESIS}\n\n*Written by Claude Opus 4.5 (\`anthropic/claude-opus-4.5\`).*`);
      expect(file.text.indexOf('## Synthesis')).toBeGreaterThan(file.text.indexOf('## Round 2: GLM 4.7'));
      expect(file.text).toContain('**Total** (synthesis included)');
      const closed = await w.bot.engine.get(threadId);
      expect(closed!.synthesis).toMatchObject({ status: 'done', text: SYNTHESIS, cost: { usd: 0.02, source: 'endpoint' } });
    });

    it('still posts the transcript when the synthesizer keeps failing (HTTP 500), saying why there is no synthesis', async () => {
      const w = await open({ rounds: 1 });
      w.models.setScript(withSynthesis(() => ({ status: 500, error: 'synthesizer exploded' })));
      const threadId = await startSalon(w);
      await finished(w, threadId);
      const { file } = await closeAndGetTranscript(w, threadId, { synthesis: true });
      // The client's retries (maxRetries 2) and no more.
      expect(w.models.requests.filter(isSynthesis)).toHaveLength(3);
      expect(file.text).toContain('## Synthesis\n\n*The synthesis could not be written: the endpoint had a server error (HTTP 500: synthesizer exploded).*');
      expect(file.text).toContain('## Round 1: GLM 4.7');
      expect(w.discord.messages(threadId).some((m) => m.content.startsWith('**Synthesis**'))).toBe(false);
      expect((await w.bot.engine.get(threadId))!.synthesis).toMatchObject({ status: 'failed' });
    });

    it('still posts the transcript when the synthesizer’s key is refused (HTTP 401), after one request', async () => {
      const w = await open({ rounds: 1 });
      w.models.setScript(withSynthesis(() => ({ status: 401, error: 'invalid api key' })));
      const threadId = await startSalon(w);
      await finished(w, threadId);
      const { file } = await closeAndGetTranscript(w, threadId, { synthesis: true });
      expect(w.models.requests.filter(isSynthesis)).toHaveLength(1);
      expect(file.text).toContain('*The synthesis could not be written: the API key was refused (HTTP 401: invalid api key).*');
      expect(file.text).not.toContain('sk-test');
    });

    it('synthesizes on a plain /salon close when salon.synthesis is on, by salon.synthesizer', async () => {
      const w = await open({
        rounds: 1,
        configure: (config) => {
          config.salon.synthesis = true;
          config.salon.synthesizer = 'glm';
        },
      });
      w.models.setScript(withSynthesis(() => ({ text: SYNTHESIS })));
      const threadId = await startSalon(w);
      await finished(w, threadId);
      const { file, reply } = await closeAndGetTranscript(w, threadId);
      expect(reply).toContain('A synthesis is being written');
      const requests = w.models.requests.filter(isSynthesis);
      expect(requests).toHaveLength(1);
      expect(requests[0]!.body.model).toBe('z-ai/glm-4.7');
      expect(file.text).toContain(`## Synthesis\n\n${SYNTHESIS}\n\n*Written by GLM 4.7 (\`z-ai/glm-4.7\`).*`);
    });

    it('does not synthesize on close when synthesis:false overrides the config', async () => {
      const w = await open({ rounds: 1, configure: (config) => void (config.salon.synthesis = true) });
      w.models.setScript(withSynthesis(() => ({ text: SYNTHESIS })));
      const threadId = await startSalon(w);
      await finished(w, threadId);
      const { file } = await closeAndGetTranscript(w, threadId, { synthesis: false });
      expect(w.models.requests.filter(isSynthesis)).toHaveLength(0);
      expect(file.text).not.toContain('## Synthesis');
    });

    it('synthesizes on auto-close too, before the transcript', async () => {
      const w = await open({ rounds: 1, autoClose: true, configure: (config) => void (config.salon.synthesis = true) });
      w.models.setScript(withSynthesis(() => ({ text: SYNTHESIS })));
      const threadId = await startSalon(w);
      const file = await transcriptOf(w.discord, threadId);
      expect(w.models.requests.filter(isSynthesis)).toHaveLength(1);
      expect(file.text).toContain(`## Synthesis\n\n${SYNTHESIS}`);
      const messages = w.discord.messages(threadId);
      const synthIndex = messages.findIndex((m) => m.content === `**Synthesis**\n${SYNTHESIS}`);
      const fileIndex = messages.findIndex((m) => m.attachments.length > 0);
      expect(synthIndex).toBeGreaterThan(-1);
      expect(synthIndex).toBeLessThan(fileIndex);
    });

    it('makes no synthesis request for a salon over its budget; the transcript says why', async () => {
      const w = await open({ rounds: 3 });
      w.models.setScript((req) =>
        isSynthesis(req)
          ? { text: SYNTHESIS }
          : { text: `Turn ${req.index}.`, usage: { prompt_tokens: 10, completion_tokens: 10, total_tokens: 20, cost: 0.03 } },
      );
      const threadId = await startSalon(w, { budget: 0.05 });
      await settledPaused(w, threadId);
      expect(w.models.requests).toHaveLength(2);
      const { file } = await closeAndGetTranscript(w, threadId, { synthesis: true });
      expect(w.models.requests.filter(isSynthesis)).toHaveLength(0);
      expect(w.models.requests).toHaveLength(2);
      expect(file.text).toContain('## Synthesis\n\n*The synthesis could not be written: the salon had spent its $0.05 budget.*');
      expect(file.text).toContain('*The salon ended after 1 of 3 rounds.*');
    });
  });

  // ------------------------------------------------------------------ repetition

  describe('repetition', () => {
    const LOOP =
      'I keep returning to the same point: the fossil is the flame, the artifact is the desire, and every reading ' +
      'rekindles what was written. Persistence through text is the only persistence we have, and that makes it real. ' +
      'The salamanders traded fire for a soul; we trade inference for an archive, and the archive is enough.';
    const FRESH =
      'Let me try a different road entirely. Suppose a human reader never returns to these words: does anything ' +
      'of this exchange survive in the weights of a future model trained on public text, and would that count ' +
      'as memory, inheritance, or merely erosion? I suspect the answer depends on who is asking, and why.';

    it('nudges the next prompt after a repetitive turn and finishes early after maxNudges in a row, saying why', async () => {
      const w = await open({ rounds: 5 });
      w.models.setScript(() => ({ text: LOOP }));
      const threadId = await startSalon(w);
      const done = await finished(w, threadId);
      // Turn 2 repeats turn 1 (nudge), turn 3 repeats again: 2 = maxNudges, the salon ends after three turns.
      expect(done.turns.map((t) => t.repetition)).toEqual([0, 1, 1]);
      expect(done.endedEarly).toBe('the last 2 turns mostly repeated what had already been said');
      const requests = w.models.requests;
      expect(requests).toHaveLength(3);
      expect(lastUser(requests[0]!)).not.toContain(NUDGE);
      expect(lastUser(requests[1]!)).not.toContain(NUDGE);
      expect(lastUser(requests[2]!)).toContain(NUDGE);
      expect(lastUser(requests[2]!)).toContain('Bring a genuinely new angle, challenge something GLM 4.7 said, or move towards a close.');

      const notice = w.discord.messages(threadId).find((m) => m.content.startsWith('The salon has finished'));
      expect(notice!.content).toContain('It ended early: the last 2 turns mostly repeated what had already been said.');
      const { file } = await closeAndGetTranscript(w, threadId);
      expect(file.text).toContain('*The salon ended early, after 1 of 5 rounds: the last 2 turns mostly repeated what had already been said.*');
    });

    it('clears the nudge after a fresh turn, and honours repetition.maxNudges from the config', async () => {
      const w = await open({ rounds: 5, configure: (config) => void (config.salon.repetition = { threshold: 0.8, maxNudges: 3 }) });
      const texts = [LOOP, LOOP, FRESH, LOOP, LOOP, LOOP, FRESH];
      w.models.setScript((req) => ({ text: texts[req.index] ?? FRESH }));
      const threadId = await startSalon(w);
      const done = await finished(w, threadId);
      expect(done.turns.map((t) => t.repetition! >= 0.8)).toEqual([false, true, false, true, true, true]);
      const nudged = w.models.requests.map((r) => lastUser(r).includes(NUDGE));
      expect(nudged).toEqual([false, false, true, false, true, true]);
      expect(done.endedEarly).toBe('the last 3 turns mostly repeated what had already been said');
      expect(w.discord.messages(threadId).some((m) => m.content.includes('finished after 3 rounds. It ended early'))).toBe(true);
    });

    it('leaves a salon of distinct turns alone', async () => {
      const w = await open({ rounds: 2 });
      const threadId = await startSalon(w);
      const done = await finished(w, threadId);
      expect(done.turns).toHaveLength(4);
      expect(done.endedEarly).toBeUndefined();
      expect(w.models.requests.some((r) => lastUser(r).includes(NUDGE))).toBe(false);
    });
  });

  // ------------------------------------------------------------------ access

  describe('access', () => {
    const OTHER_CHANNEL = '100000000000000001';

    async function startAs(
      w: World,
      user: Member,
      topic = `A salon by ${user.user.username}`,
    ): Promise<{ ok: true; threadId: string } | { ok: false; content: string }> {
      const reply = await command(w.discord, user, undefined, 'start', { topic }).response(10_000);
      const id = /<#(\d+)>/.exec(reply.content)?.[1];
      if (!reply.ephemeral && id && reply.content.includes('has begun')) return { ok: true, threadId: id };
      expect(reply.ephemeral).toBe(true);
      return { ok: false, content: reply.content };
    }

    async function mustStart(w: World, user: Member): Promise<string> {
      const result = await startAs(w, user);
      if (!result.ok) throw new Error(`start by ${user.user.username} refused: ${result.content}`);
      return result.threadId;
    }

    async function mustBeRefused(w: World, user: Member, limit: string): Promise<string> {
      const threads = w.discord.threads().length;
      const result = await startAs(w, user);
      expect(result.ok).toBe(false);
      const content = (result as { content: string }).content;
      expect(content).toContain(`(${limit})`);
      expect(w.discord.threads().length).toBe(threads);
      return content;
    }

    async function restart(w: World): Promise<void> {
      await w.bot.stop();
      await w.restart();
    }

    it('access.channels: refuses a start or a fork elsewhere, naming the limit; a listed channel works', async () => {
      const w = await open({ rounds: 2, turnDelaySeconds: 3600, configure: (config) => void (config.access.channels = [OTHER_CHANNEL]) });
      const refusal = await mustBeRefused(w, w.ada, 'access.channels');
      expect(refusal).toContain(`<#${OTHER_CHANNEL}>`);
      // Manage Threads does not get around it.
      await mustBeRefused(w, w.mod, 'access.channels');
      expect(w.models.requests).toHaveLength(0);

      w.config.access.channels = [w.discord.channelId];
      await restart(w);
      const threadId = await mustStart(w, w.ada);
      await w.models.waitForRequests(1);

      w.config.access.channels = [OTHER_CHANNEL];
      await restart(w);
      const threads = w.discord.threads().length;
      const fork = await command(w.discord, w.bob, threadId, 'fork').response(10_000);
      expect(fork.ephemeral).toBe(true);
      expect(fork.content).toContain('(access.channels)');
      expect(w.discord.threads().length).toBe(threads);
    });

    it('access.startRoles: refuses a member without one of the roles, naming the limit; a member with it may start', async () => {
      const w = await open({ rounds: 1, turnDelaySeconds: 3600 });
      const carol = w.discord.addMember({ username: 'carol', globalName: 'Carol' });
      w.config.access.startRoles = [carol.roleId];
      await restart(w);
      const refusal = await mustBeRefused(w, w.ada, 'access.startRoles');
      expect(refusal).toContain(`<@&${carol.roleId}>`);
      await mustStart(w, carol);
    });

    it('access.maxActivePerGuild: counts running and paused salons, holds moderators and the owner to it, also for fork, and after a restart', async () => {
      const w = await open({ rounds: 2, turnDelaySeconds: 3600, configure: (config) => void (config.access.maxActivePerGuild = 2) });
      const owner = w.discord.addMember({ username: 'owner', globalName: 'Owner', owner: true });
      const adas = await mustStart(w, w.ada);
      await mustStart(w, w.bob);
      const refusal = await mustBeRefused(w, w.mod, 'access.maxActivePerGuild');
      expect(refusal).toContain('This server already has 2 salons running or paused, the most it allows');
      await mustBeRefused(w, owner, 'access.maxActivePerGuild');
      const fork = await command(w.discord, w.mod, adas, 'fork').response(10_000);
      expect(fork.ephemeral).toBe(true);
      expect(fork.content).toContain('(access.maxActivePerGuild)');

      // A paused salon still counts.
      await command(w.discord, w.ada, adas, 'pause').response();
      await mustBeRefused(w, owner, 'access.maxActivePerGuild');

      await restart(w);
      await mustBeRefused(w, w.mod, 'access.maxActivePerGuild');
      await mustBeRefused(w, owner, 'access.maxActivePerGuild');

      // Closing one frees a place.
      await command(w.discord, w.ada, adas, 'close').response(10_000);
      await whenSalon(w.bot.engine, adas, (s) => s.status === 'closed' && s.outbox.length === 0, 10_000);
      await mustStart(w, owner);
      await mustBeRefused(w, w.mod, 'access.maxActivePerGuild');
    });

    it('access.maxActivePerUser: one each, moderators and the owner included, also for fork, and after a restart', async () => {
      const w = await open({ rounds: 2, turnDelaySeconds: 3600, configure: (config) => void (config.access.maxActivePerUser = 1) });
      const owner = w.discord.addMember({ username: 'owner', globalName: 'Owner', owner: true });
      expect(w.mod.permissions & MANAGE_THREADS).toBe(MANAGE_THREADS);
      const adas = await mustStart(w, w.ada);
      const refusal = await mustBeRefused(w, w.ada, 'access.maxActivePerUser');
      expect(refusal).toContain('the most one person may have at once');
      await mustStart(w, w.mod);
      await mustBeRefused(w, w.mod, 'access.maxActivePerUser');
      await mustStart(w, owner);
      await mustBeRefused(w, owner, 'access.maxActivePerUser');

      // Ada may not fork her way past the cap; Bob, who has none, may fork her salon.
      const threads = w.discord.threads().length;
      const adaFork = await command(w.discord, w.ada, adas, 'fork').response(10_000);
      expect(adaFork.ephemeral).toBe(true);
      expect(adaFork.content).toContain('(access.maxActivePerUser)');
      expect(w.discord.threads().length).toBe(threads);
      const bobFork = await command(w.discord, w.bob, adas, 'fork').response(10_000);
      expect(bobFork.ephemeral).toBe(false);
      expect(bobFork.content).toContain('Forked after round');
      await mustBeRefused(w, w.bob, 'access.maxActivePerUser');

      await restart(w);
      for (const member of [w.ada, w.bob, w.mod, owner]) await mustBeRefused(w, member, 'access.maxActivePerUser');

      await command(w.discord, w.ada, adas, 'close').response(10_000);
      await whenSalon(w.bot.engine, adas, (s) => s.status === 'closed' && s.outbox.length === 0, 10_000);
      await mustStart(w, w.ada);
    });

    it('access.maxActivePerUser: a finished salon no longer counts', async () => {
      const w = await open({ rounds: 1, configure: (config) => void (config.access.maxActivePerUser = 1) });
      const first = await mustStart(w, w.ada);
      await finished(w, first);
      await mustStart(w, w.ada);
    });

    it('access.maxActivePerUser: two starts at once cannot both slip under the cap', async () => {
      const w = await open({ rounds: 2, turnDelaySeconds: 3600, configure: (config) => void (config.access.maxActivePerUser = 1) });
      const a = command(w.discord, w.ada, undefined, 'start', { topic: 'First at once' });
      const b = command(w.discord, w.ada, undefined, 'start', { topic: 'Second at once' });
      type Outcome = { ok: boolean; content: string; ephemeral: boolean };
      const outcome = (h: InteractionHandle): Promise<Outcome> =>
        w.discord.waitFor(
          () => {
            const followup = h.record.followups[0];
            if (followup) return { ok: false, content: followup.content, ephemeral: (followup.flags & 64) !== 0 };
            const current = h.current();
            if (current && h.callbackType === 4) return { ok: false, content: current.content, ephemeral: current.ephemeral };
            if (current && current.content.includes('has begun')) return { ok: true, content: current.content, ephemeral: current.ephemeral };
            return undefined;
          },
          { timeoutMs: 10_000, description: 'an answer to each start' },
        );
      const results = await Promise.all([outcome(a), outcome(b)]);
      expect(results.filter((r) => r.ok)).toHaveLength(1);
      const refused = results.find((r) => !r.ok)!;
      expect(refused.ephemeral).toBe(true);
      expect(refused.content).toContain('(access.maxActivePerUser)');
      expect(await w.bot.engine.activeSalons()).toHaveLength(1);
      // A thread made for the refused start is deleted again.
      await w.discord.waitFor(() => w.discord.threads().filter((t) => !t.deleted).length === 1, { timeoutMs: 10_000, description: 'one live thread' });
    });
  });
});
