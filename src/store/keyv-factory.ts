/**
 * Builds the keyv store for a sqlite:// (or memory://) SALON_STORE_URL; Redis and PostgreSQL have stores of their
 * own (see open-store.ts). keyv 5's own `new Keyv(url)` silently falls back to an in-memory Map for sqlite:// URLs,
 * so the adapter is constructed explicitly.
 */
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Keyv, { type KeyvStoreAdapter } from 'keyv';
import { StoreError, unsupportedStoreError } from './store-error.js';

export interface OpenedStore {
  keyv: Keyv;
  /** A human description for logs, without credentials. */
  description: string;
  // A property, not a method: callers hand it on unbound.
  close: () => Promise<void>;
}

async function adapterFor(url: string, busyTimeoutMs: number): Promise<{ adapter?: KeyvStoreAdapter; description: string; sqlitePath?: string }> {
  const protocol = url.slice(0, url.indexOf(':') + 1).toLowerCase();
  switch (protocol) {
    case 'sqlite:': {
      const path = url.replace(/^sqlite:\/\//i, '');
      if (!path) throw new StoreError(`SALON_STORE_URL: "${url}" names no file; expected sqlite://path/to/salons.sqlite`);
      const { KeyvSqlite } = await import('@keyv/sqlite');
      if (path !== ':memory:') {
        try {
          mkdirSync(dirname(resolve(path)), { recursive: true });
        } catch (err) {
          throw new StoreError(`SALON_STORE_URL: cannot create the directory for ${path}: ${(err as Error).message}`);
        }
      }
      // A busy timeout lets a briefly locked file (a backup, a second reader) wait instead of failing a save.
      return {
        adapter: new KeyvSqlite({ uri: `sqlite://${path}`, busyTimeout: busyTimeoutMs }) as unknown as KeyvStoreAdapter,
        description: `sqlite ${path}`,
        sqlitePath: path,
      };
    }
    case 'memory:':
      return { description: 'memory (nothing survives a restart)' };
    default:
      throw unsupportedStoreError(url);
  }
}

/**
 * Opens the store and proves it can be written, so an unwritable or locked file stops start-up with a clear
 * message instead of failing the first turn.
 */
export async function openKeyv(url: string, options: { busyTimeoutMs?: number; exclusive?: boolean } = {}): Promise<OpenedStore> {
  const { adapter, description, sqlitePath } = await adapterFor(url, options.busyTimeoutMs ?? 5_000);
  // No adapter (memory://) means keyv's own Map; passing `store: undefined` would replace it with nothing.
  // Records are plain JSON: the built-in JSON beats keyv's own serializer by a wide margin on large records.
  const keyv = new Keyv({
    ...(adapter ? { store: adapter } : {}),
    namespace: 'salon',
    throwOnErrors: true,
    serialize: (data) => JSON.stringify(data),
    // eslint-disable-next-line @typescript-eslint/no-unsafe-return -- keyv hands the parsed record to migrate(), which checks it
    deserialize: (data) => (typeof data === 'string' ? JSON.parse(data) : data),
  });
  // keyv re-emits adapter errors; without a listener an 'error' event would crash the process.
  keyv.on('error', () => {});
  try {
    if (sqlitePath && adapter) {
      const query = (adapter as unknown as { query: (sql: string) => Promise<unknown> }).query;
      // The bot's own store holds the file's lock from its first write until it exits (a kill -9 included, as the
      // operating system drops the lock), so a second bot started on the same file by mistake stops at once
      // instead of driving the same salons.
      if (options.exclusive) await query('PRAGMA locking_mode=EXCLUSIVE');
      // WAL keeps a crash from corrupting the file and lets readers run beside the writer.
      await query('PRAGMA journal_mode=WAL');
      await query('PRAGMA synchronous=NORMAL');
    }
    await keyv.set('meta:probe', Date.now());
    await keyv.get('meta:probe');
  } catch (err) {
    await keyv.disconnect().catch(() => {});
    const detail = (err as Error).message;
    const hint = /SQLITE_BUSY|locked/i.test(detail)
      ? 'the file is locked by another process, most likely another salon bot on the same file: one bot runs per SQLite file. ' +
        'Stop the other one, choose another SALON_STORE_URL, or run several processes on a shared PostgreSQL or Redis store with SALON_QUEUE_URL'
      : /SQLITE_CANTOPEN|SQLITE_READONLY|EACCES|EROFS|readonly/i.test(detail)
        ? 'the file or its directory is not writable by this user'
        : 'check SALON_STORE_URL and that the server is reachable';
    throw new StoreError(`cannot use the store ${description}: ${detail} (${hint})`);
  }
  return { keyv, description, close: () => keyv.disconnect() };
}
