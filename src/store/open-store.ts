/**
 * Opens the store SALON_STORE_URL names. Redis and PostgreSQL get their own stores, whose conditional writes let
 * several processes share them; SQLite and memory stay on keyv, for one process. The backends' clients are
 * imported only when their URL is used, so the default SQLite start-up loads neither.
 */
import type { Logger } from 'pino';
import type { SalonStore } from '../engine/ports.js';
import { openKeyv } from './keyv-factory.js';
import { redactStoreUrl, StoreError, unsupportedStoreError } from './store-error.js';
import { KeyvSalonStore } from './keyv-salon-store.js';

export interface OpenedSalonStore {
  store: SalonStore;
  /** A human description for logs, without credentials. */
  description: string;
}

export async function openSalonStore(url: string, log?: Logger, options: { busyTimeoutMs?: number } = {}): Promise<OpenedSalonStore> {
  const protocol = url.slice(0, url.indexOf(':') + 1).toLowerCase();
  switch (protocol) {
    case 'redis:':
    case 'rediss:': {
      const description = `redis ${redactStoreUrl(url)}`;
      const { RedisSalonStore } = await import('./redis-salon-store.js');
      return { store: await reachable(description, () => RedisSalonStore.open(url, { log })), description };
    }
    case 'postgres:':
    case 'postgresql:': {
      const description = `postgres ${redactStoreUrl(url)}`;
      const { PostgresSalonStore } = await import('./postgres-salon-store.js');
      // `?schema=name` keeps the tables in a schema of their own, so several deployments can share one database.
      const parsed = new URL(url);
      const schema = parsed.searchParams.get('schema') ?? undefined;
      parsed.searchParams.delete('schema');
      return { store: await reachable(description, () => PostgresSalonStore.open(parsed.toString(), { schema })), description };
    }
    case 'sqlite:':
    case 'memory:': {
      const opened = await openKeyv(url, { exclusive: true, busyTimeoutMs: options.busyTimeoutMs });
      return { store: new KeyvSalonStore(opened.keyv, opened.close), description: opened.description };
    }
    default:
      throw unsupportedStoreError(url);
  }
}

/** A StoreError for a server that cannot be used, so start-up stops with one line instead of a stack. */
async function reachable<T>(description: string, open: () => Promise<T>): Promise<T> {
  try {
    return await open();
  } catch (err) {
    // A driver's message may quote the URL it was given, password and all.
    const detail = (err as Error).message.replaceAll(/\w+:\/\/\S+/g, (u) => redactStoreUrl(u));
    throw new StoreError(`cannot use the store ${description}: ${detail} (check SALON_STORE_URL and that the server is reachable)`, { cause: err });
  }
}
