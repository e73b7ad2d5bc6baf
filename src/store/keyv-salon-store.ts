/**
 * Where salons live. One key per salon, plus an index of the salons the engine must keep running, so that
 * start-up reads those and not every salon ever closed.
 *
 * The index is a single key updated under an in-process lock; several processes sharing one store would need
 * the backend's own primitives (a Redis set, a Postgres table) behind this same interface.
 */
import type Keyv from 'keyv';
import { isLive, type SalonRecord } from '../domain/salon.js';
import type { SalonStore } from '../engine/ports.js';
import { migrate } from './migrate.js';

const INDEX_KEY = 'index:active';
const recordKey = (id: string) => `salon:${id}`;

export class KeyvSalonStore implements SalonStore {
  private index?: Set<string>;
  private indexWrite: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly keyv: Keyv,
    private readonly onClose: () => Promise<void> = () => keyv.disconnect(),
  ) {}

  /** Throws RecordError for a record that cannot be read, so the caller can skip it and go on. */
  async get(id: string): Promise<SalonRecord | undefined> {
    const raw: unknown = await this.keyv.get(recordKey(id));
    return raw === undefined ? undefined : migrate(raw);
  }

  async save(record: SalonRecord): Promise<void> {
    const active = isLive(record);
    const index = await this.loadIndex();
    // Order matters for a crash between the two writes: an index entry is added before the record that
    // needs it and removed after, so a resumable salon is never missing from the index.
    if (active && !index.has(record.id)) await this.updateIndex((s) => s.add(record.id));
    await this.keyv.set(recordKey(record.id), record);
    if (!active && index.has(record.id)) await this.updateIndex((s) => s.delete(record.id));
  }

  async activeIds(): Promise<string[]> {
    return [...(await this.loadIndex())];
  }

  async close(): Promise<void> {
    await this.indexWrite.catch(() => {});
    await this.onClose();
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
