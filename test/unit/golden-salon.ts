/**
 * The salon behind the golden transcript: two rounds between Claude Opus 4.5 and GLM 4.7, one question from
 * the audience between the rounds, closed after the last turn, all on a fixed clock.
 */
import type { SalonRecord } from '../../src/domain/salon.js';
import { addInterjection, close, commitTurn } from '../../src/domain/transitions.js';
import { SEED_TURNS, T0, newSalon } from './fixtures.js';

/** When the archive is made: 27 December 2025, 18:30 UTC. */
export const GOLDEN_NOW = new Date(T0 + 30 * 60_000);

export function goldenSalon(): SalonRecord {
  const salon = newSalon({ rounds: 2, delaySeconds: 20 });
  let now = T0;
  const turn = (answered: string[] = []) => {
    const startedAt = now;
    now += 40_000;
    const index = salon.turns.length;
    const committed = commitTurn(salon, { index, text: SEED_TURNS[index]!, finishReason: 'stop', startedAt, answered }, now);
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
  close(salon, GOLDEN_NOW.getTime());
  return salon;
}
