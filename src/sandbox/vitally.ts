import type { FastifyPluginCallback, FastifyReply, FastifyRequest } from 'fastify';
import { uuidFrom } from './dataset';
import type { ProviderPluginOptions, RecordStore, StoredRecord, SystemState } from './state';

/**
 * Vitally's REST API (real host rest.vitally.io, or `<subdomain>.rest.vitally.io`), written from Vitally's public
 * documentation: "REST API" (overview: authentication, rate limiting, pagination, status codes), "REST API:
 * Accounts" and "REST API: Users".
 *
 * - Auth: `Authorization: Basic <base64("<api key>:")>` — basic auth with the API key as the user name and an empty
 *   password (the docs' example is `Basic c2VjcmV0X2tleTo=`, i.e. `secret_key:`). Missing header, another scheme, an
 *   empty key or the key `bad-key` → 401.
 * - Rate limit: the documented default is 1000 requests / min in a sliding window, with `RateLimit-Limit: 1000,
 *   1000;window=60`, `RateLimit-Remaining` and `RateLimit-Reset` (seconds until the earliest request leaves the
 *   window) "returned on every request", and 429 Too Many Requests over it. The sandbox's window is one second
 *   (`rateLimitPerSecond`), so it sends `RateLimit-Limit: N, N;window=1`; these headers are on every answer after the
 *   auth check while a limit is set, and on a 429 `RateLimit-Remaining: 0` and `RateLimit-Reset` = the seconds to
 *   wait. No `Retry-After`: the docs name none. With `rateLimitPerSecond: null` (the default) no RateLimit headers
 *   are sent.
 * - Status codes the docs list: 400 (the body needs to be reviewed), 401 (authorization), 429. 404 for an unknown
 *   account or user id and 500 for an injected failure are the sandbox's.
 * - `POST /resources/accounts` `{ externalId, name, traits?, organizationId? }` — the docs' "Create an Account"
 *   (externalId and name required, externalId editable "only on create"). The docs do not say what a second create
 *   with the same externalId does; the sandbox upserts by externalId (the existing account is updated: name replaced,
 *   traits merged), which is how the project uses it. `name` is required only when the account is new.
 * - `GET /resources/accounts/:id` and `PUT /resources/accounts/:id`: `:id` "accepts both the Vitally ID and the
 *   externalId". PUT `{ name?, traits?, organizationId? }`; traits are merged into the existing ones, a trait set to
 *   `null` is removed (as documented for updates; the sandbox applies the same to the POST upsert). An `externalId`
 *   in a PUT body that differs from the account's → 400 (not editable).
 * - `POST /resources/users` `{ externalId, accountIds?, organizationIds?, name?, email?, avatar?, traits?,
 *   unsubscribedFromConversations?, joinDate? }` — "Create a User": externalId required, and at least one of
 *   `accountIds` / `organizationIds`. The docs describe `accountIds` as "Account IDs assigned by Vitally"; since every
 *   account lookup of the API accepts the externalId too, the sandbox accepts either form in `accountIds` and always
 *   answers (and stores) Vitally ids. An id that matches no account → 400 (a body to review, per the docs' 400),
 *   nothing written. Upsert by externalId like accounts; on an existing user the accounts of the request are added
 *   to the ones it already has (a user can belong to several accounts). Organizations are not simulated:
 *   `organizationIds` is stored as given, unchecked.
 * - `GET /resources/users/:id` (Vitally id or externalId) and `GET /resources/accounts/:id/users` (`{ results, next:
 *   null }`, one page).
 * - `DELETE /resources/users/:id` (Vitally id or externalId) — "Delete a User": deleted at once; 404 for an unknown
 *   id (so a second delete is a 404). The docs give no answer body: the sandbox answers 200 with the deleted user
 *   object. Their optional `deleteOn` (a scheduled deletion) is not simulated: 400.
 * - Answers: 200 with the account / user object for creates and updates alike (the docs give no status for them).
 *   The objects carry the documented attributes; what the sandbox does not compute (health score, NPS, last seen,
 *   ...) is `null`, `segments` is `[]`, and `usersCount` counts the users linked to the account. `createdAt` /
 *   `updatedAt` are the record's write times; ids are uuid-shaped and come from the store's sequence, so the same
 *   requests give the same ids on every run.
 * - Error bodies `{ error, message }` (`error` the HTTP reason phrase): the docs show no error body.
 * - Validation (400): body not a JSON object or not JSON at all, `externalId` missing or not a non-empty string,
 *   `name` not a string (or missing on a new account), `traits` not an object, `accountIds` / `organizationIds` not
 *   arrays of strings or both empty.
 * - Order of checks: auth → `latencyMs` → rate limit (429) → injected failure (500) → parameters (400) → lookup
 *   (404) → work. The JSON body is parsed by the plugin itself (raw-string parser scoped to it), so a bad key gets
 *   401 even with a broken body.
 *
 * RecordStore (`state.records.vitally`, read at request time: `POST /_reset` replaces it): `account` keyed by
 * externalId, fields `{ externalId, name, traits, organizationId }`; `user` keyed by externalId, fields
 * `{ externalId, name, email, avatar, traits, accountIds (Vitally ids), accountExternalIds, organizationIds,
 * unsubscribedFromConversations, joinDate }`. Every create or update counts one write.
 */

type Json = Record<string, unknown>;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  404: 'Not Found',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
};

function errorBody(status: number, message: string) {
  return { error: REASONS[status] ?? 'Error', message };
}

function apiKeyOf(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (!header) return undefined;
  const space = header.indexOf(' ');
  if (space < 0 || header.slice(0, space).toLowerCase() !== 'basic') return undefined;
  const decoded = Buffer.from(header.slice(space + 1).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? decoded : decoded.slice(0, colon);
}

function isPlainObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseBody(raw: unknown): Json {
  if (typeof raw !== 'string' || raw.trim() === '') throw new HttpError(400, 'Request body must be a JSON object');
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new HttpError(400, 'Request body is not valid JSON');
  }
  if (!isPlainObject(parsed)) throw new HttpError(400, 'Request body must be a JSON object');
  return parsed;
}

/** The call log key of a POST before its body is validated: its externalId when there is one. */
function bodyKey(raw: unknown): string | null {
  try {
    const id = (JSON.parse(String(raw)) as Json | null)?.externalId;
    return typeof id === 'string' && id !== '' ? id : null;
  } catch {
    return null;
  }
}

function externalIdOf(body: Json): string {
  const value = body.externalId;
  if (typeof value !== 'string' || value.trim() === '') {
    throw new HttpError(400, '"externalId" is required and must be a non-empty string');
  }
  return value;
}

function optionalString(body: Json, field: string): string | null | undefined {
  const value = body[field];
  if (value === undefined || value === null) return value;
  if (typeof value !== 'string') throw new HttpError(400, `"${field}" must be a string`);
  return value;
}

function traitsOf(body: Json): Json | undefined {
  const traits = body.traits;
  if (traits === undefined) return undefined;
  if (!isPlainObject(traits)) throw new HttpError(400, '"traits" must be an object');
  return traits;
}

function stringArray(body: Json, field: string): string[] | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string' && v !== '')) {
    throw new HttpError(400, `"${field}" must be an array of non-empty strings`);
  }
  return value as string[];
}

/** Documented trait update: the given traits merged in, a trait set to `null` removed. */
function mergeTraits(existing: unknown, patch: Json | undefined): Json {
  const merged: Json = { ...(isPlainObject(existing) ? existing : {}) };
  for (const [key, value] of Object.entries(patch ?? {})) {
    if (value === null) delete merged[key];
    else merged[key] = value;
  }
  return merged;
}

function findByIdOrExternalId(store: RecordStore, type: string, id: string): StoredRecord | undefined {
  return store.get(type, id) ?? store.list(type).find((r) => r.id === id);
}

/** The fields every Vitally resource object begins with. */
function resourceFields(record: StoredRecord) {
  return {
    id: record.id,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
    externalId: record.key,
    name: record.fields.name ?? null,
  };
}

function accountObject(store: RecordStore, record: StoredRecord) {
  const f = record.fields;
  const usersCount = store.list('user').filter((u) => (u.fields.accountIds as string[]).includes(record.id)).length;
  return {
    ...resourceFields(record),
    traits: f.traits ?? {},
    organizationId: f.organizationId ?? null,
    accountOwnerId: null,
    churnedAt: null,
    firstSeenTimestamp: null,
    lastSeenTimestamp: null,
    lastInboundMessageTimestamp: null,
    lastOutboundMessageTimestamp: null,
    mrr: null,
    nextRenewalDate: null,
    trialEndDate: null,
    usersCount,
    npsDetractorCount: 0,
    npsPassiveCount: 0,
    npsPromoterCount: 0,
    npsScore: null,
    healthScore: null,
    csmId: null,
    accountExecutiveId: null,
    keyRoles: [],
    segments: [],
  };
}

function userObject(record: StoredRecord) {
  const f = record.fields;
  return {
    ...resourceFields(record),
    email: f.email ?? null,
    avatar: f.avatar ?? null,
    traits: f.traits ?? {},
    accountIds: f.accountIds ?? [],
    organizationIds: f.organizationIds ?? [],
    firstKnown: f.joinDate ?? null,
    lastSeenTimestamp: null,
    lastInboundMessageTimestamp: null,
    lastOutboundMessageTimestamp: null,
    npsLastScore: null,
    npsLastFeedback: null,
    npsLastRespondedAt: null,
    unsubscribedFromConversations: f.unsubscribedFromConversations ?? false,
    deactivatedAt: null,
    segments: [],
  };
}

export const vitallyPlugin: FastifyPluginCallback<ProviderPluginOptions> = (app, { state }, done) => {
  // The body is parsed by the handlers (after auth), so only this plugin sees raw JSON strings.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, parsed) => parsed(null, body));

  /** Admission times per SystemState (a reset brings a new one), for `RateLimit-Remaining` / `RateLimit-Reset`. */
  const admitted = new WeakMap<object, number[]>();
  const windowOf = (sys: SystemState<'vitally'>, now: number): number[] => {
    const times = (admitted.get(sys) ?? []).filter((t) => t > now - 1000);
    admitted.set(sys, times);
    return times;
  };

  const serve = async (
    request: FastifyRequest,
    reply: FastifyReply,
    key: string | null,
    work: (store: RecordStore) => { body: unknown; key?: string | null; note?: string },
  ) => {
    const sys = state.system('vitally');
    const answer = (status: number, body: unknown, logKey: string | null = key, note?: string) => {
      sys.recordRequest(request, { key: logKey, status, creditsCharged: 0, note });
      return reply.code(status).send(body);
    };

    const apiKey = apiKeyOf(request);
    if (!apiKey || apiKey === 'bad-key') {
      return answer(401, errorBody(401, 'Invalid or missing API key. Use Basic auth with the API key as user name.'));
    }
    const gate = await sys.gate();
    const limit = sys.control.rateLimitPerSecond;
    if (gate.kind === 'rate_limited') {
      reply
        .header('ratelimit-limit', `${limit}, ${limit};window=1`)
        .header('ratelimit-remaining', '0')
        .header('ratelimit-reset', String(gate.retryAfterSeconds));
      return answer(429, errorBody(429, `Rate limit of ${limit} requests per second exceeded.`));
    }
    if (limit !== null) {
      const now = Date.now();
      const times = windowOf(sys, now);
      times.push(now);
      const oldest = times[0] ?? now;
      reply
        .header('ratelimit-limit', `${limit}, ${limit};window=1`)
        .header('ratelimit-remaining', String(Math.max(0, limit - times.length)))
        .header('ratelimit-reset', String(Math.max(0, Math.ceil((oldest + 1000 - now) / 1000))));
    }
    if (gate.kind === 'failure') return answer(500, errorBody(500, 'Internal server error.'));

    try {
      const result = work(state.records.vitally);
      return answer(200, result.body, result.key === undefined ? key : result.key, result.note);
    } catch (error) {
      if (error instanceof HttpError) return answer(error.status, errorBody(error.status, error.message));
      throw error;
    }
  };

  const notFound = (what: string, id: string) => new HttpError(404, `${what} not found: ${id}`);

  // ---- Accounts

  const upsertAccount = (store: RecordStore, body: Json) => {
    const externalId = externalIdOf(body);
    const name = optionalString(body, 'name');
    const traits = traitsOf(body);
    const organizationId = optionalString(body, 'organizationId');
    const existing = store.get('account', externalId);
    if (!existing && !name) throw new HttpError(400, '"name" is required when creating an account');
    const { record, created } = store.upsert(
      'account',
      externalId,
      {
        externalId,
        name: name ?? undefined,
        traits: mergeTraits(existing?.fields.traits, traits),
        organizationId: organizationId === undefined ? (existing ? undefined : null) : organizationId,
      },
      (seq) => uuidFrom(`vitally:account:${seq}`),
    );
    return { body: accountObject(store, record), key: externalId, note: created ? 'created' : 'updated' };
  };

  app.post('/resources/accounts', async (request, reply) =>
    serve(request, reply, bodyKey(request.body), (store) => upsertAccount(store, parseBody(request.body))),
  );

  app.get<{ Params: { id: string } }>('/resources/accounts/:id', async (request, reply) =>
    serve(request, reply, request.params.id, (store) => {
      const record = findByIdOrExternalId(store, 'account', request.params.id);
      if (!record) throw notFound('Account', request.params.id);
      return { body: accountObject(store, record) };
    }),
  );

  app.put<{ Params: { id: string } }>('/resources/accounts/:id', async (request, reply) =>
    serve(request, reply, request.params.id, (store) => {
      const body = parseBody(request.body);
      const name = optionalString(body, 'name');
      const traits = traitsOf(body);
      const organizationId = optionalString(body, 'organizationId');
      const record = findByIdOrExternalId(store, 'account', request.params.id);
      if (!record) throw notFound('Account', request.params.id);
      if (body.externalId !== undefined && body.externalId !== record.key) {
        throw new HttpError(400, '"externalId" cannot be changed once the account is created');
      }
      if (name === null) throw new HttpError(400, '"name" must be a string');
      const { record: updated } = store.upsert('account', record.key, {
        name: name ?? undefined,
        traits: mergeTraits(record.fields.traits, traits),
        organizationId,
      });
      return { body: accountObject(store, updated), key: record.key, note: 'updated' };
    }),
  );

  app.get<{ Params: { id: string } }>('/resources/accounts/:id/users', async (request, reply) =>
    serve(request, reply, request.params.id, (store) => {
      const account = findByIdOrExternalId(store, 'account', request.params.id);
      if (!account) throw notFound('Account', request.params.id);
      const users = store.list('user').filter((u) => (u.fields.accountIds as string[]).includes(account.id));
      return { body: { results: users.map(userObject), next: null } };
    }),
  );

  // ---- Users

  app.post('/resources/users', async (request, reply) =>
    serve(request, reply, bodyKey(request.body), (store) => {
      const body = parseBody(request.body);
      const externalId = externalIdOf(body);
      const accountRefs = stringArray(body, 'accountIds');
      const organizationIds = stringArray(body, 'organizationIds');
      const traits = traitsOf(body);
      const name = optionalString(body, 'name');
      const email = optionalString(body, 'email');
      const avatar = optionalString(body, 'avatar');
      const joinDate = optionalString(body, 'joinDate');
      const unsubscribed = body.unsubscribedFromConversations;
      if (unsubscribed !== undefined && typeof unsubscribed !== 'boolean') {
        throw new HttpError(400, '"unsubscribedFromConversations" must be a boolean');
      }
      if (!accountRefs?.length && !organizationIds?.length) {
        throw new HttpError(400, 'One of "accountIds" or "organizationIds" is required');
      }
      const accounts = (accountRefs ?? []).map((ref) => {
        const account = findByIdOrExternalId(store, 'account', ref);
        if (!account) throw new HttpError(400, `Account not found: ${ref}`);
        return account;
      });

      const existing = store.get('user', externalId);
      const previousIds = (existing?.fields.accountIds as string[] | undefined) ?? [];
      const previousExternal = (existing?.fields.accountExternalIds as string[] | undefined) ?? [];
      const accountIds = [...new Set([...previousIds, ...accounts.map((a) => a.id)])];
      const accountExternalIds = [...new Set([...previousExternal, ...accounts.map((a) => a.key)])];
      const previousOrgs = (existing?.fields.organizationIds as string[] | undefined) ?? [];
      const { record, created } = store.upsert(
        'user',
        externalId,
        {
          externalId,
          name: name ?? undefined,
          email: email ?? undefined,
          avatar: avatar ?? undefined,
          traits: mergeTraits(existing?.fields.traits, traits),
          accountIds,
          accountExternalIds,
          organizationIds: [...new Set([...previousOrgs, ...(organizationIds ?? [])])],
          unsubscribedFromConversations: unsubscribed,
          joinDate: joinDate ?? undefined,
        },
        (seq) => uuidFrom(`vitally:user:${seq}`),
      );
      return { body: userObject(record), key: externalId, note: created ? 'created' : 'updated' };
    }),
  );

  app.get<{ Params: { id: string } }>('/resources/users/:id', async (request, reply) =>
    serve(request, reply, request.params.id, (store) => {
      const record = findByIdOrExternalId(store, 'user', request.params.id);
      if (!record) throw notFound('User', request.params.id);
      return { body: userObject(record) };
    }),
  );

  app.delete<{ Params: { id: string }; Querystring: { deleteOn?: string } }>(
    '/resources/users/:id',
    async (request, reply) =>
      serve(request, reply, request.params.id, (store) => {
        if (request.query.deleteOn !== undefined) {
          throw new HttpError(400, 'a scheduled deletion ("deleteOn") is not simulated by the sandbox');
        }
        const record = findByIdOrExternalId(store, 'user', request.params.id);
        if (!record) throw notFound('User', request.params.id);
        store.remove('user', record.key);
        return { body: userObject(record), note: 'deleted' };
      }),
  );

  done();
};
