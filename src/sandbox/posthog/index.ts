import type { FastifyError, FastifyPluginCallback, FastifyReply, FastifyRequest } from 'fastify';
import { uuidFrom } from '../dataset';
import { requestPath, type ProviderPluginOptions, type StoredRecord } from '../state';
import { deliverToDestination } from './destination';
import { ingest, isObject, readCaptureBody, validateEvent, type ValidEvent } from './events';
import { QueryError } from './hogql/lexer';
import { runHogql, type HogqlResult } from './hogql/runner';

export { parseDateTime } from './datetime';
export type { PosthogEventInput } from './events';
export { tokenizeHogql } from './hogql/lexer';
export { parseHogql, type HogqlExpr, type HogqlSelect } from './hogql/parser';
export { runHogql, type HogqlResult } from './hogql/runner';
export { seedPosthogEvents } from './seed';

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
 *   `SELECT expr [AS alias], ... [FROM events | groups] [WHERE cond] [GROUP BY expr, ...] [ORDER BY expr [ASC|DESC],
 *   ...] [LIMIT n [OFFSET m]]`. Expressions: columns (`events`: uuid, event, distinct_id, timestamp, properties,
 *   `person.properties.<name>` — HogQL's join of the event's person, its current properties;
 *   `groups`: index, key, created_at, properties; without FROM, one row, as ClickHouse reads `system.one`),
 *   `properties.<name>`, string and number literals, NULL, `count()`, `toDate(x)`, `toDateTime('YYYY-MM-DD[
 *   HH:MM:SS]')`, `isNull(x)`, `isNotNull(x)`, `= == != <> < <= > >=`, `[NOT] IN (...)`, `IS [NOT] NULL`, AND, OR,
 *   NOT, parentheses; select aliases can be used in WHERE, GROUP BY and ORDER BY. This covers the queries the project
 *   runs (daily event counts, organizations created in a window without a property, an event count, a window's signup
 *   events with their persons (the backfill's import), `enrich doctor`'s
 *   `SELECT 1`); anything else (joins, sub-queries, other tables or functions, `SELECT *`,
 *   HAVING, placeholders) answers 400 `{ type: 'validation_error', code: 'query_error', detail: 'unsupported query
 *   in the sandbox: ...' }` — the sandbox's own code, since a real PostHog would run those queries.
 *
 * Persons API (private, personal API key as for queries): `GET /api/projects/:project_id/persons/?distinct_id=X` →
 * `{ next: null, previous: null, results: [{ id, uuid, name, distinct_ids, properties, created_at, is_identified }] }`
 * (one page; `id` and `uuid` are the same uuid, derived from the distinct id); `DELETE
 * /api/projects/:project_id/persons/:id/` → 204, with `?delete_events=true` the person's events (by distinct id) are
 * deleted too (PostHog queues that deletion; the sandbox does it at once); an unknown id → 404 `not_found`. A
 * deleted record shows in `/_inspect/posthog`'s `deleted`.
 *
 * Order of checks on every endpoint: auth → `latencyMs` → rate limit (429) → injected failure (503) → parameters →
 * work. Credits are not used. Call log: `key` is the number of events, or the first 200 characters of the query.
 *
 * Webhook destination (./destination.ts): events that pass its filter are POSTed to `destinationUrl` as PostHog's
 * HTTP Webhook destination sends them; a disabled destination sends nothing while capture goes on.
 *
 * Layout: ./index.ts the plugin (capture and query routes); ./events.ts capture bodies, validation and ingestion;
 * ./project.ts the project state (`state.posthogProject`: event sequence, group types); ./datetime.ts; ./hogql/ the
 * HogQL lexer, parser and runner; ./seed.ts `seedPosthogEvents`.
 */

const MAX_BODY_BYTES = 20 * 1024 * 1024;
const CAPTURE_PATHS = ['/batch', '/capture', '/e', '/i/v0/e'];

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

/** A person's id (the API's `id` and `uuid`): derived from its distinct id, the key the sandbox stores it by. */
const personUuid = (distinctId: string) => uuidFrom(`posthog:person:${distinctId}`);

const isQueryPath = (path: string) => /\/api\/projects\/[^/]+\/query\/?$/.test(path);

export const posthogPlugin: FastifyPluginCallback<ProviderPluginOptions> = (app, { state }, done) => {
  const answer = (
    request: FastifyRequest,
    reply: FastifyReply,
    key: string | null,
    status: number,
    body: unknown,
    note?: string,
  ) => {
    state.system('posthog').recordRequest(request, { key, status, creditsCharged: 0, note });
    return reply.code(status).send(body);
  };

  // Bodies Fastify could not read (not JSON, too large, another content type): PostHog's 400 (413 when too large).
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const path = requestPath(request);
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
    for (const e of events) deliverToDestination(state, ingest(store, state.posthogProject, e, now));
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

  // The project itself (posthog.com/docs/api/projects, "Retrieve", scope project:read): what `enrich doctor` reads
  // to prove the personal API key and the project id. The sandbox is one project that answers to any numeric id; its
  // name, organization and timezone are the sandbox's choice, `api_token` the key the sandbox's capture accepts.
  const project = (request: FastifyRequest<{ Params: { project_id: string } }>, reply: FastifyReply) => {
    const auth = queryAuthError(request);
    if (auth) return answer(request, reply.header('www-authenticate', 'Bearer'), null, 401, auth);
    const id = request.params.project_id;
    if (!/^\d+$/.test(id))
      return answer(request, reply, null, 404, errorBody('invalid_request', 'not_found', 'Not found.'));
    return answer(request, reply, null, 200, {
      id: Number(id),
      uuid: '0193a1b2-0000-7000-8000-000000000001',
      organization: '0193a1b2-0000-7000-8000-0000000000aa',
      api_token: 'phc_sandbox',
      name: 'Sandbox project',
      completed_snippet_onboarding: true,
      has_completed_onboarding_for: null,
      ingested_event: true,
      is_demo: false,
      timezone: 'UTC',
      access_control: false,
    });
  };
  app.get('/api/projects/:project_id', project);
  app.get('/api/projects/:project_id/', project);

  app.post('/api/projects/:project_id/query', query);
  app.post('/api/projects/:project_id/query/', query);

  // ---- Persons API (posthog.com/docs/api/persons and "How to delete data from PostHog"): list persons filtered by
  // `distinct_id`, then `DELETE /persons/:id/` with the person's id, `delete_events=true` to delete their events too.

  const personObject = (record: StoredRecord) => {
    const uuid = personUuid(record.key);
    return {
      id: uuid,
      uuid,
      name: record.key,
      distinct_ids: [record.key],
      properties: record.fields.properties ?? {},
      created_at: record.fields.created_at ?? record.createdAt,
      is_identified: true,
    };
  };

  /** Auth, rate limit and injected failure of the persons API: true when the request was answered (refused). */
  const personsRefused = async (request: FastifyRequest, reply: FastifyReply, key: string | null) => {
    const auth = queryAuthError(request);
    if (auth) {
      void answer(request, reply.header('www-authenticate', 'Bearer'), key, 401, auth);
      return true;
    }
    const gate = await state.system('posthog').gate();
    if (gate.kind === 'rate_limited') {
      reply.header('retry-after', String(gate.retryAfterSeconds));
      void answer(request, reply, key, 429, errorBody('throttled_error', 'throttled', 'Request was throttled.'));
      return true;
    }
    if (gate.kind === 'failure') {
      void answer(request, reply, key, 503, errorBody('server_error', 'error', 'A server error occurred.'));
      return true;
    }
    return false;
  };

  const listPersons = async (
    request: FastifyRequest<{ Querystring: { distinct_id?: string } }>,
    reply: FastifyReply,
  ) => {
    if (await personsRefused(request, reply, null)) return reply;
    const wanted = request.query.distinct_id;
    const people = state.records.posthog.list('person').filter((p) => wanted === undefined || p.key === wanted);
    return answer(request, reply, null, 200, { next: null, previous: null, results: people.map(personObject) });
  };
  app.get('/api/projects/:project_id/persons', listPersons);
  app.get('/api/projects/:project_id/persons/', listPersons);

  const deletePerson = async (
    request: FastifyRequest<{ Params: { id: string }; Querystring: { delete_events?: string } }>,
    reply: FastifyReply,
  ) => {
    if (await personsRefused(request, reply, request.params.id)) return reply;
    const store = state.records.posthog;
    const person = store.list('person').find((p) => personUuid(p.key) === request.params.id.toLowerCase());
    if (!person)
      return answer(request, reply, request.params.id, 404, errorBody('invalid_request', 'not_found', 'Not found.'));
    store.remove('person', person.key);
    if (request.query.delete_events === 'true') {
      for (const e of store.list('event')) if (e.fields.distinct_id === person.key) store.remove('event', e.key);
    }
    return answer(request, reply, request.params.id, 204, undefined, 'deleted');
  };
  app.delete('/api/projects/:project_id/persons/:id', deletePerson);
  app.delete('/api/projects/:project_id/persons/:id/', deletePerson);

  done();
};
