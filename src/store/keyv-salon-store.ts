/**
 * Where salons live, through keyv (SQLite by default). Each salon is a head (everything but its turns) plus one
 * key per turn, so a save writes the head and the turns that changed: the same cost at turn 400 as at turn 1.
 * An index of the salons the engine must keep running lets start-up read those and not every salon ever closed.
 * A salon shared on the web has a key from its token to its id, and the listed ones an index of their own (id and
 * creation time, so a page of them is read without reading the rest); both are hints, checked against the record.
 *
 * keyv has no compare-and-swap, so this store is for one process: versions are checked against what this
 * process last read or wrote, and the index is a single key updated under an in-process lock. Several processes
 * share a store through the Redis and PostgreSQL stores, which use their backend's own atomic writes behind this
 * same port.
 */
import type Keyv from 'keyv';
import { isLive, type SalonHead, type SalonRecord, type Share, type Turn } from '../domain/salon.js';
import { StaleRecordError, type SalonStore, type SaveChange } from '../engine/ports.js';
import { assemble, createdAtMs, isInline, listedHead, readable, splitRecord, type StoredHead } from './layout.js';

const INDEX_KEY = 'index:active';
/** The listed shares: [id, createdAt in epoch ms] pairs. */
const LISTED_KEY = 'index:listed';
const headKey = (id: string) => `salon:${id}`;
const shareKey = (token: string) => `share:${token}`;
// Not under `salon:`: keyv 5.6 leaves a key that starts with its namespace ('salon') unprefixed in get and set
// but prefixes it again in getMany, which then finds nothing.
const turnKey = (id: string, index: number) => `turn:${id}:${index}`;
// Keys per read: well under SQLite's bound-parameter limit.
const READ_SLICE = 500;

export class KeyvSalonStore implements SalonStore {
  private index?: Set<string>;
  /** The listed shares, id to createdAt (epoch ms). */
  private listed?: Map<string, number>;
  private indexWrite: Promise<unknown> = Promise.resolve();
  /** The stored version of each live salon this process has read or written, for conditional saves. */
  private readonly versions = new Map<string, number>();
  /** The stored share of the same salons, so a save knows which token key to add or drop without a read. */
  private readonly shares = new Map<string, Share | undefined>();
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
    if (isLive(salon)) this.remember(salon);
    return salon;
  }

  async save(record: SalonRecord, change?: SaveChange): Promise<void> {
    const { version: stored, share: was } = this.versions.has(record.id)
      ? { version: this.versions.get(record.id), share: this.shares.get(record.id) }
      : await this.storedHead(record.id);
    if (stored !== change?.expected) throw new StaleRecordError(record.id, change?.expected, stored);
    const active = isLive(record);
    const index = await this.loadIndex();
    const listed = await this.loadListed();
    const token = record.share?.token;
    const isListed = record.share?.listed === true;
    const { head, turns } = splitRecord(record, this.inline.has(record.id) ? undefined : change?.turns);
    // Order matters for a crash between writes: turns before the head that counts them, and an index entry (or a
    // token's key) added before the record that needs it and removed after, so a resumable salon is never missing
    // and a shared one always found. An entry left behind by a crash is harmless: readers check the record.
    if (turns.length > 0) await this.keyv.setMany(turns.map((turn) => ({ key: turnKey(record.id, turn.index), value: turn })));
    if (active && !index.has(record.id)) await this.updateIndex((s) => s.add(record.id));
    if (token !== undefined && token !== was?.token) await this.keyv.set(shareKey(token), record.id);
    if (isListed && !listed.has(record.id)) await this.updateListed((m) => m.set(record.id, createdAtMs(record)));
    await this.keyv.set(headKey(record.id), head);
    this.inline.delete(record.id);
    if (active) this.remember(record);
    else this.forget(record.id);
    if (!active && index.has(record.id)) await this.updateIndex((s) => s.delete(record.id));
    if (!isListed && listed.has(record.id)) await this.updateListed((m) => m.delete(record.id));
    if (was && was.token !== token) await this.dropToken(was.token, record.id);
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

  async findShared(token: string): Promise<SalonRecord | undefined> {
    const id: unknown = await this.keyv.get(shareKey(token));
    if (typeof id !== 'string') return undefined;
    const salon = await this.get(id);
    return salon?.share?.token === token ? salon : undefined;
  }

  async listedHeads(page: { offset: number; limit: number }): Promise<{ heads: SalonHead[]; total: number }> {
    const listed = [...(await this.loadListed())].sort(([a, at], [b, bt]) => bt - at || (a < b ? 1 : a > b ? -1 : 0));
    const ids = listed.slice(Math.max(0, page.offset), Math.max(0, page.offset) + Math.max(0, page.limit)).map(([id]) => id);
    const raw = await Promise.all(ids.map((id) => this.keyv.get<unknown>(headKey(id))));
    return { heads: raw.flatMap((head) => (head === undefined ? [] : listedHead(head))), total: listed.length };
  }

  async close(): Promise<void> {
    await this.indexWrite.catch(() => {});
    await this.onClose();
  }

  /**
   * Keeps what this process knows of a stored salon. A read that was overtaken by a save (a web page's read while the
   * engine saves) must not take the known version back: the next save would be refused as stale.
   */
  private remember(salon: SalonRecord): void {
    if ((this.versions.get(salon.id) ?? -1) > salon.version) return;
    this.versions.set(salon.id, salon.version);
    this.shares.set(salon.id, salon.share);
  }

  private forget(id: string): void {
    this.versions.delete(id);
    this.shares.delete(id);
  }

  private async storedHead(id: string): Promise<{ version?: number; share?: Share }> {
    const head = (await this.keyv.get(headKey(id))) as Pick<StoredHead, 'version' | 'share'> | undefined;
    return { version: head?.version, share: head?.share };
  }

  /** Drops a token's key, unless it has come to name another salon. */
  private async dropToken(token: string, id: string): Promise<void> {
    if ((await this.keyv.get(shareKey(token))) === id) await this.keyv.delete(shareKey(token));
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

  private async loadListed(): Promise<Map<string, number>> {
    if (!this.listed) {
      const entries = (await this.keyv.get(LISTED_KEY)) as unknown;
      const valid = Array.isArray(entries)
        ? entries.filter((e): e is [string, number] => Array.isArray(e) && typeof e[0] === 'string' && typeof e[1] === 'number')
        : [];
      this.listed ??= new Map(valid);
    }
    return this.listed;
  }

  /** Index writes are serialised so two salons changing at once cannot drop each other's entry. */
  private updateIndex(change: (index: Set<string>) => void): Promise<void> {
    return this.serialised(async () => {
      const index = await this.loadIndex();
      change(index);
      await this.keyv.set(INDEX_KEY, [...index]);
    });
  }

  private updateListed(change: (listed: Map<string, number>) => void): Promise<void> {
    return this.serialised(async () => {
      const listed = await this.loadListed();
      change(listed);
      await this.keyv.set(LISTED_KEY, [...listed]);
    });
  }

  private serialised(write: () => Promise<void>): Promise<void> {
    const run = this.indexWrite.then(write);
    this.indexWrite = run.catch(() => {});
    return run;
  }
}
