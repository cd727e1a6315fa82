import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FIXTURE_DOMAINS } from '../../src/sandbox/dataset';
import { control, inspect, testSandbox } from '../support/sandbox';

const KEY = { apikey: 'hm_test' };
let app: FastifyInstance;

beforeEach(() => {
  app = testSandbox();
});
afterEach(() => app.close());

const company = (domain: string, headers: Record<string, string> = KEY) =>
  app.inject({ method: 'POST', url: `/harmonic/companies?website_domain=${encodeURIComponent(domain)}`, headers });
const person = (query: string, headers: Record<string, string> = KEY) =>
  app.inject({ method: 'POST', url: `/harmonic/persons?${query}`, headers });
const status = (urns: string[]) =>
  app.inject({
    method: 'GET',
    url: `/harmonic/enrichment_status?${urns.map((u) => `urns=${encodeURIComponent(u)}`).join('&')}`,
    headers: KEY,
  });

interface NotFound {
  detail: { message: string; enrichment_urn: string };
}

describe('Harmonic simulator', () => {
  it('answers 200 with the company, its funding and rich tags, and charges one credit', async () => {
    await control(app, 'harmonic', { credits: 3 });
    const res = await company(FIXTURE_DOMAINS.clearbitWithoutIndustry);
    expect(res.statusCode).toBe(200);
    const body = res.json<Record<string, unknown>>();
    expect(body).toMatchObject({
      name: 'Zentrivo',
      website: { domain: 'zentrivo.io', url: 'https://zentrivo.io' },
      headcount: 85,
      stage: 'SERIES_A',
      funding: { funding_total: 18_500_000, funding_stage: 'SERIES_A' },
      location: { country: 'United Kingdom', city: 'London' },
      founding_date: { date: '2019-01-01T00:00:00Z' },
    });
    expect(body.entity_urn).toMatch(/^urn:harmonic:company:\d+$/);
    const tags = (body.tags_v2 as { display_value: string }[]).map((t) => t.display_value);
    expect(tags).toEqual(expect.arrayContaining(['Financial Services', 'Fintech', 'Payments', 'B2B']));
    const seen = await inspect(app, 'harmonic');
    expect(seen.creditsRemaining).toBe(2);
    expect(seen.calls[0]).toMatchObject({
      method: 'POST',
      path: '/harmonic/companies',
      key: 'zentrivo.io',
      creditsCharged: 1,
    });
  });

  it('knows the startup only it knows, also by website_url', async () => {
    const res = await app.inject({
      method: 'POST',
      url: `/harmonic/companies?website_url=${encodeURIComponent('https://www.plumbrixa.ai/')}`,
      headers: KEY,
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ name: 'Plumbrixa', headcount: 12, stage: 'SEED' });
  });

  it('answers 404 with an enrichment urn for an unknown company; the status poll ends NOT_FOUND; no credit', async () => {
    const res = await company(FIXTURE_DOMAINS.unknown);
    expect(res.statusCode).toBe(404);
    const { detail } = res.json<NotFound>();
    expect(detail.message).toMatch(/scheduled for enrichment/);
    expect(detail.enrichment_urn).toMatch(/^urn:harmonic:enrichment:[0-9a-f-]{36}$/);
    // The same domain keeps its urn while the enrichment runs.
    expect((await company(FIXTURE_DOMAINS.unknown)).json<NotFound>().detail.enrichment_urn).toBe(detail.enrichment_urn);

    const first = await status([detail.enrichment_urn]);
    expect(first.statusCode).toBe(200);
    expect(first.json()).toEqual([
      {
        entity_urn: detail.enrichment_urn,
        status: 'IN_PROGRESS',
        message: expect.any(String) as unknown,
        enriched_entity_urn: null,
      },
    ]);
    expect((await status([detail.enrichment_urn])).json()).toMatchObject([
      { status: 'NOT_FOUND', enriched_entity_urn: null },
    ]);
    expect((await company(FIXTURE_DOMAINS.unknown)).statusCode).toBe(404);
    expect((await inspect(app, 'harmonic')).creditsSpent).toBe(0);
  });

  it('completes the enrichment of the enriched-after-poll fixture, which is then found', async () => {
    const res = await company(FIXTURE_DOMAINS.harmonicEnrichedAfterPoll);
    expect(res.statusCode).toBe(404);
    const urn = res.json<NotFound>().detail.enrichment_urn;
    expect((await status([urn, 'urn:harmonic:enrichment:unknown'])).json()).toMatchObject([{ status: 'IN_PROGRESS' }]);
    const done = (await status([urn])).json<{ status: string; enriched_entity_urn: string }[]>();
    expect(done).toMatchObject([{ entity_urn: urn, status: 'COMPLETE' }]);
    const found = await company(FIXTURE_DOMAINS.harmonicEnrichedAfterPoll);
    expect(found.statusCode).toBe(200);
    expect(found.json()).toMatchObject({ name: 'Fenwaro', entity_urn: done[0]?.enriched_entity_urn });
    expect((await inspect(app, 'harmonic')).creditsSpent).toBe(1);
  });

  it('answers IN_PROGRESS for as many polls as configured', async () => {
    await control(app, 'harmonic', { enrichmentPollsBeforeDone: 3 });
    const urn = (await company(FIXTURE_DOMAINS.harmonicEnrichedAfterPoll)).json<NotFound>().detail.enrichment_urn;
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await status([urn])).json<{ status: string }[]>()[0]?.status);
    expect(statuses).toEqual(['IN_PROGRESS', 'IN_PROGRESS', 'IN_PROGRESS', 'COMPLETE']);
  });

  it('enriches persons by email and LinkedIn URL; unknown persons get an enrichment urn', async () => {
    const byEmail = await person('email=chloe.okafor%40zentrivo.io');
    expect(byEmail.statusCode).toBe(200);
    const body = byEmail.json<Record<string, unknown>>();
    expect(body).toMatchObject({
      full_name: 'Chloe Okafor',
      contact: { primary_email: 'chloe.okafor@zentrivo.io' },
      experience: [{ title: 'Chief Executive Officer', company_name: 'Zentrivo', is_current_position: true }],
    });
    const linkedin = (body.socials as { LINKEDIN: { url: string } }).LINKEDIN.url;
    const byLinkedin = await person(`linkedin_url=${encodeURIComponent(linkedin)}`);
    expect(byLinkedin.json()).toMatchObject({ entity_urn: body.entity_urn });

    const unknown = await person('email=ada.quillon%40quorvalis.com');
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json<NotFound>().detail.enrichment_urn).toMatch(/^urn:harmonic:enrichment:/);
    expect((await inspect(app, 'harmonic')).creditsSpent).toBe(2);
  });

  it('answers 400 without an identifier and 422 without urns', async () => {
    const noDomain = await app.inject({ method: 'POST', url: '/harmonic/companies', headers: KEY });
    expect(noDomain.statusCode).toBe(400);
    expect(noDomain.json()).toHaveProperty('detail');
    const noPerson = await app.inject({ method: 'POST', url: '/harmonic/persons', headers: KEY });
    expect(noPerson.statusCode).toBe(400);
    const noUrns = await app.inject({ method: 'GET', url: '/harmonic/enrichment_status', headers: KEY });
    expect(noUrns.statusCode).toBe(422);
  });

  it('answers a FastAPI 422 for domains and emails named by invalidKeys, before the quota, without charging', async () => {
    await control(app, 'harmonic', { invalidKeys: [FIXTURE_DOMAINS.harmonicOnly, 'ada@plumbrixa.ai'], credits: 0 });
    const domain = await company(FIXTURE_DOMAINS.harmonicOnly);
    expect(domain.statusCode).toBe(422);
    expect(domain.json()).toEqual({
      detail: [
        {
          type: 'value_error',
          loc: ['query', 'website_domain'],
          msg: expect.any(String) as string,
          input: FIXTURE_DOMAINS.harmonicOnly,
        },
      ],
    });
    const email = await person('email=ada%40plumbrixa.ai');
    expect(email.statusCode).toBe(422);
    expect(email.json()).toMatchObject({ detail: [{ type: 'value_error', loc: ['query', 'email'] }] });
    // Other keys reach the quota check as before.
    expect((await company(FIXTURE_DOMAINS.clearbitComplete)).statusCode).toBe(402);
    expect((await inspect(app, 'harmonic')).creditsSpent).toBe(0);
  });

  it('refuses a missing key and bad-key with 403', async () => {
    for (const headers of <Record<string, string>[]>[{}, { apikey: 'bad-key' }, { apikey: '' }]) {
      const res = await company(FIXTURE_DOMAINS.harmonicOnly, headers);
      expect(res.statusCode).toBe(403);
      expect(res.json()).toHaveProperty('detail');
    }
    expect((await inspect(app, 'harmonic')).counts.byStatus).toEqual({ '403': 3 });
  });

  it('answers 402 over quota by default, and 429 MONTHLY_QUOTA_INSUFFICIENT in the 429 style', async () => {
    await control(app, 'harmonic', { credits: 0 });
    const quota = await company(FIXTURE_DOMAINS.harmonicOnly);
    expect(quota.statusCode).toBe(402);
    expect(quota.json()).toHaveProperty('detail');

    await control(app, 'harmonic', { quotaStyle: '429' });
    const monthly = await company(FIXTURE_DOMAINS.harmonicOnly);
    expect(monthly.statusCode).toBe(429);
    expect(monthly.body).toContain('MONTHLY_QUOTA_INSUFFICIENT');
    expect(monthly.headers['retry-after']).toBeUndefined();
    expect((await person('email=chloe.okafor%40zentrivo.io')).statusCode).toBe(429);

    // Polling an enrichment costs nothing and is not blocked by the quota.
    await control(app, 'harmonic', { credits: null });
    const urn = (await company(FIXTURE_DOMAINS.unknown)).json<NotFound>().detail.enrichment_urn;
    await control(app, 'harmonic', { credits: 0 });
    expect((await status([urn])).statusCode).toBe(200);
    expect((await inspect(app, 'harmonic')).creditsSpent).toBe(0);
  });

  it('answers 429 with Retry-After over the rate limit', async () => {
    await control(app, 'harmonic', { rateLimitPerSecond: 1 });
    const first = await company(FIXTURE_DOMAINS.harmonicOnly);
    const second = await company(FIXTURE_DOMAINS.harmonicOnly);
    expect([first.statusCode, second.statusCode]).toEqual([200, 429]);
    expect(Number(second.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(second.body).not.toContain('MONTHLY_QUOTA_INSUFFICIENT');
    expect((await inspect(app, 'harmonic')).creditsSpent).toBe(1);
  });

  it('fails with 500 at the configured rate, reproducibly for the same seed', async () => {
    const run = async () => {
      const sandbox = testSandbox({ harmonic: { failureRate: 0.5 } });
      const statuses = [];
      for (let i = 0; i < 20; i++) {
        const res = await sandbox.inject({
          method: 'POST',
          url: '/harmonic/companies?website_domain=plumbrixa.ai',
          headers: KEY,
        });
        statuses.push(res.statusCode);
      }
      const charged = (await inspect(sandbox, 'harmonic')).creditsSpent;
      await sandbox.close();
      return { statuses, charged };
    };
    const a = await run();
    expect(a).toEqual(await run());
    expect(a.statuses).toContain(500);
    expect(a.statuses).toContain(200);
    expect(a.charged).toBe(a.statuses.filter((s) => s === 200).length);
  });
});
