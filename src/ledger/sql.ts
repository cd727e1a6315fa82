import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';

/** What queries need from a connection: the same `$1` placeholders and row objects on both engines. */
export interface SqlExecutor {
  query<R>(text: string, params?: unknown[]): Promise<R[]>;
}

/** One query layer over PostgreSQL (`pg`) and the embedded PGlite. */
export interface Sql extends SqlExecutor {
  readonly engine: 'postgres' | 'pglite';
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>, options?: TransactionOptions): Promise<T>;
  close(): Promise<void>;
}

/**
 * A timestamp column as an ISO string. Records leave the ledger as plain JSON (they cross Temporal, where a `Date`
 * would not survive), whatever form the driver hands the column back in.
 */
export const iso = (v: Date | string): string => new Date(v).toISOString();

export interface TransactionOptions {
  /**
   * This transaction's statement deadline instead of the connection's, `0` for none (migrations: an index build on a
   * big table takes what it takes). The client waits the same margin past it as past the connection's. PGlite has no
   * deadlines at all.
   */
  statementMs?: number;
}

/**
 * The ledger's deadlines on PostgreSQL (docs/configuration.md, "Timeouts and size limits"). A ledger that stalls
 * must fail fast, so that the intake
 * answers 503 + Retry-After and activities retry, instead of holding requests and activity slots open: a connection
 * within `connectMs`; a statement cancelled by the server after `statementMs` (SQLSTATE 57014); the client gives up
 * on an answer after `queryMs` (above `statementMs`, so the server's clearer error normally comes first); a session
 * left idle inside a transaction is ended after `idleInTransactionMs`. These are the intake's (and the default); the
 * worker's are `WORKER_POSTGRES_TIMEOUTS`, and migrations run without a statement deadline (`migrate`).
 */
export const POSTGRES_TIMEOUTS = {
  connectMs: 5_000,
  statementMs: 15_000,
  queryMs: 20_000,
  idleInTransactionMs: 30_000,
} as const;

export type PostgresTimeouts = { -readonly [K in keyof typeof POSTGRES_TIMEOUTS]: number };

/**
 * The worker's: its health-check and backfill scans read whole days of the ledger, in activities given one minute. A
 * statement still ends before its activity does, so a retry never runs beside the query it replaces.
 */
export const WORKER_POSTGRES_TIMEOUTS: PostgresTimeouts = {
  ...POSTGRES_TIMEOUTS,
  statementMs: 50_000,
  queryMs: 55_000,
};

// `query_timeout` per query (pg reads it from the query before the client's config) rather than on the pool, so that a
// transaction without a statement deadline has no read deadline either; test/ledger/sql-timeouts.test.ts holds pg to it.
type TimedQuery = pg.QueryConfig & { query_timeout?: number };

export async function openPostgres(url: string, timeouts: Partial<PostgresTimeouts> = {}): Promise<Sql> {
  const t = { ...POSTGRES_TIMEOUTS, ...timeouts };
  const pool = new pg.Pool({
    connectionString: url,
    max: 10,
    connectionTimeoutMillis: t.connectMs,
    statement_timeout: t.statementMs,
    idle_in_transaction_session_timeout: t.idleInTransactionMs,
  });
  // An idle client losing its connection must not crash the process; the next query reconnects.
  pool.on('error', () => undefined);
  const margin = Math.max(t.queryMs - t.statementMs, 0);
  const timed = (text: string, values: unknown[], queryMs: number): TimedQuery => ({
    text,
    values,
    query_timeout: queryMs > 0 ? queryMs : undefined,
  });
  await pool.query(timed('SELECT 1', [], t.queryMs));
  return {
    engine: 'postgres',
    async query<R>(text: string, params: unknown[] = []) {
      return (await pool.query(timed(text, params, t.queryMs))).rows as R[];
    },
    async transaction(fn, options = {}) {
      const own = options.statementMs;
      const queryMs = own === undefined ? t.queryMs : own > 0 ? own + margin : 0;
      const client = await pool.connect();
      try {
        await client.query(timed('BEGIN', [], queryMs));
        if (own !== undefined) {
          await client.query(timed("SELECT set_config('statement_timeout', $1, true)", [String(own)], queryMs));
        }
        const result = await fn({
          query: async <R>(text: string, p: unknown[] = []) =>
            (await client.query(timed(text, p, queryMs))).rows as R[],
        });
        await client.query(timed('COMMIT', [], queryMs));
        return result;
      } catch (err) {
        await client.query(timed('ROLLBACK', [], t.queryMs)).catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
    },
    async close() {
      await pool.end();
    },
  };
}

/**
 * The embedded database: PostgreSQL compiled to WebAssembly, persisted in `dataDir` (or in memory when
 * undefined). One process owns it at a time, which is why `npm start` runs the worker and starter together.
 */
export async function openPglite(dataDir: string | undefined): Promise<Sql> {
  if (dataDir !== undefined) mkdirSync(dataDir, { recursive: true });
  const db = await PGlite.create(dataDir);
  return {
    engine: 'pglite',
    async query<R>(text: string, params: unknown[] = []) {
      return (await db.query<R>(text, params)).rows;
    },
    async transaction(fn) {
      return db.transaction((tx) =>
        fn({ query: async <R>(t: string, p: unknown[] = []) => (await tx.query<R>(t, p)).rows }),
      );
    },
    async close() {
      await db.close();
    },
  };
}
