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
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/**
 * The ledger's deadlines on PostgreSQL (README, "Limits"). A ledger that stalls must fail fast, so that the intake
 * answers 503 + Retry-After and activities retry, instead of holding requests and activity slots open: a connection
 * within `connectMs`; a statement cancelled by the server after `statementMs` (SQLSTATE 57014); the client gives up
 * on an answer after `queryMs` (above `statementMs`, so the server's clearer error normally comes first); a session
 * left idle inside a transaction is ended after `idleInTransactionMs`.
 */
export const POSTGRES_TIMEOUTS = {
  connectMs: 5_000,
  statementMs: 15_000,
  queryMs: 20_000,
  idleInTransactionMs: 30_000,
} as const;

export type PostgresTimeouts = { -readonly [K in keyof typeof POSTGRES_TIMEOUTS]: number };

export async function openPostgres(url: string, timeouts: Partial<PostgresTimeouts> = {}): Promise<Sql> {
  const t = { ...POSTGRES_TIMEOUTS, ...timeouts };
  const pool = new pg.Pool({
    connectionString: url,
    max: 10,
    connectionTimeoutMillis: t.connectMs,
    statement_timeout: t.statementMs,
    query_timeout: t.queryMs,
    idle_in_transaction_session_timeout: t.idleInTransactionMs,
  });
  // An idle client losing its connection must not crash the process; the next query reconnects.
  pool.on('error', () => undefined);
  await pool.query('SELECT 1');
  return {
    engine: 'postgres',
    async query<R>(text: string, params: unknown[] = []) {
      return (await pool.query(text, params)).rows as R[];
    },
    async transaction(fn) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const result = await fn({
          query: async <R>(t: string, p: unknown[] = []) => (await client.query(t, p)).rows as R[],
        });
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
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
