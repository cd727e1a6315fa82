import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config';
import type { Ledger } from '../../src/ledger/ledger';
import { createIntake } from '../../src/starter';
import { signupReceivedSignal } from '../../src/workflows/messages';
import { eventually } from '../support/eventually';
import { type RunningSandbox, startSandbox } from '../support/sandbox';
import { clearbitCompanies, deliver, type Delivery, runsOf, signupOf, UNSETTLED } from '../support/signups';
import { isolatedStack } from '../support/stack';

const COPIES = 50;

/**
 * The same delivery 50 times at once over real HTTP (PostHog retrying a slow answer, a proxy replaying a burst):
 * the ledger's unique keys decide, so there is one signup row, one workflow start and one paid lookup.
 */
describe('50 concurrent identical deliveries', () => {
  const stops: (() => Promise<unknown>)[] = [];
  let sandbox: RunningSandbox;
  let config: Config;
  let ledger: Ledger;
  let base: string;
  let client: Client;

  beforeAll(async () => {
    sandbox = await startSandbox();
    stops.push(() => sandbox.close());
    ({ config, ledger } = await isolatedStack({ SANDBOX_URL: sandbox.url, DESTINATIONS: '' }, { stops }));
    const intake = createIntake(config, ledger, { outboxPollMs: 200 });
    stops.push(() => intake.close());
    base = await intake.app.listen({ host: '127.0.0.1', port: 0 });
    client = new Client({ connection: await Connection.connect({ address: config.temporal.address }) });
    stops.push(() => client.connection.close());
  });

  afterAll(async () => {
    for (const stop of stops.reverse()) await stop();
  });

  /** All answers are 202, one `accepted` and the rest `duplicate`, all naming the same signup and workflow. */
  const oneSignupIn = (answers: Delivery[]) => {
    expect(answers.map((a) => a.status)).toEqual(Array(COPIES).fill(202));
    expect(answers.filter((a) => a.body.status === 'accepted')).toHaveLength(1);
    expect(answers.filter((a) => a.body.status === 'duplicate')).toHaveLength(COPIES - 1);
    const ids = new Set(answers.map((a) => `${String(a.body.signupId)} ${String(a.body.workflowId)}`));
    expect(ids.size).toBe(1);
    return { signupId: String(answers[0]!.body.signupId), workflowId: String(answers[0]!.body.workflowId) };
  };

  /** One row, one run, one signupReceived signal, one paid Clearbit call; the signup settles as enriched. */
  const oneWorkflowFor = async (signupId: string, workflowId: string, domain: string) => {
    const rows = await ledger.signups.listSignupsByWorkflowId(workflowId);
    expect(rows.map((r) => r.id)).toEqual([signupId]);

    const settled = await eventually(async () => {
      const row = await ledger.signups.getSignup(signupId);
      return row && !UNSETTLED.includes(row.status) ? row : undefined;
    }, 60_000);
    expect(settled.status).toBe('enriched');

    const handle = client.workflow.getHandle(workflowId);
    await handle.result();
    expect((await handle.describe()).status.name).toBe('COMPLETED');
    expect(await runsOf(client, workflowId)).toHaveLength(1);
    const signals = (await handle.fetchHistory()).events?.filter(
      (e) => e.workflowExecutionSignaledEventAttributes?.signalName === signupReceivedSignal.name,
    );
    expect(signals).toHaveLength(1);

    const paid = (
      await sandbox.inspect<{ calls: { key: string | null; creditsCharged: number }[] }>('clearbit')
    ).calls.filter((c) => c.key === domain && c.creditsCharged > 0);
    expect(paid).toHaveLength(1);
  };

  it('to /webhooks/posthog: one signup row and one workflow', async () => {
    const company = clearbitCompanies[0]!;
    const payload = signupOf(company);
    const answers = await Promise.all(
      Array.from({ length: COPIES }, () => deliver(base, '/webhooks/posthog', payload)),
    );
    const { signupId, workflowId } = oneSignupIn(answers);
    await oneWorkflowFor(signupId, workflowId, company.domain);
  });

  it('to /signups (no event id: the organization + person decides): one signup row and one workflow', async () => {
    const company = clearbitCompanies[1]!;
    const body = {
      email: company.people[0]!.email,
      organizationId: `org-concurrent-${company.id}-${Date.now()}`,
      organizationName: company.name,
    };
    const answers = await Promise.all(Array.from({ length: COPIES }, () => deliver(base, '/signups', body)));
    const { signupId, workflowId } = oneSignupIn(answers);
    await oneWorkflowFor(signupId, workflowId, company.domain);
  });
});
