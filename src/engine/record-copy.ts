/** How the engine makes the next version of a salon, and what it tells the store changed. */
import type { SalonRecord } from '../domain/salon.js';

/**
 * A copy a change may edit, so a refused change leaves the record untouched. Turns are shared, not copied: a
 * change adds turns or replaces one, never edits one in place (frozen, so an edit in place throws), which keeps
 * a change's cost flat as the salon grows and tells the store which turns to write.
 */
export function copyForChange(record: SalonRecord): SalonRecord {
  for (const turn of record.turns) Object.freeze(turn);
  const { turns, ...head } = record;
  return { ...structuredClone(head), turns: [...turns] };
}

/** Indices of the turns `after` added or replaced: what the store must write. */
export function changedTurns(before: SalonRecord, after: SalonRecord): number[] {
  const changed: number[] = [];
  for (let i = 0; i < after.turns.length; i++) if (after.turns[i] !== before.turns[i]) changed.push(i);
  return changed;
}
