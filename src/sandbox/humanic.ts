import type { FastifyPluginCallback } from 'fastify';
import { z } from 'zod';
import type { ProviderPluginOptions } from './state';

/**
 * A Humanic workspace's PostHog webhook (Humanic → Integrations → PostHog gives its URL; PostHog's "Webhook"
 * destination POSTs to it), as the consumer of a PostHog webhook destination sees it: it takes PostHog's webhook
 * destination payload and nothing else. The schema is written from PostHog's documentation of its destinations'
 * globals (posthog.com/docs/cdp/destinations) and its webhook template (`template-webhook`), whose default JSON body is
 * `{ event: '{event}', person: '{person}' }`, independently of our client. Only `event` is required; `person`,
 * `groups` and `project` are optional globals a destination's body may add (PostHog's model has no groups or person
 * for some events), each validated when present:
 *
 * - `event`: `{ uuid, event, distinct_id, properties, elements_chain, timestamp, url }` — the uuid a uuid, `event` and
 *   `distinct_id` non-empty strings, `properties` an object, `elements_chain` a string (empty outside autocapture),
 *   `timestamp` an ISO 8601 date-time, `url` the event's link in PostHog;
 * - `person`: `{ id, properties, name, url }` or `null` (an event of no person);
 * - `groups`: by group type, `{ id, type, index, url, properties }` — `type` the key it is under, `index` 0..4 (a
 *   project has at most five group types);
 * - `project`: `{ id (an integer), name, url }`.
 * PostHog adds fields over time: more fields are accepted; a missing or mistyped one is refused.
 *
 * Humanic's mapping (its PostHog integration page): `distinct_id` is the user id, `properties.email` the address,
 * `event` the campaign trigger. A body without an email in either `person.properties.email` or
 * `event.properties.email` is still accepted (Humanic matches by distinct_id), noted `no email` in the call log.
 *
 * `POST /humanic/:hook` (any hook name; the sandbox's default is `webhook`), `application/json`:
 * 200 `{ received: true, duplicate }` — stored under `event`, keyed by `event.uuid` (a second delivery of the same
 * uuid is the same record with `writes` 2: what a consumer that de-duplicates on the uuid drops);
 * 400 `{ error: "invalid PostHog webhook payload", issues: [{ path, message }] }` naming what does not match the
 * schema (nothing stored); 401 when the `bearerToken` control is set and `Authorization: Bearer <token>` is not it, or
 * the token is `bad-key`; 415 another content type; 429 + `Retry-After` over the rate limit; 500 injected failure.
 * Order: auth → `latencyMs` → rate limit → injected failure → content type / schema (400) → stored.
 *
 * What `GET /_inspect/humanic` shows in `records`: `event`, keyed by `event.uuid`, fields `{ hook, event (the event
 * name), distinctId, body (the payload as received), deliveryId (the `X-Enrichment-Delivery` header, or null) }`.
 */

const propertiesSchema = z.record(z.string(), z.unknown());

export const posthogWebhookPayloadSchema = z.looseObject({
  event: z.looseObject({
    uuid: z.uuid(),
    event: z.string().min(1),
    distinct_id: z.string().min(1),
    properties: propertiesSchema,
    elements_chain: z.string(),
    timestamp: z.iso.datetime({ offset: true }),
    url: z.url(),
  }),
  person: z
    .looseObject({
      id: z.string().min(1),
      properties: propertiesSchema,
      name: z.string(),
      url: z.url(),
    })
    .nullable()
    .optional(),
  groups: z
    .record(
      z.string().min(1),
      z.looseObject({
        id: z.string().min(1),
        type: z.string().min(1),
        index: z.number().int().min(0).max(4),
        url: z.url(),
        properties: propertiesSchema,
      }),
    )
    .optional(),
  project: z.looseObject({ id: z.number().int(), name: z.string(), url: z.url() }).optional(),
});

/** The issues of a body against PostHog's webhook payload schema; empty when it matches. */
export function posthogPayloadIssues(body: unknown): { path: string; message: string }[] {
  const parsed = posthogWebhookPayloadSchema.safeParse(body);
  const issues = parsed.success
    ? []
    : parsed.error.issues.map((i) => ({ path: i.path.length > 0 ? i.path.join('.') : '(body)', message: i.message }));
  if (parsed.success) {
    for (const [key, group] of Object.entries(parsed.data.groups ?? {})) {
      if (group.type !== key) issues.push({ path: `groups.${key}.type`, message: `must be the group type "${key}"` });
    }
  }
  return issues;
}

export const humanicPlugin: FastifyPluginCallback<ProviderPluginOptions> = (app, { state }, done) => {
  // Parsed here, after auth, so a bad token gets 401 even with a broken body.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, parsed) => parsed(null, body));

  app.post<{ Params: { hook: string } }>('/:hook', async (request, reply) => {
    const sys = state.system('humanic');
    const answer = (status: number, body: unknown, key: string | null, note?: string) => {
      sys.recordRequest(request, { key, status, creditsCharged: 0, note });
      return reply.code(status).send(body);
    };
    const header = request.headers.authorization ?? '';
    const token = header.toLowerCase().startsWith('bearer ') ? header.slice(7).trim() : undefined;
    const required = sys.control.bearerToken;
    if (token === 'bad-key' || (required !== null && token !== required)) {
      return answer(401, { error: 'unauthorized' }, null, 'bad token');
    }
    const gate = await sys.gate();
    if (gate.kind === 'rate_limited') {
      reply.header('retry-after', String(gate.retryAfterSeconds));
      return answer(429, { error: 'rate limited' }, null);
    }
    if (gate.kind === 'failure') return answer(500, { error: 'injected failure' }, null);
    if (!String(request.headers['content-type'] ?? '').startsWith('application/json')) {
      return answer(415, { error: 'expected application/json' }, null);
    }
    let body: unknown;
    try {
      body = JSON.parse(String(request.body));
    } catch {
      return answer(
        400,
        { error: 'invalid PostHog webhook payload', issues: [{ path: '(body)', message: 'not JSON' }] },
        null,
      );
    }
    const issues = posthogPayloadIssues(body);
    if (issues.length > 0) {
      return answer(400, { error: 'invalid PostHog webhook payload', issues }, null, 'schema mismatch');
    }
    const payload = posthogWebhookPayloadSchema.parse(body);
    const delivery = request.headers['x-enrichment-delivery'];
    const email = payload.person?.properties.email ?? payload.event.properties.email;
    const { created } = state.records.humanic.upsert('event', payload.event.uuid, {
      hook: request.params.hook,
      event: payload.event.event,
      distinctId: payload.event.distinct_id,
      body,
      deliveryId: typeof delivery === 'string' ? delivery : null,
    });
    return answer(
      200,
      { received: true, duplicate: !created },
      payload.event.uuid,
      typeof email === 'string' && email !== '' ? undefined : 'no email',
    );
  });

  done();
};
