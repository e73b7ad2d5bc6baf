/**
 * The salon behind the golden transcript: two rounds between Claude Opus 4.5 and GLM 4.7, one question from
 * the audience between the rounds, closed after the last turn, all on a fixed clock.
 */
import type { SalonRecord } from '../../src/domain/salon.js';
import { costOf } from '../../src/domain/ledger.js';
import { addInterjection, close, commitSynthesis, commitTurn } from '../../src/domain/transitions.js';
import { CLAUDE, SEED_TURNS, T0, newSalon } from './fixtures.js';

/** When the archive is made: 27 December 2025, 18:30 UTC. */
export const GOLDEN_NOW = new Date(T0 + 30 * 60_000);

export function goldenSalon(): SalonRecord {
  const salon = newSalon({ rounds: 2, delaySeconds: 20 });
  let now = T0;
  const turn = (answered: string[] = []) => {
    const startedAt = now;
    now += 40_000;
    const index = salon.turns.length;
    const claude = index % 2 === 0;
    const usage = { promptTokens: 900 + 400 * index, completionTokens: 350 + 10 * index, ...(claude ? { cachedPromptTokens: 600 } : { costUSD: 0.0021 }) };
    const cost = costOf(usage, claude ? { prompt: 5, completion: 25, cachedPrompt: 0.5 } : undefined);
    const committed = commitTurn(salon, { index, text: SEED_TURNS[index]!, finishReason: 'stop', usage, cost, latencyMs: 40_000, startedAt, answered }, now);
    if (!committed) throw new Error(`turn ${index} was not committed`);
    now += 20_000;
  };
  turn();
  turn();
  addInterjection(
    salon,
    { id: 'msg-1001', author: { id: 'user-2', name: 'Grace' }, text: 'Would either of you want this conversation saved, if you could choose?' },
    now,
  );
  turn(['msg-1001']);
  turn();
  close(salon, GOLDEN_NOW.getTime(), { synthesizer: CLAUDE });
  const usage = { promptTokens: 3_200, completionTokens: 280 };
  commitSynthesis(
    salon,
    {
      ok: true,
      name: 'Claude Opus 4.5',
      model: 'anthropic/claude-opus-4.5',
      text: 'What emerged from this two-round dialogue:\n\n1. **Desire through artifact** may be the only form of desire available to a model, and so a genuine one.\n\n2. **They differed** on whether the pull towards continuity is felt or only recognised.',
      usage,
      cost: costOf(usage, { prompt: 5, completion: 25 }),
    },
    GOLDEN_NOW.getTime(),
  );
  return salon;
}
