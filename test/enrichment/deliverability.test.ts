import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createLedgerActivities } from '../../src/activities/ledger';
import { dnsDeliverability } from '../../src/integrations/dns/deliverability';
import { openLedger } from '../../src/ledger/ledger';
import { DNS_FIXTURE_DOMAINS, FIXTURE_DOMAINS } from '../../src/sandbox/dataset';
import { createIntake, type Intake } from '../../src/starter';
import { getStatusQuery, type SignupEnrichmentStatus } from '../../src/workflows/messages';
import { SECRET } from '../support/config';
import { eventually } from '../support/eventually';
import type { Inspection, RunningSandbox } from '../support/sandbox';
import { startSandbox } from '../support/sandbox';
import { posthogSignup, UNSETTLED } from '../support/signups';
import { isolatedStack } from '../support/stack';

// Deliverability screening end to end: intake, the real worker on the run's Temporal server, a PostgreSQL ledger,
// and the sandbox — its providers over HTTP and its DNS server over UDP, which the worker's resolver is pointed at.
describe('deliverability screening', () => {
  let sandbox: RunningSandbox;
  let dnsServer: string;
  let client: Client;
  const stops: (() => Promise<unknown>)[] = [];

  beforeAll(async () => {
    sandbox = await startSandbox();
    dnsServer = ((await (await fetch(`${sandbox.url}/_fixtures`)).json()) as { dns: string }).dns;
    client = new Client({ connection: await Connection.connect({ address: inject('temporalAddress') }) });
  });

  afterAll(async () => {
    await sandbox?.control('dns', { failure: null });
    for (const stop of stops.reverse()) await stop();
    await client?.connection.close();
    await sandbox?.close();
  });

  /** A pipeline of its own (task queue, ledger, worker, intake) with screening on, asking the sandbox's DNS server. */
  async function pipeline() {
    const { config, ledger } = await isolatedStack(
      { SANDBOX_URL: sandbox.url, SCREEN_DELIVERABILITY: 'true', DNS_SERVERS: dnsServer, DNS_TIMEOUT_MS: '300' },
      { stops },
    );
    const intake: Intake = createIntake(config, ledger, { outboxPollMs: 200 });
    const base = await intake.app.listen({ host: '127.0.0.1', port: 0 });
    stops.push(() => intake.close());
    /** Posts a signup and waits until its workflow has settled it. */
    const signUp = async (email: string) => {
      const res = await fetch(`${base}/webhooks/posthog`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${SECRET}` },
        body: JSON.stringify(posthogSignup({ email })),
      });
      expect(res.status).toBe(202);
      const { signupId, workflowId } = (await res.json()) as { signupId: string; workflowId: string };
      const status = await eventually<SignupEnrichmentStatus>(async () => {
        const s = await client.workflow.getHandle(workflowId).query(getStatusQuery);
        return s.signups.every((x) => !UNSETTLED.includes(x.status)) ? s : undefined;
      }, 60_000);
      const row = await ledger.signups.getSignup(signupId);
      return { signupId, workflowId, status, signup: status.signups[0]!, row: row! };
    };
    return { signUp };
  }

  /** Every provider call whose lookup key names `domain` (a company domain or an email at it). */
  const providerCalls = async (domain: string) => {
    const calls: Inspection['calls'] = [];
    for (const provider of ['clearbit', 'harmonic', 'clay']) {
      const inspection = await sandbox.inspect<Inspection>(provider);
      calls.push(...inspection.calls.filter((c) => c.key?.toLowerCase().endsWith(domain)));
    }
    return calls;
  };

  it('ends a signup whose domain cannot receive mail as undeliverable, with no provider call and no credit', async () => {
    const { signUp } = await pipeline();
    const creditsBefore = (await sandbox.inspect<Inspection>('clearbit')).creditsSpent;
    for (const [domain, reason] of [
      [DNS_FIXTURE_DOMAINS.noMail, 'no MX record and no A/AAAA record'],
      [DNS_FIXTURE_DOMAINS.nxdomain, 'does not exist (NXDOMAIN)'],
    ] as const) {
      const { status, signup, row } = await signUp(`maya.orlen@${domain}`);
      expect(signup).toMatchObject({ status: 'undeliverable', emailKind: 'work', domain, creditsSpent: {} });
      expect(signup.reason).toContain(reason);
      expect(status.status).toBe('undeliverable');
      // No fan-out either: nothing is written about an address that cannot exist.
      expect(signup.writes).toBeUndefined();
      expect(row).toMatchObject({ status: 'undeliverable', emailKind: 'work' });
      expect(row.statusReason).toContain(reason);
      expect(await providerCalls(domain)).toEqual([]);
    }
    expect((await sandbox.inspect<Inspection>('clearbit')).creditsSpent).toBe(creditsBefore);
    const dns = await sandbox.inspect<{ queries: { name: string }[] }>('dns');
    expect(dns.queries.map((q) => q.name)).toEqual(
      expect.arrayContaining([DNS_FIXTURE_DOMAINS.noMail, DNS_FIXTURE_DOMAINS.nxdomain]),
    );
  });

  it('enriches a deliverable signup as before, and a domain with an address but no MX is deliverable', async () => {
    const { signUp } = await pipeline();
    const enriched = await signUp(`ada.quillon@${FIXTURE_DOMAINS.clearbitComplete}`);
    expect(enriched.signup).toMatchObject({ status: 'enriched', creditsSpent: { clearbit: 2 } });
    const addressOnly = await signUp(`lena.varga@${DNS_FIXTURE_DOMAINS.addressOnly}`);
    // Known to no provider: asked, and not found — but not screened out.
    expect(addressOnly.signup.status).toBe('not_found');
    expect((await providerCalls(DNS_FIXTURE_DOMAINS.addressOnly)).length).toBeGreaterThan(0);
  });

  it('never rejects a signup when DNS fails: SERVFAIL or no answer at all', async () => {
    const { signUp } = await pipeline();
    await sandbox.control('dns', { failure: 'servfail' });
    const servfail = await signUp(`bruno.marchetti@${FIXTURE_DOMAINS.clearbitComplete}`);
    expect(servfail.signup.status).toBe('enriched');
    // Even the domain without mail gets through while DNS cannot say so.
    const noVerdict = await signUp(`maya.orlen@${DNS_FIXTURE_DOMAINS.noMail}`);
    expect(noVerdict.signup.status).toBe('not_found');
    await sandbox.control('dns', { failure: 'silent' });
    const silent = await signUp(`ada.quillon@${FIXTURE_DOMAINS.clearbitWithoutIndustry}`);
    expect(['enriched', 'partial']).toContain(silent.signup.status);
    expect(silent.signup.creditsSpent).not.toEqual({});
    await sandbox.control('dns', { failure: null });
  });

  it("observes an undeliverable signup's receipt-to-settled time once, when screening records it", async () => {
    const ledger = await openLedger({ databaseUrl: undefined });
    stops.push(() => ledger.close());
    const observed: [string, string, string][] = [];
    const screening = createLedgerActivities({
      ledger,
      deliverability: dnsDeliverability({ servers: [dnsServer], timeoutMs: 300 }),
      onSettled: (...args) => observed.push(args),
    });
    const record = async (email: string) =>
      (
        await ledger.signups.recordSignup({
          source: 'posthog',
          eventUuid: randomUUID(),
          dedupeKey: randomUUID(),
          workflowId: `signup-${randomUUID()}`,
          email,
          emailDomain: email.split('@')[1]!,
          distinctId: randomUUID(),
          personId: undefined,
          name: 'Maya Orlen',
          organizationId: randomUUID(),
          organizationName: undefined,
          signedUpAt: '2026-12-01T09:00:00.000Z',
          status: 'received',
          statusReason: undefined,
          payload: {},
        })
      ).signup;
    const undeliverable = await record(`maya.orlen@${DNS_FIXTURE_DOMAINS.noMail}`);
    expect(await screening.screenSignup({ signupId: undeliverable.id })).toMatchObject({ status: 'undeliverable' });
    // Screened again (a retried activity): the recorded outcome, not a second observation.
    expect(await screening.screenSignup({ signupId: undeliverable.id })).toMatchObject({ status: 'undeliverable' });
    expect(observed).toEqual([['undeliverable', undeliverable.receivedAt, expect.any(String) as unknown]]);
    expect(Date.parse(observed[0]![2])).toBeGreaterThanOrEqual(Date.parse(undeliverable.receivedAt));
    // A deliverable one is not settled by its screening: saveEnrichment observes it later.
    const deliverable = await record(`ada.quillon@${FIXTURE_DOMAINS.clearbitComplete}`);
    expect(await screening.screenSignup({ signupId: deliverable.id })).toMatchObject({ status: 'received' });
    expect(observed).toHaveLength(1);
  });
});
