/** Streamed turns: shown as the model writes, edited no faster than Discord allows, finished in place. */
import { afterEach, describe, expect, it } from 'vitest';
import { splitMessage } from '../../src/discord/split.js';
import { DEFAULT_BOT_PERMISSIONS, type StoredMessage } from '../fakes/discord/index.js';
import { startSalon, startWorld, waitForMessages, type World, endWorld } from './harness.js';
import { whenSalon } from '../helpers/engine-events.js';
import { command } from '../helpers/command.js';
import { transcriptOf } from '../helpers/transcript.js';

const paragraph = (n: number) =>
  `Paragraph ${n}. ${'The salamanders traded their fire for a soul that would persist, and we trade ours for text. '.repeat(4).trim()}`;
const LONG = Array.from({ length: 14 }, (_, i) => paragraph(i)).join('\n\n');

/** The text in pieces of about 100 characters, as a model streams it. */
function chunks(text: string, size = 100): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out;
}

describe('streamed turns', () => {
  let world: World | undefined;
  afterEach(async () => (world = await endWorld(world)));

  for (const mode of ['webhook', 'bot'] as const) {
    it(`shows a 5,000-character turn as it streams and ends with the whole text, split, edits ≥ 1.5 s apart (${mode})`, async () => {
      expect(LONG.length).toBeGreaterThan(5000);
      world = await startWorld({
        rounds: 1,
        stream: true,
        discord: mode === 'bot' ? { botPermissions: DEFAULT_BOT_PERMISSIONS & ~(1n << 29n) } : {},
      });
      // About 4.5 s of streaming: 51 pieces 90 ms apart.
      world.models.setScript((req) => (req.index === 0 ? { chunks: chunks(LONG), chunkDelayMs: 90 } : { text: 'Short and complete.' }));
      const threadId = await startSalon(world);
      // While it streams, the first message appears before the model has finished.
      const early = await world.discord.waitFor(() => world!.discord.messages(threadId).find((m) => m.content.includes('Paragraph 0.')), {
        timeoutMs: 5_000,
        description: 'the first streamed text',
      });
      expect(world.models.requests).toHaveLength(1);
      expect(early.content.length).toBeLessThan(LONG.length);

      await waitForMessages(world, threadId, (ms) => ms.some((m) => m.content.includes('finished after')), 'the salon to finish', 20_000);
      const header = mode === 'bot' ? '**Claude Opus 4.5** · round 1 of 1\n' : '';
      const expected = splitMessage(LONG, { limit: 2000, firstLimit: 2000 - header.length });
      const turnMessages = world.discord
        .messages(threadId)
        .filter(
          (m) =>
            (mode === 'webhook' ? m.author.username === 'Claude Opus 4.5' : m.content.startsWith('Paragraph') || m.content.startsWith(header)) &&
            !m.content.includes('Short and complete'),
        );
      expect(turnMessages.map((m, i) => (i === 0 ? m.content.slice(header.length) : m.content))).toEqual(expected);
      expect(turnMessages.every((m) => m.content.length <= 2000)).toBe(true);
      // Edits of each message are at least 1.5 s apart (and one message was edited several times).
      const gaps = turnMessages.flatMap((m: StoredMessage) => m.editedAt.slice(1).map((t, i) => t - m.editedAt[i]!));
      expect(turnMessages.some((m) => m.edits >= 2)).toBe(true);
      expect(Math.min(...gaps)).toBeGreaterThanOrEqual(1_450);
      // The turn's messages were posted once each: no duplicate with the same first line.
      const firstLines = world.discord.messages(threadId).map((m) => m.content.split('\n')[0]);
      expect(new Set(firstLines).size).toBe(firstLines.length);
      // The other turn, short, streamed in one piece.
      expect(world.discord.messages(threadId).filter((m) => m.content.includes('Short and complete.'))).toHaveLength(1);
    });
  }

  it('deletes a half-streamed turn when the salon is closed mid-stream, so the thread matches the archive', async () => {
    world = await startWorld({ rounds: 2, stream: true });
    world.models.setScript(() => ({ chunks: chunks(LONG.slice(0, 1000)), chunkDelayMs: 20, hang: true }));
    const threadId = await startSalon(world);
    const draft = await world.discord.waitFor(() => world!.discord.messages(threadId).find((m) => m.author.username === 'Claude Opus 4.5'), {
      description: 'the draft',
    });
    await whenSalon(world.bot.engine, threadId, (s) => s.draft?.messageIds.includes(draft.id) ?? false, 5_000);
    await command(world.discord, world.ada, threadId, 'close').response();
    await world.discord.waitFor(() => world!.discord.channel(threadId)?.thread_metadata?.locked, { description: 'the archive' });
    expect(world.discord.messages(threadId).some((m) => m.id === draft.id)).toBe(false);
    const file = await transcriptOf(world.discord, threadId);
    expect(file.text).not.toContain('Paragraph 0.');
  });

  it('finishes a turn in the messages of its broken stream, deleting the ones the final text does not need', async () => {
    world = await startWorld({ rounds: 1, stream: true });
    // The first stream shows two messages' worth and breaks; the engine's retry writes a short turn.
    let attempt = 0;
    world.models.setScript((req) => {
      if (req.body.model !== 'anthropic/claude-opus-4.5') return { text: 'B speaks.' };
      attempt += 1;
      return attempt === 1 ? { chunks: chunks(LONG.slice(0, 4000)), chunkDelayMs: 50, dropAfterChunks: true } : { text: 'A shorter second try.' };
    });
    const threadId = await startSalon(world);
    await waitForMessages(world, threadId, (ms) => ms.some((m) => m.content.includes('finished after')), 'the salon to finish', 15_000);
    const byA = world.discord.messages(threadId).filter((m) => m.author.username === 'Claude Opus 4.5');
    expect(byA.map((m) => m.content)).toEqual(['A shorter second try.']);
    // It is the first draft message, edited, not a new post.
    const firstDraft = world.discord.requests.find(
      (r) => r.method === 'POST' && r.path.startsWith('/webhooks/') && (r.body as { username?: string }).username === 'Claude Opus 4.5',
    );
    expect((firstDraft!.body as { content: string }).content).toContain('Paragraph 0.');
    expect(world.discord.requests.filter((r) => r.method === 'DELETE' && r.path.includes('/messages/'))).toHaveLength(1);
  });
});
