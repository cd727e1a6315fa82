import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { waitFor } from '../support/eventually';
import { control, inspect, testSandbox } from '../support/sandbox';

const WEBHOOK = '/clay/v3/sources/webhook/pull-in-data-from-a-webhook-0c9a6d3e-sandbox';
const AUTH = { 'x-clay-webhook-auth': 'clay-table-token' };

interface Delivery {
  authorization: string | undefined;
  body: Record<string, unknown>;
}

/** The HTTP API column's target: a tiny receiver on a port the OS picks. */
async function startReceiver(
  answer = 200,
): Promise<{ url: string; deliveries: Delivery[]; close: () => Promise<void> }> {
  const receiver = Fastify();
  const deliveries: Delivery[] = [];
  receiver.post('/webhooks/clay', (request, reply) => {
    deliveries.push({ authorization: request.headers.authorization, body: request.body as Record<string, unknown> });
    return reply.code(answer).send({ ok: answer < 300 });
  });
  const address = await receiver.listen({ host: '127.0.0.1', port: 0 });
  return { url: `${address}/webhooks/clay`, deliveries, close: () => receiver.close() };
}

let app: FastifyInstance;
let receiver: Awaited<ReturnType<typeof startReceiver>>;

beforeEach(async () => {
  receiver = await startReceiver();
  app = testSandbox({ clay: { callbackUrl: receiver.url, callbackAuth: 'callback-secret' } });
});
afterEach(async () => {
  await app.close();
  await receiver.close();
});

const sendRow = (row: unknown, headers: Record<string, string> = AUTH) =>
  app.inject({
    method: 'POST',
    url: WEBHOOK,
    headers: { ...headers, 'content-type': 'application/json' },
    payload: JSON.stringify(row),
  });

describe('Clay simulator', () => {
  it('accepts a row with 200 and POSTs it back enriched, with the bearer token and the row echoed', async () => {
    await control(app, 'clay', { credits: 10 });
    const res = await sendRow({ signup_id: 'sig_1', email: 'greta.lindqvist@vantollo.co', domain: 'vantollo.co' });
    expect(res.statusCode).toBe(200);

    const [delivery] = await waitFor(() => (receiver.deliveries.length > 0 ? receiver.deliveries : undefined));
    expect(delivery?.authorization).toBe('Bearer callback-secret');
    expect(delivery?.body).toMatchObject({
      signup_id: 'sig_1',
      email: 'greta.lindqvist@vantollo.co',
      domain: 'vantollo.co',
      company_found: true,
      company_name: 'Vantollo',
      company_domain: 'vantollo.co',
      company_employee_count: 40,
      company_industry: 'E-commerce',
      company_industry_tags: ['Marketplace', 'D2C'],
      company_country: 'ES',
      company_funding_stage: 'bootstrapped',
      company_founded_year: 2016,
      company_type: 'private',
      person_found: true,
      person_title: 'Director of Operations',
      person_role: 'operations',
      person_seniority: 'director',
    });

    const seen = await waitFor(async () => {
      const s = await inspect(app, 'clay');
      return s.rows?.callbacksDelivered === 1 ? s : undefined;
    });
    expect(seen.rows).toMatchObject({ rowsReceived: 1, rowsEnriched: 1, rowsSilent: 0, pendingCallbacks: 0 });
    expect(seen.creditsSpent).toBe(1);
    expect(seen.creditsRemaining).toBe(9);
    expect(seen.calls.map((c) => [c.kind, c.status])).toEqual([
      ['request', 200],
      ['callback', 200],
    ]);
  });

  it('calls back rows whose company Clay does not know, with null columns and no credit', async () => {
    expect((await sendRow({ request_id: 'r-9', email: 'ines.ibarra@grelmquist.dev' })).statusCode).toBe(200);
    const [delivery] = await waitFor(() => (receiver.deliveries.length > 0 ? receiver.deliveries : undefined));
    expect(delivery?.body).toMatchObject({
      request_id: 'r-9',
      company_found: false,
      company_name: null,
      company_employee_count: null,
      person_found: false,
    });
    const seen = await inspect(app, 'clay');
    expect(seen.rows).toMatchObject({ rowsNotFound: 1, rowsEnriched: 0 });
    expect(seen.creditsSpent).toBe(0);
  });

  it('stays silent when credits are 0: 200, no enrichment, no callback', async () => {
    await control(app, 'clay', { credits: 0 });
    const res = await sendRow({ signup_id: 'sig_silent', email: 'greta.lindqvist@vantollo.co' });
    expect(res.statusCode).toBe(200);
    const seen = await inspect(app, 'clay');
    expect(seen.rows).toMatchObject({ rowsReceived: 1, rowsSilent: 1, rowsEnriched: 0, pendingCallbacks: 0 });
    expect(seen.calls[0]?.note).toMatch(/silent/);
    expect(seen.creditsSpent).toBe(0);

    // Credits back: the next row is enriched, and it is the only one ever called back.
    await control(app, 'clay', { credits: 5 });
    await sendRow({ signup_id: 'sig_after', email: 'greta.lindqvist@vantollo.co' });
    await waitFor(() => (receiver.deliveries.length > 0 ? true : undefined));
    expect(receiver.deliveries.map((d) => d.body.signup_id)).toEqual(['sig_after']);
  });

  it('stays silent once the row limit is reached', async () => {
    await control(app, 'clay', { rowLimit: 1, callbackUrl: null });
    await sendRow({ email: 'greta.lindqvist@vantollo.co' });
    const second = await sendRow({ email: 'hiro.takeda@vantollo.co' });
    expect(second.statusCode).toBe(200);
    const seen = await inspect(app, 'clay');
    expect(seen.rows).toMatchObject({ rowsReceived: 2, rowsEnriched: 1, rowsSilent: 1 });
    expect(seen.calls[1]?.note).toMatch(/row limit/);
  });

  it('logs a callback the receiver refuses or cannot take, and keeps serving', async () => {
    const refusing = await startReceiver(500);
    try {
      await control(app, 'clay', { callbackUrl: refusing.url });
      await sendRow({ email: 'greta.lindqvist@vantollo.co' });
      await waitFor(async () => ((await inspect(app, 'clay')).rows?.callbacksFailed === 1 ? true : undefined));
    } finally {
      await refusing.close();
    }
    // The closed receiver's port now refuses connections.
    await sendRow({ email: 'hiro.takeda@vantollo.co' });
    const seen = await waitFor(async () => {
      const s = await inspect(app, 'clay');
      return s.rows?.callbacksFailed === 2 ? s : undefined;
    });
    const callbacks = seen.calls.filter((c) => c.kind === 'callback');
    expect(callbacks.map((c) => c.status)).toEqual([500, 0]);
    expect(callbacks[1]?.note).toMatch(/unreachable/);
    expect((await sendRow({ email: 'greta.lindqvist@vantollo.co' })).statusCode).toBe(200);
  });

  it('answers every row 404 while its source is deleted, and stores nothing', async () => {
    await control(app, 'clay', { sourceDeleted: true });
    const res = await sendRow({ domain: 'vantollo.co' });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({ error: 'Not Found', message: 'Webhook source not found.' });
    await control(app, 'clay', { sourceDeleted: false });
    expect((await sendRow({ domain: 'vantollo.co' })).statusCode).toBe(200);
    expect((await inspect(app, 'clay')).rows).toMatchObject({ rowsReceived: 1 });
  });

  it('refuses a missing or bad x-clay-webhook-auth with 401 and stores nothing', async () => {
    for (const headers of <Record<string, string>[]>[{}, { 'x-clay-webhook-auth': 'bad-key' }]) {
      const res = await sendRow({ email: 'greta.lindqvist@vantollo.co' }, headers);
      expect(res.statusCode).toBe(401);
    }
    expect((await inspect(app, 'clay')).rows).toMatchObject({ rowsReceived: 0 });
  });

  it('answers 400 to a body that is not a row, 429 over the rate limit and 500 on injected failure', async () => {
    expect((await sendRow('just a string')).statusCode).toBe(400);
    await control(app, 'clay', { rateLimitPerSecond: 1 });
    expect((await sendRow({ email: 'a@vantollo.co' })).statusCode).toBe(200);
    const limited = await sendRow({ email: 'b@vantollo.co' });
    expect(limited.statusCode).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    await control(app, 'clay', { rateLimitPerSecond: null, failureRate: 1 });
    expect((await sendRow({ email: 'c@vantollo.co' })).statusCode).toBe(500);
    expect((await inspect(app, 'clay')).rows).toMatchObject({ rowsReceived: 1 });
  });

  it('takes an array of objects as several rows', async () => {
    const res = await sendRow([{ email: 'greta.lindqvist@vantollo.co' }, { email: 'chloe.okafor@zentrivo.io' }]);
    expect(res.statusCode).toBe(200);
    await waitFor(() => (receiver.deliveries.length === 2 ? true : undefined));
    expect(receiver.deliveries.map((d) => d.body.company_name).sort()).toEqual(['Vantollo', 'Zentrivo']);
  });
});
