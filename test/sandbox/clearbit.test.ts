import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FIXTURE_DOMAINS } from '../../src/sandbox/dataset';
import { control, inspect, testSandbox } from '../support/sandbox';

const KEY = { authorization: 'Bearer sk_test' };
let app: FastifyInstance;

beforeEach(() => {
  app = testSandbox();
});
afterEach(() => app.close());

const company = (domain: string, headers: Record<string, string> = KEY) =>
  app.inject({ method: 'GET', url: `/clearbit/v2/companies/find?domain=${encodeURIComponent(domain)}`, headers });
const combined = (email: string, headers: Record<string, string> = KEY) =>
  app.inject({ method: 'GET', url: `/clearbit/v2/combined/find?email=${encodeURIComponent(email)}`, headers });

describe('Clearbit simulator', () => {
  it('answers 200 with the full company object for a company it knows, and charges one credit', async () => {
    await control(app, 'clearbit', { credits: 5 });
    const res = await company(FIXTURE_DOMAINS.clearbitComplete);
    expect(res.statusCode).toBe(200);
    const body = res.json<Record<string, unknown>>();
    expect(body).toMatchObject({
      name: 'Quorvalis Systems',
      domain: 'quorvalis.com',
      type: 'private',
      foundedYear: 2009,
      category: { sector: 'Information Technology', industry: 'Internet Software & Services' },
      tags: ['SaaS', 'B2B'],
      geo: { countryCode: 'US', country: 'United States', city: 'Boston' },
      metrics: { employees: 1850, employeesRange: '1K-5K', raised: 310_000_000 },
    });
    expect(body.id).toMatch(/^[0-9a-f-]{36}$/);
    const seen = await inspect(app, 'clearbit');
    expect(seen.creditsSpent).toBe(1);
    expect(seen.creditsRemaining).toBe(4);
    expect(seen.calls[0]).toMatchObject({
      path: '/clearbit/v2/companies/find',
      key: 'quorvalis.com',
      status: 200,
      creditsCharged: 1,
    });
  });

  it('knows some startups without their industry: null category and no tags', async () => {
    const res = await company(FIXTURE_DOMAINS.clearbitWithoutIndustry);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      name: 'Zentrivo',
      category: { sector: null, industryGroup: null, industry: null, subIndustry: null },
      tags: [],
      metrics: { employees: 85 },
    });
  });

  it('answers 404 unknown_record for companies it does not know, without charging', async () => {
    for (const domain of [FIXTURE_DOMAINS.unknown, FIXTURE_DOMAINS.harmonicOnly, FIXTURE_DOMAINS.clayOnly]) {
      const res = await company(domain);
      expect(res.statusCode).toBe(404);
      expect(res.json()).toEqual({ error: { type: 'unknown_record', message: 'Unknown domain.' } });
    }
    expect((await inspect(app, 'clearbit')).creditsSpent).toBe(0);
  });

  it('answers 202 queued to the first lookup of the queued fixture, then 200', async () => {
    const first = await company(`https://www.${FIXTURE_DOMAINS.clearbitQueuedOnce}/`);
    expect(first.statusCode).toBe(202);
    expect(first.json()).toMatchObject({ error: { type: 'queued' } });
    const second = await company(FIXTURE_DOMAINS.clearbitQueuedOnce);
    expect(second.statusCode).toBe(200);
    expect(second.json()).toMatchObject({ name: 'Ostravine Logistics' });
    const seen = await inspect(app, 'clearbit');
    expect(seen.counts.byStatus).toEqual({ '200': 1, '202': 1 });
    expect(seen.creditsSpent).toBe(1);
  });

  it('keeps computing the queued fixture for queuedLookups lookups by either endpoint, or for ever with null', async () => {
    await control(app, 'clearbit', { queuedLookups: 3 });
    const statuses = [
      (await company(FIXTURE_DOMAINS.clearbitQueuedOnce)).statusCode,
      (await combined('kemi.achebe@ostravine.com')).statusCode,
      (await company(FIXTURE_DOMAINS.clearbitQueuedOnce)).statusCode,
      (await company(FIXTURE_DOMAINS.clearbitQueuedOnce)).statusCode,
    ];
    expect(statuses).toEqual([202, 202, 202, 200]);
    await control(app, 'clearbit', { queuedLookups: null });
    expect((await company(FIXTURE_DOMAINS.clearbitQueuedOnce)).statusCode).toBe(202);
    expect((await inspect(app, 'clearbit')).creditsSpent).toBe(1);
  });

  it('combined lookup: person and company, company only, or 404', async () => {
    const both = await combined('ada.quillon@quorvalis.com');
    expect(both.statusCode).toBe(200);
    expect(both.json()).toMatchObject({
      person: {
        name: { fullName: 'Ada Quillon', givenName: 'Ada', familyName: 'Quillon' },
        email: 'ada.quillon@quorvalis.com',
        employment: {
          domain: 'quorvalis.com',
          name: 'Quorvalis Systems',
          title: 'Chief Technology Officer',
          role: 'engineering',
          seniority: 'executive',
        },
      },
      company: { domain: 'quorvalis.com' },
    });

    const companyOnly = await combined('nobody.here@quorvalis.com');
    expect(companyOnly.statusCode).toBe(200);
    expect(companyOnly.json()).toMatchObject({ person: null, company: { name: 'Quorvalis Systems' } });

    const unknown = await combined('ines.ibarra@grelmquist.dev');
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toMatchObject({ error: { type: 'unknown_record' } });

    const queued = await combined('kemi.achebe@ostravine.com');
    expect(queued.statusCode).toBe(202);
    expect((await combined('kemi.achebe@ostravine.com')).json()).toMatchObject({
      person: { employment: { role: 'finance', seniority: 'executive' } },
    });
    expect((await inspect(app, 'clearbit')).creditsSpent).toBe(3);
  });

  it('answers 422 for a missing domain or an invalid email', async () => {
    const noDomain = await app.inject({ method: 'GET', url: '/clearbit/v2/companies/find', headers: KEY });
    expect(noDomain.statusCode).toBe(422);
    expect(noDomain.json()).toMatchObject({ error: { type: 'params_invalid' } });
    const badEmail = await combined('not-an-email');
    expect(badEmail.statusCode).toBe(422);
    expect(badEmail.json()).toMatchObject({ error: { type: 'email_invalid' } });
  });

  it('answers the documented 422 for domains and emails named by invalidKeys, without charging', async () => {
    await control(app, 'clearbit', { invalidKeys: ['Quorvalis.com', 'ada@quorvalis.com'] });
    const domain = await company(FIXTURE_DOMAINS.clearbitComplete);
    expect(domain.statusCode).toBe(422);
    expect(domain.json()).toEqual({ error: { type: 'params_invalid', message: expect.any(String) as string } });
    const email = await combined('Ada@quorvalis.com');
    expect(email.statusCode).toBe(422);
    expect(email.json()).toMatchObject({ error: { type: 'email_invalid' } });
    // Other keys are answered as before.
    expect((await company(FIXTURE_DOMAINS.clearbitWithoutIndustry)).statusCode).toBe(200);
    const seen = await inspect(app, 'clearbit');
    expect(seen.calls.map((c) => c.status)).toEqual([422, 422, 200]);
    expect(seen.creditsSpent).toBe(1);
  });

  it('accepts Bearer and Basic keys; refuses a missing key and bad-key with 401', async () => {
    const basic = { authorization: `Basic ${Buffer.from('sk_test:').toString('base64')}` };
    expect((await company(FIXTURE_DOMAINS.clearbitComplete, basic)).statusCode).toBe(200);
    for (const headers of <Record<string, string>[]>[
      {},
      { authorization: 'Bearer bad-key' },
      { authorization: `Basic ${Buffer.from('bad-key:').toString('base64')}` },
    ]) {
      const res = await company(FIXTURE_DOMAINS.clearbitComplete, headers);
      expect(res.statusCode).toBe(401);
      expect(res.json()).toMatchObject({ error: { type: 'unauthorized' } });
    }
    expect((await inspect(app, 'clearbit')).creditsSpent).toBe(1);
  });

  it('answers 402 when credits are exhausted, for known and unknown companies alike', async () => {
    await control(app, 'clearbit', { credits: 1 });
    expect((await company(FIXTURE_DOMAINS.clearbitComplete)).statusCode).toBe(200);
    for (const domain of [FIXTURE_DOMAINS.clearbitComplete, FIXTURE_DOMAINS.unknown]) {
      const res = await company(domain);
      expect(res.statusCode).toBe(402);
      expect(res.json()).toMatchObject({ error: { type: 'over_quota' } });
    }
    const seen = await inspect(app, 'clearbit');
    expect(seen.creditsRemaining).toBe(0);
    expect(seen.creditsSpent).toBe(1);
    expect(seen.calls.map((c) => c.creditsCharged)).toEqual([1, 0, 0]);
  });

  it('answers 429 rate_limit with Retry-After over the per-second limit', async () => {
    await control(app, 'clearbit', { rateLimitPerSecond: 1 });
    const statuses = [];
    let limited;
    for (let i = 0; i < 2; i++) {
      const res = await company(FIXTURE_DOMAINS.clearbitComplete);
      statuses.push(res.statusCode);
      if (res.statusCode === 429) limited = res;
    }
    expect(statuses).toEqual([200, 429]);
    expect(Number(limited?.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(limited?.json()).toMatchObject({ error: { type: 'rate_limit' } });
    expect((await inspect(app, 'clearbit')).creditsSpent).toBe(1);
  });

  it('fails with 500 api_error at the configured failure rate, without charging', async () => {
    await control(app, 'clearbit', { failureRate: 1 });
    const res = await company(FIXTURE_DOMAINS.clearbitComplete);
    expect(res.statusCode).toBe(500);
    expect(res.json()).toMatchObject({ error: { type: 'api_error' } });
    expect((await inspect(app, 'clearbit')).creditsSpent).toBe(0);
  });
});
