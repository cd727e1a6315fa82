import { createHmac } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_CONTROLS } from '../../src/sandbox/state';
import { parseSignatureHeader, signatureHeader } from '../../src/sandbox/webhooks';
import { control, inspect, testSandbox } from '../support/sandbox';

const SECRET = DEFAULT_CONTROLS.webhooks.signingSecret;
const SIGNUP = { email: 'ada.quillon@quorvalis.com', company: { domain: 'quorvalis.com', employees: 1850 } };
let app: FastifyInstance;

beforeEach(() => {
  app = testSandbox();
});
afterEach(() => app.close());

const now = () => Math.floor(Date.now() / 1000);

/** Signs as the project's sender does: HMAC-SHA256(secret, "<t>.<raw body>") in hex. */
function sign(secret: string, raw: string, t: number): string {
  return `t=${t},v1=${createHmac('sha256', secret).update(`${t}.${raw}`).digest('hex')}`;
}

function deliver(
  options: {
    endpoint?: string;
    delivery?: string;
    event?: string;
    body?: unknown;
    raw?: string;
    secret?: string;
    t?: number;
    signature?: string | null;
  } = {},
) {
  const raw = options.raw ?? JSON.stringify(options.body ?? SIGNUP);
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (options.delivery !== '') headers['x-enrichment-delivery'] = options.delivery ?? 'dlv-1';
  if (options.event !== '') headers['x-enrichment-event'] = options.event ?? 'signup.enriched';
  const signature =
    options.signature === undefined ? sign(options.secret ?? SECRET, raw, options.t ?? now()) : options.signature;
  if (signature !== null) headers['x-enrichment-signature'] = signature;
  return app.inject({ method: 'POST', url: `/webhooks/${options.endpoint ?? 'crm'}`, payload: raw, headers });
}

describe('webhook receiver', () => {
  it('verifies the signature over the raw body and stores the delivery', async () => {
    // Whitespace and key order matter: the signature is over the bytes as sent.
    const raw = '{ "email": "ada.quillon@quorvalis.com",\n  "score": 82 }';
    const t = now();
    const res = await deliver({ raw, t, endpoint: 'acme-crm' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ received: true, duplicate: false });

    const seen = await inspect(app, 'webhooks');
    expect(seen.records?.delivery).toHaveLength(1);
    expect(seen.records?.delivery?.[0]).toMatchObject({
      key: 'dlv-1',
      writes: 1,
      fields: {
        endpoint: 'acme-crm',
        event: 'signup.enriched',
        body: { email: 'ada.quillon@quorvalis.com', score: 82 },
        verified: true,
        timestamp: t,
      },
    });
    expect(seen.calls[0]).toMatchObject({ path: '/webhooks/acme-crm', key: 'dlv-1', status: 200 });
  });

  it('signatureHeader / parseSignatureHeader agree with the documented scheme', () => {
    const header = signatureHeader('s3cret', '{"a":1}', 1_700_000_000);
    expect(header).toBe(sign('s3cret', '{"a":1}', 1_700_000_000));
    expect(parseSignatureHeader(header)).toEqual({
      timestamp: 1_700_000_000,
      signatures: [header.split('v1=')[1]],
    });
    expect(parseSignatureHeader('v1=abc')).toBeUndefined();
  });

  it('refuses a signature made with the wrong secret, or over other bytes, with 401, and logs the attempt', async () => {
    const wrongSecret = await deliver({ secret: 'not-the-secret', delivery: 'dlv-w' });
    expect(wrongSecret.statusCode).toBe(401);
    expect(wrongSecret.json()).toEqual({ error: 'signature mismatch' });

    const raw = JSON.stringify(SIGNUP);
    const tampered = await deliver({
      raw: raw.replace('1850', '9999'),
      signature: sign(SECRET, raw, now()),
      delivery: 'dlv-t',
    });
    expect(tampered.statusCode).toBe(401);

    const seen = await inspect(app, 'webhooks');
    expect(seen.records).toEqual({});
    expect(seen.calls.map((c) => [c.key, c.status, c.note])).toEqual([
      ['dlv-w', 401, 'bad signature'],
      ['dlv-t', 401, 'bad signature'],
    ]);
  });

  it('verifies with the signingSecret control as currently set', async () => {
    await control(app, 'webhooks', { signingSecret: 'rotated-secret' });
    expect((await deliver()).statusCode).toBe(401);
    expect((await deliver({ secret: 'rotated-secret' })).statusCode).toBe(200);
    // Two v1 entries, one of them valid (a sender rotating its secret): accepted.
    const raw = JSON.stringify(SIGNUP);
    const t = now();
    const both = `${sign(SECRET, raw, t)},v1=${sign('rotated-secret', raw, t).split('v1=')[1]}`;
    expect((await deliver({ raw, signature: both, delivery: 'dlv-2' })).statusCode).toBe(200);
  });

  it('refuses timestamps more than 300 s away, in either direction', async () => {
    const stale = await deliver({ t: now() - 301 });
    expect(stale.statusCode).toBe(401);
    expect(stale.json()).toEqual({ error: 'stale timestamp' });
    const future = await deliver({ t: now() + 400 });
    expect(future.statusCode).toBe(401);
    expect(future.json()).toEqual({ error: 'stale timestamp' });
    expect((await deliver({ t: now() - 250 })).statusCode).toBe(200);

    const seen = await inspect(app, 'webhooks');
    expect(seen.calls[0]?.note).toMatch(/^stale timestamp/);
    expect(seen.records?.delivery?.[0]?.writes).toBe(1);
  });

  it('refuses missing or malformed signature headers with 401', async () => {
    const missing = await deliver({ signature: null });
    expect(missing.statusCode).toBe(401);
    expect(missing.json()).toEqual({ error: 'missing signature' });
    for (const signature of ['garbage', 't=abc,v1=00', `t=${now()}`, `v1=${'0'.repeat(64)}`]) {
      const res = await deliver({ signature });
      expect(res.statusCode).toBe(401);
      expect(res.json()).toEqual({ error: 'malformed signature' });
    }
    expect((await inspect(app, 'webhooks')).counts.byStatus).toEqual({ '401': 5 });
  });

  it('acknowledges a redelivery of the same delivery id as a duplicate: one record, writes 2', async () => {
    const first = await deliver({ delivery: 'dlv-42' });
    const retry = await deliver({ delivery: 'dlv-42' });
    const other = await deliver({ delivery: 'dlv-43' });
    expect(first.json()).toEqual({ received: true, duplicate: false });
    expect(retry.json()).toEqual({ received: true, duplicate: true });
    expect(other.json()).toEqual({ received: true, duplicate: false });

    const seen = await inspect(app, 'webhooks');
    expect(seen.records?.delivery?.map((d) => [d.key, d.writes])).toEqual([
      ['dlv-42', 2],
      ['dlv-43', 1],
    ]);
    expect(seen.calls[1]).toMatchObject({ key: 'dlv-42', note: 'duplicate delivery' });
  });

  it('answers 400 for a verified request without delivery id, event, or JSON body', async () => {
    expect((await deliver({ delivery: '' })).json()).toEqual({ error: 'missing x-enrichment-delivery header' });
    expect((await deliver({ event: '' })).json()).toEqual({ error: 'missing x-enrichment-event header' });
    const notJson = await deliver({ raw: '{"broken":' });
    expect(notJson.statusCode).toBe(400);
    expect(notJson.json()).toEqual({ error: 'body is not valid JSON' });
    expect((await inspect(app, 'webhooks')).records).toEqual({});
  });

  it('answers 429 with Retry-After over the rate limit, and 500 for an injected failure', async () => {
    await control(app, 'webhooks', { rateLimitPerSecond: 1 });
    expect((await deliver({ delivery: 'a' })).statusCode).toBe(200);
    const limited = await deliver({ delivery: 'b' });
    expect(limited.statusCode).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1);

    await control(app, 'webhooks', { rateLimitPerSecond: null, failureRate: 1 });
    const failed = await deliver({ delivery: 'c' });
    expect(failed.statusCode).toBe(500);
    expect(failed.json()).toEqual({ error: 'injected failure' });
    expect((await inspect(app, 'webhooks')).records?.delivery?.map((d) => d.key)).toEqual(['a']);
  });

  it('keeps the raw-body parser to itself: other systems still parse JSON', async () => {
    const res = await app.inject({ method: 'POST', url: '/_control/webhooks', payload: { latencyMs: 0 } });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ control: { latencyMs: 0 } });
  });
});
