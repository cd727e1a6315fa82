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
        recent: { minutes: 60, minSignups: 10 },
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

  it('imports the signups PostHog recorded that the ledger lacks, once; a dry run only counts them', async () => {
    // A past day: the intake refuses signup times more than a day ahead of its clock.
    const importDay = '2026-06-11';
    const config = testConfig({ SANDBOX_URL: sandbox.url });
    const activitiesWith = (posthogConfig = config) =>
      createHealthActivities({
        ledger,
        health: {
          rules: config.health.rules,
          posthogSignupEvents: config.signupEvents,
          autoBackfill: true,
          backfillConcurrency: 5,
          rollingWindowHours: 24,
          recent: { minutes: 60, minSignups: 10 },
          piiHashKey: config.piiHashKey,
        },
        posthog: createPosthog(posthogConfig),
        alerts: { slack: createSlackClient(), webhookUrl: undefined },
        temporal: () => Promise.reject(new Error('not used')),
      });
    const signup = (i: number, extra: Record<string, unknown> = {}) => ({
      event: 'user signed up',
      distinct_id: `importee-${i}`,
      timestamp: `${importDay}T0${i}:00:00Z`,
      uuid: randomUUID(),
      properties: {
        $set: { email: `person${i}@importee${i}.example`, ...extra },
        $groups: { organization: `imp-${i}` },
      },
    });
    // Three signups, one of which reached us; one more whose name is beyond the intake's limits; a page view.
    const events = [signup(1), signup(2), signup(3), signup(4, { name: 'x'.repeat(1000) })];
    const res = await fetch(`${sandbox.url}/posthog/batch/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        api_key: 'phc_sandbox',
        batch: [...events, { event: '$pageview', distinct_id: 'importee-1', timestamp: `${importDay}T05:00:00Z` }],
      }),
    });
    expect(res.status).toBe(200);
    await ledger.signups.recordSignup({
      source: 'posthog',
      eventUuid: events[0]!.uuid,
      dedupeKey: randomUUID(),
      workflowId: 'signup-imp-1',
      email: 'person1@importee1.example',
      emailDomain: 'importee1.example',
      distinctId: 'importee-1',
      personId: undefined,
      name: undefined,
      organizationId: 'imp-1',
      organizationName: undefined,
      signedUpAt: `${importDay}T01:00:00.000Z`,
      status: 'received',
      statusReason: undefined,
      payload: {},
    });

    // The import checks signup times against the attempt's time, as the intake does against its clock.
    const env = new MockActivityEnvironment({ currentAttemptScheduledTimestampMs: Date.now() });
    const activities = activitiesWith();
    const window = { from: importDay, to: importDay };
    expect(await env.run(() => activities.importPosthogSignups({ ...window, dryRun: true }))).toEqual({
      notReceived: 2,
      imported: 0,
      unusable: 1,
    });
    expect(await ledger.signups.listSignupsByWorkflowId('signup-imp-2')).toEqual([]);

    expect(await env.run(() => activities.importPosthogSignups({ ...window, dryRun: false }))).toEqual({
      notReceived: 2,
      imported: 2,
      unusable: 1,
    });
    for (const i of [2, 3]) {
      const [row] = await ledger.signups.listSignupsByWorkflowId(`signup-imp-${i}`);
      expect(row).toMatchObject({
        source: 'posthog',
        eventUuid: events[i - 1]!.uuid,
        email: `person${i}@importee${i}.example`,
        organizationId: `imp-${i}`,
        signedUpAt: `${importDay}T0${i}:00:00.000Z`,
        status: 'received',
      });
    }
    expect(await ledger.signups.listSignupsByWorkflowId('signup-imp-4')).toEqual([]);
    // Again: nothing new.
    expect(await env.run(() => activities.importPosthogSignups({ ...window, dryRun: false }))).toEqual({
      notReceived: 0,
      imported: 0,
      unusable: 1,
    });

    // PostHog refusing our key stops the import, not the backfill.
    const refused = activitiesWith(testConfig({ SANDBOX_URL: sandbox.url, POSTHOG_PERSONAL_API_KEY: 'bad-key' }));
    expect(await env.run(() => refused.importPosthogSignups({ ...window, dryRun: false }))).toEqual({
      notReceived: 0,
      imported: 0,
      unusable: 0,
    });
  });
});
