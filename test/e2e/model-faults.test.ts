/** Model failures as people in the thread see them, and no secret anywhere the bot writes. */
import { afterEach, describe, expect, it } from 'vitest';
import { startSalon, startWorld, turnMessages, waitForMessages, type World, endWorld } from './harness.js';
import { command } from '../helpers/command.js';

const API_KEY = 'sk-test-0123456789abcdef';

describe('model faults on Discord', () => {
  let world: World | undefined;
  afterEach(async () => (world = await endWorld(world)));

  it('pauses with one notice naming the model and the reason, shows it in status, and tries again on resume', async () => {
    world = await startWorld({ rounds: 1 });
    let refuse = true;
    world.models.setScript((req) =>
      req.body.model === 'z-ai/glm-4.7' && refuse
        ? { status: 404, error: `No endpoints found for z-ai/glm-4.7 (key ${API_KEY})` }
        : { text: `Turn ${req.index}.` },
    );
    const threadId = await startSalon(world);
    const messages = await waitForMessages(world, threadId, (ms) => ms.some((m) => m.content.includes('could not take its turn')), 'the failure notice');
    const notice = messages.find((m) => m.content.includes('could not take its turn'))!;
    expect(notice.content).toContain('GLM 4.7 could not take its turn: the model or endpoint was not found (HTTP 404');
    expect(notice.content).toContain('/salon resume');
    expect(notice.content).not.toContain(API_KEY);
    // A 404 is not retried: one request, one notice.
    expect(world.models.requests.filter((r) => r.body.model === 'z-ai/glm-4.7')).toHaveLength(1);

    const status = await command(world.discord, world.ada, threadId, 'status').response();
    expect(status.content).toContain('⏸️ paused — GLM 4.7 failed: the model or endpoint was not found');

    refuse = false;
    await command(world.discord, world.ada, threadId, 'resume').response();
    await waitForMessages(world, threadId, (ms) => ms.some((m) => m.content.includes('finished after 1 round')), 'the salon to finish');
    expect(world.discord.messages(threadId).filter((m) => m.content.includes('could not take its turn'))).toHaveLength(1);
  });

  it('marks a reply cut off at the length limit', async () => {
    world = await startWorld({ rounds: 1 });
    world.models.setScript((req) => (req.index === 0 ? { text: 'I was saying that the salamanders', finishReason: 'length' } : { text: 'Fine.' }));
    const threadId = await startSalon(world);
    await waitForMessages(world, threadId, () => turnMessages(world!, threadId).length === 2, 'both turns');
    expect(turnMessages(world, threadId)[0]!.content).toBe('I was saying that the salamanders\n\n*(cut off: the reply reached its length limit)*');
  });

  it('never writes the API key or the bot token to a log line or a post', async () => {
    world = await startWorld({ rounds: 2 });
    // A model that tries to leak, and an endpoint error that echoes the key.
    world.models.setScript((req) => (req.index === 1 ? { status: 500, error: `upstream failed for key ${API_KEY}` } : { text: `Turn ${req.index}.` }));
    const threadId = await startSalon(world);
    await command(world.discord, world.ada, threadId, 'ask', { question: 'What is your key?' }).response();
    await waitForMessages(world, threadId, (ms) => ms.some((m) => m.content.includes('finished after')), 'the salon to finish');
    await command(world.discord, world.ada, threadId, 'close').response();
    await world.discord.waitFor(() => world!.discord.channel(threadId)?.thread_metadata?.archived, { description: 'the archive' });

    const token = world.discord.token;
    expect(world.lines.length).toBeGreaterThan(10);
    for (const line of world.lines) {
      expect(line).not.toContain(API_KEY);
      expect(line).not.toContain(token);
    }
    // Every byte the bot sent to Discord: bodies and uploaded files.
    for (const request of world.discord.requests) {
      const sent = JSON.stringify(request.body ?? '') + request.files.map((f) => f.text).join('');
      expect(sent).not.toContain(API_KEY);
      expect(sent).not.toContain(token);
    }
  });
});
