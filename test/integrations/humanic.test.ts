import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHumanicClient } from '../../src/integrations/humanic/client';
import { posthogShapedPayload, stableUuid } from '../../src/integrations/humanic/payload';
import { posthogPayloadIssues } from '../../src/sandbox/humanic';
import { control, inspect, testSandbox } from '../support/sandbox';
import { enrichedSignup, posthogSignup } from '../support/signups';

const PROJECT = { id: 7, name: 'PostHog project 7', url: 'https://us.posthog.com/project/7' };
const signup = enrichedSignup({
  signupId: 'signup-h1',
  personKey: 'distinct-1',
  email: 'ada.quillon@quorvalis.com',
  domain: 'quorvalis.com',
  organizationId: 'org-1',
  organizationName: 'Quorvalis',
  fields: { companyName: 'Quorvalis Systems', employees: 1200, role: 'engineering' },
});

describe('PostHog-shaped payload', () => {
  it('keeps the original PostHog event and merges the enrichment into person and organization', () => {
    const original = posthogSignup({ email: 'ada.quillon@quorvalis.com', orgId: 'org-1' });
    const body = posthogShapedPayload(signup, original, PROJECT, 0);
    expect(posthogPayloadIssues(body)).toEqual([]);
    expect(body.event).toMatchObject({
      uuid: original.event.uuid,
      event: 'user signed up',
      distinct_id: original.event.distinct_id,
    });
    expect(body.person?.properties).toMatchObject({
      email: 'ada.quillon@quorvalis.com',
      $geoip_country_code: 'DE',
      enrichment_company_name: 'Quorvalis Systems',
      enrichment_role: 'engineering',
      enrichment_status: 'enriched',
      enrichment_icp_tier: 'A',
    });
    // The organization gets the company part only.
    expect(body.groups.organization?.properties).toMatchObject({ name: 'Lumenforge', enrichment_employees: 1200 });
    expect(body.groups.organization?.properties).not.toHaveProperty('enrichment_role');
    expect(body.project).toEqual({ id: 2, name: 'Example app', url: 'https://us.posthog.com/project/2' });
  });

  it('synthesizes a user_signed_up event when there is no PostHog payload (direct signups, purged payloads)', () => {
    for (const original of [undefined, {}, { email: 'x' }]) {
      const body = posthogShapedPayload(signup, original, PROJECT, 2);
      expect(posthogPayloadIssues(body)).toEqual([]);
      expect(body.event).toMatchObject({
        uuid: stableUuid('humanic:signup-h1'),
        event: 'user_signed_up',
        distinct_id: 'distinct-1',
        properties: { email: 'ada.quillon@quorvalis.com', $groups: { organization: 'org-1' } },
        timestamp: signup.signedUpAt,
        elements_chain: '',
      });
      expect(body.groups.organization).toMatchObject({ id: 'org-1', index: 2, properties: { name: 'Quorvalis' } });
      expect(body.project).toEqual(PROJECT);
    }
    expect(stableUuid('a')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    // No organization: no groups.
    expect(posthogShapedPayload({ ...signup, organizationId: undefined }, undefined, PROJECT, 0).groups).toEqual({});
  });
});

describe('Humanic client against the sandbox receiver', () => {
  let app: FastifyInstance;
  let base: string;
  beforeAll(async () => {
    app = testSandbox();
    await app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  });
  afterAll(() => app.close());

  const client = (apiKey?: string, url = `${base}/humanic/webhook`) =>
    createHumanicClient({ webhookUrl: url, apiKey, project: PROJECT, organizationGroupIndex: 0, timeoutMs: 5_000 });

  it('delivers, sends the same body on a retry, and maps refusals to write outcomes', async () => {
    await control(app, 'humanic', { bearerToken: 'humanic-token' });
    expect(await client('humanic-token').deliver(signup, undefined, 'k1')).toEqual({
      kind: 'written',
      detail: 'user_signed_up event delivered',
    });
    await client('humanic-token').deliver(signup, undefined, 'k1');
    const records = (await inspect(app, 'humanic')).records?.event ?? [];
    expect(records.map((r) => [r.key, r.writes, r.fields.deliveryId])).toEqual([
      [stableUuid('humanic:signup-h1'), 2, 'k1'],
    ]);

    expect(await client('wrong').deliver(signup, undefined, 'k2')).toMatchObject({ kind: 'auth_failed' });
    await control(app, 'humanic', { bearerToken: null, failureRate: 1 });
    expect(await client().deliver(signup, undefined, 'k3')).toMatchObject({ kind: 'transient' });
    await control(app, 'humanic', { failureRate: 0 });
    // A body the receiver cannot take (here: a broken stored payload kept as it is) is refused for good, with the reason.
    const broken = { event: { uuid: 'u', event: 'e', distinct_id: 'd' } };
    const refused = await client().deliver(signup, broken, 'k4');
    expect(refused.kind).toBe('rejected');
    expect(refused.detail).toMatch(/HTTP 400.*invalid PostHog webhook payload/);
  });
});
