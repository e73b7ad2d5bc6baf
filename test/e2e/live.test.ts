/** Live salons: questions aimed at one speaker, the cap, the transcript any time, extend and fork. */
import { afterEach, describe, expect, it } from 'vitest';
import type { ChatRequest } from '../fakes/openai-server.js';
import { holdModelRequest, startSalon, startWorld, turnMessages, waitForMessages, type World, endWorld } from './harness.js';
import { whenSalon } from '../helpers/engine-events.js';
import { command } from '../helpers/command.js';
import { transcriptOf } from '../helpers/transcript.js';

const lastUser = (r: ChatRequest) => r.body.messages.at(-1)!.content;

describe('live salons', () => {
  let world: World | undefined;
  afterEach(async () => (world = await endWorld(world)));

  it('sends an aimed question to its seat at that seat’s turn only, by command and by plain message', async () => {
    world = await startWorld({ rounds: 3 });
    const release = holdModelRequest(world, 0);
    const threadId = await startSalon(world);
    await world.models.waitForRequests(1);
    // While Claude writes the opening, Bob asks GLM by command and Ada asks Claude by name in a plain message.
    const choices = await world.discord.autocomplete({
      user: world.bob,
      channelId: threadId,
      name: 'salon',
      subcommand: 'ask',
      focused: 'to',
      value: 'gl',
      options: { question: 'x' },
    });
    expect(choices).toEqual([{ name: 'GLM 4.7', value: 'B' }]);
    const reply = await command(world.discord, world.bob, threadId, 'ask', { question: 'Do you remember anything?', to: 'B' }).response();
    expect(reply.content).toContain('**Bob** asks (for GLM 4.7): Do you remember anything?');
    expect(reply.content).toContain('GLM 4.7 will answer it in round 1');
    world.discord.postUserMessage({ user: world.ada, channelId: threadId, content: 'claude, what would you keep?' });
    await whenSalon(world.bot.engine, threadId, (s) => s.interjections.length === 2, 5_000);
    release();

    const requests = await world.models.waitForRequests(4, 10_000);
    // Turn 1 (GLM) answers Bob's; Claude's question waits for turn 2, Claude's next.
    expect(lastUser(requests[1]!)).toContain('[Question from Bob, a person watching the salon, for GLM 4.7]\nDo you remember anything?');
    expect(lastUser(requests[1]!)).not.toContain('what would you keep?');
    expect(lastUser(requests[2]!)).toContain('[Question from Ada, a person watching the salon, for Claude Opus 4.5]\nwhat would you keep?');
    // Both keep them in context afterwards.
    expect(JSON.stringify(requests[3]!.body.messages)).toContain('Do you remember anything?');
    expect(JSON.stringify(requests[3]!.body.messages)).toContain('what would you keep?');
    const salon = await world.bot.engine.get(threadId);
    expect(salon!.interjections.map((q) => [q.to, q.answeredBy])).toEqual([
      [1, 1],
      [0, 2],
    ]);
  });

  it('caps the questions waiting at once, and says so privately', async () => {
    world = await startWorld({ rounds: 2, maxPendingQuestions: 2 });
    const release = holdModelRequest(world, 0);
    const threadId = await startSalon(world);
    await world.models.waitForRequests(1);
    for (const q of ['One?', 'Two?']) {
      const ok = await command(world.discord, world.bob, threadId, 'ask', { question: q }).response();
      expect(ok.ephemeral).toBe(false);
    }
    const refused = await command(world.discord, world.bob, threadId, 'ask', { question: 'Three?' }).response();
    expect(refused.ephemeral).toBe(true);
    expect(refused.content).toContain('2 questions are already waiting');
    release();
    expect((await world.bot.engine.get(threadId))!.interjections.map((q) => q.text)).toEqual(['One?', 'Two?']);
  });

  it('gives the transcript so far privately, at any time, changing nothing', async () => {
    world = await startWorld({ rounds: 2, turnDelaySeconds: 3600 });
    const threadId = await startSalon(world);
    await whenSalon(world.bot.engine, threadId, (s) => s.turns.length === 1 && s.outbox.length === 0, 10_000);
    const before = await world.bot.engine.get(threadId);
    const reply = await command(world.discord, world.bob, threadId, 'transcript').response();
    expect(reply.ephemeral).toBe(true);
    expect(reply.content).toContain('0 of 2 rounds, 1 turns');
    const file = reply.attachments[0]!;
    expect(file.filename).toMatch(/\.md$/);
    expect(file.text).toContain('## Round 1: Claude Opus 4.5');
    expect(file.text).not.toContain('## Round 1: GLM 4.7');
    expect(await world.bot.engine.get(threadId)).toEqual(before);
  });

  it('extends a finished salon, which carries on with the next speaker and the new total in its prompts', async () => {
    world = await startWorld({ rounds: 1 });
    const threadId = await startSalon(world);
    await waitForMessages(world, threadId, (ms) => ms.some((m) => m.content.includes('finished after 1 round')), 'the salon to finish');
    const refused = await command(world.discord, world.bob, threadId, 'extend', { rounds: 2 }).response();
    expect(refused.ephemeral).toBe(true);
    const tooMany = await command(world.discord, world.ada, threadId, 'extend', { rounds: 200 }).response();
    expect(tooMany.ephemeral).toBe(true);
    const reply = await command(world.discord, world.ada, threadId, 'extend', { rounds: 2 }).response();

    expect(reply.content).toContain('added 2 rounds: the salon now has 3. Claude Opus 4.5 speaks next.');
    await waitForMessages(world, threadId, (ms) => ms.some((m) => m.content.includes('finished after 3 rounds')), 'the extended salon to finish');
    const requests = world.models.requests;
    expect(requests).toHaveLength(6);
    expect(lastUser(requests[2]!)).toContain('[Round 2 of 3. Your turn, Claude Opus 4.5.]');
    expect(lastUser(requests[4]!)).toContain('Round 3 of 3');
    expect(lastUser(requests[5]!)).toContain('This is the final turn of the salon');
    expect(requests[2]!.body.messages[0]!.content).toContain('The salon runs for 3 rounds');
  });

  it('forks from round 2 with other models: history in the first prompt, a direction, the parent untouched', async () => {
    world = await startWorld({
      rounds: 3,
      configure: (config) => {
        config.models.echo = { ...config.models.glm!, key: 'echo', name: 'Echo 1', model: 'local/echo-1' };
      },
    });
    const parentId = await startSalon(world);
    await waitForMessages(world, parentId, (ms) => ms.some((m) => m.content.includes('finished after 3 rounds')), 'the parent to finish');
    await command(world.discord, world.ada, parentId, 'close').response();
    const parentBefore = await whenSalon(world.bot.engine, parentId, (s) => s.status === 'closed' && s.outbox.length === 0, 10_000);
    const parentMessages = world.discord.messages(parentId).length;

    const ix = command(world.discord, world.bob, parentId, 'fork', { from_round: 2, rounds: 1, model_b: 'echo', direction: 'Now argue the opposite.' });
    const reply = await ix.response(10_000);
    const forkId = /<#(\d+)>/.exec(reply.content)![1]!;
    expect(reply.content).toContain('Forked after round 2');
    await waitForMessages(world, forkId, (ms) => ms.some((m) => m.content.includes('finished after 3 rounds')), 'the fork to finish');

    // The fork's header links its parent; the carried turns were not posted again.
    const header = world.discord.messages(forkId)[0]!;
    expect(JSON.stringify(header.embeds)).toContain(`<#${parentId}>, after round 2: 4 turns carried over`);
    expect(turnMessages(world, forkId).map((m) => m.author.username)).toEqual(['Claude Opus 4.5', 'Echo 1']);
    // The fork's first prompt has the parent's first four turns as history, and the direction to answer.
    const first = world.models.requests[6]!;
    const history = JSON.stringify(first.body.messages);
    for (const turn of parentBefore.turns.slice(0, 4)) expect(history).toContain(turn.text);
    expect(history).not.toContain(parentBefore.turns[4]!.text);
    expect(lastUser(first)).toContain('[Question from Bob, a person watching the salon]\nNow argue the opposite.');
    expect(lastUser(first)).toContain('[Round 3 of 3.');
    // Echo 1 sits in GLM's seat: GLM's carried turns are labelled as GLM's, not shown as its own.
    const echo = world.models.requests[7]!;
    expect(echo.body.model).toBe('local/echo-1');
    expect(echo.body.messages.filter((m) => m.role === 'assistant')).toHaveLength(0);
    expect(JSON.stringify(echo.body.messages)).toContain(`GLM 4.7:\\n${parentBefore.turns[1]!.text}`);

    // The parent is untouched.
    const parentAfter = await world.bot.engine.get(parentId);
    expect(parentAfter).toEqual(parentBefore);
    expect(world.discord.messages(parentId).length).toBe(parentMessages + 1);
    // The fork's transcript names its parent and shows the carried turns under their own heading.
    await command(world.discord, world.bob, forkId, 'close').response();
    const file = await transcriptOf(world.discord, forkId);
    expect(file.text).toContain('Forked from the salon');
    // The archive names no Discord id: it is also what a shared page's .md export serves.
    expect(file.text).not.toContain(parentId);
    expect(file.text).toContain('## Carried over from the parent salon');
    expect(file.text.match(/^## Round \d: /gm)).toHaveLength(6);
  });
});
