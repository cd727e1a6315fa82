import type { FastifyPluginCallback, FastifyReply, FastifyRequest } from 'fastify';
import type { ProviderPluginOptions, RecordStore } from './state';

/**
 * Mixpanel's ingestion API (real host https://api.mixpanel.com, EU https://api-eu.mixpanel.com), served under
 * `/mixpanel`, written from Mixpanel's reference: "Set Property" (`/engage#profile-set`), "Group Set Property"
 * (`/groups#group-set`), "Import Events" (`/import`) and "Merge Identities" (`$merge`, Original ID Merge).
 *
 * - `POST /engage` — profile updates: a JSON array of updates (`Content-Type: application/json`), or the classic
 *   form body `data=<JSON array or object>`. Each update names `$token` and `$distinct_id` and one operation; the
 *   sandbox takes `$set`, `$set_once` (only properties not set yet), `$unset` (a list of names) and, on profiles,
 *   `$delete` (the profile is deleted: "Delete Profile"). No auth header:
 *   the token in the body authenticates, and `bad-key` is a token the project does not know.
 * - `POST /groups` — group profile updates, the same shape with `$group_key` and `$group_id` instead of `$distinct_id`.
 * - Both answer 200 with `1` (all applied) or `0`; with `verbose=1` a JSON `{ status: 1, error: null }` or
 *   `{ status: 0, error }` — Mixpanel reports a refused update in the body, not in the status code. A batch is applied
 *   whole or not at all here.
 * - `POST /import` — events. Authentication ("Import Events", "Service Accounts", troubleshooting "401 Unauthorized"):
 *   a service account (Basic `user:secret`) with `?project_id=` the sandbox project's id (`MIXPANEL_SANDBOX_PROJECT_ID`,
 *   2195193), or, without `project_id`, the legacy project API secret as user name and an empty password. Anything
 *   else — no Basic auth, the secret `bad-key`, a service account without `project_id` or with another project's, an
 *   API secret with a `project_id` — → 401 `{ code: 401, error: "Invalid credentials", status: "Unauthorized" }`
 *   (`/import` never answers 403). The call log notes which auth was used (`auth: service account (project 2195193)`
 *   or `auth: API secret`). A JSON array of events `{ event, properties }`. Identity, per the project's ID
 *   management version (the `idMerge` control, "Identity Merge" in Mixpanel's project settings; default `simplified`):
 *   - Simplified ID Merge ("Identifying Users (Simplified)"): an event with both `$device_id` and `$user_id` merges
 *     the two ids — the device id joins the user id's cluster, whose canonical id is always the `$user_id`. Such an
 *     event needs no `distinct_id` (Mixpanel derives it from `$user_id`, else `$device_id`).
 *   - Original ID Merge ("Merge Identities"): `$merge` with `properties.$distinct_ids` exactly two non-empty strings
 *     and `properties.token`; both ids' clusters become one identity (Mixpanel chooses the canonical id; the sandbox
 *     keeps the cluster of the second id, or the second id itself). `$device_id` / `$user_id` are plain properties.
 *   "The `$merge` event payload is only useful for projects using the Original ID Merge system; it has no
 *   functionality in other ID management systems": on a simplified project a valid `$merge` is imported (200) and
 *   links nothing (noted `$merge ignored (simplified ID merge)`), and is stored as an event.
 *   Other events need `properties.distinct_id` (unless derived as above), `properties.time` and, with `strict=1`,
 *   `$insert_id`; they are stored as they come. Invalid records → 400 `{ code: 400, error, failed_records: [{ index,
 *   message }], num_records_imported: 0, status: "Bad Request" }` and nothing is imported. Success: 200 `{ code: 200,
 *   num_records_imported, status: "OK" }`.
 * - `GET /api/app/me` — the application API's "who am I", which the Service Accounts reference calls with the service
 *   account's Basic auth (real hosts mixpanel.com, eu.mixpanel.com): 200 `{ status: "ok", results: { user_name,
 *   projects: { "2195193": { id, name } } } }` for a service account (any user name, any secret but `bad-key`), else
 *   401 `{ status: "error", error }`. Read-only.
 * - `ip=0` on `/engage` and `/groups` (the docs' advice for server-side calls: no geolocation from the caller's
 *   address) is accepted and noted in the call log; the sandbox geolocates nothing either way.
 * - Order of checks: auth (`/import`) → `latencyMs` → rate limit (429 with `Retry-After`) → injected failure (500) →
 *   body.
 *
 * RecordStore (`state.records.mixpanel`): `profile` keyed by `$distinct_id`, fields `{ properties }`; `group` keyed
 * `<group_key>:<group_id>`, fields `{ groupKey, groupId, properties }`; `identity` keyed by the canonical id, fields
 * `{ distinctIds }` (every id merged into it, sorted); `event` keyed by `$insert_id` (else a sequence).
 */

type Json = Record<string, unknown>;

/**
 * The sandbox project's id: `/import` with a service account must name it as `project_id` (Mixpanel's "Project
 * Settings → Overview" shows a project's id; this one is fixed so a configuration can be written for it).
 */
export const MIXPANEL_SANDBOX_PROJECT_ID = '2195193';

/** Mixpanel's documented `/import` answer to credentials it cannot authenticate (troubleshooting, "401 Unauthorized"). */
const UNAUTHORIZED = { code: 401, error: 'Invalid credentials', status: 'Unauthorized' };

/**
 * Who a request's Basic auth names: "our authentication accepts both base64 encoding and plain-text" of
 * `user:password`. Undefined without a Basic header.
 */
function basicAuth(request: FastifyRequest): { user: string; password: string } | undefined {
  const header = request.headers.authorization ?? '';
  const [scheme, value] = header.split(' ', 2);
  if (scheme?.toLowerCase() !== 'basic' || !value) return undefined;
  const decoded = value.includes(':') ? value : Buffer.from(value, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0
    ? { user: decoded, password: '' }
    : { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** A service account the sandbox project admits: any user name, any secret but `bad-key`. */
const serviceAccountValid = (auth: { user: string; password: string }) =>
  auth.user !== '' && auth.password !== '' && auth.password !== 'bad-key';

/**
 * `/import`'s authentication: with `project_id`, a service account of that project ("project_id, service account
 * username, and service account password are required"); without, "secret auth" — the API secret as user name and an
 * empty password. Anything else is refused, a wrong or missing project id included ("not valid for the project you
 * addressed").
 */
function importAuth(request: FastifyRequest): 'service account' | 'API secret' | undefined {
  const auth = basicAuth(request);
  if (!auth) return undefined;
  const projectId = (request.query as Json).project_id;
  if (projectId !== undefined) {
    return projectId === MIXPANEL_SANDBOX_PROJECT_ID && serviceAccountValid(auth) ? 'service account' : undefined;
  }
  return auth.user !== '' && auth.password === '' && auth.user !== 'bad-key' ? 'API secret' : undefined;
}

class Refused extends Error {}

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The updates of an `/engage` or `/groups` body: a JSON array or object, or the form field `data`. */
function updatesOf(request: FastifyRequest): Json[] {
  let body: unknown = request.body;
  if (isObject(body) && typeof body.data === 'string' && request.headers['content-type']?.includes('form')) {
    try {
      body = JSON.parse(body.data);
    } catch {
      throw new Refused('data is not valid JSON');
    }
  }
  const list = Array.isArray(body) ? body : [body];
  if (list.length === 0 || !list.every(isObject))
    throw new Refused('the body must be an update object or a list of them');
  return list;
}

function apply(existing: Json, update: Json): Json {
  const properties: Json = { ...existing };
  const set = update.$set;
  const setOnce = update.$set_once;
  const unset = update.$unset;
  if (set === undefined && setOnce === undefined && unset === undefined) {
    throw new Refused('no supported operation ($set, $set_once, $unset)');
  }
  if (set !== undefined) {
    if (!isObject(set)) throw new Refused('$set must be an object');
    Object.assign(properties, set);
  }
  if (setOnce !== undefined) {
    if (!isObject(setOnce)) throw new Refused('$set_once must be an object');
    for (const [k, v] of Object.entries(setOnce)) if (!(k in properties)) properties[k] = v;
  }
  if (unset !== undefined) {
    if (!Array.isArray(unset)) throw new Refused('$unset must be a list of property names');
    for (const k of unset) delete properties[String(k)];
  }
  return properties;
}

const nonEmpty = (value: unknown): value is string => typeof value === 'string' && value !== '';

/** The identity cluster holding `id`, if any. */
const clusterOf = (store: RecordStore, id: string) =>
  store.list('identity').find((r) => (r.fields.distinctIds as string[]).includes(id));

function merge(store: RecordStore, a: string, b: string): string {
  const ca = clusterOf(store, a);
  const cb = clusterOf(store, b);
  if (ca && cb && ca.key === cb.key) return 'already merged';
  const canonical = cb?.key ?? ca?.key ?? b;
  const ids = new Set<string>([
    a,
    b,
    ...((ca?.fields.distinctIds as string[] | undefined) ?? []),
    ...((cb?.fields.distinctIds as string[] | undefined) ?? []),
  ]);
  if (ca && ca.key !== canonical) store.remove('identity', ca.key);
  store.upsert('identity', canonical, { distinctIds: [...ids].sort() });
  return 'merged';
}

export const mixpanelPlugin: FastifyPluginCallback<ProviderPluginOptions> = (app, { state }, done) => {
  // The classic `data=<json>` form body of /engage and /groups.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, parsed) =>
    parsed(null, Object.fromEntries(new URLSearchParams(String(body)))),
  );

  const gated = async (request: FastifyRequest, reply: FastifyReply, key: string | null) => {
    const sys = state.system('mixpanel');
    const gate = await sys.gate();
    if (gate.kind === 'rate_limited') {
      reply.header('retry-after', String(gate.retryAfterSeconds));
      sys.recordRequest(request, { key, status: 429, creditsCharged: 0 });
      return reply.code(429).send({ code: 429, error: 'too many requests', status: 'Too Many Requests' });
    }
    if (gate.kind === 'failure') {
      sys.recordRequest(request, { key, status: 500, creditsCharged: 0 });
      return reply.code(500).send({ code: 500, error: 'internal server error', status: 'Internal Server Error' });
    }
    return undefined;
  };

  const profileUpdates = (kind: 'profile' | 'group') => async (request: FastifyRequest, reply: FastifyReply) => {
    const sys = state.system('mixpanel');
    const query = request.query as { verbose?: string; ip?: string };
    const verbose = query.verbose === '1';
    const refused = await gated(request, reply, null);
    if (refused) return refused;
    const store = state.records.mixpanel;
    const answer = (error: string | null, key: string | null, note?: string) => {
      sys.recordRequest(request, { key, status: 200, creditsCharged: 0, note: note ?? error ?? undefined });
      const ok = error === null;
      return reply.code(200).send(verbose ? { status: ok ? 1 : 0, error } : ok ? 1 : 0);
    };
    let updates: Json[];
    try {
      updates = updatesOf(request);
    } catch (error) {
      return answer((error as Error).message, null);
    }
    const keys: string[] = [];
    const planned: { key: string; fields: Json }[] = [];
    const deletions: string[] = [];
    try {
      for (const update of updates) {
        if (!nonEmpty(update.$token)) throw new Refused('$token, missing or empty');
        if (update.$token === 'bad-key') throw new Refused('Invalid project token');
        if (kind === 'profile') {
          if (!nonEmpty(update.$distinct_id)) throw new Refused('$distinct_id, missing or empty');
          const key = update.$distinct_id;
          if ('$delete' in update) {
            deletions.push(key);
            keys.push(key);
            continue;
          }
          const existing = (store.get('profile', key)?.fields.properties as Json | undefined) ?? {};
          planned.push({ key, fields: { properties: apply(existing, update) } });
          keys.push(key);
        } else {
          if (!nonEmpty(update.$group_key)) throw new Refused('$group_key, missing or empty');
          if (!nonEmpty(update.$group_id)) throw new Refused('$group_id, missing or empty');
          const key = `${update.$group_key}:${update.$group_id}`;
          const existing = (store.get('group', key)?.fields.properties as Json | undefined) ?? {};
          planned.push({
            key,
            fields: { groupKey: update.$group_key, groupId: update.$group_id, properties: apply(existing, update) },
          });
          keys.push(key);
        }
      }
    } catch (error) {
      if (error instanceof Refused) return answer(error.message, keys[0] ?? null);
      throw error;
    }
    for (const p of planned) store.upsert(kind, p.key, p.fields);
    for (const key of deletions) store.remove('profile', key);
    const note =
      `${planned.length} ${kind} update(s)${deletions.length > 0 ? `, ${deletions.length} deleted` : ''}` +
      (query.ip === '0' ? ', ip=0' : '');
    return answer(null, keys.join(',') || null, note);
  };

  app.post('/engage', profileUpdates('profile'));
  app.post('/groups', profileUpdates('group'));

  app.post('/import', async (request, reply) => {
    const sys = state.system('mixpanel');
    const auth = importAuth(request);
    if (!auth) {
      sys.recordRequest(request, { key: null, status: 401, creditsCharged: 0 });
      return reply.code(401).send(UNAUTHORIZED);
    }
    const refused = await gated(request, reply, null);
    if (refused) return refused;
    const strict = (request.query as { strict?: string }).strict === '1';
    const simplified = sys.control.idMerge === 'simplified';
    const body: unknown = request.body;
    const events = Array.isArray(body) ? body : [body];
    const failed: { index: number; message: string }[] = [];
    events.forEach((event, index) => {
      if (!isObject(event) || !nonEmpty(event.event) || !isObject(event.properties)) {
        failed.push({ index, message: 'an event needs "event" and "properties"' });
        return;
      }
      const p = event.properties;
      if (event.event === '$merge') {
        const ids = p.$distinct_ids;
        if (!Array.isArray(ids) || ids.length !== 2 || !ids.every(nonEmpty)) {
          failed.push({ index, message: '$merge needs exactly two $distinct_ids' });
        } else if (!nonEmpty(p.token)) failed.push({ index, message: 'properties.token is required' });
        return;
      }
      const derived = simplified && (nonEmpty(p.$user_id) || nonEmpty(p.$device_id));
      if (!derived && !nonEmpty(p.distinct_id)) failed.push({ index, message: 'properties.distinct_id is required' });
      else if (typeof p.time !== 'number') failed.push({ index, message: 'properties.time is required' });
      else if (strict && !nonEmpty(p.$insert_id)) failed.push({ index, message: 'properties.$insert_id is required' });
    });
    if (events.length === 0 || failed.length > 0) {
      sys.recordRequest(request, { key: null, status: 400, creditsCharged: 0 });
      return reply.code(400).send({
        code: 400,
        error: failed[0]?.message ?? 'no events',
        failed_records: failed,
        num_records_imported: 0,
        status: 'Bad Request',
      });
    }
    const store = state.records.mixpanel;
    const notes: string[] = [];
    const keys: string[] = [];
    for (const event of events as { event: string; properties: Json }[]) {
      const p = event.properties;
      if (event.event === '$merge' && !simplified) {
        const [a, b] = p.$distinct_ids as [string, string];
        notes.push(merge(store, a, b));
        keys.push(`${a}+${b}`);
        continue;
      }
      if (event.event === '$merge') notes.push('$merge ignored (simplified ID merge)');
      else if (simplified && nonEmpty(p.$device_id) && nonEmpty(p.$user_id)) {
        notes.push(merge(store, p.$device_id, p.$user_id));
      }
      const key = nonEmpty(p.$insert_id) ? p.$insert_id : `event:${store.list('event').length + 1}`;
      store.upsert('event', key, { event: event.event, properties: p });
      keys.push(key);
    }
    sys.recordRequest(request, {
      key: keys.join(','),
      status: 200,
      creditsCharged: 0,
      note: [
        `auth: ${auth === 'service account' ? `service account (project ${MIXPANEL_SANDBOX_PROJECT_ID})` : auth}`,
        ...notes,
      ].join(','),
    });
    return reply.code(200).send({ code: 200, num_records_imported: events.length, status: 'OK' });
  });

  // The application API's "who am I" (the Service Accounts reference authenticates against it): read-only.
  app.get('/api/app/me', async (request, reply) => {
    const sys = state.system('mixpanel');
    const auth = basicAuth(request);
    if (!auth || !serviceAccountValid(auth)) {
      sys.recordRequest(request, { key: null, status: 401, creditsCharged: 0 });
      return reply.code(401).send({ status: 'error', error: 'Invalid credentials' });
    }
    const refused = await gated(request, reply, null);
    if (refused) return refused;
    sys.recordRequest(request, { key: auth.user, status: 200, creditsCharged: 0 });
    const project = { id: Number(MIXPANEL_SANDBOX_PROJECT_ID), name: 'Sandbox' };
    return reply.code(200).send({
      status: 'ok',
      results: { user_name: auth.user, projects: { [MIXPANEL_SANDBOX_PROJECT_ID]: project } },
    });
  });

  done();
};
