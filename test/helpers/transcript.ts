/** Reading the transcript a salon posts in its thread when it is closed, through the fake Discord. */
import { expect } from 'vitest';
import type { FakeDiscord, StoredAttachment } from '../fakes/discord/index.js';

/** Every transcript (a Markdown file) posted in the thread. */
export function transcriptFiles(discord: FakeDiscord, threadId: string): StoredAttachment[] {
  return discord.messages(threadId).flatMap((m) => m.attachments.filter((a) => a.filename.endsWith('.md')));
}

/** Waits until the thread is archived (the transcript goes before) and returns its transcript, which must be the only one. */
export async function transcriptOf(discord: FakeDiscord, threadId: string, timeoutMs = 10_000): Promise<StoredAttachment> {
  await discord.waitFor(() => discord.channel(threadId)?.thread_metadata?.archived === true, { timeoutMs, description: 'the thread to be archived' });
  const files = transcriptFiles(discord, threadId);
  expect(files).toHaveLength(1);
  return files[0]!;
}
