import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { EnrichedSignup } from '../../src/domain/fan-out';
import { NO_SIGNALS, type SignupSignals } from '../../src/domain/signup-signals';
import { createCustomerioClient, customerAttributes, eventUlid } from '../../src/integrations/customerio/client';
import { createMixpanelClient } from '../../src/integrations/mixpanel/client';
import { type RunningSandbox, startSandbox } from '../support/sandbox';

interface Stored {
  key: string;
  fields: Record<string, unknown>;
  writes: number;
}
type Records = Record<string, Stored[] | undefined>;

const signup: EnrichedSignup = {
  signupId: '0b6f4a52-8a0e-4f0e-9b43-0d1f3f1c2a11',
  personKey: 'distinct/42 ?#',
  distinctId: 'distinct/42 ?#',
  email: 'ada.quillon@quorvalis.com',
  name: 'Ada Quillon',
  emailKind: 'work',
  domain: 'quorvalis.com',
  organizationId: 'org-7',
  organizationName: 'Quorvalis',
  signedUpAt: '2026-11-24T08:00:00.000Z',
  status: 'enriched',
  reason: undefined,
  fields: { companyName: 'Quorvalis', employees: 640, personTitle: 'Head of Marketing', role: 'marketing' },
  provenance: {},
  score: {
    status: 'scored',
    score: 86,
    tier: 'A',
    points: {},
    missingFields: [],
    reason: undefined,
    configVersion: '2026-11-01',
    inputHash: 'h',
  },
  enrichedAt: '2026-11-24T08:00:02.000Z',
};

describe('Customer.io and Mixpanel clients against the sandbox', () => {
  let sandbox: RunningSandbox;
  beforeAll(async () => {
    sandbox = await startSandbox();
  });
  afterAll(async () => {
    await sandbox?.close();
  });
  beforeEach(async () => {
    await fetch(`${sandbox.url}/_reset`, { method: 'POST' });
  });

  const records = async (system: string) => (await sandbox.inspect<{ records?: Records }>(system)).records ?? {};
  const customerio = (apiKey = 'site-key') =>
    createCustomerioClient({ trackUrl: `${sandbox.url}/customerio/api/v1`, siteId: 'site-1', apiKey, timeoutMs: 5000 });
  const mixpanel = (o: { token?: string; secret?: string } = {}) =>
    createMixpanelClient({
      apiUrl: `${sandbox.url}/mixpanel`,
      projectToken: o.token ?? 'project-token',
      apiSecret: o.secret ?? 'api-secret',
      timeoutMs: 5000,
    });

  it('derives one ULID per signup, a valid ULID carrying the signup time', () => {
    const id = eventUlid(signup.signupId, signup.signedUpAt);
    expect(id).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(eventUlid(signup.signupId, signup.signedUpAt)).toBe(id);
    expect(eventUlid('another-signup', signup.signedUpAt)).not.toBe(id);
    // The first 10 characters are the time in ms, base 32.
    const ms = [...id.slice(0, 10)].reduce((n, c) => n * 32 + '0123456789ABCDEFGHJKMNPQRSTVWXYZ'.indexOf(c), 0);
    expect(ms).toBe(Date.parse(signup.signedUpAt));
  });

  it('maps the signup to attributes: the email as an attribute, Unix created_at, likely_developer, the opt-in', () => {
    const signals: SignupSignals = { ...NO_SIGNALS, newsletterOptIn: false };
    expect(customerAttributes(signup, signals)).toMatchObject({
      email: 'ada.quillon@quorvalis.com',
      created_at: Date.parse(signup.signedUpAt) / 1000,
      likely_developer: false,
      newsletter_opt_in: false,
      enrichment_company_name: 'Quorvalis',
      enrichment_icp_tier: 'A',
    });
    expect(customerAttributes(signup, NO_SIGNALS)).not.toHaveProperty('newsletter_opt_in');
    expect(customerAttributes(signup, { ...NO_SIGNALS, signupMethod: 'github' }).likely_developer).toBe(true);
  });

  it('identifies the person by the encoded person key and sends signed_up; a resend is deduplicated', async () => {
    const client = customerio();
    expect(await client.identify(signup, NO_SIGNALS)).toEqual({ kind: 'written', detail: 'the person' });
    expect((await client.signedUp(signup, NO_SIGNALS)).kind).toBe('written');
    expect((await client.signedUp(signup, NO_SIGNALS)).kind).toBe('written');
    const r = await records('customerio');
    expect(r.customer?.map((c) => c.key)).toEqual([signup.personKey]);
    expect(r.customer?.[0]?.fields.attributes).toMatchObject({ email: signup.email, likely_developer: false });
    expect(r.event).toHaveLength(1);
    expect(r.event?.[0]).toMatchObject({
      key: eventUlid(signup.signupId, signup.signedUpAt),
      fields: { customer: signup.personKey, name: 'signed_up', duplicates: 1 },
    });
    expect(r.campaign_trigger).toHaveLength(1);
  });

  it("answers Customer.io's region lookup with the workspace's region, to valid Track credentials only", async () => {
    const get = (user: string, password: string) =>
      fetch(`${sandbox.url}/customerio/api/v1/accounts/region`, {
        headers: { authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` },
      });
    const res = await get('site-1', 'track-key');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ url: 'https://track.customer.io', region: 'us', environment_id: 1 });
    expect((await get('site-1', 'bad-key')).status).toBe(401);
    expect((await fetch(`${sandbox.url}/customerio/api/v1/accounts/region`)).status).toBe(401);
  });

  it('classifies Customer.io refusals: bad key, throttling, outage', async () => {
    expect((await customerio('bad-key').identify(signup, NO_SIGNALS)).kind).toBe('auth_failed');
    await sandbox.control('customerio', { rateLimitPerSecond: 1 });
    try {
      const results = [
        await customerio().identify(signup, NO_SIGNALS),
        await customerio().identify(signup, NO_SIGNALS),
      ];
      expect(results.map((r) => r.kind)).toContain('rate_limited');
    } finally {
      await sandbox.control('customerio', { rateLimitPerSecond: null });
    }
    await sandbox.control('customerio', { failureRate: 1 });
    try {
      expect((await customerio().signedUp(signup, NO_SIGNALS)).kind).toBe('transient');
    } finally {
      await sandbox.control('customerio', { failureRate: 0 });
    }
  });

  it('sets the Mixpanel profile and company group, and merges the anonymous id into the identified one', async () => {
    const outcome = await mixpanel().writeEnrichment(signup, { ...NO_SIGNALS, anonDistinctId: 'anon-1' });
    expect(outcome).toEqual({ kind: 'written', detail: 'profile, company group, anonymous id merged' });
    const r = await records('mixpanel');
    expect(r.profile?.[0]).toMatchObject({
      key: signup.personKey,
      fields: { properties: { $email: signup.email, company: ['quorvalis.com'], enrichment_icp_tier: 'A' } },
    });
    expect(r.group?.[0]).toMatchObject({
      key: 'company:quorvalis.com',
      fields: { properties: { $name: 'Quorvalis', enrichment_employees: 640, organization_id: 'org-7' } },
    });
    expect(r.identity).toEqual([
      expect.objectContaining({ key: signup.personKey, fields: { distinctIds: ['anon-1', signup.personKey].sort() } }),
    ]);
    // Again (a retry): still one identity.
    expect((await mixpanel().writeEnrichment(signup, { ...NO_SIGNALS, anonDistinctId: 'anon-1' })).kind).toBe(
      'written',
    );
    expect((await records('mixpanel')).identity).toHaveLength(1);
  });

  it('merges nothing without an anonymous id, and classifies a refused token or secret', async () => {
    expect(await mixpanel().writeEnrichment(signup, NO_SIGNALS)).toEqual({
      kind: 'written',
      detail: 'profile, company group',
    });
    expect((await records('mixpanel')).identity).toBeUndefined();
    expect((await mixpanel({ token: 'bad-key' }).writeEnrichment(signup, NO_SIGNALS)).kind).toBe('auth_failed');
    const merge = await mixpanel({ secret: 'bad-key' }).writeEnrichment(signup, { ...NO_SIGNALS, anonDistinctId: 'a' });
    expect(merge.kind).toBe('auth_failed');
    expect(merge.detail).toMatch(/Mixpanel rejected the API key/);
  });

  it('deletes the person in both for enrich forget: Customer.io person and events, Mixpanel profile', async () => {
    await customerio().identify(signup, NO_SIGNALS);
    await customerio().signedUp(signup, NO_SIGNALS);
    await mixpanel().writeEnrichment(signup, NO_SIGNALS);
    expect(await customerio().deletePerson(signup.personKey)).toEqual({
      kind: 'deleted',
      detail: 'Customer.io person deleted',
    });
    expect(await mixpanel().deletePerson(signup.personKey)).toEqual({
      kind: 'deleted',
      detail: 'Mixpanel profile deleted',
    });
    const cio = await records('customerio');
    expect(cio.customer ?? []).toEqual([]);
    expect(cio.event ?? []).toEqual([]);
    const mp = await records('mixpanel');
    expect(mp.profile ?? []).toEqual([]);
    // The company group is not personal data: it stays.
    expect(mp.group).toHaveLength(1);
    expect((await customerio('bad-key').deletePerson(signup.personKey)).kind).toBe('failed');
    expect((await mixpanel({ token: 'bad-key' }).deletePerson(signup.personKey)).kind).toBe('failed');
  });
});
