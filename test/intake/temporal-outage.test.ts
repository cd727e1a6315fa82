import { Client, Connection } from '@temporalio/client';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { openLedger, type Ledger } from '../../src/ledger/ledger';
import { createIntake, type Intake } from '../../src/starter';
import { freePort, startDevServer, type DevServer } from '../../src/tools/dev-server';
import { privateDatabaseUrl, SECRET, testConfig } from '../support/config';
import { eventually } from '../support/eventually';
import { type RunningSandbox, startSandbox } from '../support/sandbox';
import { posthogSignup } from '../support/signups';
import { type RunningWorker, startWorker } from '../support/stack';

// A server of this file's own, so it can be stopped and started without disturbing the other test files.
describe('a signup posted while Temporal is down', () => {
  let server: DevServer | undefined;
  let ledger: Ledger | undefined;
  let intake: Intake | undefined;
  let worker: RunningWorker | undefined;
  let sandbox: RunningSandbox | undefined;

  afterAll(async () => {
    await sandbox?.close();
    await intake?.close();
    await worker?.shutdown();
    await ledger?.close();
    await server?.stop();
  });

  it('is accepted at once, kept in the outbox, and started exactly once when the server is back', async () => {
    const port = await freePort();
    sandbox = await startSandbox();
    const config = testConfig({ TEMPORAL_ADDRESS: `127.0.0.1:${port}`, SANDBOX_URL: sandbox.url });
    ledger = await openLedger({ databaseUrl: await privateDatabaseUrl() });
    intake = createIntake(config, ledger, { outboxPollMs: 200 });
    const base = await intake.app.listen({ host: '127.0.0.1', port: 0 });

    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ checks: { ledger: 'ok', temporal: 'unreachable' } });

    // A company the sandbox's Clearbit knows completely: the waterfall ends at the first provider.
    const payload = posthogSignup({ email: 'ada.quillon@quorvalis.com' });
    const res = await fetch(`${base}/webhooks/posthog`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${SECRET}` },
      body: JSON.stringify(payload),
    });
    expect(res.status).toBe(202);
    const body = (await res.json()) as { status: string; signupId: string; workflowId: string };
    expect(body.status).toBe('accepted');

    // The outbox tries, fails, and keeps the signup with the error and a later retry time.
    const failed = await eventually(async () => {
      const row = await ledger?.signups.getSignup(body.signupId);
      return row && row.startAttempts >= 1 ? row : undefined;
    });
    expect(failed.workflowStartedAt).toBeNull();
    expect(failed.lastStartError).toBeTruthy();
    expect(await ledger.outbox.countPendingStarts()).toBeGreaterThanOrEqual(1);

    // The same delivery retried by PostHog during the outage is still a duplicate, not a second signup.
    const retried = await fetch(`${base}/webhooks/posthog`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${SECRET}` },
      body: JSON.stringify(payload),
    });
    expect(await retried.json()).toMatchObject({ status: 'duplicate', signupId: body.signupId });

    server = await startDevServer({ cli: inject('temporalCli'), port });
    worker = await startWorker(config, ledger);

    const started = await eventually(async () => {
      const row = await ledger?.signups.getSignup(body.signupId);
      return row?.workflowStartedAt ? row : undefined;
    }, 60_000);
    expect(started.lastStartError).toBeNull();

    const client = new Client({ connection: await Connection.connect({ address: config.temporal.address }) });
    try {
      await client.workflow.getHandle(body.workflowId).result();
      const runs: string[] = [];
      for await (const wf of client.workflow.list({ query: `WorkflowId = '${body.workflowId}'` })) runs.push(wf.runId);
      expect(runs).toHaveLength(1);
      expect((await ledger.signups.getSignup(body.signupId))?.emailKind).toBe('work');
      expect((await ledger.signups.getSignup(body.signupId))?.enrichedAt).not.toBeNull();
    } finally {
      await client.connection.close();
    }
  });
});
