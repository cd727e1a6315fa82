import type { FastifyInstance } from 'fastify';
import { SfFault } from './errors';
import { sfId } from './ids';
import type { QueryCursor } from './org';
import { batchSizeOf, DEFAULT_BATCH, stringParams, type Answer, type P, type Rest, type RestContext } from './rest';
import { runSoql } from './soql/runner';

/** `query` / `queryAll` and their `nextRecordsUrl` pages (cursors kept in the org state). */

const MAX_CURSORS = 50;

export function registerQueryRoutes(app: FastifyInstance, rest: Rest): void {
  const runQuery = (ctx: RestContext, soql: string): Answer => {
    const result = runSoql(ctx.store, ctx.org, ctx.base, soql);
    if (result.kind === 'count') return { status: 200, body: { totalSize: result.totalSize, done: true, records: [] } };
    return {
      status: 200,
      body: page(ctx, { rows: result.rows, batchSize: batchSizeOf(ctx.request) ?? DEFAULT_BATCH }, 0),
    };
  };

  const page = (ctx: RestContext, cursor: QueryCursor, offset: number, cursorId?: string) => {
    const { rows } = cursor;
    const batchSize = batchSizeOf(ctx.request) ?? cursor.batchSize;
    const records = rows.slice(offset, offset + batchSize);
    const next = offset + records.length;
    if (next >= rows.length) return { totalSize: rows.length, done: true, records };
    let id = cursorId;
    if (!id) {
      id = sfId('01g', ++ctx.org.nextCursor);
      ctx.org.cursors.set(id, cursor);
      for (const old of ctx.org.cursors.keys()) {
        if (ctx.org.cursors.size <= MAX_CURSORS) break;
        ctx.org.cursors.delete(old);
      }
    }
    return { totalSize: rows.length, done: false, nextRecordsUrl: `${ctx.base}/query/${id}-${next}`, records };
  };

  for (const resource of ['query', 'queryAll']) {
    app.get<P<{ version: string }>>(`/services/data/:version/${resource}`, (request, reply) => {
      const q = stringParams(request.query).q;
      return rest(request, reply, q ?? null, request.params.version, (ctx) => {
        if (!q?.trim()) throw new SfFault(400, 'MALFORMED_QUERY', 'A query string has to be specified');
        return runQuery(ctx, q);
      });
    });

    app.get<P<{ version: string; locator: string }>>(`/services/data/:version/${resource}/:locator`, (request, reply) =>
      rest(request, reply, request.params.locator, request.params.version, (ctx) => {
        const m = /^(01g[A-Za-z0-9]{15,18})-(\d+)$/.exec(request.params.locator);
        const cursor = m?.[1] ? ctx.org.cursors.get(m[1]) : undefined;
        if (!m?.[1] || !cursor) throw new SfFault(400, 'INVALID_QUERY_LOCATOR', 'invalid query locator');
        return { status: 200, body: page(ctx, cursor, Number(m[2]), m[1]) };
      }),
    );
  }
}
