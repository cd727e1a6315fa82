import { randomUUID } from 'node:crypto';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHealthActivities } from '../../src/activities/health';
import { createPosthog } from '../../src/composition';
import { createSlackClient } from '../../src/integrations/slack/client';
import { openLedger, type Ledger } from '../../src/ledger/ledger';
import { testConfig } from '../support/config';
import { type RunningSandbox, startSandbox } from '../support/sandbox';

/**
 * Live mode's extra evidence, against the sandbox's PostHog (capture and HogQL over real HTTP): PostHog counted many
 * more signups than reached our webhook, so a disabled destination is reported instead of a traffic drop, and the
 * organizations that never reached us are found for the backfill summary.
 */
describe('health check with PostHog numbers', () => {
  let sandbox: RunningSandbox;
  let ledger: Ledger;
  const day = '2031-06-10';

  beforeAll(async () => {
    sandbox = await startSandbox();
    ledger = await openLedger({ databaseUrl: undefined });
  });
  afterAll(async () => {
    await ledger?.close();
    await sandbox?.close();
  });

  it('reports signups that never reached the webhook as an incident of the PostHog destination', async () => {
    const config = testConfig({ SANDBOX_URL: sandbox.url });
    // PostHog saw 30 signups that day, three of them from organizations it has never seen enriched...
    const batch = [
      ...Array.from({ length: 30 }, (_, i) => ({
        event: 'user signed up',
        distinct_id: `person-${i}`,
        timestamp: `${day}T10:${String(i).padStart(2, '0')}:00Z`,
        uuid: randomUUID(),
      })),
      ...['org-a', 'org-b', 'org-c'].map((key) => ({
        event: '$groupidentify',
        distinct_id: `admin-${key}`,
        timestamp: `${day}T11:00:00Z`,
        properties: { $group_type: 'organization', $group_key: key, $group_set: { name: key } },
      })),
    ];
    const res = await fetch(`${sandbox.url}/posthog/batch/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ api_key: 'phc_sandbox', batch }),
    });
    expect(res.status).toBe(200);
    // ...and two reached our webhook.
    for (let i = 0; i < 2; i++) {
      await ledger.signups.recordSignup({
        source: 'posthog',
        eventUuid: randomUUID(),
        dedupeKey: randomUUID(),
        workflowId: `signup-${randomUUID()}`,
        email: undefined,
        emailDomain: undefined,
        distinctId: `person-${i}`,
        personId: undefined,
        name: undefined,
        organizationId: undefined,
        organizationName: undefined,
        signedUpAt: `${day}T10:0${i}:00.000Z`,
        status: 'received',
        statusReason: undefined,
        payload: {},
      });
    }

    const activities = createHealthActivities({
      ledger,
      health: {
        rules: config.health.rules,
        posthogSignupEvents: config.signupEvents,
        autoBackfill: true,
        backfillConcurrency: 5,
        rollingWindowHours: 24,
        piiHashKey: config.piiHashKey,
      },
      posthog: createPosthog(config),
      alerts: { slack: createSlackClient(), webhookUrl: undefined },
      temporal: () => Promise.reject(new Error('not used')),
    });
    const env = new MockActivityEnvironment();
    const assessment = await env.run(() => activities.checkDay({ day }));
    expect(assessment).toMatchObject({
      classification: 'enrichment_incident',
      signups: 2,
      reason: 'PostHog counted 30 signups, 2 reached the webhook',
      cause: { kind: 'destination', system: 'posthog' },
    });
    expect(await ledger.health.healthChecks(day, day)).toEqual([assessment]);

    const unseen: string[] = await env.run(() =>
      activities.posthogOrganizationsWithoutEnrichment({ from: day, to: day }),
    );
    expect(unseen.sort()).toEqual(['org-a', 'org-b', 'org-c']);
  });
});
