import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { classifyLedgerError } from '../../src/ledger/errors';
import { openPostgres, POSTGRES_TIMEOUTS, type Sql } from '../../src/ledger/sql';

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

  const open = async (timeouts: Parameters<typeof openPostgres>[1] = {}) => {
    const sql = await openPostgres(inject('postgresUrl'), timeouts);
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
