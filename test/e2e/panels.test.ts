/**
 * Panels end to end: three to six seats, round-robin and moderated order, a person choosing the next speaker, and
 * questions aimed at a third seat; judged by what the thread shows and what the models were sent.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Config, ModelConfig } from '../../src/config/index.js';
import type { SalonRecord } from '../../src/domain/salon.js';
import { openKeyv } from '../../src/store/keyv-factory.js';
import { responseSchemaOf, type ChatRequest, type Reply } from '../fakes/openai-server.js';
import { command } from '../helpers/command.js';
import { whenSalon } from '../helpers/engine-events.js';
import { transcriptOf } from '../helpers/transcript.js';
import { endWorld, startSalon, startWorld, turnMessages, type World, type WorldOptions } from './harness.js';

/** Adds models beside the test config's two, a panel of all of them and, if asked, a moderator. */
function panelConfig(options: { order?: 'moderated'; moderatorTimeoutSeconds?: number; structuredOutput?: boolean } = {}) {
  return (config: Config) => {
    const base = config.models.glm!;
    const add = (key: string, name: string, model: string, extra: Partial<ModelConfig> = {}) => {
      config.models[key] = { ...base, key, name, model, ...extra };
    };
    add('gpt', 'GPT 5', 'openai/gpt-5');
    add('gemini', 'Gemini 3', 'google/gemini-3-pro');
    add('kimi', 'Kimi K2', 'moonshotai/kimi-k2');
    add('mod', 'Moderator Mini', 'openai/gpt-5-mini', {
      structuredOutput: options.structuredOutput ?? true,
      pricing: { prompt: 1, completion: 2 },
    });
    config.panels = { four: ['claude', 'glm', 'gpt', 'gemini'], six: ['claude', 'glm', 'gpt', 'gemini', 'kimi', 'glm'] };
    if (options.order) {
      config.salon.order = options.order;
      config.salon.moderator = 'mod';
    }
    config.salon.moderatorTimeoutSeconds = options.moderatorTimeoutSeconds ?? 5;
  };
}

async function panelWorld(options: WorldOptions & Parameters<typeof panelConfig>[0] = {}): Promise<World> {
  return startWorld({ ...options, configure: panelConfig(options) });
}

const isModerator = (req: ChatRequest) => responseSchemaOf(req) !== undefined || req.body.model === 'openai/gpt-5-mini';
const speakers = (salon: SalonRecord) => salon.turns.map((t) => t.name);

/** What the thread shows as turns: the speaker's name of each turn post, in order. */
function shownSpeakers(world: World, threadId: string): string[] {
  return turnMessages(world, threadId).map((m) => m.author.username);
}

describe('panels', () => {
  let world: World | undefined;
  afterEach(async () => (world = await endWorld(world)));

  it('runs three seats round-robin: every seat once a round, in seat order, each told who else is in the room', async () => {
    world = await panelWorld({ rounds: 2 });
    const threadId = await startSalon(world, { model_c: 'gpt' });
    const done = await whenSalon(world.bot.engine, threadId, (s) => s.status === 'finished' && s.outbox.length === 0, 15_000);
    const order = ['Claude Opus 4.5', 'GLM 4.7', 'GPT 5'];
    expect(speakers(done)).toEqual([...order, ...order]);
    expect(shownSpeakers(world, threadId)).toEqual([...order, ...order]);
    const header = world.discord.messages(threadId)[0]!;
    expect(JSON.stringify(header.embeds)).toContain('GPT 5');

    const requests = world.models.requests;
    // GPT's first turn (request 2): told every participant by name and the order; sees both others' words labelled.
    const gpt = requests[2]!;
    expect(gpt.body.model).toBe('openai/gpt-5');
    const system = gpt.body.messages[0]!.content;
    expect(system).toContain('You are GPT 5, one of 3 language models');
    expect(system).toContain('The other participants are Claude Opus 4.5 and GLM 4.7');
    expect(system).toContain('in this order: Claude Opus 4.5, then GLM 4.7, then GPT 5');
    const history = gpt.body.messages.slice(1).map((m) => m.content);
    expect(history.join('\n')).toContain(`Claude Opus 4.5:\n${done.turns[0]!.text}`);
    expect(history.join('\n')).toContain(`GLM 4.7:\n${done.turns[1]!.text}`);
    // Prompt caching stays effective per seat: each seat's second request starts with its first one's messages.
    for (const seat of [0, 1, 2]) {
      const [first, second] = requests.filter((r) => r.body.model === done.seats[seat]!.model);
      expect(second!.body.messages.slice(0, first!.body.messages.length - 1)).toEqual(first!.body.messages.slice(0, -1));
    }

    await command(world.discord, world.ada, threadId, 'close').response();
    const { text: transcript } = await transcriptOf(world.discord, threadId);
    expect(transcript).toContain('# Salon: Claude Opus 4.5, GLM 4.7 and GPT 5');
    expect(transcript).toContain('| GPT 5 | `openai/gpt-5` | 2 |');
    expect(transcript).toContain('## Round 2: GPT 5');
  });

  it('shows only what each model says for itself: a reply writing another seat’s lines is cut there, echoes of names stripped', async () => {
    world = await panelWorld({ rounds: 1, stream: true });
    world.models.setScript((req) =>
      req.index === 0 ? { chunks: ['GLM 4.7: Memory is a promise.', '\n\nGLM 4.7: I agree entirely!', '\nGPT 5: So do I.'] } : { text: `Turn ${req.index}.` },
    );
    const threadId = await startSalon(world, { model_c: 'gpt' });
    const done = await whenSalon(world.bot.engine, threadId, (s) => s.status === 'finished' && s.outbox.length === 0, 15_000);
    expect(done.turns[0]!.text).toBe('Memory is a promise.');
    const first = turnMessages(world, threadId)[0]!;
    expect(first.content).toContain('Memory is a promise.');
    expect(first.content).not.toContain('agree entirely');
    expect(first.content).not.toContain('So do I');
  });

  it('runs a six-seat panel from the config, two seats of one model told apart', async () => {
    world = await panelWorld({ rounds: 1 });
    const threadId = await startSalon(world, { panel: 'six' });
    const done = await whenSalon(world.bot.engine, threadId, (s) => s.status === 'finished' && s.outbox.length === 0, 15_000);
    const names = ['Claude Opus 4.5', 'GLM 4.7', 'GPT 5', 'Gemini 3', 'Kimi K2', 'GLM 4.7 (2)'];
    expect(done.seats.map((p) => p.name)).toEqual(names);
    expect(shownSpeakers(world, threadId)).toEqual(names);
    // The second GLM is told it is the second, and sees the first one's words as another participant's.
    const last = world.models.requests[5]!;
    expect(last.body.messages[0]!.content).toContain('You are GLM 4.7 (2), one of 6 language models');
    expect(last.body.messages.slice(1).some((m) => m.role === 'user' && m.content.includes(`GLM 4.7:\n${done.turns[1]!.text}`))).toBe(true);
    expect(last.body.messages.filter((m) => m.role === 'assistant')).toEqual([]);
  });

  it('refuses a panel with seat options, an unknown panel and a gap in the seats, privately', async () => {
    world = await panelWorld();
    const withModels = await command(world.discord, world.ada, undefined, 'start', { topic: 't', panel: 'four', model_c: 'gpt' }).response();
    expect(withModels.ephemeral).toBe(true);
    expect(withModels.content).toContain('`panel` chooses every seat; leave `model_c` empty');
    const unknown = await command(world.discord, world.ada, undefined, 'start', { topic: 't', panel: 'nine' }).response();
    expect(unknown.content).toContain('There is no panel "nine". Available: `four`, `six`.');
    const gap = await command(world.discord, world.ada, undefined, 'start', { topic: 't', model_d: 'gpt' }).response();
    expect(gap.content).toContain('give `model_c` before `model_d`');
    const noModerator = await command(world.discord, world.ada, undefined, 'start', { topic: 't', order: 'moderated' }).response();
    expect(noModerator.content).toContain('config names none (`salon.moderator`)');
    expect(await world.bot.engine.activeSalons()).toEqual([]);
  });

  it('lets the moderator pick, falls back on every bad answer without stalling, and counts its cost apart', async () => {
    world = await panelWorld({ rounds: 3, order: 'moderated', moderatorTimeoutSeconds: 0.5 });
    // One scripted answer per pick that needs the moderator (the last seat of a round needs none).
    const answers: ((req: ChatRequest) => Reply)[] = [
      () => ({ json: { speaker: 'GPT 5', reason: 'GPT has not been heard yet' } }), // valid
      () => ({ json: { speaker: 'GPT 5', reason: 'again' } }), // GPT has spoken this round: fallback
      () => ({ text: 'GLM 4.7 and Claude Opus 4.5 both' }), // two names: fallback
      () => ({ text: '}}} not json, no name' }), // garbage: fallback
      () => ({ text: '' }), // empty: fallback
      () => ({ status: 500, error: 'moderator down' }), // a 500: fallback
    ];
    let picks = 0;
    world.models.setScript((req) => {
      if (!isModerator(req)) return { text: `Turn ${req.index}.` };
      const answer = answers[picks++];
      return answer ? answer(req) : { hang: true }; // then hangs past the timeout: fallback
    });
    const threadId = await startSalon(world, { panel: 'four' });
    const done = await whenSalon(world.bot.engine, threadId, (s) => s.status === 'finished' && s.outbox.length === 0, 30_000);

    // Every round is every seat once.
    for (let round = 0; round < 3; round++) {
      expect(
        done.turns
          .slice(round * 4, round * 4 + 4)
          .map((t) => t.seat)
          .sort(),
      ).toEqual([0, 1, 2, 3]);
    }
    // Round 1: GPT (moderator); then GPT again is refused → least recent eligible (never spoken first, seat order):
    // Claude; two names → GLM; then Gemini is the last left. Round 2 falls back to whoever spoke least recently.
    expect(speakers(done).slice(0, 4)).toEqual(['GPT 5', 'Claude Opus 4.5', 'GLM 4.7', 'Gemini 3']);
    expect(shownSpeakers(world, threadId)).toEqual(speakers(done));
    // The moderator was asked with structured output: the names that may speak, and only those.
    const asked = world.models.requests.filter(isModerator);
    expect(responseSchemaOf(asked[0]!)).toMatchObject({
      properties: { speaker: { enum: ['Claude Opus 4.5', 'GLM 4.7', 'GPT 5', 'Gemini 3'] } },
      required: ['speaker', 'reason'],
    });
    expect((responseSchemaOf(asked[1]!) as { properties: { speaker: { enum: string[] } } }).properties.speaker.enum).toEqual([
      'Claude Opus 4.5',
      'GLM 4.7',
      'Gemini 3',
    ]);
    // Three picks a round need the moderator (the fourth seat is the last left); each asked once.
    expect(done.moderation?.count).toBe(9);
    expect(asked.length).toBe(9);

    const status = await command(world.discord, world.ada, threadId, 'status').response();
    expect(status.content).toMatch(/- Moderator \(Moderator Mini, 9 picks\): .* tokens · \$/);
    await command(world.discord, world.ada, threadId, 'close').response();
    const { text: transcript } = await transcriptOf(world.discord, threadId);
    expect(transcript).toContain('| *Moderator:* Moderator Mini | `openai/gpt-5-mini` | 9 picks |');
    expect(transcript).toContain('in the order a moderator (Moderator Mini, `openai/gpt-5-mini`) chose');
  });

  it('reads a plain answer from a moderator without structured output', async () => {
    world = await panelWorld({ rounds: 1, order: 'moderated', structuredOutput: false });
    world.models.setScript((req) => (isModerator(req) ? { text: 'Gemini 3\nit has been quiet' } : { text: 'A turn.' }));
    const threadId = await startSalon(world, { panel: 'four' });
    const done = await whenSalon(world.bot.engine, threadId, (s) => s.status === 'finished', 15_000);
    expect(done.turns[0]!.name).toBe('Gemini 3');
    const asked = world.models.requests.filter(isModerator);
    expect(asked[0]!.body.response_format).toBeUndefined();
  });

  it('lets the starter choose the next speaker once, and refuses a seat that has spoken, saying why', async () => {
    world = await panelWorld({ rounds: 2, turnDelaySeconds: 3600 });
    const threadId = await startSalon(world, { panel: 'four' });
    await whenSalon(world.bot.engine, threadId, (s) => s.turns.length === 1 && s.outbox.length === 0, 10_000);

    const choices = await world.discord.autocomplete({
      user: world.ada,
      channelId: threadId,
      name: 'salon',
      subcommand: 'next',
      focused: 'speaker',
      value: 'ge',
    });
    expect(choices).toEqual([{ name: 'Gemini 3', value: 'D' }]);
    const spoke = await command(world.discord, world.ada, threadId, 'next', { speaker: 'Claude Opus 4.5' }).response();
    expect(spoke.ephemeral).toBe(true);
    expect(spoke.content).toContain('Claude Opus 4.5 has already spoken in round 1');
    const notAllowed = await command(world.discord, world.bob, threadId, 'next', { speaker: 'D' }).response();
    expect(notAllowed.ephemeral).toBe(true);
    expect(notAllowed.content).toContain('Only Ada');
    const chosen = await command(world.discord, world.ada, threadId, 'next', { speaker: 'D' }).response();
    expect(chosen.ephemeral).toBe(false);
    expect(chosen.content).toContain('chose **Gemini 3** to speak next (round 1)');
    const status = await command(world.discord, world.bob, threadId, 'status').response();
    expect(status.content).toContain('**Next turn:** Gemini 3 (chosen by Ada)');

    // Skip the hour's wait: a resumed salon speaks at once.
    await world.bot.engine.pause(threadId);
    await world.bot.engine.resume(threadId);
    const after = await whenSalon(world.bot.engine, threadId, (s) => s.turns.length === 2, 10_000);
    expect(after.turns[1]!.name).toBe('Gemini 3');
    await world.bot.engine.pause(threadId);
    await world.bot.engine.resume(threadId);
    // Once: the order carries on with the seats that have not spoken, in seat order.
    const third = await whenSalon(world.bot.engine, threadId, (s) => s.turns.length === 3, 10_000);
    expect(third.turns[2]!.name).toBe('GLM 4.7');
  });

  it('puts a question to the third seat by command and by name, answered at its turn', async () => {
    world = await panelWorld({ rounds: 1, turnDelaySeconds: 3600 });
    const threadId = await startSalon(world, { model_c: 'gpt' });
    await whenSalon(world.bot.engine, threadId, (s) => s.turns.length === 1 && s.outbox.length === 0, 10_000);
    const choices = await world.discord.autocomplete({
      user: world.bob,
      channelId: threadId,
      name: 'salon',
      subcommand: 'ask',
      focused: 'to',
      value: '',
      options: { question: 'x' },
    });
    expect(choices.map((c) => c.name)).toEqual(['Claude Opus 4.5', 'GLM 4.7', 'GPT 5']);
    const reply = await command(world.discord, world.bob, threadId, 'ask', { question: 'What would you forget?', to: 'C' }).response();
    expect(reply.content).toContain('(for GPT 5)');
    expect(reply.content).toContain('GPT 5 will answer it in round 1');
    world.discord.postUserMessage({ user: world.ada, channelId: threadId, content: 'gpt: and what would you keep?' });
    await whenSalon(world.bot.engine, threadId, (s) => s.interjections.length === 2, 5_000);
    await world.bot.engine.pause(threadId);
    await world.bot.engine.resume(threadId);
    await whenSalon(world.bot.engine, threadId, (s) => s.turns.length === 2, 10_000);
    await world.bot.engine.pause(threadId);
    await world.bot.engine.resume(threadId);
    const done = await whenSalon(world.bot.engine, threadId, (s) => s.turns.length === 3, 10_000);
    const glm = world.models.requests.find((r) => r.body.model === 'z-ai/glm-4.7')!;
    const gpt = world.models.requests.find((r) => r.body.model === 'openai/gpt-5')!;
    expect(JSON.stringify(glm.body.messages)).not.toContain('What would you forget?');
    const last = gpt.body.messages.at(-1)!.content;
    expect(last).toContain('[Question from Bob, a person watching the salon, for GPT 5]\nWhat would you forget?');
    expect(last).toContain('[Question from Ada, a person watching the salon, for GPT 5]\nand what would you keep?');
    expect(done.interjections.map((q) => [q.to, q.answeredBy])).toEqual([
      [2, 2],
      [2, 2],
    ]);
  });

  it('forks a panel keeping its seats, or with a panel that drops seats, and extends a panel', async () => {
    world = await panelWorld({ rounds: 1 });
    const parentId = await startSalon(world, { panel: 'four' });
    await whenSalon(world.bot.engine, parentId, (s) => s.status === 'finished' && s.outbox.length === 0, 15_000);
    const extended = await command(world.discord, world.ada, parentId, 'extend', { rounds: 1 }).response();
    expect(extended.content).toContain('the salon now has 2. Claude Opus 4.5 speaks next.');
    const parent = await whenSalon(world.bot.engine, parentId, (s) => s.status === 'finished' && s.turns.length === 8 && s.outbox.length === 0, 15_000);
    expect(speakers(parent).slice(4)).toEqual(['Claude Opus 4.5', 'GLM 4.7', 'GPT 5', 'Gemini 3']);

    // Same seats, one replaced.
    const same = await command(world.discord, world.bob, parentId, 'fork', { from_round: 1, rounds: 1, model_c: 'kimi' }).response(10_000);
    expect(same.content).toContain('**Claude Opus 4.5**, **GLM 4.7**, **Kimi K2** and **Gemini 3**');
    const sameId = /<#(\d+)>/.exec(same.content)![1]!;
    const forked = await whenSalon(world.bot.engine, sameId, (s) => s.status === 'finished' && s.outbox.length === 0, 15_000);
    expect(speakers(forked)).toEqual([...speakers(parent).slice(0, 4), 'Claude Opus 4.5', 'GLM 4.7', 'Kimi K2', 'Gemini 3']);
    expect(shownSpeakers(world, sameId)).toEqual(['Claude Opus 4.5', 'GLM 4.7', 'Kimi K2', 'Gemini 3']);

    // A two-seat panel in place of four: the carried round keeps its four speakers, the fork's rounds have two.
    world.config.panels.pair = ['gpt', 'gemini'];
    const pair = await command(world.discord, world.bob, parentId, 'fork', { from_round: 2, rounds: 1, panel: 'pair' }).response(10_000);
    const pairId = /<#(\d+)>/.exec(pair.content)![1]!;
    const small = await whenSalon(world.bot.engine, pairId, (s) => s.status === 'finished' && s.outbox.length === 0, 15_000);
    expect(small.turns.map((t) => t.round)).toEqual([1, 1, 1, 1, 2, 2, 2, 2, 3, 3]);
    expect(speakers(small).slice(8)).toEqual(['GPT 5', 'Gemini 3']);
    // GPT 5 held seat 2 in the parent and seat 0 now: its parent turns are another participant's words, labelled.
    const gpt = world.models.requests.filter((r) => r.body.model === 'openai/gpt-5').at(-1)!;
    expect(gpt.body.messages.filter((m) => m.role === 'assistant')).toEqual([]);
    expect(JSON.stringify(gpt.body.messages)).toContain(`GPT 5:\\n${parent.turns[2]!.text}`);
  });

  it('loads a two-seat salon saved before panels (schema 2) and finishes it as before', async () => {
    world = await panelWorld({ rounds: 2, turnDelaySeconds: 3600 });
    const threadId = await startSalon(world);
    await whenSalon(world.bot.engine, threadId, (s) => s.turns.length === 1 && s.outbox.length === 0, 10_000);
    await command(world.discord, world.bob, threadId, 'ask', { question: 'And you, GLM?', to: 'B' }).response();
    await world.bot.stop();

    // Write it back as the version before panels stored it: seats by letter, turns and questions by letter.
    const opened = await openKeyv(world.storeUrl);
    const head = (await opened.keyv.get(`salon:${threadId}`)) as Record<string, unknown> & { seats: unknown[] };
    const letter = (seat: unknown) => (seat === 0 ? 'A' : 'B');
    const { next: _next, ...rest } = head;
    await opened.keyv.set(`salon:${threadId}`, {
      ...rest,
      schema: 2,
      seats: { A: head.seats[0], B: head.seats[1] },
      interjections: (head.interjections as { to?: number }[]).map((q) => ({ ...q, to: letter(q.to) })),
      delaySeconds: 0,
      nextTurnAt: Date.now(),
    });
    const turn = (await opened.keyv.get(`turn:${threadId}:0`)) as { seat: unknown };
    await opened.keyv.set(`turn:${threadId}:0`, { ...turn, seat: letter(turn.seat) });
    await opened.close();

    await world.restart();
    const done = await whenSalon(world.bot.engine, threadId, (s) => s.status === 'finished' && s.outbox.length === 0, 15_000);
    expect(done.schema).toBe(3);
    expect(done.turns.map((t) => [t.seat, t.name])).toEqual([
      [0, 'Claude Opus 4.5'],
      [1, 'GLM 4.7'],
      [0, 'Claude Opus 4.5'],
      [1, 'GLM 4.7'],
    ]);
    expect(shownSpeakers(world, threadId)).toEqual(['Claude Opus 4.5', 'GLM 4.7', 'Claude Opus 4.5', 'GLM 4.7']);
    expect(done.interjections.map((q) => [q.to, q.answeredBy])).toEqual([[1, 1]]);
    // The two seats are prompted as two seats always were.
    expect(world.models.requests.at(-1)!.body.messages[0]!.content).toContain('You are GLM 4.7, one of two language models');
    await command(world.discord, world.ada, threadId, 'close').response();
    const { text } = await transcriptOf(world.discord, threadId);
    expect(text).toContain('# Salon: Claude Opus 4.5 and GLM 4.7');
    expect(text.match(/^## Round \d: /gm)).toHaveLength(4);
  });
});
