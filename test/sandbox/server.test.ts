import { afterEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { DNS_FIXTURE_DOMAINS, FIXTURE_DOMAINS } from '../../src/sandbox/dataset';
import { buildSandbox } from '../../src/sandbox/server';
import { DEFAULT_CONTROLS } from '../../src/sandbox/state';
import { control, inspect, testSandbox } from '../support/sandbox';

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

describe('sandbox control plane', () => {
  it('updates a system and returns its new control state', async () => {
    app = buildSandbox();
    const res = await control(app, 'harmonic', { credits: 7, latencyMs: 5, quotaStyle: '429' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      system: 'harmonic',
      control: { ...DEFAULT_CONTROLS.harmonic, credits: 7, latencyMs: 5, quotaStyle: '429' },
    });
    expect((await inspect(app, 'harmonic')).control).toMatchObject({ credits: 7, quotaStyle: '429' });
    expect((await inspect(app, 'clearbit')).control).toEqual(DEFAULT_CONTROLS.clearbit);
  });

  it('refuses invalid controls with 400 and one issue per problem, changing nothing', async () => {
    app = buildSandbox();
    const res = await control(app, 'clearbit', { credits: -1, failureRate: 2, rowLimit: 5 });
    expect(res.statusCode).toBe(400);
    const body = res.json<{ error: string; issues: { path: string; message: string }[] }>();
    expect(body.issues.map((i) => i.path).sort()).toEqual(['(body)', 'credits', 'failureRate']);
    const clay = await control(app, 'clay', { callbackUrl: 'not a url' });
    expect(clay.statusCode).toBe(400);
    expect(clay.json<{ issues: { path: string }[] }>().issues[0]?.path).toBe('callbackUrl');
    expect((await inspect(app, 'clearbit')).control).toEqual(DEFAULT_CONTROLS.clearbit);
  });

  it('answers 404 for an unknown system, listing the known ones', async () => {
    app = buildSandbox();
    for (const res of [
      await control(app, 'hubspot', {}),
      await app.inject({ method: 'GET', url: '/_inspect/hubspot' }),
    ]) {
      expect(res.statusCode).toBe(404);
      expect(res.json()).toMatchObject({
        systems: [
          'clearbit',
          'harmonic',
          'clay',
          'posthog',
          'salesforce',
          'vitally',
          'slack',
          'webhooks',
          'customerio',
          'mixpanel',
          'close',
          'humanic',
        ],
      });
    }
  });

  it('inspects calls, counts by status and credits', async () => {
    app = testSandbox({ clearbit: { credits: 2 } });
    const headers = { authorization: 'Bearer k' };
    for (const domain of [
      FIXTURE_DOMAINS.clearbitComplete,
      FIXTURE_DOMAINS.unknown,
      FIXTURE_DOMAINS.clearbitComplete,
    ]) {
      await app.inject({ method: 'GET', url: `/clearbit/v2/companies/find?domain=${domain}`, headers });
    }
    await app.inject({ method: 'GET', url: `/clearbit/v2/companies/find?domain=${FIXTURE_DOMAINS.clearbitComplete}` });
    const seen = await inspect(app, 'clearbit');
    expect(seen.counts).toEqual({ requests: 4, byStatus: { '200': 2, '401': 1, '404': 1 } });
    expect(seen.creditsSpent).toBe(2);
    expect(seen.creditsRemaining).toBe(0);
    expect(seen.calls.map((c) => c.key)).toEqual(['quorvalis.com', 'grelmquist.dev', 'quorvalis.com', 'quorvalis.com']);
    expect(seen.calls.every((c) => !Number.isNaN(Date.parse((c as unknown as { at: string }).at)))).toBe(true);
    expect(seen.rows).toBeUndefined();
    expect((await inspect(app, 'clay')).rows).toMatchObject({ rowsReceived: 0, rowsSilent: 0 });
  });

  it('resets to the initial controls with empty logs and forgotten enrichments', async () => {
    app = testSandbox({ clearbit: { credits: 3 } });
    const headers = { authorization: 'Bearer k' };
    const first = await app.inject({
      method: 'GET',
      url: `/clearbit/v2/companies/find?domain=${FIXTURE_DOMAINS.clearbitQueuedOnce}`,
      headers,
    });
    expect(first.statusCode).toBe(202);
    await control(app, 'clearbit', { credits: 0, latencyMs: 10 });

    const reset = await app.inject({ method: 'POST', url: '/_reset' });
    expect(reset.statusCode).toBe(200);
    const seen = await inspect(app, 'clearbit');
    expect(seen.control).toMatchObject({ credits: 3, latencyMs: 0, rateLimitPerSecond: null });
    expect(seen.calls).toEqual([]);
    expect(seen.creditsSpent).toBe(0);
    // The queued fixture is queued again: its first lookup was forgotten.
    const again = await app.inject({
      method: 'GET',
      url: `/clearbit/v2/companies/find?domain=${FIXTURE_DOMAINS.clearbitQueuedOnce}`,
      headers,
    });
    expect(again.statusCode).toBe(202);
  });

  it('lists the fixture domains and serves over a real socket', async () => {
    app = buildSandbox({ seed: 7 });
    const address = await app.listen({ host: '127.0.0.1', port: 0 });
    const res = await fetch(`${address}/_fixtures`);
    expect(res.status).toBe(200);
    const fixtures = (await res.json()) as { dns: string };
    // The DNS server started with the HTTP server, on a port of its own.
    expect(fixtures.dns).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(fixtures).toEqual({
      seed: 7,
      companies: 3000,
      fixtures: FIXTURE_DOMAINS,
      undeliverable: { noMail: DNS_FIXTURE_DOMAINS.noMail, nxdomain: DNS_FIXTURE_DOMAINS.nxdomain },
      addressOnly: DNS_FIXTURE_DOMAINS.addressOnly,
      dns: fixtures.dns,
    });
    const harmonic = await fetch(`${address}/harmonic/companies?website_domain=${FIXTURE_DOMAINS.harmonicOnly}`, {
      method: 'POST',
      headers: { apikey: 'k' },
    });
    expect(harmonic.status).toBe(200);
  });
});
