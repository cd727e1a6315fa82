import { MockActivityEnvironment } from '@temporalio/testing';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEnrichmentActivities, withoutEmails } from '../../src/activities/enrichment';
import type { ProviderClients } from '../../src/domain/ports';
import { loadConfig } from '../../src/config';
import type { ProviderOutcome } from '../../src/domain/provider-outcome';
import { createClayClient } from '../../src/integrations/clay/client';
import { createClearbitClient } from '../../src/integrations/clearbit/client';
import { createHarmonicClient, HARMONIC_REASK_AFTER_MS } from '../../src/integrations/harmonic/client';
import type { Ledger } from '../../src/ledger/ledger';
import { FIXTURE_DOMAINS } from '../../src/sandbox/dataset';
import { testSandbox } from '../support/sandbox';

/** A fetch that answers every request with `status` and `body` (JSON when not a string). */
const answering =
  (status: number, body?: unknown, headers: Record<string, string> = {}): typeof fetch =>
  () =>
    Promise.resolve(
      new Response(body === undefined ? null : typeof body === 'string' ? body : JSON.stringify(body), {
        status,
        headers: { 'content-type': 'application/json', ...headers },
      }),
    );

const clearbit = (f: typeof fetch) =>
  createClearbitClient({ companyBaseUrl: 'http://cb.test', personBaseUrl: 'http://cb.test', apiKey: 'k', fetch: f });
const harmonic = (f: typeof fetch) => createHarmonicClient({ baseUrl: 'http://hm.test', apiKey: 'k', fetch: f });
const clay = (f: typeof fetch) => createClayClient({ webhookUrl: 'http://clay.test/hook', webhookAuth: 'k', fetch: f });
const row = { request_id: 'r', workflow_id: 'w', company_domain: 'example.com' };

// Every answer a provider can give maps to an outcome with a defined end: data, a wait, or a refusal.
describe('provider clients: answers we do not model', () => {
  it('Clearbit: an unmodelled 4xx rejects the lookup with Clearbit’s error type; 408 and 5xx stay transient', async () => {
    expect(
      await clearbit(answering(422, { error: { type: 'email_invalid', message: 'Invalid email.' } })).findPerson(
        'a@b@example.com',
      ),
    ).toEqual({
      kind: 'rejected',
      provider: 'clearbit',
      status: 422,
      errorType: 'email_invalid',
      detail: 'Invalid email.',
    });
    expect(
      await clearbit(answering(400, { error: { type: 'params_invalid', message: 'Bad domain' } })).findCompany('x.y'),
    ).toMatchObject({ kind: 'rejected', status: 400, errorType: 'params_invalid' });
    // No body, or one that is not Clearbit's: still refused for good, without a type.
    expect(await clearbit(answering(410)).findCompany('x.y')).toEqual({
      kind: 'rejected',
      provider: 'clearbit',
      status: 410,
      errorType: undefined,
      detail: 'HTTP 410',
    });
    expect(await clearbit(answering(408)).findCompany('x.y')).toMatchObject({ kind: 'transient', status: 408 });
    expect(
      await clearbit(answering(503, { error: { type: 'api_error', message: 'down' } })).findCompany('x.y'),
    ).toMatchObject({ kind: 'transient', status: 503 });
    // The modelled codes keep their meaning.
    expect(await clearbit(answering(404, { error: { type: 'unknown_record' } })).findCompany('x.y')).toEqual({
      kind: 'not_found',
      provider: 'clearbit',
    });
    expect(await clearbit(answering(429, {}, { 'retry-after': '2' })).findCompany('x.y')).toMatchObject({
      kind: 'rate_limited',
      retryAfterMs: 2000,
    });
    expect(await clearbit(answering(202, { error: { type: 'queued' } })).findCompany('x.y')).toMatchObject({
      kind: 'queued',
    });
  });

  it('Harmonic: FastAPI 422s and 400s reject the lookup with their type; its quota and scheduling stay as they were', async () => {
    const validation = {
      detail: [{ type: 'value_error', loc: ['query', 'website_domain'], msg: 'invalid domain', input: 'x' }],
    };
    expect(await harmonic(answering(422, validation)).enrichCompany('x')).toEqual({
      kind: 'rejected',
      provider: 'harmonic',
      status: 422,
      errorType: 'value_error',
      detail: 'query.website_domain: invalid domain',
    });
    expect(await harmonic(answering(400, { detail: 'Bad request: one of ... is required.' })).enrichPerson('')).toEqual(
      {
        kind: 'rejected',
        provider: 'harmonic',
        status: 400,
        errorType: undefined,
        detail: 'Bad request: one of ... is required.',
      },
    );
    expect(await harmonic(answering(502, 'Bad Gateway')).enrichCompany('x.y')).toMatchObject({
      kind: 'transient',
      status: 502,
    });
    expect(
      await harmonic(answering(404, { detail: { message: 'scheduled', enrichment_urn: 'urn:x' } })).enrichCompany('x'),
    ).toMatchObject({ kind: 'queued', pollToken: 'urn:x' });
    expect(
      await harmonic(answering(429, { error: 'MONTHLY_QUOTA_INSUFFICIENT', needed: 1 })).enrichCompany('x.y'),
    ).toMatchObject({ kind: 'credits_exhausted' });
    // 201 "enrichment triggered": data when the entity comes with it, else computed for later (never an error).
    expect(
      await harmonic(answering(201, { entity_urn: 'urn:harmonic:company:1', name: 'Acme' })).enrichCompany('acme.com'),
    ).toMatchObject({ kind: 'found', fields: { companyName: 'Acme' } });
    // Without the entity: polled by its enrichment urn when the body has one, else asked once more in a few hours.
    expect(
      await harmonic(
        answering(201, { detail: { message: 'Enrichment triggered', enrichment_urn: 'urn:harmonic:enrichment:1' } }),
      ).enrichCompany('acme.com'),
    ).toEqual({
      kind: 'queued',
      provider: 'harmonic',
      pollToken: 'urn:harmonic:enrichment:1',
      retryAfterMs: undefined,
    });
    expect(await harmonic(answering(201, { message: 'Enrichment triggered' })).enrichCompany('acme.com')).toEqual({
      kind: 'queued',
      provider: 'harmonic',
      pollToken: undefined,
      retryAfterMs: HARMONIC_REASK_AFTER_MS,
      reaskOnce: true,
    });
    // A status poll Harmonic refuses is an outcome, not a list of states.
    expect(await harmonic(answering(422, validation)).enrichmentStatus(['urn:x'])).toMatchObject({ kind: 'rejected' });
  });

  it('Clay: a 4xx from the table webhook rejects the row; 5xx stays transient', async () => {
    expect(await clay(answering(400, { message: 'bad row' })).addRow(row)).toEqual({
      kind: 'rejected',
      provider: 'clay',
      status: 400,
      errorType: undefined,
      detail: 'bad row',
    });
    expect(await clay(answering(500)).addRow(row)).toMatchObject({ kind: 'transient', status: 500 });
    expect(await clay(answering(200, {})).addRow(row)).toMatchObject({ kind: 'queued' });
  });

  it('Clay: 404, 405 or 410 from the webhook URL is our configuration (a deleted table), not a row: auth_failed', async () => {
    for (const status of [404, 405, 410]) {
      expect(await clay(answering(status, { message: 'Not Found' })).addRow(row)).toEqual({
        kind: 'auth_failed',
        provider: 'clay',
        status,
        detail: `the table's webhook URL answered HTTP ${status} (table or webhook source deleted, or a wrong CLAY_WEBHOOK_URL): Not Found`,
      });
    }
  });
});

describe('provider clients against the sandbox: the vendors’ documented refusals', () => {
  let app: FastifyInstance;
  let url: string;
  beforeAll(async () => {
    app = testSandbox({
      clearbit: { invalidKeys: [FIXTURE_DOMAINS.clearbitComplete, 'ada@quorvalis.com'] },
      harmonic: { invalidKeys: [FIXTURE_DOMAINS.harmonicOnly] },
    });
    url = await app.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(() => app.close());

  it('maps Clearbit’s 422 params_invalid / email_invalid and Harmonic’s 422 validation error to rejected', async () => {
    const cb = createClearbitClient({
      companyBaseUrl: `${url}/clearbit`,
      personBaseUrl: `${url}/clearbit`,
      apiKey: 'sandbox-key',
    });
    expect(await cb.findCompany(FIXTURE_DOMAINS.clearbitComplete)).toMatchObject({
      kind: 'rejected',
      status: 422,
      errorType: 'params_invalid',
    });
    expect(await cb.findPerson('ada@quorvalis.com')).toMatchObject({
      kind: 'rejected',
      status: 422,
      errorType: 'email_invalid',
    });
    const hm = createHarmonicClient({ baseUrl: `${url}/harmonic`, apiKey: 'sandbox-key' });
    expect(await hm.enrichCompany(FIXTURE_DOMAINS.harmonicOnly)).toMatchObject({
      kind: 'rejected',
      status: 422,
      errorType: 'value_error',
      detail: expect.stringContaining('website_domain') as string,
    });
    // Keys not named are answered as before.
    expect(await cb.findCompany(FIXTURE_DOMAINS.clearbitWithoutIndustry)).toMatchObject({ kind: 'found' });
  });

  it("maps the 404 of a deleted Clay table's webhook source to auth_failed (CLAY_WEBHOOK_URL)", async () => {
    const deleted = testSandbox({ clay: { sourceDeleted: true } });
    try {
      const base = await deleted.listen({ host: '127.0.0.1', port: 0 });
      const client = createClayClient({ webhookUrl: `${base}/clay/v3/sources/webhook/gone`, webhookAuth: 'token' });
      expect(await client.addRow(row)).toMatchObject({
        kind: 'auth_failed',
        status: 404,
        detail: expect.stringContaining('CLAY_WEBHOOK_URL') as string,
      });
    } finally {
      await deleted.close();
    }
  });
});

describe('callProvider: a rejected lookup is an answer, archived, never retried', () => {
  const archived: { outcome: string; body: unknown }[] = [];
  const ledger = {
    signups: { getSignup: () => Promise.resolve({ email: 'ada@example.com' }) },
    providerArchive: {
      archiveProviderResponse: (r: { outcome: string; body: unknown }) => {
        archived.push(r);
        return Promise.resolve('id');
      },
      providerAnswers: () => Promise.resolve([]),
    },
  } as unknown as Ledger;
  const activities = (outcome: ProviderOutcome) => {
    const providers: ProviderClients = {
      clearbit: { company: () => Promise.resolve(outcome), person: () => Promise.resolve(outcome) },
    };
    const config = loadConfig({});
    return createEnrichmentActivities({
      ledger,
      providers,
      scoring: config.scoring,
      enrichment: { ...config.enrichment, asyncResultTimeoutMinutes: 60 },
    });
  };

  it('returns the refusal with its error type, and keeps emails a provider echoes out of the result', async () => {
    const env = new MockActivityEnvironment();
    const a = activities({
      kind: 'rejected',
      provider: 'clearbit',
      status: 422,
      errorType: 'email_invalid',
      detail: 'ada@example.com is not a valid email',
    });
    const result = await env.run(() => a.callProvider({ provider: 'clearbit', signupId: 's-1', lookup: 'person' }));
    expect(result).toEqual({
      kind: 'rejected',
      status: 422,
      errorType: 'email_invalid',
      detail: '<email> is not a valid email',
    });
    expect(archived.at(-1)?.outcome).toBe('rejected');
  });

  it('throws an outage as retryable (the fall-through window bounds it), without the email', async () => {
    const env = new MockActivityEnvironment();
    const a = activities({ kind: 'transient', provider: 'clearbit', status: 503, detail: 'down for ada@example.com' });
    await expect(
      env.run(() => a.callProvider({ provider: 'clearbit', signupId: 's-1', lookup: 'person' })),
    ).rejects.toMatchObject({
      type: 'ProviderUnavailable',
      nonRetryable: false,
      message: 'clearbit unavailable: down for <email>',
    });
  });

  it('reads PROVIDER_FALLTHROUGH_MINUTES into the enrichment policy (default 30)', () => {
    expect(loadConfig({}).enrichment.providerFallThroughMinutes).toBe(30);
    expect(loadConfig({ PROVIDER_FALLTHROUGH_MINUTES: '0.1' }).enrichment.providerFallThroughMinutes).toBe(0.1);
    expect(() => loadConfig({ PROVIDER_FALLTHROUGH_MINUTES: '0' })).toThrow(/PROVIDER_FALLTHROUGH_MINUTES/);
  });
});

interface Archived {
  provider: string;
  lookup: string;
  signupId: string | undefined;
  outcome: string;
  body: unknown;
  receivedAt: string;
}

/** The activities over an in-memory archive, each call at a chosen server time (the attempt's scheduled time). */
function archiveOnly(providers: ProviderClients) {
  const rows: Archived[] = [];
  const ledger = {
    signups: { getSignup: () => Promise.resolve({ email: 'ada@example.com' }) },
    providerArchive: {
      archiveProviderResponse: (r: Archived) => {
        rows.push(r);
        return Promise.resolve('id');
      },
      providerAnswers: (signupId: string, provider: string) =>
        Promise.resolve(
          rows
            .filter((r) => r.signupId === signupId && r.provider === provider)
            .sort((a, b) => Date.parse(a.receivedAt) - Date.parse(b.receivedAt)),
        ),
    },
  } as unknown as Ledger;
  const config = loadConfig({});
  const activities = createEnrichmentActivities({
    ledger,
    providers,
    scoring: config.scoring,
    enrichment: { ...config.enrichment, asyncResultTimeoutMinutes: 60, queuedFollowUpHours: 48 },
  });
  const at = (ms: number) => new MockActivityEnvironment({ currentAttemptScheduledTimestampMs: ms });
  return { rows, activities, at };
}

const T0 = Date.parse('2026-11-20T10:00:00.000Z');
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

describe('withoutEmails', () => {
  it('masks plain, URL-encoded and twice-encoded addresses, and nothing around them', () => {
    expect(withoutEmails('ana@acme.com is not valid')).toBe('<email> is not valid');
    expect(withoutEmails('GET /v2/combined/find?email=ana%40acme.com&x=1: 422')).toBe(
      'GET /v2/combined/find?email=<email>&x=1: 422',
    );
    expect(withoutEmails('ANA%2Bsales%40Acme.com and b%2540c.io')).toBe('<email> and <email>');
    expect(withoutEmails('over quota (402)')).toBe('over quota (402)');
  });
});

describe('callProvider: what reaches the history and the archive', () => {
  it('masks emails in an out-of-credits message, in the result and the archive', async () => {
    const outcome: ProviderOutcome = {
      kind: 'credits_exhausted',
      provider: 'clearbit',
      detail: 'quota spent on ana%40acme.com (ana@acme.com)',
    };
    const { rows, activities, at } = archiveOnly({ clearbit: { company: () => Promise.resolve(outcome) } });
    const result = await at(T0).run(() =>
      activities.callProvider({ provider: 'clearbit', signupId: 's-1', lookup: 'company', domain: 'acme.com' }),
    );
    expect(result).toEqual({ kind: 'credits_exhausted', detail: 'quota spent on <email> (<email>)' });
    expect(rows[0]?.body).toMatchObject({ detail: 'quota spent on <email> (<email>)' });
  });

  it('a refused Clay webhook URL fails the signup for an operator to fix, archived for the health check', async () => {
    const { rows, activities, at } = archiveOnly({
      clay: { company: () => clay(answering(410, { message: 'Gone' })).addRow(row) },
    });
    await expect(
      at(T0).run(() =>
        activities.callProvider({
          provider: 'clay',
          signupId: 's-1',
          workflowId: 'w',
          lookup: 'company',
          domain: 'x.io',
        }),
      ),
    ).rejects.toMatchObject({
      type: 'ProviderAuthFailed',
      nonRetryable: true,
      message: expect.stringMatching(/^clay refused our configuration: .*HTTP 410.*CLAY_WEBHOOK_URL/) as string,
    });
    expect(rows.map((r) => r.outcome)).toEqual(['auth_failed']);
  });
});

describe('recordAsyncOutcome: a status poll given up after the fall-through window', () => {
  it('is archived as an outage under its token, with the signup when the caller names it', async () => {
    const { rows, activities, at } = archiveOnly({});
    const outage = {
      provider: 'harmonic',
      domain: undefined,
      lookup: 'enrichment_status',
      token: 'urn:harmonic:enrichment:1',
      outcome: 'outage',
      detail: 'ProviderUnavailable: harmonic unavailable for ana%40acme.com',
    } as const;
    await at(T0).run(() => activities.recordAsyncOutcome({ ...outage, signupId: undefined }));
    await at(T0).run(() => activities.recordAsyncOutcome({ ...outage, signupId: 's-1' }));
    expect(rows).toMatchObject([
      { lookup: 'enrichment_status', lookupKey: 'urn:harmonic:enrichment:1', signupId: undefined, outcome: 'outage' },
      { lookup: 'enrichment_status', lookupKey: 'urn:harmonic:enrichment:1', signupId: 's-1', outcome: 'outage' },
    ]);
    expect(rows[0]?.body).toEqual({ detail: 'ProviderUnavailable: harmonic unavailable for <email>' });
  });
});

describe("Harmonic's 201 without entity or urn: asked once more after a few hours, then not found", () => {
  const harmonicAnswering = (answers: (() => Response)[]) => {
    const calls: string[] = [];
    const client = harmonic(() => {
      calls.push('POST /companies');
      return Promise.resolve(answers[Math.min(calls.length - 1, answers.length - 1)]!());
    });
    return { calls, providers: { harmonic: { company: (d: string) => client.enrichCompany(d) } } };
  };
  const triggered = () => new Response(JSON.stringify({ message: 'Enrichment triggered' }), { status: 201 });
  const input = { provider: 'harmonic', signupId: 's-1', lookup: 'company', domain: 'acme.com' } as const;

  it('follow-ups before the delay call nobody; the one after it is the last', async () => {
    const { calls, providers } = harmonicAnswering([triggered]);
    const { rows, activities, at } = archiveOnly(providers);
    expect(await at(T0).run(() => activities.callProvider(input))).toMatchObject({ kind: 'queued' });
    // The workflow's follow-ups: 1 min, 3 min, 7 min, … up to hourly.
    for (const ms of [MINUTE, 3 * MINUTE, 63 * MINUTE, 123 * MINUTE]) {
      expect(await at(T0 + ms).run(() => activities.callProvider(input))).toEqual({
        kind: 'queued',
        pollToken: undefined,
        retryAfterMs: HARMONIC_REASK_AFTER_MS - ms,
      });
    }
    expect(calls).toHaveLength(1);
    expect(await at(T0 + 183 * MINUTE).run(() => activities.callProvider(input))).toEqual({ kind: 'not_found' });
    expect(calls).toHaveLength(2);
    expect(rows.map((r) => r.outcome)).toEqual(['queued', 'not_found']);
    // A later run (a backfill) asks as usual.
    expect(await at(T0 + 200 * MINUTE).run(() => activities.callProvider(input))).toMatchObject({ kind: 'queued' });
    expect(calls).toHaveLength(3);
  });

  it('data on the second ask is taken; an answer older than the follow-up window does not count', async () => {
    const found = () =>
      new Response(JSON.stringify({ entity_urn: 'urn:harmonic:company:1', name: 'Acme' }), { status: 200 });
    const { providers } = harmonicAnswering([triggered, found]);
    const { activities, at } = archiveOnly(providers);
    await at(T0).run(() => activities.callProvider(input));
    expect(await at(T0 + HARMONIC_REASK_AFTER_MS).run(() => activities.callProvider(input))).toMatchObject({
      kind: 'found',
      fields: { companyName: 'Acme' },
    });

    const again = harmonicAnswering([triggered]);
    const stale = archiveOnly(again.providers);
    await stale.at(T0).run(() => stale.activities.callProvider(input));
    expect(await stale.at(T0 + 49 * HOUR).run(() => stale.activities.callProvider(input))).toMatchObject({
      kind: 'queued',
    });
    expect(again.calls).toHaveLength(2);
  });
});

describe('findArchivedClayResult: only a result received since the row was sent', () => {
  const signupId = '5b8f2a52-3c1e-4f0a-9a57-1f0e8a3c2d10';
  const result = (name: string) => ({
    request_id: signupId,
    workflow_id: 'signup-org',
    company_found: true,
    company_name: name,
  });
  const archive = (rows: Archived[], outcome: string, body: unknown, ms: number) =>
    rows.push({ provider: 'clay', lookup: 'company', signupId, outcome, body, receivedAt: new Date(ms).toISOString() });

  it("ignores an earlier run's result; takes the one that came after this row", async () => {
    const { rows, activities, at } = archiveOnly({});
    archive(rows, 'queued', {}, T0);
    archive(rows, 'found', result('Old Name'), T0 + MINUTE);
    // A backfill re-runs the signup a day later and sends the row again; Clay stays silent.
    archive(rows, 'queued', {}, T0 + 24 * HOUR);
    expect(await at(T0 + 25 * HOUR).run(() => activities.findArchivedClayResult({ signupId }))).toBeUndefined();
    archive(rows, 'found', result('New Name'), T0 + 24 * HOUR + MINUTE);
    expect(await at(T0 + 25 * HOUR).run(() => activities.findArchivedClayResult({ signupId }))).toMatchObject({
      found: true,
      fields: { companyName: 'New Name' },
    });
  });

  it('finds nothing when no row was sent', async () => {
    const { rows, activities, at } = archiveOnly({});
    archive(rows, 'found', result('Old Name'), T0);
    expect(await at(T0).run(() => activities.findArchivedClayResult({ signupId }))).toBeUndefined();
  });
});

describe('provider clients: a 200 that is not the documented payload', () => {
  it('is transient, named after what was asked, never found nor not found', async () => {
    const transient = (detail: string, provider: string) => ({ kind: 'transient', provider, status: 200, detail });
    expect(await clearbit(answering(200, 'not json')).findCompany('x.y')).toEqual(
      transient('unexpected company payload', 'clearbit'),
    );
    expect(await clearbit(answering(200, ['not', 'an', 'object'])).findPerson('a@x.y')).toEqual(
      transient('unexpected combined payload', 'clearbit'),
    );
    expect(await harmonic(answering(200, 'not json')).enrichCompany('x.y')).toEqual(
      transient('unexpected company payload', 'harmonic'),
    );
    expect(await harmonic(answering(200, 'not json')).enrichPerson('a@x.y')).toEqual(
      transient('unexpected person payload', 'harmonic'),
    );
    expect(await harmonic(answering(200, { urns: 'not a list' })).enrichmentStatus(['urn:x'])).toEqual(
      transient('unexpected enrichment status payload', 'harmonic'),
    );
  });
});
