import type { FastifyReply, FastifyRequest } from 'fastify';
import type { SandboxState } from '../state';
import { notFound, SfFault } from './errors';
import { isPlainObject, type Fields } from './fields';
import { sobjectName, type SalesforceSObject } from './sobjects';
import type { WriteContext } from './writes';

/**
 * The REST pipeline every `/services/data` route goes through (session → latency → rate limit / failure → API
 * allowance → parameters → work) and the request helpers the routes share.
 */

const MAX_COLLECTION = 200;
export const DEFAULT_BATCH = 2000;
const MIN_BATCH = 200;
/** The daily allowance reported in Sforce-Limit-Info when `apiRequestsRemaining` is null (unlimited). */
export const DEFAULT_DAILY_LIMIT = 100_000;
export const VERSION_RANGE = { min: 20, max: 66 };

export type P<T> = { Params: T };

export interface Answer {
  status: number;
  body?: unknown;
  /** Default JSON; Bulk API 2.0 results are `text/csv`. */
  contentType?: string;
  /** Replaces the call log key decided before the work (e.g. the id of a created record). */
  key?: string | null;
  note?: string;
}

export interface RestContext extends WriteContext {
  request: FastifyRequest;
}

export function stringParams(source: unknown): Record<string, string> {
  if (!isPlainObject(source)) return {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(source)) if (typeof v === 'string') out[k] = v;
  return out;
}

export function headerValue(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** `allowSave=true; includeRecordDetails=false` → { allowsave: 'true', ... } */
export function headerOptions(value: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (value ?? '').split(/[;,]/)) {
    const [k, v] = part.split('=', 2);
    if (k && v !== undefined) out[k.trim().toLowerCase()] = v.trim().toLowerCase();
  }
  return out;
}

export function batchSizeOf(request: FastifyRequest): number | undefined {
  const raw = headerOptions(headerValue(request, 'sforce-query-options')).batchsize;
  const n = raw === undefined ? NaN : Number.parseInt(raw, 10);
  return Number.isNaN(n) ? undefined : Math.min(DEFAULT_BATCH, Math.max(MIN_BATCH, n));
}

export function bearerOf(request: FastifyRequest): string | undefined {
  const header = headerValue(request, 'authorization');
  if (!header) return undefined;
  const space = header.indexOf(' ');
  const scheme = header.slice(0, space).toLowerCase();
  return scheme === 'bearer' || scheme === 'oauth' ? header.slice(space + 1).trim() : undefined;
}

export function objectBody(body: unknown): Fields {
  if (!isPlainObject(body)) throw new SfFault(400, 'JSON_PARSER_ERROR', 'The request body must be a JSON object');
  return body;
}

export function collectionBody(body: unknown): { allOrNone: boolean; records: Fields[] } {
  const parsed = objectBody(body);
  const records = parsed.records;
  if (!Array.isArray(records) || !records.every(isPlainObject)) {
    throw new SfFault(400, 'JSON_PARSER_ERROR', 'The request body must have a records array of objects');
  }
  if (records.length > MAX_COLLECTION) {
    throw new SfFault(
      400,
      'EXCEEDED_ID_LIMIT',
      `record limit reached. cannot submit more than ${MAX_COLLECTION} records into this call`,
    );
  }
  return { allOrNone: parsed.allOrNone === true, records };
}

export function typeOf(raw: string): SalesforceSObject {
  const type = sobjectName(raw);
  if (!type) throw notFound();
  return type;
}

/**
 * The REST pipeline of one plugin: `tokens` are the access tokens it issued (kept across resets, see ./index.ts).
 * `work` answers or throws SfFault; the call is logged with `key` (or the key the answer gives).
 */
export function createRest(state: SandboxState, tokens: ReadonlySet<string>) {
  return async (
    request: FastifyRequest,
    reply: FastifyReply,
    key: string | null,
    version: string | undefined,
    work: (ctx: RestContext) => Answer,
  ) => {
    const sys = state.system('salesforce');
    let logKey = key;
    const answer = (status: number, body: unknown, note?: string, contentType?: string) => {
      if (contentType) reply.header('content-type', contentType);
      sys.recordRequest(request, {
        key: logKey === null ? null : logKey.slice(0, 200),
        status,
        creditsCharged: 0,
        note,
      });
      reply.code(status);
      return body === undefined ? reply.send() : reply.send(body);
    };

    const token = bearerOf(request);
    if (!token || !tokens.has(token)) {
      reply.header('www-authenticate', 'Token');
      return answer(401, [{ message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' }]);
    }
    const gate = await sys.gate();
    if (gate.kind !== 'ok') {
      // No 429 in Salesforce's REST API: see the comment at the top of ./index.ts.
      return answer(
        503,
        [{ message: 'Server is temporarily unavailable', errorCode: 'SERVER_UNAVAILABLE' }],
        gate.kind === 'rate_limited' ? 'rate limited' : 'injected failure',
      );
    }

    const store = state.records.salesforce;
    const org = state.salesforceOrg;
    const remaining = sys.control.apiRequestsRemaining;
    const limitHeader = () => {
      const left = sys.control.apiRequestsRemaining;
      reply.header(
        'sforce-limit-info',
        `api-usage=${org.apiUsed}/${left === null ? DEFAULT_DAILY_LIMIT : org.apiUsed + left}`,
      );
    };
    if (remaining === 0) {
      limitHeader();
      return answer(403, [{ message: 'TotalRequests Limit exceeded.', errorCode: 'REQUEST_LIMIT_EXCEEDED' }]);
    }
    org.apiUsed++;
    if (remaining !== null) sys.update({ apiRequestsRemaining: remaining - 1 });
    limitHeader();

    try {
      const major = version === undefined ? NaN : Number(/^v(\d+)\.0$/.exec(version)?.[1]);
      if (version !== undefined && !(major >= VERSION_RANGE.min && major <= VERSION_RANGE.max)) throw notFound();
      const ctx: RestContext = {
        request,
        state,
        store,
        org,
        base: `/services/data/${version ?? `v${VERSION_RANGE.max}.0`}`,
        allowSave: headerOptions(headerValue(request, 'sforce-duplicate-rule-header')).allowsave === 'true',
        collection: false,
      };
      const result = work(ctx);
      if (result.key !== undefined) logKey = result.key;
      return answer(result.status, result.body, result.note, result.contentType);
    } catch (err) {
      if (err instanceof SfFault) return answer(err.status, err.body ?? [err.rest()], err.errorCode);
      request.log.error(err);
      return answer(500, [
        {
          message: 'An unexpected error occurred. Please include this ErrorId if you contact support.',
          errorCode: 'UNKNOWN_EXCEPTION',
        },
      ]);
    }
  };
}

export type Rest = ReturnType<typeof createRest>;
