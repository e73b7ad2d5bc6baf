/**
 * Where salons live, through keyv (SQLite by default). Each salon is a head (everything but its turns) plus one
 * key per turn, so a save writes the head and the turns that changed: the same cost at turn 400 as at turn 1.
 * An index of the salons the engine must keep running lets start-up read those and not every salon ever closed.
 *
 * keyv has no compare-and-swap, so this store is for one process: versions are checked against what this
 * process last read or wrote, and the index is a single key updated under an in-process lock. Several processes
 * share a store through the Redis and PostgreSQL stores, which use their backend's own atomic writes behind this
 * same port.
 */
import type Keyv from 'keyv';
import { isLive, type SalonHead, type SalonRecord, type Turn } from '../domain/salon.js';
import { StaleRecordError, type SalonStore, type SaveChange } from '../engine/ports.js';
import { assemble, isInline, readable, splitRecord, type StoredHead } from './layout.js';

const INDEX_KEY = 'index:active';
const headKey = (id: string) => `salon:${id}`;
// Not under `salon:`: keyv 5.6 leaves a key that starts with its namespace ('salon') unprefixed in get and set
// but prefixes it again in getMany, which then finds nothing.
const turnKey = (id: string, index: number) => `turn:${id}:${index}`;
// Keys per read: well under SQLite's bound-parameter limit.
const READ_SLICE = 500;

export class KeyvSalonStore implements SalonStore {
  private index?: Set<string>;
  private indexWrite: Promise<unknown> = Promise.resolve();
  /** The stored version of each live salon this process has read or written, for conditional saves. */
  private readonly versions = new Map<string, number>();
  /** Salons read in the layout before turns were kept apart: their next save writes every turn. */
  private readonly inline = new Set<string>();

  constructor(
    private readonly keyv: Keyv,
    private readonly onClose: () => Promise<void> = () => keyv.disconnect(),
  ) {}

  /** Throws RecordError for a record that cannot be read, so the caller can skip it and go on. */
  async get(id: string): Promise<SalonRecord | undefined> {
    const head: unknown = await this.keyv.get(headKey(id));
    if (head === undefined) return undefined;
    const salon = await assemble(head, (count) => this.readTurns(id, count));
    if (isInline(head)) this.inline.add(id);
    if (isLive(salon)) this.versions.set(id, salon.version);
    return salon;
  }

  async save(record: SalonRecord, change?: SaveChange): Promise<void> {
    const stored = this.versions.get(record.id) ?? (await this.storedVersion(record.id));
    if (stored !== change?.expected) throw new StaleRecordError(record.id, change?.expected, stored);
    const active = isLive(record);
    const index = await this.loadIndex();
    const { head, turns } = splitRecord(record, this.inline.has(record.id) ? undefined : change?.turns);
    // Order matters for a crash between writes: turns before the head that counts them, and an index entry
    // added before the record that needs it and removed after, so a resumable salon is never missing.
    if (turns.length > 0) await this.keyv.setMany(turns.map((turn) => ({ key: turnKey(record.id, turn.index), value: turn })));
    if (active && !index.has(record.id)) await this.updateIndex((s) => s.add(record.id));
    await this.keyv.set(headKey(record.id), head);
    this.inline.delete(record.id);
    if (active) this.versions.set(record.id, record.version);
    else this.versions.delete(record.id);
    if (!active && index.has(record.id)) await this.updateIndex((s) => s.delete(record.id));
  }

  async activeIds(): Promise<string[]> {
    return [...(await this.loadIndex())];
  }

  async activeHeads(): Promise<SalonHead[]> {
    const ids = [...(await this.loadIndex())];
    const heads: SalonHead[] = [];
    // One get each: getMany misses keys under keyv's own namespace (see turnKey), which head keys are.
    for (let from = 0; from < ids.length; from += 64) {
      const raw = await Promise.all(ids.slice(from, from + 64).map((id) => this.keyv.get<unknown>(headKey(id))));
      for (const head of raw) if (head !== undefined) heads.push(...readable(head));
    }
    return heads;
  }

  async close(): Promise<void> {
    await this.indexWrite.catch(() => {});
    await this.onClose();
  }

  private async storedVersion(id: string): Promise<number | undefined> {
    const head = (await this.keyv.get(headKey(id))) as Pick<StoredHead, 'version'> | undefined;
    return head?.version;
  }

  private async readTurns(id: string, count: number): Promise<unknown[]> {
    const turns: unknown[] = [];
    for (let from = 0; from < count; from += READ_SLICE) {
      const keys = Array.from({ length: Math.min(READ_SLICE, count - from) }, (_, i) => turnKey(id, from + i));
      turns.push(...((await this.keyv.getMany(keys)) as (Turn | undefined)[]));
    }
    return turns;
  }

  private async loadIndex(): Promise<Set<string>> {
    if (!this.index) {
      const ids = (await this.keyv.get(INDEX_KEY)) as unknown;
      this.index ??= new Set(Array.isArray(ids) ? ids.filter((x): x is string => typeof x === 'string') : []);
    }
    return this.index;
  }

  /** Index writes are serialised so two salons changing at once cannot drop each other's entry. */
  private updateIndex(change: (index: Set<string>) => void): Promise<void> {
    const run = this.indexWrite.then(async () => {
      const index = await this.loadIndex();
      change(index);
      await this.keyv.set(INDEX_KEY, [...index]);
    });
    this.indexWrite = run.catch(() => {});
    return run;
  }
}
