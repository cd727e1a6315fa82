import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { getStatusQuery } from '../../src/workflows/messages';
import { eventually } from '../support/eventually';
import { posthogSignup } from '../support/signups';
import { spawnWorker, startWorker, useFanOutStack } from '../support/stack';

// The fan-out end to end: real worker, real Temporal server, PostgreSQL ledger, and the sandbox's PostHog,
// Salesforce (through jsforce over real HTTP), Vitally, Slack and webhook receiver, counted through /_inspect.
describe('fan-out', () => {
  const stack = useFanOutStack();
  const { find, settled } = stack;

  /** Every record of one signup, in every destination. */
  async function recordsOf(signup: {
    orgId: string;
    personKey: string;
    domain: string;
    signupId: string;
    email: string;
  }) {
    return {
      groups: await find('posthog', 'group', (r) => r.key === `organization:${signup.orgId}`),
      persons: await find('posthog', 'person', (r) => r.key === signup.personKey),
      events: await find(
        'posthog',
        'event',
        (r) => r.fields.event === 'organization_enriched' && r.fields.distinct_id === signup.personKey,
      ),
      accounts: await find('salesforce', 'Account', (r) => r.key === signup.domain),
      contacts: await find('salesforce', 'Contact', (r) => r.key === signup.personKey),
      vitallyAccounts: await find('vitally', 'account', (r) => r.key === signup.orgId),
      vitallyUsers: await find('vitally', 'user', (r) => r.key === signup.personKey),
      slack: await find('slack', 'message', (r) => JSON.stringify(r.fields).includes(signup.email)),
      deliveries: await find('webhooks', 'delivery', (r) => r.key.startsWith(`${signup.signupId}:`)),
    };
  }

  it('writes one signup once to every destination, and a re-run of it writes nothing again', async () => {
    const p = await stack.pipeline();
    const payload = posthogSignup({ email: 'ada.quillon@quorvalis.com' });
    const { signupId, workflowId } = await p.post(payload);
    const status = await settled(workflowId);
    expect(status.signups[0]?.writes).toMatchObject({
      posthog: { state: 'done' },
      salesforce: { state: 'done' },
      vitally: { state: 'done' },
      // Quorvalis raised $310M, over SLACK_HIGH_VALUE_MIN_FUNDING_USD (20M): a high-value signup, always alerted.
      slack: { state: 'done', detail: 'high-value message posted' },
      webhooks: { state: 'done' },
    });
    const signup = {
      orgId: payload.groups.organization.id,
      personKey: payload.event.distinct_id,
      domain: 'quorvalis.com',
      signupId,
      email: 'ada.quillon@quorvalis.com',
    };
    const first = await recordsOf(signup);
    expect(first.groups).toHaveLength(1);
    expect(first.groups[0]?.fields).toMatchObject({
      properties: { enrichment_status: 'enriched', enrichment_company_name: 'Quorvalis Systems' },
    });
    expect(first.persons).toHaveLength(1);
    expect(first.events).toHaveLength(1);
    expect(first.accounts).toHaveLength(1);
    expect(first.accounts[0]?.fields).toMatchObject({ Name: 'Quorvalis Systems', ICP_Tier__c: status.icpTier });
    expect(first.contacts).toHaveLength(1);
    expect(first.contacts[0]?.fields).toMatchObject({
      Email: 'ada.quillon@quorvalis.com',
      LastName: 'Raman',
      AccountId: first.accounts[0]?.id,
    });
    expect(first.vitallyAccounts).toHaveLength(1);
    expect(first.vitallyUsers).toHaveLength(1);
    expect(first.deliveries).toHaveLength(1);
    expect(first.deliveries[0]?.fields).toMatchObject({ verified: true });
    expect(first.deliveries[0]?.writes).toBe(1);
    // Exactly one Slack message, the high-value one, naming the person and the company.
    expect(first.slack).toHaveLength(1);
    expect(JSON.stringify(first.slack[0]?.fields)).toMatch(/High-value signup/);
    expect(JSON.stringify(first.slack[0]?.fields)).toMatch(/Quorvalis Systems/);

    // The same signup enriched again, as a backfill would: every write is found done by its idempotency key.
    const rerun = await p.rerun(signupId);
    expect(rerun.signups[0]?.writes?.salesforce?.state).toBe('done');
    expect(rerun.signups[0]?.writes?.salesforce?.detail).toMatch(/^already written/);
    const second = await recordsOf(signup);
    for (const [name, list] of Object.entries(second)) {
      expect(
        list.map((r) => [r.key, r.writes]),
        name,
      ).toEqual(first[name as keyof typeof first].map((r) => [r.key, r.writes]));
    }
  });

  it('gives three signups from one company one Account and three Contacts', async () => {
    const p = await stack.pipeline();
    const team = `org-${randomUUID()}`;
    // Two colleagues in one PostHog organization, and a third who opened an organization of their own.
    const payloads = [
      posthogSignup({ email: 'chloe.okafor@zentrivo.io', orgId: team }),
      posthogSignup({ email: 'dmitri.novak@zentrivo.io', orgId: team }),
      posthogSignup({ email: `sam.${randomUUID().slice(0, 8)}@zentrivo.io` }),
    ];
    const posted = [];
    for (const payload of payloads) posted.push(await p.post(payload));
    for (const workflowId of new Set(posted.map((x) => x.workflowId))) {
      await eventually(async () => {
        const status = await settled(workflowId);
        return status.signups.length ===
          payloads.filter((x) => `signup-${x.groups.organization.id}` === workflowId).length
          ? status
          : undefined;
      });
    }
    expect(await find('salesforce', 'Account', (r) => r.key === 'zentrivo.io')).toHaveLength(1);
    const account = (await find('salesforce', 'Account', (r) => r.key === 'zentrivo.io'))[0]!;
    const contacts = await find('salesforce', 'Contact', (r) => payloads.some((x) => x.event.distinct_id === r.key));
    expect(contacts).toHaveLength(3);
    expect(contacts.every((c) => c.fields.AccountId === account.id)).toBe(true);
    expect(await find('vitally', 'account', (r) => r.key === team)).toHaveLength(1);
    expect(await find('vitally', 'user', (r) => payloads.some((x) => x.event.distinct_id === r.key))).toHaveLength(3);
  });

  it('writes PostHog and Vitally at once while Salesforce is down, and catches Salesforce up when it returns', async () => {
    const p = await stack.pipeline();
    await stack.sandbox.control('salesforce', { failureRate: 1 });
    try {
      const payload = posthogSignup({ email: 'elena.varga@plumbrixa.ai' });
      const { workflowId } = await p.post(payload);
      const during = await eventually(async () => {
        const status = await stack.client.workflow.getHandle(workflowId).query(getStatusQuery);
        const w = status.signups[0]?.writes;
        return w?.salesforce?.state === 'retrying' && w.posthog?.state === 'done' && w.vitally?.state === 'done'
          ? w
          : undefined;
      }, 60_000);
      expect(during.salesforce?.reason).toMatch(/Salesforce unavailable/);
      expect(
        await find('posthog', 'group', (r) => r.key === `organization:${payload.groups.organization.id}`),
      ).toHaveLength(1);
      expect(await find('vitally', 'account', (r) => r.key === payload.groups.organization.id)).toHaveLength(1);
      expect(await find('salesforce', 'Contact', (r) => r.key === payload.event.distinct_id)).toHaveLength(0);

      await stack.sandbox.control('salesforce', { failureRate: 0 });
      const status = await settled(workflowId);
      expect(status.signups[0]?.writes?.salesforce).toMatchObject({ state: 'done' });
      expect(status.signups[0]?.writes?.salesforce?.attempts).toBeGreaterThan(1);
      expect(await find('salesforce', 'Contact', (r) => r.key === payload.event.distinct_id)).toHaveLength(1);
    } finally {
      await stack.sandbox.control('salesforce', { failureRate: 0 });
    }
  });

  it('fails the Salesforce write with the cause when the credentials are rejected, without retrying', async () => {
    const p = await stack.pipeline({ SALESFORCE_CLIENT_SECRET: 'bad-key' });
    const tokenCalls = async () =>
      (await stack.sandbox.inspect<{ calls: { path: string; status: number }[] }>('salesforce')).calls.filter(
        (c) => c.path.endsWith('/services/oauth2/token') && c.status === 400,
      ).length;
    const before = await tokenCalls();
    const payload = posthogSignup({ email: 'farid.rahman@plumbrixa.ai' });
    const { workflowId } = await p.post(payload);
    const status = await settled(workflowId);
    expect(status.signups[0]?.writes?.salesforce).toMatchObject({ state: 'failed', attempts: 1 });
    expect(status.signups[0]?.writes?.salesforce?.reason).toMatch(
      /Salesforce rejected the credentials \(invalid_client/,
    );
    expect(status.signups[0]?.writes?.posthog?.state).toBe('done');
    expect((await tokenCalls()) - before).toBe(1);
  });

  it('leaves exactly one record per system when the worker is killed in the middle of the fan-out', async () => {
    const p = await stack.pipeline({}, { worker: false });
    // Salesforce answers slowly, so the kill lands while its write is in flight.
    await stack.sandbox.control('salesforce', { latencyMs: 3000 });
    let child: ChildProcess | undefined = spawnWorker(p.config);
    try {
      const payload = posthogSignup({ email: 'bruno.marchetti@quorvalis.com' });
      const { signupId, workflowId } = await p.post(payload);
      await eventually(async () => {
        const status = await stack.client.workflow.getHandle(workflowId).query(getStatusQuery);
        const w = status.signups[0]?.writes;
        return w?.posthog?.state === 'done' && w.salesforce?.state === 'pending' ? true : undefined;
      }, 90_000);
      child.kill('SIGKILL');
      await new Promise((r) => child!.once('exit', r));
      child = undefined;
      await stack.sandbox.control('salesforce', { latencyMs: 0 });

      const worker = await startWorker(p.config, p.ledger);
      stack.onTeardown(() => worker.shutdown());
      const status = await settled(workflowId, 90_000);
      expect(status.signups[0]?.writes).toMatchObject({
        posthog: { state: 'done' },
        salesforce: { state: 'done' },
        vitally: { state: 'done' },
        webhooks: { state: 'done' },
      });
      const all = await recordsOf({
        orgId: payload.groups.organization.id,
        personKey: payload.event.distinct_id,
        domain: 'quorvalis.com',
        signupId,
        email: 'bruno.marchetti@quorvalis.com',
      });
      expect(all.groups).toHaveLength(1);
      expect(all.persons).toHaveLength(1);
      expect(all.events).toHaveLength(1);
      expect(all.accounts).toHaveLength(1);
      expect(all.contacts).toHaveLength(1);
      expect(all.vitallyAccounts).toHaveLength(1);
      expect(all.vitallyUsers).toHaveLength(1);
      expect(all.slack.length).toBeLessThanOrEqual(1);
      expect(all.deliveries).toHaveLength(1);
    } finally {
      child?.kill('SIGKILL');
      await stack.sandbox.control('salesforce', { latencyMs: 0 });
    }
  });
});
