import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { utcDay } from '../../src/domain/health';
import type { Ledger } from '../../src/ledger/ledger';
import { createDataset, type Company } from '../../src/sandbox/dataset';
import { createIntake } from '../../src/starter';
import type { TraceEntry } from '../../src/workflows/messages';
import type { SignupEnrichmentWorkflow } from '../../src/workflows/signup-enrichment';
import { SECRET } from '../support/config';
import { eventually } from '../support/eventually';
import { type RunningSandbox, startSandbox } from '../support/sandbox';
import { posthogSignup } from '../support/signups';
import { isolatedStack } from '../support/stack';

interface Inspection {
  calls: { path: string; key: string | null; status: number }[];
}

/** The fall-through window of this file's pipeline: 6 s, so an outage outlasts it within the test. */
const WINDOW_MINUTES = '0.1';

// Every provider answer has a defined end, on the real Temporal server, the real worker and clients, and the
// sandbox's Clearbit and Harmonic over HTTP: a refusal moves the waterfall on at once, an outage after the window.
describe('provider refusals and outages', () => {
  const dataset = createDataset();
  // Companies and first persons both providers know completely: whichever answers, the signup can be enriched.
  const known = dataset.companies.filter(
    (c) =>
      c.knownBy.clearbit &&
      c.knownBy.harmonic &&
      c.clearbitHasIndustry &&
      !c.quirks &&
      c.people[0]?.knownBy.clearbit &&
      c.people[0].knownBy.harmonic,
  );
  const stops: (() => Promise<unknown>)[] = [];
  let sandbox: RunningSandbox;
  let ledger: Ledger;
  let client: Client;
  let base: string;

  beforeAll(async () => {
    sandbox = await startSandbox();
    stops.push(() => sandbox.close());
    const stack = await isolatedStack(
      { SANDBOX_URL: sandbox.url, DESTINATIONS: '', PROVIDER_FALLTHROUGH_MINUTES: WINDOW_MINUTES },
      { stops },
    );
    ledger = stack.ledger;
    const intake = createIntake(stack.config, ledger, { outboxPollMs: 200 });
    stops.push(() => intake.close());
    base = await intake.app.listen({ host: '127.0.0.1', port: 0 });
    client = new Client({ connection: await Connection.connect({ address: stack.config.temporal.address }) });
    stops.push(() => client.connection.close());
  });

  afterAll(async () => {
    for (const stop of stops.reverse()) await stop();
  });

  const signUp = async (company: Company) => {
    const res = await fetch(`${base}/webhooks/posthog`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${SECRET}` },
      body: JSON.stringify(posthogSignup({ email: company.people[0]!.email })),
    });
    expect(res.status).toBe(202);
    const { signupId, workflowId } = (await res.json()) as { signupId: string; workflowId: string };
    await eventually(async () => ((await client.workflow.getHandle(workflowId).describe()) ? true : undefined));
    const result = await client.workflow.getHandle<typeof SignupEnrichmentWorkflow>(workflowId).result();
    return { signupId, signup: result.signups[0]! };
  };
  const steps = (trace: TraceEntry[] | undefined) => (trace ?? []).map((t) => `${t.source}:${t.lookup}:${t.outcome}`);
  const clearbitCalls = async (key: string) =>
    (await sandbox.inspect<Inspection>('clearbit')).calls.filter((c) => c.key === key);

  it('a 422 from Clearbit: the refusal and its error type are traced, Harmonic is asked, Clearbit once', async () => {
    const company = known[0]!;
    const email = company.people[0]!.email;
    await sandbox.control('clearbit', { invalidKeys: [company.domain, email] });
    try {
      const { signupId, signup } = await signUp(company);
      expect(signup.status).toBe('enriched');
      expect(steps(signup.trace)).toEqual([
        'clearbit:company:rejected',
        'harmonic:company:found',
        'clearbit:person:rejected',
        'harmonic:person:found',
      ]);
      expect(signup.trace?.filter((t) => t.outcome === 'rejected')).toEqual([
        expect.objectContaining({ source: 'clearbit', lookup: 'company', errorType: 'params_invalid' }),
        expect.objectContaining({ source: 'clearbit', lookup: 'person', errorType: 'email_invalid' }),
      ]);
      // Each refused lookup asked exactly once: no retry of a request the provider will always refuse.
      expect((await clearbitCalls(company.domain)).map((c) => c.status)).toEqual([422]);
      expect((await clearbitCalls(email)).map((c) => c.status)).toEqual([422]);
      expect(await ledger.signups.getSignup(signupId)).toMatchObject({ status: 'enriched' });
    } finally {
      await sandbox.control('clearbit', { invalidKeys: [] });
    }
  });

  it('Clearbit down longer than the window: skipped for Harmonic, counted as an outage in health', async () => {
    const company = known[1]!;
    await sandbox.control('clearbit', { failureRate: 1 });
    try {
      const { signupId, signup } = await signUp(company);
      expect(signup.status).toBe('enriched');
      // Clearbit's person lookup is not tried again once it fell through for the company.
      expect(steps(signup.trace)).toEqual([
        'clearbit:company:provider_outage',
        'harmonic:company:found',
        'harmonic:person:found',
      ]);
      expect(signup.trace?.[0]?.detail).toMatch(/ProviderUnavailable/);
      const calls = await clearbitCalls(company.domain);
      expect(calls.length).toBeGreaterThan(1);
      expect(calls.every((c) => c.status === 500)).toBe(true);
      expect(await ledger.signups.getSignup(signupId)).toMatchObject({ status: 'enriched' });
      const evidence = await ledger.health.dayEvidence(utcDay(Date.now()));
      expect(evidence.outages?.clearbit).toBeGreaterThanOrEqual(1);
    } finally {
      await sandbox.control('clearbit', { failureRate: 0 });
    }
  });

  it('every provider down: the signup ends failed with why, and a backfill can re-run it', async () => {
    const company = known[2]!;
    await sandbox.control('clearbit', { failureRate: 1 });
    await sandbox.control('harmonic', { failureRate: 1 });
    try {
      const { signupId, signup } = await signUp(company);
      expect(steps(signup.trace)).toEqual(['clearbit:company:provider_outage', 'harmonic:company:provider_outage']);
      const reason = `missing companyName, employees, industry, country (clearbit down for ${WINDOW_MINUTES} min, harmonic down for ${WINDOW_MINUTES} min)`;
      expect(signup).toMatchObject({ status: 'failed', reason });
      const row = await ledger.signups.getSignup(signupId);
      expect(row).toMatchObject({ status: 'failed', statusReason: reason });
      expect((await ledger.health.dayEvidence(utcDay(Date.now()))).outages?.harmonic).toBeGreaterThanOrEqual(1);
      // A backfill of the signup's day picks it up again (both providers are recorded as unavailable).
      const day = utcDay(Date.parse(row!.signedUpAt));
      const candidates = await ledger.health.backfillCandidates(day, day, undefined, 100);
      expect(candidates.map((c) => c.id)).toContain(signupId);
    } finally {
      await sandbox.control('clearbit', { failureRate: 0 });
      await sandbox.control('harmonic', { failureRate: 0 });
    }
  });
});
