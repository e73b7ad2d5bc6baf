/**
 * Salons on PostgreSQL, for several processes at once. A salon is a row of `salon_heads` (everything but its
 * turns, with its version) and a row of `salon_turns` per turn. Every save runs in one transaction whose first
 * statement is `UPDATE … WHERE version = expected`: a process that lost the salon to another changes nothing.
 * The index of live salons is the `live` column, under a partial index. A shared salon's token is the `share_token`
 * column (unique), and a listed one has `listed` set, ordered by `created_at`: written by the same statement as the
 * head, so they never disagree with it, and checked against it all the same.
 *
 * Columns are `json`, not `jsonb`: a record is read and written whole, and `jsonb` refuses the \u0000 a model
 * may write.
 */
import pg from 'pg';
import { isLive, type SalonHead, type SalonRecord } from '../domain/salon.js';
import { StaleRecordError, type SalonStore, type SaveChange } from '../engine/ports.js';
import { assemble, createdAtMs, listedHead, splitRecord, readable } from './layout.js';

export interface PostgresStoreOptions {
  /** Schema the tables live in; created when missing. */
  schema?: string;
  /** Connections in the pool. */
  maxConnections?: number;
}

const ident = (name: string) => `"${name.replace(/"/g, '""')}"`;

export class PostgresSalonStore implements SalonStore {
  private readonly heads: string;
  private readonly turns: string;

  private constructor(
    private readonly pool: pg.Pool,
    private readonly schema: string,
  ) {
    this.heads = `${ident(schema)}.salon_heads`;
    this.turns = `${ident(schema)}.salon_turns`;
  }

  /** Connects and creates the tables when missing; throws when the server cannot be reached. */
  static async open(url: string, options: PostgresStoreOptions = {}): Promise<PostgresSalonStore> {
    const pool = new pg.Pool({
      connectionString: url,
      max: options.maxConnections ?? 10,
      // A process frozen in the middle of a save (GC pause, SIGSTOP, a partition) would hold the salon's row lock
      // for as long as it stays frozen, and the worker taking the salon over would wait on it for ever: the server
      // ends such a transaction after a few idle seconds, and a save waits that long for a lock at most, then fails
      // and is retried. (Seen in the cluster test: a take-over hung behind a worker frozen between UPDATE and COMMIT.)
      idle_in_transaction_session_timeout: 5_000,
      lock_timeout: 5_000,
    });
    // An idle client's error (the server restarted) is reported on the pool; the next query reconnects.
    pool.on('error', () => {});
    const store = new PostgresSalonStore(pool, options.schema ?? 'public');
    try {
      await store.migrate();
    } catch (err) {
      await pool.end().catch(() => {});
      throw err;
    }
    return store;
  }

  /**
   * Creates the schema and tables when missing. Several processes starting at once on a fresh database would race
   * (IF NOT EXISTS is not atomic: the loser fails on a unique index), so the creation runs under a transaction-level
   * advisory lock that every process takes in turn.
   */
  private async migrate(): Promise<void> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query("SELECT pg_advisory_xact_lock(hashtext('salon:migrate'))");
      await client.query(`
      CREATE SCHEMA IF NOT EXISTS ${ident(this.schema)};
      CREATE TABLE IF NOT EXISTS ${this.heads} (
        id text PRIMARY KEY,
        version integer NOT NULL,
        live boolean NOT NULL,
        head json NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX IF NOT EXISTS salon_heads_live ON ${this.heads} (id) WHERE live;
      CREATE TABLE IF NOT EXISTS ${this.turns} (
        salon_id text NOT NULL REFERENCES ${this.heads} (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
        idx integer NOT NULL,
        turn json NOT NULL,
        PRIMARY KEY (salon_id, idx)
      );
    `);
      // Tables made before salons were shared gain the columns for it. Only when they lack them: ALTER TABLE takes a
      // lock that would stall every save of a running cluster, at each start, for nothing.
      const { rows } = await client.query<{ column_name: string }>(
        `SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'salon_heads' AND column_name = 'share_token'`,
        [this.schema],
      );
      if (rows.length === 0) {
        await client.query(`
        ALTER TABLE ${this.heads} ADD COLUMN IF NOT EXISTS share_token text;
        ALTER TABLE ${this.heads} ADD COLUMN IF NOT EXISTS listed boolean NOT NULL DEFAULT false;
        ALTER TABLE ${this.heads} ADD COLUMN IF NOT EXISTS created_at timestamptz;
        CREATE UNIQUE INDEX IF NOT EXISTS salon_heads_share_token ON ${this.heads} (share_token) WHERE share_token IS NOT NULL;
        CREATE INDEX IF NOT EXISTS salon_heads_listed ON ${this.heads} (created_at DESC, id DESC) WHERE listed;
      `);
      }
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      client.release();
    }
  }

  async get(id: string): Promise<SalonRecord | undefined> {
    const { rows } = await this.pool.query<{ head: unknown }>(`SELECT head FROM ${this.heads} WHERE id = $1`, [id]);
    if (rows.length === 0) return undefined;
    return this.withTurns(id, rows[0]!.head);
  }

  private withTurns(id: string, head: unknown): Promise<SalonRecord> {
    return assemble(head, async (count) => {
      const turns = await this.pool.query<{ idx: number; turn: unknown }>(`SELECT idx, turn FROM ${this.turns} WHERE salon_id = $1 AND idx < $2 ORDER BY idx`, [
        id,
        count,
      ]);
      const byIndex: unknown[] = Array.from({ length: count });
      for (const row of turns.rows) byIndex[row.idx] = row.turn;
      return byIndex;
    });
  }

  async save(record: SalonRecord, change?: SaveChange): Promise<void> {
    const { head, turns } = splitRecord(record, change?.turns);
    const client = await this.pool.connect();
    // A checked-out client reports a lost connection (the server restarted) as an 'error' event, which the pool's
    // own listener does not cover: unheard, it would take the process down. The query in flight fails as well, and
    // that failure is what the caller sees.
    const onError = () => {};
    client.on('error', onError);
    let failure: unknown;
    try {
      await client.query('BEGIN');
      const live = isLive(record);
      const shared = [record.share?.token ?? null, record.share?.listed === true, new Date(createdAtMs(record)).toISOString()];
      const written = change
        ? await client.query(
            `UPDATE ${this.heads} SET version = $2, live = $3, head = $4, share_token = $6, listed = $7, created_at = $8, updated_at = now()
             WHERE id = $1 AND version = $5`,
            [record.id, record.version, live, JSON.stringify(head), change.expected, ...shared],
          )
        : await client.query(
            `INSERT INTO ${this.heads} (id, version, live, head, share_token, listed, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (id) DO NOTHING`,
            [record.id, record.version, live, JSON.stringify(head), ...shared],
          );
      if (written.rowCount !== 1) {
        await client.query('ROLLBACK');
        const found = await this.pool.query<{ version: number }>(`SELECT version FROM ${this.heads} WHERE id = $1`, [record.id]);
        throw new StaleRecordError(record.id, change?.expected, found.rows[0]?.version);
      }
      if (turns.length > 0) {
        // Arrays, not json_to_recordset: taking JSON apart would refuse the \u0000 that `json` itself stores.
        await client.query(
          `INSERT INTO ${this.turns} (salon_id, idx, turn)
           SELECT $1, t.idx, t.turn::json FROM unnest($2::integer[], $3::text[]) AS t(idx, turn)
           ON CONFLICT (salon_id, idx) DO UPDATE SET turn = EXCLUDED.turn`,
          [record.id, turns.map((turn) => turn.index), turns.map((turn) => JSON.stringify(turn))],
        );
      }
      await client.query('COMMIT');
    } catch (err) {
      if (!(err instanceof StaleRecordError)) {
        failure = err;
        await client.query('ROLLBACK').catch(() => {});
      }
      throw err;
    } finally {
      client.off('error', onError);
      // A client that failed may be broken: destroyed, not handed back to the pool.
      client.release(failure instanceof Error ? failure : undefined);
    }
  }

  async activeIds(): Promise<string[]> {
    const { rows } = await this.pool.query<{ id: string }>(`SELECT id FROM ${this.heads} WHERE live`);
    return rows.map((r) => r.id);
  }

  async activeHeads(): Promise<SalonHead[]> {
    const { rows } = await this.pool.query<{ head: unknown }>(`SELECT head FROM ${this.heads} WHERE live`);
    return rows.flatMap((r) => readable(r.head));
  }

  async findShared(token: string): Promise<SalonRecord | undefined> {
    const { rows } = await this.pool.query<{ id: string; head: unknown }>(`SELECT id, head FROM ${this.heads} WHERE share_token = $1`, [token]);
    if (rows.length === 0) return undefined;
    const salon = await this.withTurns(rows[0]!.id, rows[0]!.head);
    return salon.share?.token === token ? salon : undefined;
  }

  async listedHeads(page: { offset: number; limit: number }): Promise<{ heads: SalonHead[]; total: number }> {
    // One statement, so the count and the page are of one snapshot; the count's row comes even for a page past the end.
    const { rows } = await this.pool.query<{ total: number; head: unknown }>(
      `SELECT t.total, p.head FROM (SELECT count(*)::integer AS total FROM ${this.heads} WHERE listed) t
       LEFT JOIN LATERAL (
         SELECT head, created_at, id FROM ${this.heads} WHERE listed ORDER BY created_at DESC, id DESC OFFSET $1 LIMIT $2
       ) p ON true
       ORDER BY p.created_at DESC, p.id DESC`,
      [Math.max(0, page.offset), Math.max(0, page.limit)],
    );
    return { heads: rows.flatMap((r) => (r.head === null ? [] : listedHead(r.head))), total: rows[0]?.total ?? 0 };
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
