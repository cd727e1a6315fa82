import type { Client } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config';
import { addDays, utcDay } from '../../src/domain/health';
import { MAX_SNOOZE_DAYS } from '../../src/health/operations';
import { buildIntakeApp } from '../../src/intake/app';
import { createIntakeMetrics } from '../../src/intake/metrics';
import { openLedger, type Ledger } from '../../src/ledger/ledger';
import { ADMIN_TOKEN, CLAY_SECRET, PII_HASH_KEY, SECRET } from '../support/config';
import { posthogSignup } from '../support/signups';

const METRICS_TOKEN = 'test-metrics-token';

/** One secret per caller: the intake's routes with an in-memory ledger, no Temporal behind them. */
describe('intake authorization', () => {
  let ledger: Ledger;
  let app: FastifyInstance;

  const build = (secrets: { clayCallbackSecret: string | undefined; metricsToken?: string }) =>
    buildIntakeApp({
      ledger,
      webhookSecret: SECRET,
      adminToken: ADMIN_TOKEN,
      piiHashKey: PII_HASH_KEY,
      ...secrets,
      signupEvents: ['user signed up'],
      metrics: createIntakeMetrics(ledger.outbox),
      onRecorded: () => undefined,
      deliverClayResult: () => Promise.resolve(false),
      temporalReady: () => Promise.resolve(),
      // Health and snooze read and write the ledger only; pause and resume would signal through the client.
      admin: { ledger, client: {} as Client, taskQueue: 'auth-test', rules: loadConfig({}).health.rules },
    });

  beforeAll(async () => {
    ledger = await openLedger({ databaseUrl: undefined });
    app = build({ clayCallbackSecret: CLAY_SECRET, metricsToken: METRICS_TOKEN });
  });
  afterAll(async () => {
    await app?.close();
    await ledger?.close();
  });

  const clayResult = {
    request_id: '00000000-0000-4000-8000-000000000000',
    workflow_id: 'signup-x',
    company_found: false,
  };
  const requests = {
    posthog: { method: 'POST', url: '/webhooks/posthog', payload: posthogSignup() },
    signups: { method: 'POST', url: '/signups', payload: { email: 'ada.quillon@quorvalis.com' } },
    clay: { method: 'POST', url: '/webhooks/clay', payload: clayResult },
    adminHealth: { method: 'GET', url: '/admin/health?days=1' },
    adminSnooze: { method: 'POST', url: '/admin/snooze', payload: { until: null } },
    metrics: { method: 'GET', url: '/metrics' },
  } as const;
  type Route = keyof typeof requests;

  const send = async (target: FastifyInstance, route: Route, token: string | undefined) => {
    const { payload, ...request } = { payload: undefined, ...requests[route] };
    const res = await target.inject({
      ...request,
      headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
      ...(payload === undefined ? {} : { payload: payload as object }),
    });
    return res.statusCode;
  };

  // Which routes each credential opens (everything else answers 401).
  const opens: Record<string, Route[]> = {
    [SECRET]: ['posthog', 'signups'],
    [ADMIN_TOKEN]: ['adminHealth', 'adminSnooze'],
    [CLAY_SECRET]: ['clay'],
    [METRICS_TOKEN]: ['metrics'],
  };

  it.each(Object.entries(opens))('the credential %s opens only its own routes', async (token, own) => {
    for (const route of Object.keys(requests) as Route[]) {
      const status = await send(app, route, token);
      if (own.includes(route)) expect({ route, status }).not.toMatchObject({ status: 401 });
      else expect({ route, status }).toEqual({ route, status: 401 });
    }
  });

  it('answers the open routes as usual with the right credential', async () => {
    expect(await send(app, 'signups', SECRET)).toBe(202);
    expect(await send(app, 'clay', CLAY_SECRET)).toBe(404);
    expect(await send(app, 'adminHealth', ADMIN_TOKEN)).toBe(200);
    expect(await send(app, 'metrics', METRICS_TOKEN)).toBe(200);
    for (const route of Object.keys(requests) as Route[]) expect(await send(app, route, undefined)).toBe(401);
  });

  it('refuses every Clay callback when no Clay secret is configured, and leaves /metrics open without a token', async () => {
    const open = build({ clayCallbackSecret: undefined });
    try {
      for (const token of [SECRET, ADMIN_TOKEN, CLAY_SECRET, '']) expect(await send(open, 'clay', token)).toBe(401);
      expect(await send(open, 'metrics', undefined)).toBe(200);
    } finally {
      await open.close();
    }
  });

  it(`bounds a snooze to ${MAX_SNOOZE_DAYS} days ahead, naming the limit`, async () => {
    const today = utcDay(Date.now());
    const snooze = (until: string) =>
      app.inject({
        method: 'POST',
        url: '/admin/snooze',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
        payload: { until },
      });
    const tooFar = await snooze(addDays(today, MAX_SNOOZE_DAYS + 1));
    expect(tooFar.statusCode).toBe(400);
    expect(tooFar.json<{ error: string }>().error).toContain(`at most ${MAX_SNOOZE_DAYS} days ahead`);
    expect((await ledger.health.controls()).snoozedUntil).toBeUndefined();

    const furthest = await snooze(addDays(today, MAX_SNOOZE_DAYS));
    expect(furthest.statusCode).toBe(200);
    expect((await ledger.health.controls()).snoozedUntil).toBe(addDays(today, MAX_SNOOZE_DAYS));
  });
});
