import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config';
import { healthReport } from '../../src/health/operations';
import { openLedger, type Ledger } from '../../src/ledger/ledger';
import { DEAD_LETTER_REASON } from '../../src/ledger/outbox';
import { createIntake, type Intake } from '../../src/starter';
import { SECRET, testConfig } from '../support/config';
import { eventually } from '../support/eventually';
import { posthogSignup } from '../support/signups';

// The outbox against the run's real Temporal server, with no worker: these tests are about starting workflows.
describe('the outbox dead letter', () => {
  let config: Config;
  let ledger: Ledger;
  let intake: Intake;
  let base: string;
  let client: Client;

  beforeAll(async () => {
    config = testConfig();
    ledger = await openLedger({ databaseUrl: undefined });
    intake = createIntake(config, ledger, { outboxPollMs: 100 });
    base = await intake.app.listen({ host: '127.0.0.1', port: 0 });
    client = new Client({ connection: await Connection.connect({ address: config.temporal.address }) });
  });

  afterAll(async () => {
    await intake?.close();
    await client?.connection.close();
    await ledger?.close();
  });

  const post = async (body: unknown) => {
    const res = await fetch(`${base}/webhooks/posthog`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${SECRET}` },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  it('marks a signup failed when Temporal refuses its start for good, and never retries it', async () => {
    // A row recorded with an id over Temporal's limit (as an older intake could): the server answers INVALID_ARGUMENT.
    const { signup } = await ledger.signups.recordSignup({
      source: 'api',
      eventUuid: undefined,
      dedupeKey: 'dead-letter-test',
      email: 'ada@quorvalis.com',
      emailDomain: 'quorvalis.com',
      distinctId: undefined,
      personId: undefined,
      name: undefined,
      organizationId: undefined,
      organizationName: undefined,
      signedUpAt: new Date().toISOString(),
      payload: {},
      workflowId: `signup-${'x'.repeat(1200)}`,
      status: 'received',
      statusReason: undefined,
    });
    intake.outbox.kick();
    const dead = await eventually(async () => {
      const row = await ledger.signups.getSignup(signup.id);
      return row?.status === 'failed' ? row : undefined;
    });
    expect(dead.statusReason).toMatch(
      new RegExp(`^${DEAD_LETTER_REASON}: .*WorkflowId exceeds maximum allowed length`),
    );
    expect(dead.workflowStartedAt).toBeNull();
    expect(dead.startAttempts).toBe(1);

    // Another pass finds nothing to start: the dead letter is not polled again.
    expect(await intake.outbox.drain()).toBe(0);
    expect((await ledger.signups.getSignup(signup.id))?.startAttempts).toBe(1);

    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toContain('signup_outbox_dead_lettered 1');
    expect(metrics).toContain('signup_outbox_pending 0');
    expect(metrics).toMatch(/signup_workflow_starts_total\{result="dead_lettered"\} 1/);
    expect((await healthReport(ledger, config.health.rules, 1)).deadLettered).toBe(1);
  });

  it('hashes a long organization id into the workflow id and cuts the summary to its limit, so the start succeeds', async () => {
    const label = 'a'.repeat(63);
    const email = `ada@${label}.${label}.${label}.${'b'.repeat(54)}.com`;
    const orgId = '株'.repeat(100);
    const res = await post(posthogSignup({ orgId, email }));
    expect(res).toMatchObject({ status: 202, body: { status: 'accepted' } });
    expect(res.body.workflowId).toMatch(/^signup-o[0-9a-f]{24}$/);
    const started = await eventually(async () => {
      const row = await ledger.signups.getSignup(res.body.signupId as string);
      return row?.workflowStartedAt ? row : undefined;
    });
    expect(started.emailDomain).toHaveLength(250);
    const description = await client.workflow.getHandle(res.body.workflowId as string).describe();
    const summary = (await description.staticSummary()) ?? '';
    expect(Buffer.byteLength(summary)).toBeLessThanOrEqual(200);
    expect(summary.startsWith('Signup enrichment · aaaa')).toBe(true);
    await client.workflow.getHandle(res.body.workflowId as string).terminate('test done');
  });

  it('refuses an organization id over the id limit with 400, recording nothing', async () => {
    const before = (await ledger.signups.statusCounts()).byStatus;
    const res = await post(posthogSignup({ orgId: 'o'.repeat(5000) }));
    expect(res.status).toBe(400);
    expect(res.body.issues).toEqual([{ path: 'groups.organization.id', message: 'is longer than 200 characters' }]);
    expect((await ledger.signups.statusCounts()).byStatus).toEqual(before);
  });
});
