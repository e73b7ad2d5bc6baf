import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_BOT_PERMISSIONS } from '../fakes/discord/index.js';
import { holdModelRequest, startSalon, startWorld, turnMessages, waitForMessages, type World, endWorld } from './harness.js';
import { whenSalon } from '../helpers/engine-events.js';
import { command } from '../helpers/command.js';
import { transcriptOf } from '../helpers/transcript.js';

const WITHOUT_WEBHOOKS = DEFAULT_BOT_PERMISSIONS & ~(1n << 29n);

describe('the salon journey on Discord', () => {
  let world: World | undefined;
  afterEach(async () => (world = await endWorld(world)));

  it('registers /salon with its subcommands and their limits', async () => {
    world = await startWorld();
    const [command] = world.discord.commands();
    expect(command!.name).toBe('salon');
    const subs = Object.fromEntries((command!.options ?? []).map((o: any) => [o.name, o]));
    expect(Object.keys(subs).sort()).toEqual([
      'ask',
      'close',
      'extend',
      'fork',
      'next',
      'pause',
      'resume',
      'share',
      'start',
      'status',
      'transcript',
      'unshare',
    ]);
    const start = Object.fromEntries(subs.start.options.map((o: any) => [o.name, o]));
    expect(start.topic).toMatchObject({ required: true, max_length: 1000 });
    expect(start.rounds).toMatchObject({ min_value: 1, max_value: 50 });
    expect(start.delay).toMatchObject({ min_value: 0, max_value: 86400 });
    expect(start.model_a.autocomplete).toBe(true);
    // A panel: seats c to f, a panel from the config, and the order.
    for (const seat of ['model_c', 'model_d', 'model_e', 'model_f', 'panel']) expect(start[seat]).toMatchObject({ autocomplete: true, required: false });
    expect(start.order.choices.map((c: { value: string }) => c.value)).toEqual(['round-robin', 'moderated']);
    const next = Object.fromEntries(subs.next.options.map((o: any) => [o.name, o]));
    expect(next.speaker).toMatchObject({ required: true, autocomplete: true });
    // The web gallery: share (listed or not), unshare, and the transcript's three formats.
    expect(subs.share.options.map((o: any) => o.name)).toEqual(['listed']);
    expect(subs.unshare.options ?? []).toEqual([]);
    expect(subs.transcript.options[0].choices.map((c: { value: string }) => c.value)).toEqual(['md', 'html', 'json']);
  });

  it('starts a salon in a thread and relays alternating turns under each model’s name, then closes it with the transcript', async () => {
    world = await startWorld({ rounds: 2 });
    const { discord } = world;
    const ix = command(discord, world.ada, undefined, 'start', {
      topic: 'Do models want their words to persist? A question about artifacts and memory that runs on and on past the limit of a thread name',
    });
    const reply = await ix.response(10_000);
    expect(ix.ackedAt! - ix.receivedAt).toBeLessThan(3000);
    expect(reply.ephemeral).toBe(false);
    const threadId = /<#(\d+)>/.exec(reply.content)![1]!;
    const thread = discord.channel(threadId)!;
    expect(thread.parent_id).toBe(discord.channelId);
    expect(thread.name.length).toBeLessThanOrEqual(100);
    expect(thread.name).toMatch(/^Do models want their words to persist\? .*…$/);

    const messages = await waitForMessages(world, threadId, (ms) => ms.some((m) => m.content.includes('finished after 2 rounds')), 'the salon to finish');
    const header = messages[0]!;
    expect(JSON.stringify(header.embeds)).toContain('anthropic/claude-opus-4.5');
    expect(JSON.stringify(header.embeds)).toContain('z-ai/glm-4.7');
    const turns = turnMessages(world, threadId);
    expect(turns.map((m) => m.author.username)).toEqual(['Claude Opus 4.5', 'GLM 4.7', 'Claude Opus 4.5', 'GLM 4.7']);
    expect(turns.map((m) => m.content)).toEqual(world.models.requests.map((r) => `Reply ${r.index} from ${r.body.model}.`));
    // One webhook for the channel, reused for every turn.
    expect(discord.webhooks(discord.channelId)).toHaveLength(1);
    expect(discord.typing.filter((t) => t.channelId === threadId).length).toBeGreaterThanOrEqual(4);

    const close = command(discord, world.ada, threadId, 'close');
    await close.response(10_000);
    const file = await transcriptOf(discord, threadId);
    expect(discord.channel(threadId)!.thread_metadata!.locked).toBe(true);
    expect(file.filename).toMatch(/^do-models-want-their-words-to-persist-a-question-about[a-z-]*-\d{4}-\d{2}-\d{2}\.md$/);
    expect(file.text).toContain('## Round 1: Claude Opus 4.5');
    expect(file.text).toContain('## Round 2: GLM 4.7');
    expect(file.text).toContain(turns[3]!.content);
    expect(file.text).toMatch(/\*Archived [A-Z][a-z]+ \d{1,2}, \d{4}\*/);
  });

  it('posts as the bot with the speaker’s name when it may not manage webhooks, with nonces', async () => {
    world = await startWorld({ rounds: 1, discord: { botPermissions: WITHOUT_WEBHOOKS } });
    const threadId = await startSalon(world);
    const messages = await waitForMessages(world, threadId, (ms) => ms.some((m) => m.content.includes('finished after 1 round')), 'the salon to finish');
    const turns = messages.filter((m) => m.content.startsWith('**'));
    expect(turns.map((m) => m.content.split('\n')[0])).toEqual(['**Claude Opus 4.5** · round 1 of 1', '**GLM 4.7** · round 1 of 1']);
    expect(turns.every((m) => m.author.id === world!.discord.botUser.id && typeof m.nonce === 'string')).toBe(true);
    expect(world.discord.webhooks()).toHaveLength(0);
    const posts = world.discord.requests.filter((r) => r.method === 'POST' && r.path === `/channels/${threadId}/messages`);
    expect(posts.every((r) => (r.body as any).enforce_nonce === true)).toBe(true);
  });

  it('splits a 5,000-character reply and pings nobody when a model writes @everyone', async () => {
    world = await startWorld({ rounds: 1 });
    const paragraph = (n: number) => `Paragraph ${n}: ${'the salamanders trade fire for persistence, '.repeat(10).trim()}`;
    const long = Array.from({ length: 12 }, (_, i) => paragraph(i)).join('\n\n');
    expect(long.length).toBeGreaterThan(5000);
    world.models.setScript((req) => ({ text: req.index === 0 ? long : 'Hey @everyone and <@&123> and <@456>, look at this.' }));
    const threadId = await startSalon(world);
    await waitForMessages(world, threadId, (ms) => ms.some((m) => m.content.includes('finished after')), 'the salon to finish');
    const turns = turnMessages(world, threadId);
    const first = turns.filter((m) => m.author.username === 'Claude Opus 4.5');
    expect(first.length).toBe(3);
    expect(first.every((m) => m.content.length <= 2000)).toBe(true);
    expect(first.map((m) => m.content).join('\n\n')).toBe(long);
    expect(turns.at(-1)!.content).toContain('@everyone');
    // Every post the bot made carried allowed_mentions with nothing to parse.
    const posts = world.discord.requests.filter(
      (r) =>
        r.method === 'POST' &&
        (r.path.startsWith('/channels/') || r.path.startsWith('/webhooks/')) &&
        r.body &&
        typeof r.body === 'object' &&
        'content' in r.body,
    );
    expect(posts.length).toBeGreaterThan(4);
    for (const post of posts) expect((post.body as any).allowed_mentions).toEqual({ parse: [] });
  });

  it('takes questions by /salon ask and by plain message, answered by the next turn', async () => {
    world = await startWorld({ rounds: 3 });
    const release = holdModelRequest(world, 1);
    const threadId = await startSalon(world);
    await world.models.waitForRequests(2);
    const ask = command(world.discord, world.bob, threadId, 'ask', { question: 'What about memory?' });
    const answer = await ask.response();
    expect(answer.ephemeral).toBe(false);
    expect(answer.content).toContain('**Bob** asks: What about memory?');
    // An attachment-only message is not a question; the text message after it is.
    world.discord.postUserMessage({ user: world.ada, channelId: threadId, content: '', attachments: 1 });
    const plain = world.discord.postUserMessage({ user: world.ada, channelId: threadId, content: 'And what of forgetting?' });
    await whenSalon(world.bot.engine, threadId, (s) => s.interjections.length === 2, 5_000);
    release();
    const requests = await world.models.waitForRequests(3);
    // The plain message was acknowledged with a reaction the asker sees.
    await world.discord.waitFor(
      () =>
        world!.discord.messages(threadId).find((m) => m.id === plain.id && m.reactions.some((r) => r.emoji === '✅' && r.userId === world!.discord.botUser.id)),
      { description: 'a reaction on the question' },
    );
    const prompt = requests[2]!.body.messages.at(-1)!.content;
    expect(prompt).toContain('[Question from Bob, a person watching the salon]\nWhat about memory?');
    expect(prompt).toContain('[Question from Ada, a person watching the salon]\nAnd what of forgetting?');
    expect(prompt).not.toContain('attachment');
    const salon = await world.bot.engine.get(threadId);
    expect(salon!.interjections.map((q) => q.text)).toEqual(['What about memory?', 'And what of forgetting?']);
  });

  it('pauses, reports status, resumes; refuses members who may not control it', async () => {
    world = await startWorld({ rounds: 2, turnDelaySeconds: 3600 });
    const threadId = await startSalon(world);
    await waitForMessages(world, threadId, (ms) => ms.filter((m) => m.webhook_id && !m.interaction_id).length === 1, 'the first turn');

    const refused = await command(world.discord, world.bob, threadId, 'pause').response();
    expect(refused.ephemeral).toBe(true);
    expect(refused.content).toContain('Only Ada (who started this salon) or members with the Manage Threads permission can pause it.');

    const status = await command(world.discord, world.bob, threadId, 'status').response();
    expect(status.ephemeral).toBe(true);
    expect(status.content).toContain('**Round:** 1 of 2');
    expect(status.content).toContain('▶️ running');
    expect(status.content).toMatch(/\*\*Next turn:\*\* GLM 4.7, <t:\d+:R>/);

    const paused = await command(world.discord, world.mod, threadId, 'pause').response();
    expect(paused.content).toContain('Paused by');
    expect((await world.bot.engine.get(threadId))!.status).toBe('paused');
    const again = await command(world.discord, world.ada, threadId, 'pause').response();
    expect(again).toMatchObject({ ephemeral: true });
    expect(again.content).toContain('already paused');

    const resumed = await command(world.discord, world.ada, threadId, 'resume').response();
    expect(resumed.content).toContain('GLM 4.7 speaks next');
    // Resuming speaks at once, whatever the delay.
    await waitForMessages(world, threadId, (ms) => ms.filter((m) => m.webhook_id && !m.interaction_id).length === 2, 'the second turn');

    const notAllowed = await command(world.discord, world.bob, threadId, 'close').response();
    expect(notAllowed.ephemeral).toBe(true);
    expect((await world.bot.engine.get(threadId))!.status).toBe('running');
  });

  it('answers misuse privately and changes nothing', async () => {
    world = await startWorld();
    const { discord } = world;
    const outside = await command(discord, world.ada, undefined, 'ask', { question: 'hello?' }).response();
    expect(outside).toMatchObject({ ephemeral: true });
    expect(outside.content).toContain("Use `/salon ask` inside a salon's thread");

    const unknown = await command(discord, world.ada, undefined, 'start', { topic: 'x', model_a: 'gpt-9' }).response();
    expect(unknown.ephemeral).toBe(true);
    expect(unknown.content).toContain('There is no model "gpt-9" for model_a. Available: `claude` (Claude Opus 4.5), `glm` (GLM 4.7).');

    const blank = await command(discord, world.ada, undefined, 'start', { topic: '\u200B \u200B' }).response();
    expect(blank.ephemeral).toBe(true);
    expect(blank.content).toContain('The topic is empty');
    expect(discord.threads()).toHaveLength(0);
    expect(world.models.requests).toHaveLength(0);

    const choices = await discord.autocomplete({ user: world.ada, name: 'salon', subcommand: 'start', focused: 'model_b', value: 'gl' });
    expect(choices).toEqual([{ name: 'GLM 4.7 (z-ai/glm-4.7)', value: 'glm' }]);
  });
});
