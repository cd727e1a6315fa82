import { MockActivityEnvironment } from '@temporalio/testing';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEnrichmentActivities, type ProviderClients } from '../../src/activities/enrichment';
import { loadConfig } from '../../src/config';
import type { ProviderOutcome } from '../../src/domain/provider-outcome';
import { createClayClient } from '../../src/integrations/clay/client';
import { createClearbitClient } from '../../src/integrations/clearbit/client';
import { createHarmonicClient } from '../../src/integrations/harmonic/client';
import type { Ledger } from '../../src/ledger/ledger';
import { FIXTURE_DOMAINS } from '../../src/sandbox/dataset';
import { testSandbox } from '../sandbox/helpers';

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
    expect(await harmonic(answering(201, { message: 'Enrichment triggered' })).enrichCompany('acme.com')).toEqual({
      kind: 'queued',
      provider: 'harmonic',
      pollToken: undefined,
      retryAfterMs: undefined,
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
});

describe('callProvider: a rejected lookup is an answer, archived, never retried', () => {
  const archived: { outcome: string; body: unknown }[] = [];
  const ledger = {
    getSignup: () => Promise.resolve({ email: 'ada@example.com' }),
    archiveProviderResponse: (r: { outcome: string; body: unknown }) => {
      archived.push(r);
      return Promise.resolve('id');
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
