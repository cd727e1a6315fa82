import { createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyError, FastifyPluginCallback, FastifyReply, FastifyRequest } from 'fastify';
import type { ProviderPluginOptions } from './state';

/**
 * A receiver of the project's own signed outgoing webhooks: what a customer's endpoint configured to receive the
 * enriched signups would do. The scheme is ours (described in docs/destinations.md), not a third party's:
 *
 * - `POST /webhooks/:endpoint` (any endpoint name), JSON body (the enriched signup), headers
 *   `X-Enrichment-Delivery: <delivery id>` (the same for every retry of one delivery), `X-Enrichment-Event: <event
 *   name>` and `X-Enrichment-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`.
 * - Verification over the raw bytes received (a content-type parser scoped to this plugin keeps `application/json`
 *   bodies as strings), with the `signingSecret` control, compared in constant time (`timingSafeEqual` on the decoded
 *   digests). Several `v1=` entries are accepted (any one matching is enough), so a sender rotating its secret can
 *   sign with both.
 * - 401 `{ error }`: no or unparsable signature header (`missing signature` / `malformed signature`), no `v1` that
 *   matches (`signature mismatch`), or `t` more than 300 s away from the receiver's clock, before or after
 *   (`stale timestamp`). Rejected attempts (401 and 400) are in the call log with the reason as `note`.
 * - Then, as every simulator: `latencyMs` → 429 `{ error: 'rate limited' }` with `Retry-After` over
 *   `rateLimitPerSecond` → 500 `{ error: 'injected failure' }` at `failureRate` → parameters: 400 `{ error }` for a
 *   missing `X-Enrichment-Delivery` or `X-Enrichment-Event`, or a body that is not JSON.
 * - A verified delivery answers 200 `{ received: true, duplicate }`: `duplicate` is true when that delivery id was
 *   already received (a retry), which the receiver still acknowledges with 200 so the sender stops retrying.
 * - Anything but `application/json` is refused by Fastify with 415 (`{ error }`).
 *
 * RecordStore (`state.records.webhooks`, read at request time: `POST /_reset` replaces it): `delivery` keyed by the
 * delivery id, fields `{ endpoint, event, body (parsed JSON), verified: true, timestamp (the signature's t, unix
 * seconds) }`; a redelivery is the same record with one more write (the fields of the last one).
 * Call log key: the delivery id (null when absent).
 */

/** How far the signature's timestamp may be from the receiver's clock. */
export const SIGNATURE_TOLERANCE_SECONDS = 300;

const DELIVERY_HEADER = 'x-enrichment-delivery';
const EVENT_HEADER = 'x-enrichment-event';
const SIGNATURE_HEADER = 'x-enrichment-signature';

/** `t=<unix seconds>,v1=<hex>` → its parts; undefined when it cannot be read. */
export function parseSignatureHeader(header: string): { timestamp: number; signatures: string[] } | undefined {
  let timestamp: number | undefined;
  const signatures: string[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const name = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (name === 't' && /^\d+$/.test(value)) timestamp = Number(value);
    else if (name === 'v1' && /^[0-9a-fA-F]{64}$/.test(value)) signatures.push(value.toLowerCase());
  }
  return timestamp === undefined || signatures.length === 0 ? undefined : { timestamp, signatures };
}

/** The `X-Enrichment-Signature` value for a body: what the project's sender computes. */
export function signatureHeader(secret: string, rawBody: string, timestamp: number): string {
  const digest = createHmac('sha256', secret).update(`${timestamp}.${rawBody}`).digest('hex');
  return `t=${timestamp},v1=${digest}`;
}

function headerValue(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  const first = Array.isArray(value) ? value[0] : value;
  return first && first.trim() !== '' ? first.trim() : undefined;
}

type Verification = { ok: true; timestamp: number } | { ok: false; error: string; note: string };

function verify(secret: string, rawBody: string, header: string | undefined, nowSeconds: number): Verification {
  if (!header) return { ok: false, error: 'missing signature', note: `no ${SIGNATURE_HEADER} header` };
  const parsed = parseSignatureHeader(header);
  if (!parsed) return { ok: false, error: 'malformed signature', note: `unreadable ${SIGNATURE_HEADER}` };
  const expected = createHmac('sha256', secret).update(`${parsed.timestamp}.${rawBody}`).digest();
  // Every candidate is compared (no early exit), each in constant time.
  let matched = false;
  for (const candidate of parsed.signatures) {
    const given = Buffer.from(candidate, 'hex');
    if (given.length === expected.length && timingSafeEqual(given, expected)) matched = true;
  }
  if (!matched) return { ok: false, error: 'signature mismatch', note: 'bad signature' };
  const skew = nowSeconds - parsed.timestamp;
  if (Math.abs(skew) > SIGNATURE_TOLERANCE_SECONDS) {
    return { ok: false, error: 'stale timestamp', note: `stale timestamp (${skew} s from now)` };
  }
  return { ok: true, timestamp: parsed.timestamp };
}

export const webhooksPlugin: FastifyPluginCallback<ProviderPluginOptions> = (app, { state }, done) => {
  // The signature is over the raw bytes: keep them, for this plugin only.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, parsed) => parsed(null, body));

  const log = (request: FastifyRequest, key: string | null, status: number, note?: string) =>
    state.system('webhooks').recordRequest(request, { key, status, creditsCharged: 0, note });

  app.setErrorHandler((error: FastifyError, request, reply: FastifyReply) => {
    const status = error.statusCode && error.statusCode < 500 ? error.statusCode : 500;
    if (status === 500) request.log.error(error);
    log(request, headerValue(request, DELIVERY_HEADER) ?? null, status, error.message);
    return reply.code(status).send({ error: status === 500 ? 'internal error' : error.message });
  });

  app.post<{ Params: { endpoint: string } }>('/:endpoint', async (request, reply) => {
    const sys = state.system('webhooks');
    const deliveryId = headerValue(request, DELIVERY_HEADER);
    const event = headerValue(request, EVENT_HEADER);
    const answer = (status: number, body: unknown, note?: string) => {
      log(request, deliveryId ?? null, status, note);
      return reply.code(status).send(body);
    };

    const rawBody = typeof request.body === 'string' ? request.body : '';
    const verification = verify(
      sys.control.signingSecret,
      rawBody,
      headerValue(request, SIGNATURE_HEADER),
      Math.floor(Date.now() / 1000),
    );
    if (!verification.ok) return answer(401, { error: verification.error }, verification.note);

    const gate = await sys.gate();
    if (gate.kind === 'rate_limited') {
      reply.header('retry-after', String(gate.retryAfterSeconds));
      return answer(429, { error: 'rate limited' });
    }
    if (gate.kind === 'failure') return answer(500, { error: 'injected failure' });

    const invalid = (error: string) => answer(400, { error }, error);
    if (!deliveryId) return invalid(`missing ${DELIVERY_HEADER} header`);
    if (!event) return invalid(`missing ${EVENT_HEADER} header`);
    let body: unknown;
    try {
      body = JSON.parse(rawBody);
    } catch {
      return invalid('body is not valid JSON');
    }

    const { created } = state.records.webhooks.upsert('delivery', deliveryId, {
      endpoint: request.params.endpoint,
      event,
      body,
      verified: true,
      timestamp: verification.timestamp,
    });
    return answer(200, { received: true, duplicate: !created }, created ? undefined : 'duplicate delivery');
  });

  done();
};
