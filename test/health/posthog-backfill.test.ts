import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Config } from '../../src/config';
import { addDays, utcDay } from '../../src/domain/health';
import type { Ledger } from '../../src/ledger/ledger';
import { createDataset } from '../../src/sandbox/dataset';
import { fromPosthog, workflowIdFor } from '../../src/intake/normalize';
import { posthogWebhookSchema } from '../../src/intake/schemas';
import { createIntake, type Intake } from '../../src/starter';
import { BackfillOutageWindowWorkflow } from '../../src/workflows/backfill-outage-window';
import { backfillWorkflowId, type BackfillResult } from '../../src/workflows/messages';
import { SECRET } from '../support/config';
import { eventually } from '../support/eventually';
import { type RunningSandbox, startSandbox } from '../support/sandbox';
import { isolatedStack } from '../support/stack';

interface Call {
  kind: string;
  key: string | null;
  status: number;
  note?: string;
}

/**
 * A day PostHog's webhook destination was disabled: the signups were captured in PostHog (and are in its query API)
 * but never reached the intake. A backfill of that day reads them from PostHog's query API, records them through the
 * intake's own path and enriches them; a second backfill, or the destination delivering one late, adds nothing. All
 * against the sandbox's PostHog (capture, destination, HogQL), the real worker on the dev server and PostgreSQL.
 */
describe('backfill of signups PostHog recorded but never delivered', () => {
  const stops: (() => Promise<unknown>)[] = [];
  let sandbox: RunningSandbox;
  let config: Config;
  let ledger: Ledger;
  let intake: Intake;
  let client: Client;
  let base: string;
  // The disabled-destination day: yesterday, a complete day the backfill window can name.
  const day = addDays(utcDay(Date.now()), -1);
  const companies = createDataset().companies.filter(
    (c) => c.knownBy.clearbit && c.clearbitHasIndustry && !c.quirks && c.people.length > 0,
  );

  beforeAll(async () => {
    sandbox = await startSandbox();
    stops.push(() => sandbox.close());
    const stack = await isolatedStack(
      {
        SANDBOX_URL: sandbox.url,
        ENRICHMENT_PROVIDERS: 'clearbit',
        DESTINATIONS: '',
        // PostHog's query API joins the backfill (on by default in live mode only).
        HEALTH_POSTHOG_CHECK: 'on',
      },
      { stops },
    );
    config = stack.config;
    ledger = stack.ledger;
    intake = createIntake(config, ledger, { outboxPollMs: 200 });
    stops.push(() => intake.close());
    base = await intake.app.listen({ host: '127.0.0.1', port: 0 });
    const connection = await Connection.connect({ address: inject('temporalAddress') });
    stops.push(() => connection.close());
    client = new Client({ connection });
    // The project's webhook destination, as the README sets it up: signup events to our intake, with its secret.
    await sandbox.control('posthog', {
      destinationUrl: `${base}/webhooks/posthog`,
      destinationAuth: SECRET,
      destinationEvents: ['user signed up'],
      destinationEnabled: true,
    });
  }, 120_000);

  afterAll(async () => {
    for (const stop of stops.reverse()) await stop();
  });

  let next = 0;
  /** A signup as the product captures it in PostHog: the event, its person's email, its organization (or none). */
  const signupEvent = (hour: number, organization = true) => {
    const company = companies[next++]!;
    return {
      uuid: randomUUID(),
      event: 'user signed up',
      distinct_id: randomUUID(),
      timestamp: `${day}T${String(hour).padStart(2, '0')}:15:00Z`,
      email: company.people[0]!.email,
      properties: {
        $set: { email: company.people[0]!.email, name: `${company.people[0]!.firstName} Example` },
        ...(organization ? { $groups: { organization: `org-${randomUUID()}` } } : {}),
      },
    };
  };
  type SignupEvent = ReturnType<typeof signupEvent>;

  const capture = async (events: SignupEvent[]) => {
    const res = await fetch(`${sandbox.url}/posthog/batch/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ api_key: 'phc_sandbox', batch: events.map(({ email: _, ...e }) => e) }),
    });
    expect(res.status).toBe(200);
  };

  const deliveries = async () =>
    (await sandbox.inspect<{ calls: Call[] }>('posthog')).calls.filter((c) => c.kind === 'callback');

  const recorded = (events: SignupEvent[]) =>
    Promise.all(events.map((e) => ledger.signups.isRecorded(e.uuid, 'no dedupe key')));

  const backfill = (workflowId: string) =>
    client.workflow.execute(BackfillOutageWindowWorkflow, {
      taskQueue: config.temporal.taskQueue,
      workflowId,
      args: [{ from: day, to: day }],
    });

  it('fetches them from the query API, records them through the intake path, enriches them, and only once', async () => {
    // The destination works in the morning: delivered, recorded, enriched.
    const delivered = [signupEvent(8), signupEvent(9)];
    await capture(delivered);
    await eventually(async () => {
      const rows = await Promise.all(delivered.map((e) => ledger.signups.listSignupsByWorkflowId(workflowIdOf(e))));
      return rows.every((r) => r[0]?.status === 'enriched') ? true : undefined;
    }, 60_000);

    // Then it is disabled for the rest of the day: PostHog still captures, nothing is delivered.
    await sandbox.control('posthog', { destinationEnabled: false });
    const lost = [signupEvent(11), signupEvent(14), signupEvent(17, false)];
    await capture(lost);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(await recorded(lost)).toEqual([false, false, false]);
    expect((await deliveries()).map((d) => d.key).sort()).toEqual(delivered.map((e) => e.uuid).sort());

    const backfillId = backfillWorkflowId(day, day);
    const first = await backfill(backfillId);
    expect(first).toMatchObject<Partial<BackfillResult>>({
      phase: 'done',
      posthogOrganizationsNotReceived: lost.length,
      found: lost.length,
      reenqueued: lost.length,
      enriched: lost.length,
      stillMissing: {},
    });
    const rows = await Promise.all(
      lost.map(async (e) => {
        const [row] = (await ledger.signups.listSignupsByWorkflowId(workflowIdOf(e))).filter(
          (r) => r.eventUuid === e.uuid,
        );
        return row;
      }),
    );
    for (const [i, row] of rows.entries()) {
      expect(row).toMatchObject({ source: 'posthog', status: 'enriched', email: lost[i]!.email });
      expect(row?.icpFields?.companyName).toBeTruthy();
      // No email in the workflow id: the organization, else a keyed hash of the distinct id.
      expect(row?.workflowId).not.toContain(lost[i]!.email);
    }
    expect(rows[2]?.workflowId).toMatch(/^signup-p[0-9a-f]{24}$/);

    // Emails stay out of the backfill's history and the signups' histories.
    const histories = await Promise.all(
      [backfillId, ...rows.map((r) => r!.workflowId!)].map(async (id) =>
        JSON.stringify(await client.workflow.getHandle(id).fetchHistory()),
      ),
    );
    for (const e of [...delivered, ...lost]) for (const h of histories) expect(h).not.toContain(e.email);

    // A second backfill of the day finds nothing more in PostHog nor in the ledger.
    const second = await backfill(`${backfillId}-again`);
    expect(second).toMatchObject({ posthogOrganizationsNotReceived: 0, found: 0, reenqueued: 0 });

    // The destination comes back and delivers one of them late: a duplicate, nothing new.
    const before = (await ledger.signups.statusCounts()).byStatus;
    await sandbox.control('posthog', { destinationEnabled: true });
    await capture([lost[0]!]);
    const late = await eventually(async () => (await deliveries()).find((d) => d.key === lost[0]!.uuid), 30_000);
    expect(late).toMatchObject({ status: 202, note: 'destination delivered' });
    expect((await ledger.signups.statusCounts()).byStatus).toEqual(before);
  }, 240_000);

  /** The workflow id the intake gives the event's signup, computed as the intake does. */
  function workflowIdOf({ email: _, ...e }: SignupEvent): string {
    const payload = posthogWebhookSchema.parse({ event: e, person: { properties: e.properties.$set } });
    return workflowIdFor(fromPosthog(payload, new Date()), config.piiHashKey);
  }
});
