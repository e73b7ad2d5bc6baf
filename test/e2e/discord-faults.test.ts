import { pauseText } from '../../src/wording/index.js';
/**
 * What Discord can do to a running salon, injected through the fake's protocol: refused intents, deleted
 * threads and webhooks, lost permissions, 5xx and 429 on posts, gateway disconnects, expired tokens.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_BOT_PERMISSIONS } from '../fakes/discord/index.js';
import { holdModelRequest, startSalon, startWorld, turnMessages, waitForMessages, type World, endWorld } from './harness.js';
import { whenSalon } from '../helpers/engine-events.js';
import { command } from '../helpers/command.js';
import { transcriptFiles } from '../helpers/transcript.js';

const SEND_IN_THREADS = 1n << 38n;

describe('Discord faults', () => {
  let world: World | undefined;
  afterEach(async () => (world = await endWorld(world)));

  const finished = (w: World, threadId: string) =>
    waitForMessages(w, threadId, (ms) => ms.some((m) => m.content.includes('finished after')), 'the salon to finish', 15_000);

  it('runs without the Message Content intent, says so once, and takes questions by /salon ask', async () => {
    world = await startWorld({ rounds: 1, turnDelaySeconds: 3600, discord: { messageContentIntentAllowed: false } });
    expect(world.bot.messageContent).toBe(false);
    expect(world.lines.filter((l) => l.includes('Message Content intent is not enabled'))).toHaveLength(1);
    const threadId = await startSalon(world);
    await whenSalon(world.bot.engine, threadId, (s) => s.turns.length === 1, 10_000);
    world.discord.postUserMessage({ user: world.bob, channelId: threadId, content: 'Can you read this?' });
    const ask = await command(world.discord, world.bob, threadId, 'ask', { question: 'And this?' }).response();
    expect(ask.content).toContain('And this?');
    const salon = await world.bot.engine.get(threadId);
    expect(salon!.interjections.map((q) => q.text)).toEqual(['And this?']);
  });

  it('closes the salon when its thread is deleted, without a retry storm', async () => {
    world = await startWorld({ rounds: 3 });
    const release = holdModelRequest(world, 1);
    const threadId = await startSalon(world);
    await world.models.waitForRequests(2);
    // Turn 0 shown and recorded as shown: what is in flight when the thread goes is turn 1, being written.
    await whenSalon(world.bot.engine, threadId, (s) => s.outbox.length === 0 && s.turns.length === 1, 10_000);
    world.discord.deleteChannel(threadId);
    release();
    // A deleted thread closes its salon: nothing can be shown there again, and it must not count as active.
    const closed = await whenSalon(world.bot.engine, threadId, (s) => s.status === 'closed', 10_000);
    expect(pauseText(closed.pausedReason!)).toBe('the thread was deleted');
    // The turn being written when the thread went is dropped.
    expect(closed.turns).toHaveLength(1);
    expect(closed.outbox).toEqual([]);
    expect((await world.bot.engine.activeSalons()).map((s) => s.id)).not.toContain(threadId);
    expect(world.lines.filter((l) => /the thread (was deleted|is gone)/.test(l))).toHaveLength(1);
    const aboutThread = (r: { path: string; query: Record<string, string> }) => r.path.split('/').includes(threadId) || r.query.thread_id === threadId;
    const requestsToThread = world.discord.requests.filter(aboutThread).length;
    // While another salon runs its course, the paused one attempts nothing: no model request, no post.
    world.models.setScript((req) => ({ text: `Other ${req.index}.` }));
    const other = await startSalon(world, { rounds: 1 });
    await finished(world, other);
    expect(world.models.requests.filter((r) => JSON.stringify(r.body).includes('Turn 1.'))).toHaveLength(0);
    expect(world.models.requests).toHaveLength(4);
    expect(
      world.discord.requests
        .filter(aboutThread)
        .slice(requestsToThread)
        .map((r) => `${r.method} ${r.path} ${r.status}`),
    ).toEqual([]);
  });

  it('pauses when the bot loses permission to post, and carries on after /salon resume once it is back', async () => {
    world = await startWorld({ rounds: 2, discord: { botPermissions: DEFAULT_BOT_PERMISSIONS & ~(1n << 29n) } });
    const release = holdModelRequest(world, 1);
    const threadId = await startSalon(world);
    await world.models.waitForRequests(2);
    world.discord.setBotPermissions(DEFAULT_BOT_PERMISSIONS & ~(1n << 29n) & ~SEND_IN_THREADS);
    release();
    const paused = await whenSalon(world.bot.engine, threadId, (s) => s.status === 'paused', 10_000);
    expect(pauseText(paused.pausedReason!)).toContain('Missing Permissions');
    const failedPosts = world.discord.requests.filter((r) => r.method === 'POST' && r.path === `/channels/${threadId}/messages` && r.status === 403);
    expect(failedPosts).toHaveLength(1);

    world.discord.setBotPermissions(DEFAULT_BOT_PERMISSIONS & ~(1n << 29n));
    const resumed = await command(world.discord, world.ada, threadId, 'resume').response();
    expect(resumed.content).toContain('Resumed');
    await finished(world, threadId);
    const turns = world.discord.messages(threadId).filter((m) => /^\*\*(Claude Opus 4\.5|GLM 4\.7)\*\*/.test(m.content));
    expect(turns.map((m) => m.content.split('\n')[1])).toEqual(['Turn 0.', 'Turn 1.', 'Turn 2.', 'Turn 3.']);
  });

  it('makes a new webhook when its webhook is deleted, and posts the turn once', async () => {
    world = await startWorld({ rounds: 2, turnDelaySeconds: 1 });
    const threadId = await startSalon(world);
    await waitForMessages(world, threadId, () => turnMessages(world!, threadId).length === 1, 'the first turn');
    const [webhook] = world.discord.webhooks(world.discord.channelId);
    world.discord.deleteWebhook(webhook!.id);
    await finished(world, threadId);
    expect(turnMessages(world, threadId).map((m) => m.author.username)).toEqual(['Claude Opus 4.5', 'GLM 4.7', 'Claude Opus 4.5', 'GLM 4.7']);
    expect(world.discord.webhooks(world.discord.channelId).filter((w) => !w.deleted)).toHaveLength(1);
  });

  it('survives 5xx and 429 answers to its posts without losing or repeating a turn', async () => {
    world = await startWorld({ rounds: 2 });
    world.discord.failNext({ method: 'POST', path: /^\/webhooks\/\d+\/[^/]+$/, status: 502, count: 2 });
    world.discord.failNext({ method: 'POST', path: /^\/webhooks\/\d+\/[^/]+$/, status: 429, count: 1, retryAfterMs: 300 });
    // Discord created the message but the answer was lost: the re-post must not duplicate it.
    world.discord.failNext({ method: 'POST', path: /^\/webhooks\/\d+\/[^/]+$/, status: 500, count: 4, afterEffect: true });
    const threadId = await startSalon(world);
    await finished(world, threadId);
    const turns = turnMessages(world, threadId);
    expect(turns.map((m) => m.content)).toEqual([
      'Reply 0 from anthropic/claude-opus-4.5.',
      'Reply 1 from z-ai/glm-4.7.',
      'Reply 2 from anthropic/claude-opus-4.5.',
      'Reply 3 from z-ai/glm-4.7.',
    ]);
  });

  it('resumes the gateway session after a disconnect and keeps the schedule', async () => {
    world = await startWorld({ rounds: 2, turnDelaySeconds: 1 });
    const threadId = await startSalon(world);
    await waitForMessages(world, threadId, () => turnMessages(world!, threadId).length === 1, 'the first turn');
    world.discord.disconnectGateway({ resumable: true });
    await world.discord.waitFor(() => world!.discord.gatewaySessions().find((s) => s.resumes > 0 && s.connected), {
      timeoutMs: 10_000,
      description: 'the session to resume',
    });
    await finished(world, threadId);
    const times = world.models.requests.map((r) => r.at);
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(1000);
    const status = await command(world.discord, world.ada, threadId, 'status').response();
    expect(status.content).toContain('finished');
  });

  it('answers in the channel when the interaction token has expired', async () => {
    world = await startWorld({ rounds: 1, turnDelaySeconds: 3600 });
    const hold = world.discord.hold({ method: 'POST', path: /^\/channels\/\d+\/threads$/ });
    const ix = command(world.discord, world.ada, undefined, 'start', { topic: 'A slow start' });
    await hold.arrived();
    world.discord.expireInteraction(ix);
    hold.release();
    const fallback = await world.discord.waitFor(() => world!.discord.messages().find((m) => m.content.includes('has begun in')), {
      timeoutMs: 10_000,
      description: 'the fallback message',
    });
    expect(fallback.content).toContain(`<@${world.ada.id}>`);
    expect(world.lines.some((l) => l.includes('interaction token expired'))).toBe(true);
  });

  it('closes by itself at the end with salon.autoClose', async () => {
    world = await startWorld({ rounds: 1, autoClose: true });
    const threadId = await startSalon(world);
    const thread = await world.discord.waitFor(() => world!.discord.channel(threadId)?.thread_metadata?.locked && world!.discord.channel(threadId), {
      timeoutMs: 10_000,
      description: 'the thread to be archived',
    });
    expect(thread.thread_metadata!.archived).toBe(true);
    const messages = world.discord.messages(threadId);
    expect(messages.some((m) => m.content.includes('The transcript follows'))).toBe(true);
    expect(transcriptFiles(world.discord, threadId)).toHaveLength(1);
    expect((await world.bot.engine.get(threadId))!.status).toBe('closed');
  });
});
