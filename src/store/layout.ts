/**
 * How every store keeps a salon: a head (the record without its turns, with their count) and the turns apart,
 * each under its index. Turns are written once and rarely edited, so a save sends the head and the turns that
 * changed, never the whole history.
 */
import type { SalonHead, SalonRecord, Turn } from '../domain/salon.js';
import { RecordError } from '../engine/ports.js';
import { migrate } from './migrate.js';

export type StoredHead = Omit<SalonRecord, 'turns'> & { turnCount: number };

/** The head and the turns to write: those `changed` names, or all of them (a new salon, a rewritten layout). */
export function splitRecord(record: SalonRecord, changed?: readonly number[]): { head: StoredHead; turns: Turn[] } {
  const { turns, ...rest } = record;
  const head: StoredHead = { ...rest, turnCount: turns.length };
  if (!changed) return { head, turns };
  return { head, turns: changed.map((i) => turns[i]).filter((t): t is Turn => t !== undefined) };
}

/** The head of a stored record (either layout), migrated to this schema, without reading its turns. */
function headOf(raw: unknown): SalonHead {
  if (typeof raw !== 'object' || raw === null) throw new RecordError('not an object');
  const { turnCount: _count, turns: _turns, ...rest } = raw as Record<string, unknown>;
  const { turns: _none, ...head } = migrate({ ...rest, turns: [] });
  return head;
}

/** The head as a list of one, or none when it cannot be read: a list of salons skips a bad record. */
export function readable(raw: unknown): SalonHead[] {
  try {
    return [headOf(raw)];
  } catch (err) {
    if (err instanceof RecordError) return [];
    throw err;
  }
}

/** True for a record stored before turns were kept apart: all its turns inline in one value. */
export function isInline(raw: unknown): boolean {
  return typeof raw === 'object' && raw !== null && Array.isArray((raw as { turns?: unknown }).turns);
}

/** The record from its stored head and turns, migrated to this schema; RecordError when a part is missing. */
export async function assemble(raw: unknown, readTurns: (count: number) => Promise<unknown[]>): Promise<SalonRecord> {
  if (typeof raw !== 'object' || raw === null || isInline(raw)) return migrate(raw);
  const { turnCount, ...head } = raw as { turnCount?: unknown };
  if (typeof turnCount !== 'number' || !Number.isInteger(turnCount) || turnCount < 0) throw new RecordError('field turnCount is missing');
  const turns = await readTurns(turnCount);
  const missing = turns.findIndex((t) => t === undefined || t === null);
  if (missing >= 0 || turns.length !== turnCount) throw new RecordError(`turn ${missing >= 0 ? missing : turns.length} is missing`);
  return migrate({ ...head, turns });
}

/** When the salon was created, in epoch ms, to order the listed shares; 0 (the oldest) for a date that cannot be read. */
export function createdAtMs(record: Pick<SalonRecord, 'createdAt'>): number {
  const ms = Date.parse(record.createdAt);
  return Number.isFinite(ms) ? ms : 0;
}

/** The head of a listed share, or none when it cannot be read or is listed no more: the index is only a hint. */
export function listedHead(raw: unknown): SalonHead[] {
  return readable(raw).filter((head) => head.share?.listed === true);
}
