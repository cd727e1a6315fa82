import type { FastifyError, FastifyInstance, FastifyPluginCallback, FastifyReply, FastifyRequest } from 'fastify';
import { uuidFrom } from './dataset';
import { SandboxState, type ProviderPluginOptions, type RecordStore } from './state';

/**
 * PostHog (one project), written from PostHog's public documentation: "Capture and batch API endpoints"
 * (posthog.com/docs/api/capture, with its former "Responses" section), "API queries" (posthog.com/docs/api/queries),
 * the query endpoint reference, the group analytics and identify docs, and PostHog's public source where the docs
 * point to it (the capture service's error list, the HogQL response schema, the personal API key authentication).
 *
 * Capture (public endpoints, real host us.i.posthog.com), all POST with a JSON body:
 *
 * - `/batch/` `{ api_key, batch: [event, ...], historical_migration? }`; `/capture/`, `/e/`, `/i/v0/e/` one event
 *   `{ api_key, event, distinct_id, properties?, timestamp?, uuid? }` (with or without the trailing slash). As
 *   PostHog does, every one of these paths accepts all three body forms (a batch object, one event, a JSON array
 *   of events); `distinct_id` may also be given as `properties.distinct_id`.
 * - 200 `{ "status": "Ok" }`: PostHog's docs answered `{ "status": 1 }` until the capture service was rewritten;
 *   they were corrected to `"Ok"` (posthog.com PR #11769), which is what the service sends today.
 * - Errors in PostHog's documented JSON shape `{ type, code, detail, attr }`: 401 `authentication_error` —
 *   `missing_api_key` ("API key not provided. ...") when there is no key, `invalid_api_key` ("Project API key
 *   invalid. ...") for `bad-key`; 400 `validation_error` / `invalid_payload` with the capture service's messages
 *   ("request holds no event", "event submitted with an empty event name", "event submitted without a
 *   distinct_id", ...). The whole request is refused and nothing is stored, as the capture service validates every
 *   event before it sends any on. The current capture service answers errors as plain text, not JSON: the sandbox
 *   keeps the documented JSON shape, which is what the docs show. The docs' "Invalid events" section still says a
 *   missing event name or distinct id is accepted with 200 and dropped; the capture service's source refuses them
 *   with 400, and so does the sandbox.
 * - 429 over `rateLimitPerSecond` and 503 for an injected failure: the capture service's statuses for "rate limited"
 *   and "transient error, please retry". Their bodies are the sandbox's choice (`throttled_error` / `rate_limited`,
 *   `server_error` / `service_unavailable`); no `Retry-After`, as the capture service sends none.
 * - Plain JSON only (`application/json`, or JSON sent as `text/plain` as browsers' beacons do): no gzip / lz64
 *   (`Content-Encoding` or `compression=`), no form-encoded `data=` bodies. Bodies up to 20 MB (the documented
 *   limit). A body that cannot be decoded answers 400 `invalid_payload` before the key is looked at (the key is in
 *   the body; PostHog also decodes first), a larger one 413.
 *
 * What ingestion does with the events (kept in `state.records.posthog`, read at request time: `POST /_reset`
 * replaces it):
 *
 * - Every event is an `event` record keyed by its `uuid` (lower-cased), or by a uuid the sandbox derives from a
 *   per-store sequence when none is sent. PostHog deduplicates events by uuid: one sent again is the same record,
 *   its write count goes up, and it counts once in queries. Its person and group effects are applied again (they are
 *   idempotent for the same content).
 * - `$groupidentify` (`$group_type`, `$group_key`, `$group_set`) → a `group` record keyed `<type>:<key>`, fields
 *   `{ group_type, group_key, group_type_index, properties, created_at }`; `$group_set` is merged into the
 *   properties on every write; `created_at` is the time of the event that created the group. A group type gets the
 *   next index (0..4) the first time it is seen in `$groupidentify` or `$groups`; PostHog allows 5 group types, so a
 *   sixth is ignored (the event itself is stored).
 * - `$set`, `$set_once` and `$unset` in `properties` (or at the top level of the event, the older form), and every
 *   `$identify` event → a `person` record keyed by distinct id, fields `{ distinct_id, properties, created_at }`:
 *   `$set_once` only fills properties that are missing, then `$set` overwrites, then `$unset` removes. An event
 *   with `$process_person_profile: false` touches no person.
 * - `$groups` on an event is kept as the event's `groups` field; it creates no group (as documented).
 * - Event time is the event's `timestamp` (ISO 8601; without an offset it is UTC), else the time it arrived; an
 *   unreadable timestamp is replaced by the arrival time, as PostHog's ingestion does.
 *
 * Query API (private endpoint, real host us.posthog.com): `POST /api/projects/:project_id/query/` (any project id,
 * with or without the trailing slash), `Authorization: Bearer <personal API key>` (or `personal_api_key` in the body
 * or query string), body `{ query: { kind: 'HogQLQuery', query: '<sql>' }, name?, refresh?, client_query_id? }`.
 *
 * - 200: the HogQL query response `{ results, columns, types, hasMore, limit, offset, hogql, query, is_cached,
 *   timezone, error, timings }`; `types` pairs each column with its ClickHouse type (`[["day", "Date"], ...]`).
 *   Always answered synchronously (`refresh: 'async'` is not simulated) and never cached.
 * - Values as PostHog's API serializes them: `count()` a number, `toDate(...)` `'2026-11-01'`, date-times in UTC as
 *   `'2026-11-03T10:00:00Z'` (milliseconds only when they are not zero, e.g. `'2026-11-03T10:00:00.250Z'`),
 *   properties as strings (HogQL reads a property as a String; a missing one is null).
 * - Without a `LIMIT` at most 100 rows come back (the documented default), with one at most 50,000; `hasMore` says
 *   whether rows were left out.
 * - 401 `authentication_error`: `not_authenticated` ("Authentication credentials were not provided.") without a
 *   key, `authentication_failed` ("Personal API key found in request Authorization header is invalid.") for
 *   `bad-key`, with `WWW-Authenticate: Bearer`; 429 `throttled_error` / `throttled` with `Retry-After` (Django REST
 *   framework's throttling answer); 503 `server_error` ("Queries are a little too busy right now. ..."), PostHog's
 *   answer when ClickHouse is at capacity, for an injected failure; 400 `validation_error` for a body without a
 *   query.
 * - The SQL is parsed by a small tokenizer and recursive-descent parser, keywords and function names in any case:
 *   `SELECT expr [AS alias], ... FROM events | groups [WHERE cond] [GROUP BY expr, ...] [ORDER BY expr [ASC|DESC],
 *   ...] [LIMIT n [OFFSET m]]`. Expressions: columns (`events`: uuid, event, distinct_id, timestamp, properties;
 *   `groups`: index, key, created_at, properties), `properties.<name>`, string and number literals, NULL, `count()`,
 *   `toDate(x)`, `toDateTime('YYYY-MM-DD[ HH:MM:SS]')`, `isNull(x)`, `isNotNull(x)`, `= == != <> < <= > >=`,
 *   `[NOT] IN (...)`, `IS [NOT] NULL`, AND, OR, NOT, parentheses; select aliases can be used in WHERE, GROUP BY and
 *   ORDER BY. This covers the three queries the project runs (daily event counts, organizations created in a window
 *   without a property, an event count); anything else (joins, sub-queries, other tables or functions, `SELECT *`,
 *   HAVING, placeholders) answers 400 `{ type: 'validation_error', code: 'query_error', detail: 'unsupported query
 *   in the sandbox: ...' }` — the sandbox's own code, since a real PostHog would run those queries.
 *
 * Order of checks on every endpoint: auth → `latencyMs` → rate limit (429) → injected failure (503) → parameters →
 * work. Credits are not used. Call log: `key` is the number of events, or the first 200 characters of the query.
 */

const MAX_BODY_BYTES = 20 * 1024 * 1024;
const MAX_GROUP_TYPES = 5;
const DEFAULT_QUERY_LIMIT = 100;
const MAX_QUERY_LIMIT = 50_000;
const CAPTURE_PATHS = ['/batch', '/capture', '/e', '/i/v0/e'];

// ---------------------------------------------------------------------------------------------------------------
// Project state beside the RecordStore (forgotten with it on reset)

interface ProjectState {
  /** Events captured without a uuid get one derived from this sequence. */
  eventSequence: number;
  /** Group types in the order first seen; the position is the group type index. */
  groupTypes: string[];
}

const projects = new WeakMap<RecordStore, ProjectState>();
/** The sandbox state per HTTP server, so that `seedPosthogEvents(app, ...)` works with the Fastify instance. */
const statesByServer = new WeakMap<object, SandboxState>();

function projectOf(store: RecordStore): ProjectState {
  let project = projects.get(store);
  if (!project) {
    project = { eventSequence: 0, groupTypes: [] };
    projects.set(store, project);
  }
  return project;
}

function groupTypeIndex(store: RecordStore, groupType: string): number | undefined {
  const { groupTypes } = projectOf(store);
  const index = groupTypes.indexOf(groupType);
  if (index >= 0) return index;
  if (groupTypes.length >= MAX_GROUP_TYPES) return undefined;
  groupTypes.push(groupType);
  return groupTypes.length - 1;
}

// ---------------------------------------------------------------------------------------------------------------
// Events: validation and ingestion

type Json = Record<string, unknown>;

/** An event as the capture API takes it (and as `seedPosthogEvents` takes it). */
export interface PosthogEventInput {
  event: string;
  distinct_id?: string | number;
  properties?: Record<string, unknown>;
  /** ISO 8601; without an offset it is UTC. Default: now. */
  timestamp?: string;
  uuid?: string;
  $set?: Record<string, unknown>;
  $set_once?: Record<string, unknown>;
}

interface ValidEvent {
  event: string;
  distinctId: string;
  properties: Json;
  timestampMs: number | undefined;
  uuid: string | undefined;
  /** Person updates given at the top level of the event (the older form of `$identify`). */
  topSet: Json | undefined;
  topSetOnce: Json | undefined;
}

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const UUID_RE = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

/** The event, or the capture service's message for what is wrong with it. */
function validateEvent(raw: unknown): ValidEvent | string {
  if (!isObject(raw)) return 'failed to parse request: an event is not a JSON object';
  if (typeof raw.event !== 'string' || raw.event.length === 0) return 'event submitted with an empty event name';
  if (raw.properties !== undefined && raw.properties !== null && !isObject(raw.properties))
    return 'failed to parse request: properties is not a JSON object';
  const properties: Json = isObject(raw.properties) ? { ...raw.properties } : {};
  const rawId = raw.distinct_id ?? properties.distinct_id ?? raw.$distinct_id;
  if (rawId === undefined || rawId === null) return 'event submitted without a distinct_id';
  if (typeof rawId !== 'string' && typeof rawId !== 'number') return 'failed to parse request: invalid distinct_id';
  const distinctId = String(rawId).trim().slice(0, 200);
  if (!distinctId) return 'event submitted with an empty distinct_id';
  let uuid: string | undefined;
  if (raw.uuid !== undefined && raw.uuid !== null) {
    if (typeof raw.uuid !== 'string' || !UUID_RE.test(raw.uuid)) return 'failed to parse request: invalid uuid';
    uuid = canonicalUuid(raw.uuid);
  }
  const timestampMs = typeof raw.timestamp === 'string' ? parseDateTime(raw.timestamp) : undefined;
  return {
    event: raw.event,
    distinctId,
    properties,
    timestampMs,
    uuid,
    topSet: isObject(raw.$set) ? raw.$set : undefined,
    topSetOnce: isObject(raw.$set_once) ? raw.$set_once : undefined,
  };
}

function canonicalUuid(text: string): string {
  const hex = text.replace(/-/g, '').toLowerCase();
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** Stores one valid event and applies its group and person effects; returns its uuid. */
function ingest(store: RecordStore, e: ValidEvent, nowMs: number): string {
  const project = projectOf(store);
  const timestamp = new Date(e.timestampMs ?? nowMs).toISOString();
  const uuid = e.uuid ?? uuidFrom(`posthog:event:${++project.eventSequence}`);
  const props = e.properties;

  const groups = isObject(props.$groups) ? { ...props.$groups } : undefined;
  for (const type of Object.keys(groups ?? {})) groupTypeIndex(store, type);

  store.upsert('event', uuid, {
    uuid,
    event: e.event,
    distinct_id: e.distinctId,
    properties: props,
    timestamp,
    groups,
  });

  if (e.event === '$groupidentify') {
    const type = props.$group_type;
    const rawKey = props.$group_key;
    const groupKey = typeof rawKey === 'number' ? String(rawKey) : rawKey;
    const index = typeof type === 'string' && type ? groupTypeIndex(store, type) : undefined;
    if (index !== undefined && typeof type === 'string' && typeof groupKey === 'string' && groupKey) {
      const key = `${type}:${groupKey}`;
      const existing = store.get('group', key);
      const before = isObject(existing?.fields.properties) ? existing.fields.properties : {};
      const groupSet = isObject(props.$group_set) ? props.$group_set : {};
      store.upsert('group', key, {
        group_type: type,
        group_key: groupKey,
        group_type_index: index,
        properties: { ...before, ...groupSet },
        created_at: existing ? undefined : timestamp,
      });
    }
  }

  const set = { ...(e.topSet ?? {}), ...(isObject(props.$set) ? props.$set : {}) };
  const setOnce = { ...(e.topSetOnce ?? {}), ...(isObject(props.$set_once) ? props.$set_once : {}) };
  const unset = Array.isArray(props.$unset) ? props.$unset.filter((k): k is string => typeof k === 'string') : [];
  const touchesPerson =
    e.event === '$identify' ||
    Object.keys(set).length > 0 ||
    Object.keys(setOnce).length > 0 ||
    unset.length > 0 ||
    isObject(props.$set) ||
    isObject(props.$set_once);
  if (touchesPerson && props.$process_person_profile !== false) {
    const existing = store.get('person', e.distinctId);
    const properties: Json = isObject(existing?.fields.properties) ? { ...existing.fields.properties } : {};
    for (const [k, v] of Object.entries(setOnce)) if (!(k in properties)) properties[k] = v;
    Object.assign(properties, set);
    for (const k of unset) delete properties[k];
    store.upsert('person', e.distinctId, {
      distinct_id: e.distinctId,
      properties,
      created_at: existing ? undefined : timestamp,
    });
  }
  return uuid;
}

function stateOf(target: SandboxState | FastifyInstance): SandboxState {
  if (target instanceof SandboxState) return target;
  const state = statesByServer.get(target.server);
  if (!state)
    throw new Error(
      'seedPosthogEvents: no PostHog simulator registered on this Fastify instance (seed after `await app.ready()`)',
    );
  return state;
}

/**
 * Stores events as if they had been captured (groups and persons included), without a request in the call log; for
 * tests that need events on past days. Throws on an event the capture API would refuse. Returns the event uuids.
 * `target` is the sandbox state or the Fastify instance the simulator is registered on (once it is ready: plugins
 * are registered by `await app.ready()` or the first request).
 */
export function seedPosthogEvents(
  target: SandboxState | FastifyInstance,
  events: readonly PosthogEventInput[],
): string[] {
  const store = stateOf(target).records.posthog;
  const valid = events.map((raw, i) => {
    const e = validateEvent(raw);
    if (typeof e === 'string') throw new Error(`seedPosthogEvents: event ${i}: ${e}`);
    return e;
  });
  const now = Date.now();
  return valid.map((e) => ingest(store, e, now));
}

/**
 * Where the project API key and the events are in a capture body: a batch object `{ api_key, batch: [...] }`, one
 * event `{ api_key, event, ... }`, or a JSON array of events (each with its own `api_key` / `token`). `items` is
 * undefined when the body holds no list of events (not an object, or `batch` not an array).
 */
function readCaptureBody(body: unknown): { token: string | undefined; items: unknown[] | undefined } {
  const tokenIn = (o: unknown): string | undefined => {
    if (!isObject(o)) return undefined;
    const candidates = [o.api_key, o.token, o.$token, isObject(o.properties) ? o.properties.token : undefined];
    return candidates.find((c): c is string => typeof c === 'string' && c.length > 0);
  };
  if (Array.isArray(body)) return { token: tokenIn(body[0]), items: body };
  if (!isObject(body)) return { token: undefined, items: undefined };
  if ('batch' in body) {
    const batch = Array.isArray(body.batch) ? (body.batch as unknown[]) : undefined;
    return { token: tokenIn(body) ?? tokenIn(batch?.[0]), items: batch };
  }
  return { token: tokenIn(body), items: [body] };
}

// ---------------------------------------------------------------------------------------------------------------
// Date-times

/** ISO 8601 (`T` or space, optional seconds and fraction, optional `Z` / offset; without one it is UTC) → ms. */
export function parseDateTime(text: string): number | undefined {
  const m =
    /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i.exec(
      text.trim(),
    );
  if (!m) return undefined;
  const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '', zone] = m;
  const ms = Number(frac.padEnd(3, '0').slice(0, 3));
  let t = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), ms);
  const check = new Date(t);
  if (
    check.getUTCFullYear() !== Number(y) ||
    check.getUTCMonth() !== Number(mo) - 1 ||
    check.getUTCDate() !== Number(d) ||
    Number(h) > 23 ||
    Number(mi) > 59 ||
    Number(s) > 59
  )
    return undefined;
  if (zone && zone.toUpperCase() !== 'Z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    const offsetMinutes = Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4) || '0');
    t -= sign * offsetMinutes * 60_000;
  }
  return t;
}

/** How PostHog's API writes a UTC date-time: `2026-11-03T10:00:00Z`, milliseconds only when not zero. */
function formatDateTime(ms: number): string {
  const iso = new Date(ms).toISOString();
  return iso.endsWith('.000Z') ? `${iso.slice(0, 19)}Z` : iso;
}

// ---------------------------------------------------------------------------------------------------------------
// HogQL subset: tokenizer, parser, evaluator

class QueryError extends Error {}
const unsupported = (reason: string) => new QueryError(`unsupported query in the sandbox: ${reason}`);

type Token =
  | { k: 'word'; v: string; pos: number }
  | { k: 'qident'; v: string; pos: number }
  | { k: 'str'; v: string; pos: number }
  | { k: 'num'; v: number; pos: number }
  | { k: 'op'; v: string; pos: number }
  | { k: 'eof'; pos: number };

const OPERATORS = ['<=', '>=', '!=', '<>', '==', '=', '<', '>', '(', ')', ',', '.', '*', ';', '-'];

export function tokenizeHogql(sql: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < sql.length) {
    const c = sql[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (sql.startsWith('--', i)) {
      const end = sql.indexOf('\n', i);
      i = end < 0 ? sql.length : end + 1;
      continue;
    }
    if (sql.startsWith('/*', i)) {
      const end = sql.indexOf('*/', i + 2);
      if (end < 0) throw unsupported('unterminated comment');
      i = end + 2;
      continue;
    }
    const start = i;
    if (/[A-Za-z_$]/.test(c)) {
      while (i < sql.length && /[A-Za-z0-9_$]/.test(sql[i]!)) i++;
      tokens.push({ k: 'word', v: sql.slice(start, i), pos: start });
      continue;
    }
    if (/[0-9]/.test(c)) {
      while (i < sql.length && /[0-9]/.test(sql[i]!)) i++;
      if (sql[i] === '.' && /[0-9]/.test(sql[i + 1] ?? '')) {
        i++;
        while (i < sql.length && /[0-9]/.test(sql[i]!)) i++;
      }
      tokens.push({ k: 'num', v: Number(sql.slice(start, i)), pos: start });
      continue;
    }
    if (c === "'" || c === '"' || c === '`') {
      // Strings in single quotes; identifiers in double quotes or backticks. Backslash escapes and doubled quotes.
      let value = '';
      i++;
      for (;;) {
        if (i >= sql.length) throw unsupported(`unterminated ${c === "'" ? 'string' : 'identifier'} at ${start}`);
        const ch = sql[i]!;
        if (ch === '\\') {
          const next = sql[i + 1];
          if (next === undefined) throw unsupported(`unterminated string at ${start}`);
          value += ({ n: '\n', t: '\t', r: '\r', '0': '\0', b: '\b', f: '\f' } as Record<string, string>)[next] ?? next;
          i += 2;
        } else if (ch === c) {
          if (sql[i + 1] === c) {
            value += c;
            i += 2;
          } else {
            i++;
            break;
          }
        } else {
          value += ch;
          i++;
        }
      }
      tokens.push(c === "'" ? { k: 'str', v: value, pos: start } : { k: 'qident', v: value, pos: start });
      continue;
    }
    const op = OPERATORS.find((o) => sql.startsWith(o, i));
    if (!op) throw unsupported(`unexpected character ${JSON.stringify(c)} at ${start}`);
    tokens.push({ k: 'op', v: op, pos: start });
    i += op.length;
  }
  tokens.push({ k: 'eof', pos: sql.length });
  return tokens;
}

export type HogqlExpr =
  | { t: 'field'; chain: string[] }
  | { t: 'const'; value: string | number | boolean | null }
  | { t: 'call'; name: HogqlFunction; args: HogqlExpr[] }
  | { t: 'compare'; op: '=' | '!=' | '<' | '<=' | '>' | '>='; left: HogqlExpr; right: HogqlExpr }
  | { t: 'in'; negated: boolean; left: HogqlExpr; list: HogqlExpr[] }
  | { t: 'and' | 'or'; args: HogqlExpr[] }
  | { t: 'not'; arg: HogqlExpr };

type HogqlFunction = 'count' | 'toDate' | 'toDateTime' | 'isNull' | 'isNotNull';
const FUNCTIONS: Record<string, { name: HogqlFunction; arity: number }> = {
  count: { name: 'count', arity: 0 },
  todate: { name: 'toDate', arity: 1 },
  todatetime: { name: 'toDateTime', arity: 1 },
  isnull: { name: 'isNull', arity: 1 },
  isnotnull: { name: 'isNotNull', arity: 1 },
};

export interface HogqlSelect {
  select: { expr: HogqlExpr; alias?: string }[];
  from: 'events' | 'groups';
  where?: HogqlExpr;
  groupBy: HogqlExpr[];
  orderBy: { expr: HogqlExpr; desc: boolean }[];
  limit?: number;
  offset?: number;
}

const RESERVED = new Set(
  (
    'select from where group by order limit offset as and or not in is null true false asc desc having join ' +
    'union distinct on using left right inner outer full cross array settings with prewhere sample final ' +
    'window qualify between like ilike case when then else end interval'
  ).split(' '),
);

class HogqlParser {
  private i = 0;
  constructor(private readonly tokens: Token[]) {}

  private get tok(): Token {
    return this.tokens[this.i]!;
  }
  private next(): Token {
    const t = this.tok;
    if (t.k !== 'eof') this.i++;
    return t;
  }
  private isWord(word: string, offset = 0): boolean {
    const t = this.tokens[this.i + offset];
    return t?.k === 'word' && t.v.toLowerCase() === word;
  }
  private acceptWord(word: string): boolean {
    if (!this.isWord(word)) return false;
    this.i++;
    return true;
  }
  private expectWord(word: string): void {
    if (!this.acceptWord(word)) throw unsupported(`expected ${word.toUpperCase()} ${this.where()}`);
  }
  private isOp(op: string, offset = 0): boolean {
    const t = this.tokens[this.i + offset];
    return t?.k === 'op' && t.v === op;
  }
  private acceptOp(op: string): boolean {
    if (!this.isOp(op)) return false;
    this.i++;
    return true;
  }
  private expectOp(op: string): void {
    if (!this.acceptOp(op)) throw unsupported(`expected "${op}" ${this.where()}`);
  }
  private where(): string {
    const t = this.tok;
    if (t.k === 'eof') return 'at the end of the query';
    const text = t.k === 'str' ? `'${t.v}'` : String(t.v);
    return `at ${t.pos} (near ${JSON.stringify(text)})`;
  }
  private integer(what: string): number {
    const t = this.next();
    if (t.k !== 'num' || !Number.isInteger(t.v)) throw unsupported(`${what} must be an integer`);
    return t.v;
  }

  parse(): HogqlSelect {
    this.expectWord('select');
    if (this.isWord('distinct')) throw unsupported('SELECT DISTINCT');
    const select: HogqlSelect['select'] = [];
    do {
      if (this.isOp('*')) throw unsupported('SELECT *');
      const expr = this.expr();
      let alias: string | undefined;
      if (this.acceptWord('as')) {
        const t = this.next();
        if ((t.k !== 'word' || RESERVED.has(t.v.toLowerCase())) && t.k !== 'qident')
          throw unsupported(`expected an alias after AS ${this.where()}`);
        alias = t.v;
      }
      select.push({ expr, alias });
    } while (this.acceptOp(','));
    this.expectWord('from');
    const table = this.next();
    if (table.k !== 'word' || !['events', 'groups'].includes(table.v.toLowerCase()))
      throw unsupported(
        `only the events and groups tables are simulated (FROM ${String(table.k === 'eof' ? '' : table.v)})`,
      );
    const query: HogqlSelect = {
      select,
      from: table.v.toLowerCase() as 'events' | 'groups',
      groupBy: [],
      orderBy: [],
    };
    if (this.acceptWord('where')) query.where = this.expr();
    if (this.acceptWord('group')) {
      this.expectWord('by');
      do query.groupBy.push(this.expr());
      while (this.acceptOp(','));
    }
    if (this.acceptWord('order')) {
      this.expectWord('by');
      do {
        const expr = this.expr();
        const desc = this.acceptWord('desc') ? true : (this.acceptWord('asc'), false);
        if (this.isWord('nulls')) throw unsupported('NULLS FIRST / LAST');
        query.orderBy.push({ expr, desc });
      } while (this.acceptOp(','));
    }
    if (this.acceptWord('limit')) {
      query.limit = this.integer('LIMIT');
      if (this.acceptWord('offset')) query.offset = this.integer('OFFSET');
    }
    this.acceptOp(';');
    if (this.tok.k !== 'eof') throw unsupported(`unexpected ${this.where()}`);
    return query;
  }

  private expr(): HogqlExpr {
    return this.or();
  }
  private or(): HogqlExpr {
    const args = [this.and()];
    while (this.acceptWord('or')) args.push(this.and());
    return args.length === 1 ? args[0]! : { t: 'or', args };
  }
  private and(): HogqlExpr {
    const args = [this.not()];
    while (this.acceptWord('and')) args.push(this.not());
    return args.length === 1 ? args[0]! : { t: 'and', args };
  }
  private not(): HogqlExpr {
    if (this.acceptWord('not')) return { t: 'not', arg: this.not() };
    return this.comparison();
  }
  private comparison(): HogqlExpr {
    const left = this.primary();
    const t = this.tok;
    if (t.k === 'op' && ['=', '==', '!=', '<>', '<', '<=', '>', '>='].includes(t.v)) {
      this.i++;
      const op = t.v === '==' ? '=' : t.v === '<>' ? '!=' : (t.v as '=' | '!=' | '<' | '<=' | '>' | '>=');
      return { t: 'compare', op, left, right: this.primary() };
    }
    if (this.isWord('not') && this.isWord('in', 1)) {
      this.i += 2;
      return { t: 'in', negated: true, left, list: this.list() };
    }
    if (this.acceptWord('in')) return { t: 'in', negated: false, left, list: this.list() };
    if (this.acceptWord('is')) {
      const negated = this.acceptWord('not');
      this.expectWord('null');
      return { t: 'call', name: negated ? 'isNotNull' : 'isNull', args: [left] };
    }
    for (const word of ['like', 'ilike', 'between'])
      if (this.isWord(word) || (this.isWord('not') && this.isWord(word, 1))) throw unsupported(word.toUpperCase());
    return left;
  }
  private list(): HogqlExpr[] {
    this.expectOp('(');
    const items: HogqlExpr[] = [];
    if (!this.isOp(')')) {
      do items.push(this.primary());
      while (this.acceptOp(','));
    }
    this.expectOp(')');
    return items;
  }
  private primary(): HogqlExpr {
    const t = this.tok;
    if (this.acceptOp('(')) {
      if (this.isWord('select')) throw unsupported('sub-queries');
      const e = this.expr();
      this.expectOp(')');
      return e;
    }
    if (this.acceptOp('-')) {
      const n = this.next();
      if (n.k !== 'num') throw unsupported(`expected a number after "-" ${this.where()}`);
      return { t: 'const', value: -n.v };
    }
    if (t.k === 'str' || t.k === 'num') {
      this.i++;
      return { t: 'const', value: t.v };
    }
    if (t.k === 'word') {
      const lower = t.v.toLowerCase();
      if (lower === 'null' || lower === 'true' || lower === 'false') {
        this.i++;
        return { t: 'const', value: lower === 'null' ? null : lower === 'true' };
      }
      if (RESERVED.has(lower)) throw unsupported(`unexpected ${this.where()}`);
      if (this.isOp('(', 1)) return this.call();
    }
    if (t.k === 'word' || t.k === 'qident') {
      this.i++;
      const chain = [t.v];
      while (this.acceptOp('.')) {
        const part = this.next();
        if (part.k !== 'word' && part.k !== 'qident' && part.k !== 'num')
          throw unsupported(`expected a property name after "." ${this.where()}`);
        chain.push(String(part.v));
      }
      return { t: 'field', chain };
    }
    throw unsupported(`unexpected ${this.where()}`);
  }
  private call(): HogqlExpr {
    const name = String((this.next() as { v: string }).v);
    const fn = FUNCTIONS[name.toLowerCase()];
    if (!fn) throw unsupported(`function ${name}()`);
    this.expectOp('(');
    const args: HogqlExpr[] = [];
    if (fn.name === 'count' && this.acceptOp('*')) {
      // count(*) is count()
    } else if (!this.isOp(')')) {
      do args.push(this.expr());
      while (this.acceptOp(','));
    }
    this.expectOp(')');
    if (args.length !== fn.arity) throw unsupported(`${fn.name}() with ${args.length} argument(s)`);
    return { t: 'call', name: fn.name, args };
  }
}

export function parseHogql(sql: string): HogqlSelect {
  return new HogqlParser(tokenizeHogql(sql)).parse();
}

// ---- Values and evaluation

class DateTimeValue {
  constructor(readonly ms: number) {}
}
class DayValue {
  constructor(readonly day: string) {}
}
type Value = string | number | boolean | null | DateTimeValue | DayValue | Json;

const TABLES: Record<'events' | 'groups', Record<string, string>> = {
  events: {
    uuid: 'UUID',
    event: 'String',
    distinct_id: 'String',
    timestamp: "DateTime64(6, 'UTC')",
    properties: 'String',
  },
  groups: { index: 'UInt8', key: 'String', created_at: "DateTime64(6, 'UTC')", properties: 'String' },
};

type Row = Record<string, Value>;

function eventRows(store: RecordStore): Row[] {
  return store.list('event').map((r) => ({
    uuid: String(r.fields.uuid),
    event: String(r.fields.event),
    distinct_id: String(r.fields.distinct_id),
    timestamp: new DateTimeValue(Date.parse(String(r.fields.timestamp))),
    properties: isObject(r.fields.properties) ? r.fields.properties : {},
  }));
}

function groupRows(store: RecordStore): Row[] {
  return store.list('group').map((r) => ({
    index: Number(r.fields.group_type_index),
    key: String(r.fields.group_key),
    created_at: new DateTimeValue(Date.parse(String(r.fields.created_at))),
    properties: isObject(r.fields.properties) ? r.fields.properties : {},
  }));
}

/** A property as HogQL reads it: a String (numbers and booleans as text, objects as JSON), null when missing. */
function propertyValue(value: unknown): Value {
  if (value === undefined || value === null) return null;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

function toMs(v: Value): number {
  if (v instanceof DateTimeValue) return v.ms;
  if (v instanceof DayValue) return Date.parse(`${v.day}T00:00:00Z`);
  if (typeof v === 'number') return v * 1000;
  if (typeof v === 'string') {
    const ms = parseDateTime(v);
    if (ms === undefined) throw new QueryError(`Cannot parse DateTime from String: '${v}'`);
    return ms;
  }
  throw new QueryError('a value of this type cannot be read as a DateTime');
}

function toDay(v: Value): string {
  return new Date(toMs(v)).toISOString().slice(0, 10);
}

function truthy(v: Value): boolean {
  return v !== null && v !== false && v !== 0 && v !== '';
}

/** Compares two values the way ClickHouse converts them; null when either is NULL (no match). */
function compare(a: Value, b: Value): number | null {
  if (a === null || b === null) return null;
  if (a instanceof DateTimeValue || b instanceof DateTimeValue) return Math.sign(toMs(a) - toMs(b));
  if (a instanceof DayValue || b instanceof DayValue) {
    const [x, y] = [toDay(a), toDay(b)];
    return x < y ? -1 : x > y ? 1 : 0;
  }
  const num = (v: Value) => (typeof v === 'boolean' ? (v ? 1 : 0) : v);
  const [x, y] = [num(a), num(b)];
  if (typeof x === 'number' && typeof y === 'number') return Math.sign(x - y);
  if (typeof x === 'string' && typeof y === 'string') return x < y ? -1 : x > y ? 1 : 0;
  if (typeof x === 'string' && typeof y === 'number')
    return x.trim() && isFinite(Number(x)) ? Math.sign(Number(x) - y) : null;
  if (typeof x === 'number' && typeof y === 'string')
    return y.trim() && isFinite(Number(y)) ? Math.sign(x - Number(y)) : null;
  return null;
}

interface EvalContext {
  row: Row;
  /** The rows of the group, in aggregated queries. */
  group?: Row[];
}

function evaluate(e: HogqlExpr, ctx: EvalContext): Value {
  switch (e.t) {
    case 'const':
      return e.value;
    case 'field': {
      const [head, ...rest] = e.chain;
      let value: Value = ctx.row[head!] ?? null;
      if (rest.length === 0) return head === 'properties' ? JSON.stringify(value) : value;
      let cursor: unknown = value;
      for (const part of rest) cursor = isObject(cursor) ? cursor[part] : undefined;
      value = propertyValue(cursor);
      return value;
    }
    case 'call': {
      if (e.name === 'count') return ctx.group ? ctx.group.length : 1;
      const v = evaluate(e.args[0]!, ctx);
      if (e.name === 'isNull') return v === null;
      if (e.name === 'isNotNull') return v !== null;
      if (v === null) return null;
      if (e.name === 'toDate') return new DayValue(toDay(v));
      return new DateTimeValue(toMs(v));
    }
    case 'compare': {
      const c = compare(evaluate(e.left, ctx), evaluate(e.right, ctx));
      if (c === null) return null;
      switch (e.op) {
        case '=':
          return c === 0;
        case '!=':
          return c !== 0;
        case '<':
          return c < 0;
        case '<=':
          return c <= 0;
        case '>':
          return c > 0;
        case '>=':
          return c >= 0;
      }
      return null;
    }
    case 'in': {
      const v = evaluate(e.left, ctx);
      if (v === null) return e.negated ? null : false;
      const found = e.list.some((item) => compare(v, evaluate(item, ctx)) === 0);
      return e.negated ? !found : found;
    }
    case 'and':
      return e.args.every((a) => truthy(evaluate(a, ctx)));
    case 'or':
      return e.args.some((a) => truthy(evaluate(a, ctx)));
    case 'not':
      return !truthy(evaluate(e.arg, ctx));
  }
}

function outputValue(v: Value): unknown {
  if (v instanceof DateTimeValue) return formatDateTime(v.ms);
  if (v instanceof DayValue) return v.day;
  if (typeof v === 'boolean') return v ? 1 : 0;
  return v;
}

function serializeKey(v: Value): string {
  if (v instanceof DateTimeValue) return `t${v.ms}`;
  if (v instanceof DayValue) return `d${v.day}`;
  return JSON.stringify(v);
}

function typeOf(e: HogqlExpr, table: 'events' | 'groups'): string {
  switch (e.t) {
    case 'field':
      return e.chain.length > 1 ? 'Nullable(String)' : (TABLES[table][e.chain[0]!] ?? 'String');
    case 'const':
      return e.value === null
        ? 'Nullable(Nothing)'
        : typeof e.value === 'string'
          ? 'String'
          : typeof e.value === 'boolean'
            ? 'Bool'
            : Number.isInteger(e.value)
              ? 'Int64'
              : 'Float64';
    case 'call':
      return { count: 'UInt64', toDate: 'Date', toDateTime: "DateTime('UTC')", isNull: 'UInt8', isNotNull: 'UInt8' }[
        e.name
      ];
    default:
      return 'UInt8';
  }
}

function printExpr(e: HogqlExpr): string {
  switch (e.t) {
    case 'field':
      return e.chain.join('.');
    case 'const':
      return typeof e.value === 'string' ? `'${e.value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'` : String(e.value);
    case 'call':
      return `${e.name}(${e.args.map(printExpr).join(', ')})`;
    case 'compare':
      return `${printExpr(e.left)} ${e.op} ${printExpr(e.right)}`;
    case 'in':
      return `${printExpr(e.left)} ${e.negated ? 'NOT IN' : 'IN'} (${e.list.map(printExpr).join(', ')})`;
    case 'and':
    case 'or':
      return e.args.map(printExpr).join(` ${e.t.toUpperCase()} `);
    case 'not':
      return `NOT ${printExpr(e.arg)}`;
  }
}

/** A column's name in the response: its alias, else the field's last part, else the expression's text. */
function columnName(item: HogqlSelect['select'][number]): string {
  if (item.alias) return item.alias;
  if (item.expr.t === 'field') return item.expr.chain[item.expr.chain.length - 1]!;
  return printExpr(item.expr);
}

function hasAggregate(e: HogqlExpr): boolean {
  switch (e.t) {
    case 'call':
      return e.name === 'count' || e.args.some(hasAggregate);
    case 'compare':
      return hasAggregate(e.left) || hasAggregate(e.right);
    case 'in':
      return hasAggregate(e.left) || e.list.some(hasAggregate);
    case 'and':
    case 'or':
      return e.args.some(hasAggregate);
    case 'not':
      return hasAggregate(e.arg);
    default:
      return false;
  }
}

function hasField(e: HogqlExpr): boolean {
  switch (e.t) {
    case 'field':
      return true;
    case 'call':
      return e.args.some(hasField);
    case 'compare':
      return hasField(e.left) || hasField(e.right);
    case 'in':
      return hasField(e.left) || e.list.some(hasField);
    case 'and':
    case 'or':
      return e.args.some(hasField);
    case 'not':
      return hasField(e.arg);
    default:
      return false;
  }
}

/** Evaluates the constant parts of an expression once, so that `toDateTime('nonsense')` fails with no rows too. */
function checkConstants(e: HogqlExpr): void {
  if (!hasField(e) && !hasAggregate(e)) {
    evaluate(e, { row: {} });
    return;
  }
  switch (e.t) {
    case 'call':
      e.args.forEach(checkConstants);
      return;
    case 'compare':
      checkConstants(e.left);
      checkConstants(e.right);
      return;
    case 'in':
      checkConstants(e.left);
      e.list.forEach(checkConstants);
      return;
    case 'and':
    case 'or':
      e.args.forEach(checkConstants);
      return;
    case 'not':
      checkConstants(e.arg);
      return;
    default:
      return;
  }
}

/** Replaces references to select aliases by the aliased expressions, and checks every column exists. */
function resolve(
  e: HogqlExpr,
  aliases: Map<string, HogqlExpr>,
  table: 'events' | 'groups',
  resolving: Set<string> = new Set(),
): HogqlExpr {
  switch (e.t) {
    case 'field': {
      const [head] = e.chain;
      const aliased = e.chain.length === 1 ? aliases.get(head!) : undefined;
      if (aliased && !resolving.has(head!)) return resolve(aliased, aliases, table, new Set([...resolving, head!]));
      if (!(head! in TABLES[table])) throw unsupported(`unknown column ${e.chain.join('.')} in ${table}`);
      if (head !== 'properties' && e.chain.length > 1) throw unsupported(`${e.chain.join('.')}`);
      return e;
    }
    case 'const':
      return e;
    case 'call':
      return { ...e, args: e.args.map((a) => resolve(a, aliases, table, resolving)) };
    case 'compare':
      return {
        ...e,
        left: resolve(e.left, aliases, table, resolving),
        right: resolve(e.right, aliases, table, resolving),
      };
    case 'in':
      return {
        ...e,
        left: resolve(e.left, aliases, table, resolving),
        list: e.list.map((a) => resolve(a, aliases, table, resolving)),
      };
    case 'and':
    case 'or':
      return { ...e, args: e.args.map((a) => resolve(a, aliases, table, resolving)) };
    case 'not':
      return { ...e, arg: resolve(e.arg, aliases, table, resolving) };
  }
}

export interface HogqlResult {
  columns: string[];
  types: [string, string][];
  results: unknown[][];
  hasMore: boolean;
  limit: number;
  offset: number;
}

/** Runs a query of the supported subset against what the project holds; throws QueryError otherwise. */
export function runHogql(store: RecordStore, sql: string): HogqlResult {
  const q = parseHogql(sql);
  const aliases = new Map<string, HogqlExpr>();
  for (const item of q.select) if (item.alias) aliases.set(item.alias, item.expr);
  // An item's own alias is not substituted inside it: `toDate(timestamp) AS timestamp` reads the column.
  const select = q.select.map((item) => resolve(item.expr, aliases, q.from, new Set(item.alias ? [item.alias] : [])));
  const where = q.where ? resolve(q.where, aliases, q.from) : undefined;
  const groupBy = q.groupBy.map((e) => resolve(e, aliases, q.from));
  const orderBy = q.orderBy.map((o) => ({ expr: resolve(o.expr, aliases, q.from), desc: o.desc }));

  if (where && hasAggregate(where)) throw unsupported('aggregate functions in WHERE');
  if (groupBy.some(hasAggregate)) throw unsupported('aggregate functions in GROUP BY');
  const aggregated = groupBy.length > 0 || select.some(hasAggregate) || orderBy.some((o) => hasAggregate(o.expr));
  if (aggregated) {
    const grouped = new Set(groupBy.map((e) => JSON.stringify(e)));
    for (const e of [...select, ...orderBy.map((o) => o.expr)]) {
      if (!hasAggregate(e) && hasField(e) && !grouped.has(JSON.stringify(e)))
        throw unsupported(`${printExpr(e)} is neither in GROUP BY nor in an aggregate function`);
    }
  }
  for (const e of [...select, ...(where ? [where] : []), ...groupBy, ...orderBy.map((o) => o.expr)]) checkConstants(e);
  const limit = Math.min(q.limit ?? DEFAULT_QUERY_LIMIT, MAX_QUERY_LIMIT);
  const offset = q.offset ?? 0;

  const rows = (q.from === 'events' ? eventRows(store) : groupRows(store)).filter(
    (row) => !where || truthy(evaluate(where, { row })),
  );
  let contexts: EvalContext[];
  if (aggregated) {
    const groups = new Map<string, Row[]>();
    for (const row of rows) {
      const key = groupBy.map((e) => serializeKey(evaluate(e, { row }))).join('\u0000');
      const list = groups.get(key);
      if (list) list.push(row);
      else groups.set(key, [row]);
    }
    contexts = [...groups.values()].map((group) => ({ row: group[0]!, group }));
    // An aggregate without GROUP BY answers one row, also over no rows.
    if (groupBy.length === 0 && contexts.length === 0) contexts = [{ row: {}, group: [] }];
  } else {
    contexts = rows.map((row) => ({ row }));
  }

  if (orderBy.length > 0) {
    const keyed = contexts.map((ctx) => ({ ctx, keys: orderBy.map((o) => evaluate(o.expr, ctx)) }));
    keyed.sort((a, b) => {
      for (let i = 0; i < orderBy.length; i++) {
        const [x, y] = [a.keys[i]!, b.keys[i]!];
        // NULLs last in either direction, as ClickHouse sorts by default.
        if (x === null || y === null) {
          if (x === null && y === null) continue;
          return x === null ? 1 : -1;
        }
        const c = compare(x, y) ?? 0;
        if (c !== 0) return orderBy[i]!.desc ? -c : c;
      }
      return 0;
    });
    contexts = keyed.map((k) => k.ctx);
  }

  const page = contexts.slice(offset, offset + limit);
  const columns = q.select.map(columnName);
  return {
    columns,
    types: select.map((e, i) => [columns[i]!, typeOf(e, q.from)]),
    results: page.map((ctx) => select.map((e) => outputValue(evaluate(e, ctx)))),
    hasMore: contexts.length > offset + limit,
    limit,
    offset,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// The plugin

function errorBody(type: string, code: string, detail: string, attr: string | null = null) {
  return { type, code, detail, attr };
}

const MISSING_API_KEY = errorBody(
  'authentication_error',
  'missing_api_key',
  'API key not provided. You can find your project API key in PostHog project settings.',
);
const INVALID_API_KEY = errorBody(
  'authentication_error',
  'invalid_api_key',
  'Project API key invalid. You can find your project API key in PostHog project settings.',
);

function personalApiKeyOf(request: FastifyRequest): { key: string; source: string } | undefined {
  const header = request.headers.authorization;
  if (header) {
    const m = /^Bearer\s+(\S.*)$/i.exec(header);
    if (m) return { key: m[1]!.trim(), source: 'Authorization header' };
  }
  const body = request.body;
  if (isObject(body) && typeof body.personal_api_key === 'string' && body.personal_api_key)
    return { key: body.personal_api_key, source: 'body' };
  const query = request.query as Record<string, unknown> | undefined;
  if (query && typeof query.personal_api_key === 'string' && query.personal_api_key)
    return { key: query.personal_api_key, source: 'query string' };
  return undefined;
}

/** The 401 of the query API, or undefined when the personal API key is accepted. */
function queryAuthError(request: FastifyRequest) {
  const found = personalApiKeyOf(request);
  if (!found)
    return errorBody('authentication_error', 'not_authenticated', 'Authentication credentials were not provided.');
  if (found.key === 'bad-key')
    return errorBody(
      'authentication_error',
      'authentication_failed',
      `Personal API key found in request ${found.source} is invalid.`,
    );
  return undefined;
}

const isQueryPath = (path: string) => /\/api\/projects\/[^/]+\/query\/?$/.test(path);

export const posthogPlugin: FastifyPluginCallback<ProviderPluginOptions> = (app, { state }, done) => {
  statesByServer.set(app.server, state);
  const pathOf = (request: FastifyRequest) => request.url.split('?', 1)[0] ?? request.url;

  const answer = (
    request: FastifyRequest,
    reply: FastifyReply,
    key: string | null,
    status: number,
    body: unknown,
    note?: string,
  ) => {
    state
      .system('posthog')
      .record({ kind: 'request', method: request.method, path: pathOf(request), key, status, creditsCharged: 0, note });
    return reply.code(status).send(body);
  };

  // Bodies Fastify could not read (not JSON, too large, another content type): PostHog's 400 (413 when too large).
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const path = pathOf(request);
    const status = error.statusCode === 413 ? 413 : error.statusCode && error.statusCode < 500 ? 400 : 500;
    if (status === 500) request.log.error(error);
    if (isQueryPath(path)) {
      const auth = queryAuthError(request);
      if (auth) return answer(request, reply.header('www-authenticate', 'Bearer'), null, 401, auth);
      if (status === 500)
        return answer(request, reply, null, 500, errorBody('server_error', 'error', 'A server error occurred.'));
      return answer(
        request,
        reply,
        null,
        status,
        errorBody('invalid_request', 'parse_error', `JSON parse error - ${error.message}`),
        error.message.slice(0, 200),
      );
    }
    if (status === 500)
      return answer(request, reply, null, 500, errorBody('server_error', 'server_error', 'Internal server error.'));
    const detail = status === 413 ? 'maximum event size exceeded' : `failed to decode request: ${error.message}`;
    return answer(
      request,
      reply,
      null,
      status,
      errorBody('validation_error', 'invalid_payload', detail),
      error.message.slice(0, 200),
    );
  });

  // ---- Capture

  const capture = async (request: FastifyRequest, reply: FastifyReply) => {
    const sys = state.system('posthog');
    // JSON sent as text/plain (as browsers' beacons do) is read as JSON; anything else is not decoded.
    let body = request.body;
    if (typeof body === 'string' && body.trim()) {
      try {
        body = JSON.parse(body) as unknown;
      } catch {
        return answer(
          request,
          reply,
          null,
          400,
          errorBody('validation_error', 'invalid_payload', 'failed to decode request: the body is not JSON'),
        );
      }
    }
    const { token, items } = readCaptureBody(body);
    const key = items ? String(items.length) : null;

    if (!token) return answer(request, reply, key, 401, MISSING_API_KEY);
    if (token === 'bad-key') return answer(request, reply, key, 401, INVALID_API_KEY);
    const gate = await sys.gate();
    if (gate.kind === 'rate_limited')
      return answer(request, reply, key, 429, errorBody('throttled_error', 'rate_limited', 'rate limited'));
    if (gate.kind === 'failure')
      return answer(
        request,
        reply,
        key,
        503,
        errorBody('server_error', 'service_unavailable', 'transient error, please retry'),
      );

    const invalid = (detail: string) =>
      answer(request, reply, key, 400, errorBody('validation_error', 'invalid_payload', detail), detail);
    if (!items) return invalid('failed to parse request: batch must be an array of events');
    if (items.length === 0) return invalid('request holds no event');
    const events: ValidEvent[] = [];
    for (const raw of items) {
      const e = validateEvent(raw);
      if (typeof e === 'string') return invalid(e);
      events.push(e);
    }
    const store = state.records.posthog;
    const now = Date.now();
    for (const e of events) ingest(store, e, now);
    return answer(request, reply, key, 200, { status: 'Ok' });
  };

  for (const path of CAPTURE_PATHS) {
    for (const url of [path, `${path}/`]) app.post(url, { bodyLimit: MAX_BODY_BYTES }, capture);
  }

  // ---- Query API

  const query = async (request: FastifyRequest, reply: FastifyReply) => {
    const sys = state.system('posthog');
    const body = request.body;
    const q = isObject(body) ? body.query : undefined;
    const sql = isObject(q) && typeof q.query === 'string' ? q.query : undefined;
    const key = sql !== undefined ? sql.slice(0, 200) : null;

    const auth = queryAuthError(request);
    if (auth) return answer(request, reply.header('www-authenticate', 'Bearer'), key, 401, auth);
    const gate = await sys.gate();
    if (gate.kind === 'rate_limited') {
      const s = gate.retryAfterSeconds;
      reply.header('retry-after', String(s));
      return answer(
        request,
        reply,
        key,
        429,
        errorBody(
          'throttled_error',
          'throttled',
          `Request was throttled. Expected available in ${s} second${s === 1 ? '' : 's'}.`,
        ),
      );
    }
    if (gate.kind === 'failure')
      return answer(
        request,
        reply,
        key,
        503,
        errorBody(
          'server_error',
          'error',
          "Queries are a little too busy right now. We're working to free up resources. Please try again later.",
        ),
      );

    if (!isObject(q))
      return answer(
        request,
        reply,
        key,
        400,
        errorBody('validation_error', 'invalid_input', 'Field required', 'query'),
      );
    if (q.kind !== 'HogQLQuery') {
      const detail = `unsupported query in the sandbox: kind ${JSON.stringify(q.kind ?? null)} (only HogQLQuery)`;
      return answer(request, reply, key, 400, errorBody('validation_error', 'query_error', detail, 'query'), detail);
    }
    if (sql === undefined || !sql.trim())
      return answer(
        request,
        reply,
        key,
        400,
        errorBody('validation_error', 'invalid_input', 'Field required', 'query.query'),
      );
    let result: HogqlResult;
    try {
      result = runHogql(state.records.posthog, sql);
    } catch (error) {
      if (!(error instanceof QueryError)) throw error;
      return answer(
        request,
        reply,
        key,
        400,
        errorBody('validation_error', 'query_error', error.message),
        error.message,
      );
    }
    return answer(request, reply, key, 200, {
      ...result,
      hogql: sql,
      query: sql,
      is_cached: false,
      timezone: 'UTC',
      error: null,
      timings: [],
    });
  };

  app.post('/api/projects/:project_id/query', query);
  app.post('/api/projects/:project_id/query/', query);

  done();
};
