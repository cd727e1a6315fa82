import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { EnrichedSignup } from '../../src/domain/fan-out';
import { NO_SIGNALS, type SignupSignals } from '../../src/domain/signup-signals';
import { createCustomerioClient, customerAttributes, eventUlid } from '../../src/integrations/customerio/client';
import {
  appApiUrl,
  createMixpanelClient,
  insertId,
  type MixpanelIdMerge,
  type MixpanelServiceAccount,
} from '../../src/integrations/mixpanel/client';
import { loadConfig } from '../../src/config';
import { createDestinationClients } from '../../src/composition';
import { SANDBOX_MIXPANEL_PROJECT_ID } from '../../src/config/variables';
import { MIXPANEL_SANDBOX_PROJECT_ID } from '../../src/sandbox/mixpanel';
import { type RunningSandbox, startSandbox } from '../support/sandbox';
import { enrichedSignupFixture } from '../support/enriched';

interface Stored {
  key: string;
  fields: Record<string, unknown>;
  writes: number;
}
type Records = Record<string, Stored[] | undefined>;

const signup = enrichedSignupFixture({
  personKey: 'distinct/42 ?#',
  distinctId: 'distinct/42 ?#',
  fields: { companyName: 'Quorvalis', employees: 640, personTitle: 'Head of Marketing', role: 'marketing' },
});

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
  const mixpanel = (
    o: { token?: string; secret?: string; idMerge?: MixpanelIdMerge; serviceAccount?: MixpanelServiceAccount } = {},
  ) =>
    createMixpanelClient({
      apiUrl: `${sandbox.url}/mixpanel`,
      projectToken: o.token ?? 'project-token',
      ...(o.serviceAccount ? { serviceAccount: o.serviceAccount } : { apiSecret: o.secret ?? 'api-secret' }),
      idMerge: o.idMerge ?? 'simplified',
      timeoutMs: 5000,
    });
  const calls = async (system: string) =>
    (await sandbox.inspect<{ calls: { method: string; path: string; status: number; note?: string }[] }>(system)).calls;

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

  it('flattens list and object attributes to the documented value types (string, integer, boolean)', () => {
    const tagged: EnrichedSignup = {
      ...signup,
      fields: { ...signup.fields, industryTags: ['saas', 'devtools'] },
      provenance: {
        companyName: { source: 'clearbit', at: '2026-11-24T08:00:01.000Z' },
        industryTags: { source: 'harmonic', at: '2026-11-24T08:00:01.000Z' },
      },
    };
    const attributes = customerAttributes(tagged, NO_SIGNALS);
    expect(attributes.enrichment_industry_tags).toBe('saas,devtools');
    expect(JSON.parse(attributes.enrichment_sources as string)).toEqual({
      companyName: 'clearbit',
      industryTags: 'harmonic',
    });
    for (const value of Object.values(attributes)) expect(['string', 'number', 'boolean']).toContain(typeof value);
  });

  it('sends signed_up without a timestamp, so a write retried days later still triggers the campaign', async () => {
    const late: EnrichedSignup = { ...signup, signedUpAt: new Date(Date.now() - 5 * 86_400_000).toISOString() };
    const before = Math.floor(Date.now() / 1000);
    expect((await customerio().signedUp(late, NO_SIGNALS)).kind).toBe('written');
    const r = await records('customerio');
    const event = r.event?.[0];
    // Customer.io takes the time it receives an event sent without one.
    expect(event?.fields.timestamp).toBeGreaterThanOrEqual(before);
    expect(event?.fields.data).toMatchObject({ signed_up_at: Math.floor(Date.parse(late.signedUpAt) / 1000) });
    expect(r.campaign_trigger).toHaveLength(1);

    // What sending the signup time would have done: stored, but past 72 hours, no campaign.
    const res = await fetch(`${sandbox.url}/customerio/api/v1/customers/old-person/events`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Basic ${Buffer.from('site-1:site-key').toString('base64')}`,
      },
      body: JSON.stringify({ name: 'signed_up', timestamp: Math.floor(Date.parse(late.signedUpAt) / 1000) }),
    });
    expect(res.status).toBe(200);
    const after = await records('customerio');
    expect(after.event).toHaveLength(2);
    expect(after.campaign_trigger).toHaveLength(1);
  });

  it("reads a 400's documented body, meta.errors, into the write's detail", async () => {
    const long: EnrichedSignup = { ...signup, personKey: 'p'.repeat(151) };
    const outcome = await customerio().identify(long, NO_SIGNALS);
    expect(outcome.kind).toBe('rejected');
    expect(outcome.detail).toMatch(/identifier is longer than 150 characters/);
    const res = await fetch(`${sandbox.url}/customerio/api/v1/customers/x/events`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Basic ${Buffer.from('site-1:site-key').toString('base64')}`,
      },
      body: JSON.stringify({ name: '' }),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ meta: { errors: ['name is required'] } });
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

  it('sets the Mixpanel profile and company group, and links the anonymous id by $device_id + $user_id (simplified)', async () => {
    const outcome = await mixpanel().writeEnrichment(signup, { ...NO_SIGNALS, anonDistinctId: 'anon-1' });
    expect(outcome).toEqual({
      kind: 'written',
      detail: 'profile, company group, signed_up sent with $device_id and $user_id (simplified ID merge)',
    });
    const r = await records('mixpanel');
    expect(r.profile?.[0]).toMatchObject({
      key: signup.personKey,
      fields: { properties: { $email: signup.email, company: ['quorvalis.com'], enrichment_icp_tier: 'A' } },
    });
    expect(r.group?.[0]).toMatchObject({
      key: 'company:quorvalis.com',
      fields: { properties: { $name: 'Quorvalis', enrichment_employees: 640, organization_id: 'org-7' } },
    });
    // The identity cluster's canonical id is the $user_id, as Simplified ID Merge makes it.
    expect(r.identity).toEqual([
      expect.objectContaining({ key: signup.personKey, fields: { distinctIds: ['anon-1', signup.personKey].sort() } }),
    ]);
    expect(r.event).toEqual([
      expect.objectContaining({
        key: insertId(signup.signupId),
        fields: {
          event: 'signed_up',
          properties: expect.objectContaining({
            token: 'project-token',
            $device_id: 'anon-1',
            $user_id: signup.personKey,
            time: Date.parse(signup.signedUpAt),
            $insert_id: insertId(signup.signupId),
          }) as unknown,
        },
      }),
    ]);
    // Profile and group updates ask for no geolocation from our address.
    const updates = (await calls('mixpanel')).filter((c) => /^\/mixpanel\/(engage|groups)/.test(c.path));
    expect(updates.map((c) => c.note)).toEqual(['1 profile update(s), ip=0', '1 group update(s), ip=0']);
    // Again (a retry): still one identity, one event.
    expect((await mixpanel().writeEnrichment(signup, { ...NO_SIGNALS, anonDistinctId: 'anon-1' })).kind).toBe(
      'written',
    );
    expect((await records('mixpanel')).identity).toHaveLength(1);
    expect((await records('mixpanel')).event).toHaveLength(1);
  });

  it('with MIXPANEL_ID_MERGE=original sends $merge with the token, which links ids only in an original-mode project', async () => {
    const signals = { ...NO_SIGNALS, anonDistinctId: 'anon-2' };
    // A simplified project (the sandbox's default, as Mixpanel's for new projects): $merge is imported, links nothing.
    const ignored = await mixpanel({ idMerge: 'original' }).writeEnrichment(signup, signals);
    expect(ignored).toEqual({
      kind: 'written',
      detail: 'profile, company group, $merge of the anonymous id sent (original ID merge)',
    });
    expect((await records('mixpanel')).identity).toBeUndefined();
    expect((await calls('mixpanel')).find((c) => c.path.startsWith('/mixpanel/import'))?.note).toBe(
      'auth: API secret,$merge ignored (simplified ID merge)',
    );

    await sandbox.control('mixpanel', { idMerge: 'original' });
    try {
      expect((await mixpanel({ idMerge: 'original' }).writeEnrichment(signup, signals)).kind).toBe('written');
      expect((await records('mixpanel')).identity).toEqual([
        expect.objectContaining({ fields: { distinctIds: ['anon-2', signup.personKey].sort() } }),
      ]);
      // The simplified identifying event does nothing to an original-mode project's identities.
      await fetch(`${sandbox.url}/_reset`, { method: 'POST' });
      await sandbox.control('mixpanel', { idMerge: 'original' });
      expect((await mixpanel().writeEnrichment(signup, signals)).kind).toBe('written');
      expect((await records('mixpanel')).identity).toBeUndefined();
      // $merge without the token is refused, as its schema requires it.
      const res = await fetch(`${sandbox.url}/mixpanel/import?strict=1`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Basic ${Buffer.from('api-secret:').toString('base64')}`,
        },
        body: JSON.stringify([{ event: '$merge', properties: { $distinct_ids: ['a', 'b'] } }]),
      });
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({
        failed_records: [{ index: 0, message: 'properties.token is required' }],
      });
    } finally {
      await sandbox.control('mixpanel', { idMerge: 'simplified' });
    }
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
    expect(merge.detail).toBe(
      'Mixpanel rejected the API secret (HTTP 401: Invalid credentials): check MIXPANEL_API_SECRET',
    );
    expect(merge.detail).not.toContain('bad-key');
  });

  describe('/import authentication', () => {
    const account: MixpanelServiceAccount = {
      username: 'enrich-pipeline.7f2c1a.mp-service-account',
      secret: 'sa-secret-3b9d0e6a41',
      projectId: MIXPANEL_SANDBOX_PROJECT_ID,
    };
    const withAnon = { ...NO_SIGNALS, anonDistinctId: 'anon-sa' };
    const importCalls = async () => (await calls('mixpanel')).filter((c) => c.path.startsWith('/mixpanel/import'));

    it('writes with a service account: its Basic auth and project_id on /import, the event stored once', async () => {
      const outcome = await mixpanel({ serviceAccount: account }).writeEnrichment(signup, withAnon);
      expect(outcome).toEqual({
        kind: 'written',
        detail: 'profile, company group, signed_up sent with $device_id and $user_id (simplified ID merge)',
      });
      const [call] = await importCalls();
      expect(call).toMatchObject({
        method: 'POST',
        path: '/mixpanel/import',
        status: 200,
        note: `auth: service account (project ${MIXPANEL_SANDBOX_PROJECT_ID}),merged`,
      });
      expect((await records('mixpanel')).identity).toEqual([
        expect.objectContaining({ key: signup.personKey, fields: { distinctIds: ['anon-sa', signup.personKey] } }),
      ]);
      // A retry: the same event, deduplicated by $insert_id.
      expect((await mixpanel({ serviceAccount: account }).writeEnrichment(signup, withAnon)).kind).toBe('written');
      expect((await records('mixpanel')).event).toHaveLength(1);
    });

    it('writes with the legacy API secret: no project_id, the secret as user name', async () => {
      expect((await mixpanel({ secret: 'legacy-secret-55e1' }).writeEnrichment(signup, withAnon)).kind).toBe('written');
      const [call] = await importCalls();
      expect(call).toMatchObject({ path: '/mixpanel/import', status: 200, note: 'auth: API secret,merged' });
    });

    it('a wrong service account secret or a wrong project id is auth_failed (401), naming variables, no value', async () => {
      const wrongSecret = await mixpanel({ serviceAccount: { ...account, secret: 'bad-key' } }).writeEnrichment(
        signup,
        withAnon,
      );
      expect(wrongSecret).toEqual({
        kind: 'auth_failed',
        detail:
          `Mixpanel rejected the service account for project ${MIXPANEL_SANDBOX_PROJECT_ID} (HTTP 401: Invalid ` +
          'credentials): check MIXPANEL_SERVICE_ACCOUNT_USERNAME, MIXPANEL_SERVICE_ACCOUNT_SECRET, MIXPANEL_PROJECT_ID ' +
          'and that the account is an Owner or Admin of the project',
      });
      // Mixpanel answers a project the credentials are not valid for with 401 too ("/import does not return a 403").
      const wrongProject = await mixpanel({ serviceAccount: { ...account, projectId: '1000001' } }).writeEnrichment(
        signup,
        withAnon,
      );
      expect(wrongProject.kind).toBe('auth_failed');
      expect(wrongProject.detail).toMatch(/^Mixpanel rejected the service account for project 1000001 \(HTTP 401: /);
      for (const detail of [wrongSecret.detail, wrongProject.detail]) {
        expect(detail).not.toContain(account.secret);
        expect(detail).not.toContain(account.username);
      }
      expect((await importCalls()).map((c) => c.status)).toEqual([401, 401]);
      expect((await records('mixpanel')).event).toBeUndefined();
    });

    it("the sandbox answers Mixpanel's documented 401 to a missing project_id, and to a secret given one", async () => {
      const post = (query: string, user: string, password: string) =>
        fetch(`${sandbox.url}/mixpanel/import?strict=1${query}`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
          },
          body: JSON.stringify([
            { event: 'x', properties: { distinct_id: 'd', time: 1, $insert_id: 'i-1', token: 'project-token' } },
          ]),
        });
      for (const res of [
        await post('', account.username, account.secret),
        await post(`&project_id=${MIXPANEL_SANDBOX_PROJECT_ID}`, 'legacy-secret', ''),
        await post(`&project_id=${MIXPANEL_SANDBOX_PROJECT_ID}`, '', account.secret),
      ]) {
        expect(res.status).toBe(401);
        expect(await res.json()).toEqual({ code: 401, error: 'Invalid credentials', status: 'Unauthorized' });
      }
      // Plain-text credentials are accepted as well as base64 ("accepts both base64 encoding and plain-text").
      const plain = await fetch(`${sandbox.url}/mixpanel/import?strict=1&project_id=${MIXPANEL_SANDBOX_PROJECT_ID}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Basic ${account.username}:${account.secret}` },
        body: JSON.stringify([{ event: 'x', properties: { distinct_id: 'd', time: 1, $insert_id: 'i-2' } }]),
      });
      expect(plain.status).toBe(200);
    });

    it('answers a service account on GET /api/app/me, and only a valid one', async () => {
      const me = (password: string) =>
        fetch(`${appApiUrl(`${sandbox.url}/mixpanel`)}/me`, {
          headers: { authorization: `Basic ${Buffer.from(`${account.username}:${password}`).toString('base64')}` },
        });
      const ok = await me(account.secret);
      expect(ok.status).toBe(200);
      expect(await ok.json()).toMatchObject({ status: 'ok', results: { user_name: account.username } });
      expect((await me('bad-key')).status).toBe(401);
      expect((await me('')).status).toBe(401);
    });

    it('maps the ingestion host to the application API host, per data residency', () => {
      expect(appApiUrl('https://api.mixpanel.com')).toBe('https://mixpanel.com/api/app');
      expect(appApiUrl('https://api-eu.mixpanel.com')).toBe('https://eu.mixpanel.com/api/app');
      expect(appApiUrl('https://api-in.mixpanel.com/')).toBe('https://in.mixpanel.com/api/app');
      expect(appApiUrl('http://127.0.0.1:4010/mixpanel/')).toBe('http://127.0.0.1:4010/mixpanel/api/app');
    });

    it('is wired from MIXPANEL_SERVICE_ACCOUNT_* and MIXPANEL_PROJECT_ID (the sandbox project id documented)', async () => {
      expect(SANDBOX_MIXPANEL_PROJECT_ID).toBe(MIXPANEL_SANDBOX_PROJECT_ID);
      const config = loadConfig({
        SANDBOX_URL: sandbox.url,
        DESTINATIONS: 'mixpanel',
        MIXPANEL_SERVICE_ACCOUNT_USERNAME: account.username,
        MIXPANEL_SERVICE_ACCOUNT_SECRET: account.secret,
        MIXPANEL_PROJECT_ID: SANDBOX_MIXPANEL_PROJECT_ID,
      });
      expect(config.mixpanel.importAuth).toBe('service_account');
      const client = createDestinationClients(config).mixpanel!;
      expect((await client.writeEnrichment(signup, withAnon)).kind).toBe('written');
      expect((await importCalls())[0]).toMatchObject({
        status: 200,
        note: `auth: service account (project ${MIXPANEL_SANDBOX_PROJECT_ID}),merged`,
      });
    });
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
