import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { classifyLedgerError } from '../../src/ledger/errors';
import { migrate } from '../../src/ledger/migrations';
import { openPostgres, POSTGRES_TIMEOUTS, WORKER_POSTGRES_TIMEOUTS, type Sql } from '../../src/ledger/sql';
import { privateDatabaseUrl } from '../support/config';

// The ledger's deadlines on a real PostgreSQL server: a stalled database fails a call with a clear error (which the
// intake turns into 503 + Retry-After) instead of holding it open.
describe('PostgreSQL timeouts', () => {
  const pools: Sql[] = [];
  let silent: Server;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    // Accepts TCP connections and never says a word: a database host that hangs.
    silent = createServer((socket) => sockets.push(socket));
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
  });

  afterAll(async () => {
    for (const pool of pools) await pool.close();
    for (const socket of sockets) socket.destroy();
    silent?.close();
  });

  const open = async (timeouts: Parameters<typeof openPostgres>[1] = {}, url = inject('postgresUrl')) => {
    const sql = await openPostgres(url, timeouts);
    pools.push(sql);
    return sql;
  };

  it('sets the documented deadlines on every session', async () => {
    const sql = await open();
    const [row] = await sql.query<{ statement: string; idle: string }>(
      `SELECT current_setting('statement_timeout') AS statement,
              current_setting('idle_in_transaction_session_timeout') AS idle`,
    );
    expect(row).toEqual({
      statement: `${POSTGRES_TIMEOUTS.statementMs / 1000}s`,
      idle: `${POSTGRES_TIMEOUTS.idleInTransactionMs / 1000}s`,
    });
  });

  it("gives the worker's sessions the longer bound of its scans", async () => {
    const sql = await open(WORKER_POSTGRES_TIMEOUTS);
    const [row] = await sql.query<{ statement: string }>(`SELECT current_setting('statement_timeout') AS statement`);
    expect(row?.statement).toBe(`${WORKER_POSTGRES_TIMEOUTS.statementMs / 1000}s`);
    expect(WORKER_POSTGRES_TIMEOUTS.statementMs).toBeGreaterThan(POSTGRES_TIMEOUTS.statementMs);
  });

  it("runs a migration longer than the intake's bounds to the end, and keeps them for everything else", async () => {
    // Bounds far below the migration's second, as an index build on a big table is far above the intake's 15 s.
    const sql = await open({ statementMs: 200, queryMs: 400 }, await privateDatabaseUrl());
    const slow = {
      id: 1,
      name: 'an index build on a big table',
      sql: 'SELECT pg_sleep(1); CREATE TABLE built (id integer)',
    };
    expect(await migrate(sql, [slow])).toEqual([1]);
    expect(await sql.query('SELECT id FROM schema_migrations')).toEqual([{ id: 1 }]);
    expect(await sql.query('SELECT count(*)::int AS n FROM built')).toEqual([{ n: 0 }]);
    // The lifted deadline ended with the migration's transaction.
    expect(await sql.query(`SELECT current_setting('statement_timeout') AS s`)).toEqual([{ s: '200ms' }]);
    expect(await sql.query('SELECT pg_sleep(1)').catch((e: unknown) => e)).toMatchObject({ code: '57014' });
    expect(await sql.transaction((tx) => tx.query('SELECT pg_sleep(1)')).catch((e: unknown) => e)).toMatchObject({
      code: '57014',
    });
  });

  it('gives up a migration whose DDL waits for a table lock, rather than holding the table for every query', async () => {
    const url = await privateDatabaseUrl();
    const sql = await open({}, url);
    await sql.query('CREATE TABLE busy (id integer)');
    const reader = await open({}, url);
    let release = () => undefined as void;
    const held = new Promise<void>((resolve) => (release = resolve));
    // A long transaction (an intake query, a backfill scan) holding a lock on the table.
    const holding = reader.transaction(async (tx) => {
      await tx.query('LOCK TABLE busy IN ACCESS SHARE MODE');
      await held;
    });
    try {
      const alter = { id: 1, name: 'a column on a busy table', sql: 'ALTER TABLE busy ADD COLUMN note text' };
      expect(await migrate(sql, [alter], { lockTimeoutMs: 300 }).catch((e: unknown) => e)).toMatchObject({
        code: '55P03',
      });
      expect(await sql.query("SELECT to_regclass('schema_migrations') IS NOT NULL AS kept")).toEqual([{ kept: false }]);
    } finally {
      release();
      await holding;
    }
    expect(await migrate(sql, [{ id: 1, name: 'again', sql: 'ALTER TABLE busy ADD COLUMN note text' }])).toEqual([1]);
  });

  it('lets one transaction take a longer bound of its own, client read deadline included', async () => {
    const sql = await open({ statementMs: 200, queryMs: 400 });
    const rows = await sql.transaction((tx) => tx.query<{ ok: number }>('SELECT 1 AS ok FROM pg_sleep(1)'), {
      statementMs: 2_000,
    });
    expect(rows).toEqual([{ ok: 1 }]);
    const err = await sql
      .transaction((tx) => tx.query('SELECT pg_sleep(30)'), { statementMs: 300 })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: '57014' });
  });

  it('has the server cancel a statement that runs past statement_timeout', async () => {
    const sql = await open({ statementMs: 200 });
    const err = await sql.query('SELECT pg_sleep(30)').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: '57014', message: expect.stringMatching(/statement timeout/) as unknown });
    expect(classifyLedgerError(err)).toBe('unavailable');
    // The pool is still usable afterwards.
    expect(await sql.query<{ one: number }>('SELECT 1 AS one')).toEqual([{ one: 1 }]);
  });

  it('cancels a statement inside a transaction as well, and rolls it back', async () => {
    const sql = await open({ statementMs: 200 });
    const err = await sql.transaction((tx) => tx.query('SELECT pg_sleep(30)')).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: '57014' });
  });

  it('gives up on an answer after query_timeout when the server does not end the statement', async () => {
    const sql = await open({ statementMs: 0, queryMs: 200 });
    const err = await sql.query('SELECT pg_sleep(30)').catch((e: unknown) => e);
    expect(err).toMatchObject({ message: expect.stringMatching(/Query read timeout/) as unknown });
    expect(classifyLedgerError(err)).toBe('unavailable');
  });

  it('gives up connecting to a database that accepts the connection and never answers', async () => {
    const { port } = silent.address() as AddressInfo;
    const err = await openPostgres(`postgres://user:pw@127.0.0.1:${port}/db`, { connectMs: 200 }).catch(
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ message: expect.stringMatching(/timeout/i) as unknown });
    expect(classifyLedgerError(err)).toBe('unavailable');
  });
});
