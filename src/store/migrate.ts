/**
 * Records carry a schema version. Each migration lifts a record one version; a record that cannot be read
 * is reported, never guessed at, so one bad record cannot take the others down.
 */
import { SCHEMA_VERSION, type SalonRecord } from '../domain/salon.js';
import { RecordError } from '../engine/ports.js';

/** migrations[n] lifts a record from schema n to n + 1. */
const migrations: Record<number, (record: Record<string, unknown>) => Record<string, unknown>> = {
  // Schema 1 stored a notice's words and why the salon paused; schema 2 stores both as data. What was saved as
  // words keeps its words.
  1: (record) => ({
    ...record,
    outbox: Array.isArray(record.outbox) ? record.outbox.map(liftNotice) : record.outbox,
    ...(typeof record.pausedReason === 'string' ? { pausedReason: { code: 'legacy', text: record.pausedReason } } : {}),
  }),
  // Schema 2 had two seats, A and B, by letter; schema 3 has a list of two to six, by number (A is 0).
  2: (record) => {
    const seats = record.seats as Record<string, unknown> | undefined;
    if (!seats || typeof seats.A !== 'object' || typeof seats.B !== 'object' || seats.A === null || seats.B === null) {
      throw new RecordError('field seats is missing');
    }
    const failure = record.failure as Record<string, unknown> | undefined;
    return {
      ...record,
      seats: [seats.A, seats.B],
      interjections: Array.isArray(record.interjections) ? record.interjections.map((q) => withSeatNumber(q, 'to')) : record.interjections,
      ...(failure && typeof failure === 'object' ? { failure: withSeatNumber(failure, 'seat') } : {}),
    };
  },
};

function withSeatNumber(item: unknown, field: string): unknown {
  if (typeof item !== 'object' || item === null) return item;
  const value = (item as Record<string, unknown>)[field];
  return value === 'A' || value === 'B' ? { ...item, [field]: value === 'A' ? 0 : 1 } : item;
}

function liftNotice(post: unknown): unknown {
  if (typeof post !== 'object' || post === null) return post;
  const { kind, notice, text, ...rest } = post as Record<string, unknown>;
  if (kind !== 'notice' || typeof text !== 'string') return post;
  const was = notice === 'finished' || notice === 'failure' ? notice : 'info';
  return { ...rest, kind, notice: { code: 'legacy', was, text } };
}

export function migrate(raw: unknown): SalonRecord {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new RecordError('not an object');
  let record = raw as Record<string, unknown>;
  let schema = record.schema;
  if (typeof schema !== 'number' || !Number.isInteger(schema)) throw new RecordError('no schema version');
  if (schema > SCHEMA_VERSION) throw new RecordError(`schema ${schema} is newer than this version of salon understands (${SCHEMA_VERSION})`);
  while (schema < SCHEMA_VERSION) {
    const step = migrations[schema];
    if (!step) throw new RecordError(`no migration from schema ${schema}`);
    record = { ...step(record), schema: schema + 1 };
    schema += 1;
  }
  for (const field of ['id', 'topic', 'status'] as const) {
    if (typeof record[field] !== 'string') throw new RecordError(`field ${field} is missing or not text`);
  }
  for (const field of ['turns', 'interjections', 'outbox'] as const) {
    if (!Array.isArray(record[field])) throw new RecordError(`field ${field} is missing or not a list`);
  }
  // Each turn is stored once, apart from the head, and kept as it was written: a salon whose head was saved at
  // schema 3 may still hold turns written at schema 2, with the seat as a letter.
  record = { ...record, turns: (record.turns as unknown[]).map((t) => withSeatNumber(t, 'seat')) };
  const seats = record.seats;
  if (!Array.isArray(seats) || seats.length < 2 || seats.some((p) => typeof p !== 'object' || p === null)) {
    throw new RecordError('field seats is missing or not a list of participants');
  }
  return record as unknown as SalonRecord;
}
