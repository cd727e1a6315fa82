import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openLedger, type Ledger } from '../../src/ledger/ledger';
import { SECRET } from '../support/config';
import { posthogSignup } from '../support/signups';
import { startBareIntake } from '../support/stack';

// The inputs the hardening issue reproduced, one by one: each gets a 4xx naming the problem, and nothing is stored.
describe('the intake on bad input', () => {
  let ledger: Ledger;
  let app: FastifyInstance;
  let base: string;

  beforeAll(async () => {
    ledger = await openLedger({ databaseUrl: undefined });
    ({ app, base } = await startBareIntake(ledger));
  });

  afterAll(async () => {
    await app?.close();
    await ledger?.close().catch(() => undefined);
  });

  const post = async (path: string, body: string, type = 'application/json') => {
    const res = await fetch(`${base}${path}`, {
      method: 'POST',
      headers: { 'content-type': type, authorization: `Bearer ${SECRET}` },
      body,
    });
    return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
  };
  const rows = async () => Object.values((await ledger.signups.statusCounts()).byStatus).reduce((a, b) => a + b, 0);

  it.each([
    ['a NUL character', () => JSON.stringify(posthogSignup({ email: 'ada\u0000@quorvalis.com' })), '(body)', /NUL/],
    [
      'a body nested 3,000 deep',
      () =>
        `{"event":{"uuid":"u","event":"user signed up","distinct_id":"d","properties":${'['.repeat(3000)}${']'.repeat(3000)}}}`,
      'event.properties',
      /nested deeper than 32/,
    ],
    [
      'a timestamp in year 275760',
      () =>
        JSON.stringify({
          ...posthogSignup(),
          event: { ...posthogSignup().event, timestamp: '+275760-09-13T00:00:00Z' },
        }),
      'event.timestamp',
      /plausible range/,
    ],
    ['an unpaired surrogate', () => `{"email":"ada@quorvalis.com","name":"\\ud800"}`, 'name', /surrogate/],
    [
      'a 5,000-character organization id',
      () => JSON.stringify({ email: 'a@quorvalis.com', organizationId: 'o'.repeat(5000) }),
      'organizationId',
      /longer than 200/,
    ],
  ])('answers 400 for %s, naming it, and stores nothing', async (_what, body, path, message) => {
    const before = await rows();
    const target = body().startsWith('{"email"') ? '/signups' : '/webhooks/posthog';
    const res = await post(target, body());
    expect(res.status).toBe(400);
    const issues = res.body.issues as { path: string; message: string }[];
    expect(issues.some((i) => i.path.startsWith(path === '(body)' ? '' : path) && message.test(i.message))).toBe(true);
    expect(await rows()).toBe(before);
  });

  it('answers 415 for a form body and for a charset other than UTF-8', async () => {
    expect((await post('/signups', 'email=a%40b.com', 'application/x-www-form-urlencoded')).status).toBe(415);
    expect((await post('/signups', '{"email":"a@b.com"}', 'application/json; charset=iso-8859-1')).status).toBe(415);
  });

  it('records an email with two @ as skipped, with the reason, and starts nothing', async () => {
    const res = await post('/webhooks/posthog', JSON.stringify(posthogSignup({ email: 'a@b@company.com' })));
    expect(res).toMatchObject({
      status: 202,
      body: { status: 'skipped', reason: 'the email address must contain exactly one @' },
    });
    const row = await ledger.signups.getSignup(res.body.signupId as string);
    expect(row).toMatchObject({ status: 'skipped', workflowId: null, email: null });
  });

  it('answers 503 with Retry-After only when the ledger cannot be reached', async () => {
    await ledger.close();
    const res = await post('/webhooks/posthog', JSON.stringify(posthogSignup()));
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('5');
  });
});
