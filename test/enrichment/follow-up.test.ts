import { WorkflowNotFoundError } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { openLedger } from '../../src/ledger/ledger';
import { FIXTURE_DOMAINS, createDataset, findCompanyByDomain } from '../../src/sandbox/dataset';
import type { ControlPatches } from '../../src/sandbox/state';
import { createIntake } from '../../src/starter';
import { addSearchAttributes } from '../../src/temporal/search-attributes';
import { createWorker } from '../../src/worker';
import type { SignupEnrichmentWorkflow } from '../../src/workflows/signup-enrichment';
import { privateDatabaseUrl, SECRET, testConfig } from '../support/config';
import { eventually } from '../support/eventually';
import { type RunningSandbox, startSandbox } from '../support/sandbox';
import { posthogSignup } from '../support/signups';

const HOUR = 3_600_000;

interface Inspection {
  calls: { path: string; key: string | null; status: number; creditsCharged: number }[];
}

// A company a provider is still computing, followed up end to end: the real worker and activities, the real provider
// clients over HTTP against the sandbox, the intake's outbox starting the workflow. The time-skipping server turns the
// follow-up's hours of polling (1 min doubling to 1 h) into seconds.
describe('a company a provider is still computing, followed up through the sandbox', () => {
  const dataset = createDataset();
  let env: TestWorkflowEnvironment;
  let sandbox: RunningSandbox;
  let stops: (() => Promise<unknown>)[] = [];

  beforeAll(async () => {
    env = await TestWorkflowEnvironment.createTimeSkipping({
      server: { executable: { type: 'existing-path', path: inject('temporalTestServer') } },
    });
    await addSearchAttributes(env.connection, 'default');
  });

  afterEach(async () => {
    for (const stop of stops.reverse()) await stop();
    stops = [];
  });

  afterAll(async () => {
    await env?.teardown();
  });

  /** One signup of `domain`'s first person through intake, outbox and worker; resolves with the workflow's result. */
  async function enrich(domain: string, vars: Record<string, string>, controls: ControlPatches) {
    sandbox = await startSandbox(controls);
    stops.push(() => sandbox.close());
    const databaseUrl = await privateDatabaseUrl();
    const ledger = await openLedger({ databaseUrl });
    stops.push(() => ledger.close());
    const config = testConfig({
      TEMPORAL_ADDRESS: env.address,
      DATABASE_URL: databaseUrl,
      SANDBOX_URL: sandbox.url,
      WRITE_RETRY_INITIAL_SECONDS: '1',
      ...vars,
    });
    const worker = await createWorker({
      config,
      ledger,
      connection: env.nativeConnection,
      client: env.client,
      workflowBundle: { codePath: inject('workflowBundlePath') },
    });
    const intake = createIntake(config, ledger, { outboxPollMs: 200 });
    stops.push(() => intake.close());
    const base = await intake.app.listen({ host: '127.0.0.1', port: 0 });
    const company = findCompanyByDomain(dataset, domain)!;
    return worker.runUntil(async () => {
      const res = await fetch(`${base}/webhooks/posthog`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${SECRET}` },
        body: JSON.stringify(posthogSignup({ email: company.people[0]!.email })),
      });
      expect(res.status).toBe(202);
      const { signupId, workflowId } = (await res.json()) as { signupId: string; workflowId: string };
      const handle = env.client.workflow.getHandle<typeof SignupEnrichmentWorkflow>(workflowId);
      // The outbox starts it within a poll; result() lets the test server skip time while the workflow waits.
      const result = await eventually(async () => {
        try {
          return await handle.result();
        } catch (err) {
          if (err instanceof WorkflowNotFoundError) return undefined;
          throw err;
        }
      }, 90_000);
      const description = await handle.describe();
      const recorded = await ledger.signups.getSignup(signupId);
      return { result, description, recorded };
    });
  }

  /** The sandbox's log of company lookups of `domain` (and Harmonic's status polls): what was asked, what it cost. */
  const companyCalls = async (system: string, domain: string) =>
    (await sandbox.inspect<Inspection>(system)).calls.filter((c) => c.key === domain && c.path.includes('compan'));
  const statusPolls = async () =>
    (await sandbox.inspect<Inspection>('harmonic')).calls.filter((c) => c.path.includes('enrichment_status'));
  const hours = (d: { startTime: Date; closeTime?: Date }) => (d.closeTime!.getTime() - d.startTime.getTime()) / HOUR;

  it('Clearbit answers 202 while it computes the company: asked again until it is found, then enriched', async () => {
    const domain = FIXTURE_DOMAINS.clearbitQueuedOnce;
    // Still computing for four lookups: the signup's company and person lookups, then two follow-ups.
    const { result, description, recorded } = await enrich(
      domain,
      { ENRICHMENT_PROVIDERS: 'clearbit' },
      { clearbit: { queuedLookups: 4 } },
    );
    const signup = result.signups[0]!;
    expect(signup).toMatchObject({ status: 'enriched', provenance: { companyName: { source: 'clearbit' } } });
    expect(signup.trace?.map((t) => `${t.source}:${t.lookup}:${t.outcome}`)).toEqual([
      'clearbit:company:queued',
      'clearbit:person:queued',
      'clearbit:company:follow-up found',
    ]);
    expect(recorded).toMatchObject({ status: 'enriched' });
    expect(description.searchAttributes.EnrichmentStatus).toEqual(['enriched']);
    // Asked at 0, 1, 3 and 7 minutes (a 202 costs nothing); paid once, when Clearbit had it.
    const calls = await companyCalls('clearbit', domain);
    expect(calls.map((c) => c.status)).toEqual([202, 202, 202, 200]);
    expect(calls.map((c) => c.creditsCharged)).toEqual([0, 0, 0, 1]);
  });

  it("Harmonic schedules the company's enrichment: its urn is polled until complete, then the company is enriched", async () => {
    const domain = FIXTURE_DOMAINS.harmonicEnrichedAfterPoll;
    const { result, recorded } = await enrich(
      domain,
      { ENRICHMENT_PROVIDERS: 'clearbit,harmonic' },
      { harmonic: { enrichmentPollsBeforeDone: 3 } },
    );
    const signup = result.signups[0]!;
    expect(signup.trace?.filter((t) => t.lookup === 'company').map((t) => `${t.source}:${t.outcome}`)).toEqual([
      'clearbit:not_found',
      'harmonic:queued',
      'harmonic:follow-up found',
    ]);
    expect(signup.provenance?.companyName).toMatchObject({ source: 'harmonic' });
    expect(signup.status).toBe('enriched');
    expect(recorded).toMatchObject({ status: 'enriched' });
    // Three polls answered IN_PROGRESS, the fourth COMPLETE; then one paid lookup.
    expect((await statusPolls()).length).toBe(4);
    expect((await companyCalls('harmonic', domain)).map((c) => [c.status, c.creditsCharged])).toEqual([
      [404, 0],
      [200, 1],
    ]);
  });

  it('a company still being computed when the follow-up window ends stays as recorded, asked for nothing more', async () => {
    const domain = FIXTURE_DOMAINS.clearbitQueuedOnce;
    // Neither provider ever finishes: Clearbit keeps answering 202, Harmonic's enrichment stays IN_PROGRESS.
    const { result, description, recorded } = await enrich(
      domain,
      { ENRICHMENT_PROVIDERS: 'clearbit,harmonic', QUEUED_FOLLOW_UP_HOURS: '3' },
      { clearbit: { queuedLookups: null }, harmonic: { enrichmentPollsBeforeDone: 1000 } },
    );
    expect(result.signups[0]).toMatchObject({ status: 'not_found' });
    expect(recorded).toMatchObject({ status: 'not_found' });
    // Rounds 1, 2, 4, ... minutes apart (capped at an hour) until three hours of workflow time have passed.
    expect(hours(description)).toBeGreaterThanOrEqual(3);
    expect(hours(description)).toBeLessThan(4);
    const clearbit = await companyCalls('clearbit', domain);
    expect(clearbit.length).toBeGreaterThan(4);
    expect(clearbit.every((c) => c.status === 202 && c.creditsCharged === 0)).toBe(true);
    expect((await statusPolls()).length).toBe(clearbit.length - 1);
    expect((await companyCalls('harmonic', domain)).map((c) => c.status)).toEqual([404]);
  });
});
