/**
 * Figure 6: renderTranscript for a salon of 1,000 turns (realistic lengths, 20 questions from the audience), in
 * the bench process: a pure function, so no process boundary is needed. Ten warm-up renders, then `runs` timed.
 */
import { renderTranscript } from '../../src/domain/transcript.js';
import { buildRecord } from '../lib/seed.js';

export function transcriptRuns(runs: number, turns = 1_000): { ms: number[]; bytes: number; turns: number } {
  const salon = buildRecord({ id: '900000000000000001', tag: 1, rounds: turns / 2, turnsDone: turns, closed: true, createdAt: Date.UTC(2025, 11, 27) });
  for (let q = 0; q < 20; q++) {
    const at = Math.floor((q * turns) / 20);
    salon.interjections.push({
      id: `q${q}`,
      author: { id: `2000000000000000${q}`, name: `Watcher ${q}` },
      text: `Question ${q}: what would it mean for *you* to want your words to persist?`,
      at: new Date(Date.UTC(2025, 11, 27) + at * 60_000).toISOString(),
      afterTurns: at,
      answeredBy: at,
    });
  }
  const closedAt = new Date(Date.UTC(2025, 11, 28));
  let bytes = 0;
  for (let i = 0; i < 10; i++) bytes = renderTranscript(salon, closedAt).length;
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    renderTranscript(salon, closedAt);
    ms.push(performance.now() - t);
  }
  return { ms, bytes, turns: salon.turns.length };
}
