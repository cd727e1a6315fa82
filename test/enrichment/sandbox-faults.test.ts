import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import type { Config } from '../../src/config';
import { openLedger, type Ledger } from '../../src/ledger/ledger';
import { createDataset, type Company } from '../../src/sandbox/dataset';
import { createIntake, type Intake } from '../../src/starter';
import { creditsRestoredSignal, getStatusQuery } from '../../src/workflows/messages';
import type { SignupEnrichmentWorkflow } from '../../src/workflows/signup-enrichment';
import { SECRET, testConfig } from '../support/config';
import { eventually } from '../support/eventually';
import { type RunningSandbox, startSandbox } from '../support/sandbox';
import { posthogSignup } from '../support/signups';
import { type RunningWorker, startWorker } from '../support/stack';

interface Inspection {
  calls: { path: string; key: string | null; status: number; creditsCharged: number }[];
  creditsSpent: number;
}

// Acceptance of the enrichment waterfall under faults, on the run's real Temporal server with the real clients
// talking HTTP to the sandbox. Clay is left out here (its silence detection waits CLAY_RESULT_TIMEOUT_MINUTES;
// the workflow tests cover it on the time-skipping server).
describe('enrichment through the sandbox under faults', () => {
  const dataset = createDataset();
  // Companies Clearbit knows completely: one paid company call each, no second provider.
  const clearbitCompanies = dataset.companies.filter(
    (c) => c.knownBy.clearbit && c.clearbitHasIndustry && !c.quirks && c.people.length > 0,
  );
  let sandbox: RunningSandbox;
  const stacks: { config: Config; ledger: Ledger; worker: RunningWorker; intake: Intake; base: string }[] = [];
  let client: Client;

  async function stack(env: Record<string, string> = {}) {
    const config = testConfig({ SANDBOX_URL: sandbox.url, ENRICHMENT_PROVIDERS: 'clearbit,harmonic', ...env });
    // A ledger per stack: an earlier stack's outbox, still polling, would start this one's signups on its task queue.
    const ledger = await openLedger({ databaseUrl: undefined });
    const worker = await startWorker(config, ledger);
    const intake = createIntake(config, ledger, { outboxPollMs: 200 });
    const base = await intake.app.listen({ host: '127.0.0.1', port: 0 });
    const s = { config, ledger, worker, intake, base };
    stacks.push(s);
    return s;
  }

  beforeAll(async () => {
    sandbox = await startSandbox();
    client = new Client({ connection: await Connection.connect({ address: testConfig().temporal.address }) });
  });

  afterAll(async () => {
    for (const s of stacks) {
      await s.intake.close();
      await s.worker.shutdown();
      await s.ledger.close();
    }
    await client?.connection.close();
    await sandbox?.close();
  });

  const post = async (base: string, company: Company, person = 0) => {
    const res = await fetch(`${base}/webhooks/posthog`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${SECRET}` },
      body: JSON.stringify(posthogSignup({ email: company.people[person]!.email })),
    });
    expect(res.status).toBe(202);
    return (await res.json()) as { signupId: string; workflowId: string };
  };
  const resultOf = async (workflowId: string) => {
    await eventually(async () => ((await client.workflow.getHandle(workflowId).describe()) ? true : undefined));
    return client.workflow.getHandle<typeof SignupEnrichmentWorkflow>(workflowId).result();
  };
  const paidCalls = async (system: string, domain: string) =>
    (await sandbox.inspect<Inspection>(system)).calls.filter(
      (c) => c.key === domain && c.creditsCharged > 0 && c.path.includes('compan'),
    );

  it('credits running out mid-batch: signups wait, and all complete once credits are restored', async () => {
    const { base, config } = await stack();
    const batch = clearbitCompanies.slice(0, 12);
    const first = await Promise.all(batch.slice(0, 6).map((c) => post(base, c)));
    for (const s of first) expect((await resultOf(s.workflowId)).status).toBe('enriched');

    await sandbox.control('clearbit', { credits: 0 });
    await sandbox.control('harmonic', { credits: 0 });
    onTestFinished(async () => {
      await sandbox.control('clearbit', { credits: null });
      await sandbox.control('harmonic', { credits: null });
    });
    const second = await Promise.all(batch.slice(6).map((c) => post(base, c)));
    for (const s of second) {
      await eventually(async () => {
        const status = await client.workflow.getHandle(s.workflowId).query(getStatusQuery);
        return status.status === 'waiting_for_credits' ? true : undefined;
      });
    }
    // Visibility follows the search attributes a moment later: wait until the list shows all six.
    const expected = second.map((s) => s.workflowId).sort();
    const query = `EnrichmentStatus = 'waiting_for_credits' AND TaskQueue = '${config.temporal.taskQueue}'`;
    const waiting = await eventually(async () => {
      const ids: string[] = [];
      for await (const wf of client.workflow.list({ query })) ids.push(wf.workflowId);
      return ids.length >= expected.length ? ids.sort() : undefined;
    });
    expect(waiting).toEqual(expected);

    await sandbox.control('clearbit', { credits: null });
    await sandbox.control('harmonic', { credits: null });
    // What `enrich credits-restored` does: signal every waiting signup.
    await Promise.all(waiting.map((id) => client.workflow.getHandle(id).signal(creditsRestoredSignal, {})));
    for (const s of second) {
      const result = await resultOf(s.workflowId);
      expect(result.signups[0]?.status).toBe('enriched');
      // The person part after the wait depends on what each provider knows of the person: compare the rest.
      expect(
        result.signups[0]?.trace
          ?.slice(0, 5)
          .map((t: { source: string; lookup: string; outcome: string }) => `${t.source}:${t.lookup}:${t.outcome}`),
      ).toEqual([
        'clearbit:company:credits_exhausted',
        'harmonic:company:credits_exhausted',
        'clearbit:person:credits_exhausted',
        'harmonic:person:credits_exhausted',
        'clearbit:company:found',
      ]);
    }
    // The call log: every company paid for exactly once, nothing lost, nothing doubled.
    for (const company of batch) {
      expect(await paidCalls('clearbit', company.domain)).toHaveLength(1);
      expect(await paidCalls('harmonic', company.domain)).toHaveLength(0);
    }
  });

  it('a 429 storm and 5xx bursts fail no workflow', { timeout: 180_000 }, async () => {
    const { base } = await stack();
    await sandbox.control('clearbit', { rateLimitPerSecond: 2, failureRate: 0.2 });
    await sandbox.control('harmonic', { failureRate: 0.2 });
    const batch = clearbitCompanies.slice(12, 20);
    const started = await Promise.all(batch.map((c) => post(base, c)));
    try {
      for (const s of started) {
        const result = await resultOf(s.workflowId);
        expect(result.signups[0]?.status).toBe('enriched');
      }
      const statuses = (await sandbox.inspect<Inspection>('clearbit')).calls.map((c) => c.status);
      expect(statuses).toContain(429);
      expect(statuses).toContain(500);
      for (const company of batch) expect(await paidCalls('clearbit', company.domain)).toHaveLength(1);
    } finally {
      await sandbox.control('clearbit', { rateLimitPerSecond: null, failureRate: 0 });
      await sandbox.control('harmonic', { failureRate: 0 });
    }
  });

  it('a bad API key fails the signup fast with a clear reason', async () => {
    const { base } = await stack({ CLEARBIT_API_KEY: 'bad-key' });
    const s = await post(base, clearbitCompanies[20]!);
    const result = await resultOf(s.workflowId);
    expect(result.status).toBe('failed');
    expect(result.signups[0]?.reason).toMatch(/clearbit rejected the API key \(HTTP 401\)/);
    const description = await client.workflow.getHandle(s.workflowId).describe();
    expect(description.searchAttributes.EnrichmentStatus).toEqual(['failed']);
    // One attempt: not retried.
    const calls = (await sandbox.inspect<Inspection>('clearbit')).calls.filter(
      (c) => c.key === clearbitCompanies[20]!.domain,
    );
    expect(calls.map((c) => c.status)).toEqual([401]);
  });
});
