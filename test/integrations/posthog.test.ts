import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EnrichedSignup } from '../../src/domain/fan-out';
import { createPosthogClient, ENRICHED_EVENT, PosthogQueryError } from '../../src/integrations/posthog/client';
import { type RunningSandbox, startSandbox } from '../support/sandbox';

const signup = (orgId: string, distinctId: string, enrichedAt: string): EnrichedSignup => ({
  signupId: `s-${distinctId}`,
  personKey: distinctId,
  distinctId,
  email: `${distinctId}@lumenforge.io`,
  name: 'Priya Raman',
  emailKind: 'work',
  domain: 'lumenforge.io',
  organizationId: orgId,
  organizationName: 'Lumenforge',
  signedUpAt: enrichedAt,
  status: 'enriched',
  reason: undefined,
  fields: { companyName: 'Lumenforge', employees: 85, industry: 'Software', country: 'DE', personTitle: 'CTO' },
  provenance: { companyName: { source: 'clearbit', at: enrichedAt } },
  score: undefined,
  enrichedAt,
});

// The PostHog client over real HTTP against the sandbox's capture and query APIs.
describe('PostHog client', () => {
  let sandbox: RunningSandbox;
  let client: ReturnType<typeof createPosthogClient>;

  beforeAll(async () => {
    sandbox = await startSandbox();
    client = createPosthogClient({
      captureBaseUrl: `${sandbox.url}/posthog`,
      apiBaseUrl: `${sandbox.url}/posthog`,
      projectApiKey: 'phc_sandbox',
      personalApiKey: 'phx_sandbox',
      projectId: '1',
    });
  });
  afterAll(async () => {
    await sandbox?.close();
  });

  it('writes the group, the person and the event in one batch, and a retry of it changes nothing', async () => {
    const s = signup('org-a', 'person-a', '2026-11-20T10:00:00.000Z');
    expect(await client.writeEnrichment(s, 'key-a')).toEqual({
      kind: 'written',
      detail: 'organization group, person, event',
    });
    expect((await client.writeEnrichment(s, 'key-a')).kind).toBe('written');
    const { records } = await sandbox.inspect<{
      records: Record<string, { key: string; fields: Record<string, unknown> }[]>;
    }>('posthog');
    expect(records.group?.filter((g) => g.key === 'organization:org-a')).toHaveLength(1);
    expect(records.group?.find((g) => g.key === 'organization:org-a')?.fields.properties).toMatchObject({
      name: 'Lumenforge',
      enrichment_company_name: 'Lumenforge',
      enrichment_status: 'enriched',
    });
    expect(records.person?.find((p) => p.key === 'person-a')?.fields).toMatchObject({
      properties: { enrichment_person_title: 'CTO' },
    });
    expect(records.event?.filter((e) => e.fields.event === ENRICHED_EVENT)).toHaveLength(1);
  });

  it('counts enrichment events per day and finds organizations that were never enriched', async () => {
    await client.writeEnrichment(signup('org-b', 'person-b', '2026-11-21T09:00:00.000Z'), 'key-b');
    await client.writeEnrichment(signup('org-c', 'person-c', '2026-11-21T23:59:00.000Z'), 'key-c');
    const counts = await client.dailyEventCounts(
      [ENRICHED_EVENT],
      '2026-11-20T00:00:00.000Z',
      '2026-11-22T00:00:00.000Z',
    );
    expect(counts).toEqual([
      { day: '2026-11-20', event: ENRICHED_EVENT, count: 1 },
      { day: '2026-11-21', event: ENRICHED_EVENT, count: 2 },
    ]);
    // An organization PostHog knows but we never enriched: created by the product's own $groupidentify.
    await fetch(`${sandbox.url}/posthog/batch/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        api_key: 'phc_sandbox',
        batch: [
          {
            event: '$groupidentify',
            distinct_id: 'person-d',
            timestamp: '2026-11-21T12:00:00.000Z',
            properties: { $group_type: 'organization', $group_key: 'org-d', $group_set: { name: 'Dusk' } },
          },
        ],
      }),
    });
    const missing = await client.organizationsWithoutEnrichment('2026-11-20T00:00:00.000Z', '2026-11-22T00:00:00.000Z');
    expect(missing.map((m) => m.key)).toEqual(['org-d']);
    expect(Date.parse(missing[0]!.createdAt)).toBe(Date.parse('2026-11-21T12:00:00.000Z'));
  });

  it('reports a rejected key as a typed error', async () => {
    const bad = createPosthogClient({
      captureBaseUrl: `${sandbox.url}/posthog`,
      apiBaseUrl: `${sandbox.url}/posthog`,
      projectApiKey: 'bad-key',
      personalApiKey: 'bad-key',
      projectId: '1',
    });
    expect((await bad.writeEnrichment(signup('org-e', 'person-e', '2026-11-21T00:00:00.000Z'), 'key-e')).kind).toBe(
      'auth_failed',
    );
    const error = await bad.query('SELECT count() FROM events').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PosthogQueryError);
    expect((error as PosthogQueryError).outcome.kind).toBe('auth_failed');
  });
});
