import type { FastifyPluginCallback, FastifyReply, FastifyRequest } from 'fastify';
import type { ProviderPluginOptions } from './state';

/**
 * Customer.io's Track API v1 (real hosts https://track.customer.io/api/v1, EU https://track-eu.customer.io/api/v1),
 * served under `/customerio/api/v1`, written from Customer.io's "Track API" reference ("Add or update a person",
 * "Track a customer event") and its authentication page.
 *
 * - Auth: HTTP Basic with the workspace's site id as user name and its Track API key as password. Missing header,
 *   another scheme, an empty site id or key, or the key `bad-key` → 401.
 * - `PUT /customers/:identifier` — add or update a person. The body is the person's attributes, top level: every key
 *   but the reserved `_update` / `cio_relationships` is stored and merged into what the person already has
 *   (a later value replaces an earlier one; an attribute sent as `null` or `""` is removed, as documented). `email`,
 *   when present, must be a string, `created_at`, when present, a Unix timestamp in seconds (an integer). The
 *   identifier is our id (the docs allow an id, an email or a `cio_` id; the sandbox keys people by the path segment
 *   as sent and refuses one over 150 characters, the documented id limit).
 * - `POST /customers/:identifier/events` `{ name, id?, type?, timestamp?, data? }` — track an event for a person.
 *   `name` is required. `id`, when present, must be a ULID (26 characters of Crockford's base 32): the docs make it the
 *   deduplication key — an event whose id was already received is answered 200 and not processed again (the sandbox
 *   counts it as `duplicates` on the stored event and triggers nothing). `timestamp` is Unix seconds. `data` an
 *   object. A person that does not exist yet is created with no attributes (the docs: events for an identifier with
 *   no person create one). Without `timestamp` the event takes the time it is received (as documented); the docs say
 *   "Events with a timestamp in the past 72 hours can trigger campaigns": an older one is stored and triggers nothing
 *   (noted `older than 72 hours: no campaign`).
 * - `DELETE /customers/:identifier` — delete a person (and, here, their events). 200 `{}` whether or not the person
 *   existed, as the docs give no 404 for it.
 * - `GET /accounts/region` ("Find your account region": the credentials' workspace region) → 200 `{ url, region,
 *   environment_id }`; the sandbox's workspace is a US one (`{ url: "https://track.customer.io", region: "us",
 *   environment_id: 1 }`), whichever host is asked, as the docs say either regional URL answers it.
 * - Attribute values: the docs list strings, integers and booleans (and timestamps as integers); nested objects and
 *   lists are not documented as refused, so the sandbox stores them as sent.
 * - Answers: 200 `{}` on success. A 400 (a body to review) is `{ meta: { errors: [message, ...] } }` as the Track API
 *   reference gives it; 401, 429 and 500 `{ meta: { error } }`.
 * - Order of checks: auth → `latencyMs` → rate limit (429 with `Retry-After`) → injected failure (500) → body (400).
 *
 * RecordStore (`state.records.customerio`): `customer` keyed by identifier, fields `{ attributes }`; `event` keyed by
 * its id (a ULID, else `<identifier>:<sequence>`), fields `{ customer, name, type, timestamp, data, duplicates }`;
 * `campaign_trigger` keyed by event key: one per processed `signed_up`-like event, what a campaign would have sent.
 */

type Json = Record<string, unknown>;

const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/i;
const RESERVED = new Set(['_update', 'cio_relationships']);
export const MAX_IDENTIFIER_LENGTH = 150;
/** "Events with a timestamp in the past 72 hours can trigger campaigns." */
export const CAMPAIGN_TRIGGER_WINDOW_SECONDS = 72 * 3600;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function credentials(request: FastifyRequest): { siteId: string; apiKey: string } | undefined {
  const header = request.headers.authorization;
  if (!header) return undefined;
  const [scheme, encoded] = header.split(' ', 2);
  if (scheme?.toLowerCase() !== 'basic' || !encoded) return undefined;
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return undefined;
  return { siteId: decoded.slice(0, colon), apiKey: decoded.slice(colon + 1) };
}

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function identifierOf(raw: string): string {
  if (raw.trim() === '') throw new HttpError(400, 'identifier is required');
  if (raw.length > MAX_IDENTIFIER_LENGTH) {
    throw new HttpError(400, `identifier is longer than ${MAX_IDENTIFIER_LENGTH} characters`);
  }
  return raw;
}

export const customerioPlugin: FastifyPluginCallback<ProviderPluginOptions> = (app, { state }, done) => {
  const serve = async (
    request: FastifyRequest,
    reply: FastifyReply,
    key: string | null,
    work: () => { note?: string; body?: unknown },
  ) => {
    const sys = state.system('customerio');
    const answer = (status: number, body: unknown, note?: string) => {
      sys.recordRequest(request, { key, status, creditsCharged: 0, note });
      return reply.code(status).send(body);
    };
    const auth = credentials(request);
    if (!auth || !auth.siteId || !auth.apiKey || auth.apiKey === 'bad-key') {
      return answer(401, { meta: { error: 'Unauthorized request' } });
    }
    const gate = await sys.gate();
    if (gate.kind === 'rate_limited') {
      reply.header('retry-after', String(gate.retryAfterSeconds));
      return answer(429, { meta: { error: 'Too many requests' } });
    }
    if (gate.kind === 'failure') return answer(500, { meta: { error: 'Internal server error' } });
    try {
      const result = work();
      return answer(200, result.body ?? {}, result.note);
    } catch (error) {
      if (error instanceof HttpError) {
        const body = error.status === 400 ? { meta: { errors: [error.message] } } : { meta: { error: error.message } };
        return answer(error.status, body, error.message);
      }
      throw error;
    }
  };

  // The sandbox's workspace is a US one: the region lookup answers it from either regional host, as documented.
  app.get('/api/v1/accounts/region', async (request, reply) =>
    serve(request, reply, null, () => ({
      body: { url: 'https://track.customer.io', region: 'us', environment_id: 1 },
      note: 'region',
    })),
  );

  app.put<{ Params: { identifier: string } }>('/api/v1/customers/:identifier', async (request, reply) =>
    serve(request, reply, request.params.identifier, () => {
      const identifier = identifierOf(request.params.identifier);
      const body: unknown = request.body;
      if (!isObject(body)) throw new HttpError(400, 'request body must be a JSON object of attributes');
      if (body.email !== undefined && body.email !== null && typeof body.email !== 'string') {
        throw new HttpError(400, 'email must be a string');
      }
      if (body.created_at !== undefined && !Number.isInteger(body.created_at)) {
        throw new HttpError(400, 'created_at must be a Unix timestamp in seconds');
      }
      const store = state.records.customerio;
      const attributes: Json = {
        ...((store.get('customer', identifier)?.fields.attributes as Json | undefined) ?? {}),
      };
      for (const [name, value] of Object.entries(body)) {
        if (RESERVED.has(name)) continue;
        if (value === null || value === '') delete attributes[name];
        else attributes[name] = value;
      }
      const { created } = store.upsert('customer', identifier, { attributes });
      return { note: created ? 'created' : 'updated' };
    }),
  );

  app.delete<{ Params: { identifier: string } }>('/api/v1/customers/:identifier', async (request, reply) =>
    serve(request, reply, request.params.identifier, () => {
      const identifier = identifierOf(request.params.identifier);
      const store = state.records.customerio;
      const removed = store.remove('customer', identifier);
      for (const event of store.list('event').filter((e) => e.fields.customer === identifier)) {
        store.remove('event', event.key);
      }
      return { note: removed ? 'deleted' : 'no such person' };
    }),
  );

  app.post<{ Params: { identifier: string } }>('/api/v1/customers/:identifier/events', async (request, reply) =>
    serve(request, reply, request.params.identifier, () => {
      const identifier = identifierOf(request.params.identifier);
      const body: unknown = request.body;
      if (!isObject(body)) throw new HttpError(400, 'request body must be a JSON object');
      if (typeof body.name !== 'string' || body.name.trim() === '') throw new HttpError(400, 'name is required');
      if (body.id !== undefined && (typeof body.id !== 'string' || !ULID.test(body.id))) {
        throw new HttpError(400, 'id must be a ULID');
      }
      if (body.timestamp !== undefined && !Number.isInteger(body.timestamp)) {
        throw new HttpError(400, 'timestamp must be a Unix timestamp in seconds');
      }
      if (body.data !== undefined && !isObject(body.data)) throw new HttpError(400, 'data must be an object');
      const store = state.records.customerio;
      const id = typeof body.id === 'string' ? body.id.toUpperCase() : undefined;
      const previous = id === undefined ? undefined : store.get('event', id);
      if (previous) {
        // Deduplicated: acknowledged, not processed again (no second campaign trigger).
        previous.fields.duplicates = Number(previous.fields.duplicates ?? 0) + 1;
        return { note: 'duplicate event id: ignored' };
      }
      if (!store.get('customer', identifier)) store.upsert('customer', identifier, { attributes: {} });
      const key = id ?? `${identifier}:${store.list('event').length + 1}`;
      const now = Math.floor(Date.now() / 1000);
      const timestamp = typeof body.timestamp === 'number' ? body.timestamp : now;
      store.upsert('event', key, {
        customer: identifier,
        name: body.name.trim(),
        type: body.type ?? 'event',
        timestamp,
        data: body.data ?? {},
        duplicates: 0,
      });
      if (now - timestamp > CAMPAIGN_TRIGGER_WINDOW_SECONDS) return { note: 'older than 72 hours: no campaign' };
      store.upsert('campaign_trigger', key, { customer: identifier, event: body.name.trim() });
      return { note: 'event processed' };
    }),
  );

  done();
};
