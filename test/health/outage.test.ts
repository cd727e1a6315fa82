import { Client } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Config } from '../../src/config';
import { addDays, utcDay } from '../../src/domain/health';
import { openLedger, type Ledger } from '../../src/ledger/ledger';
import { createDataset, type Company } from '../../src/sandbox/dataset';
import { createIntake, type Intake } from '../../src/starter';
import { addSearchAttributes } from '../../src/temporal/search-attributes';
import { BackfillOutageWindowWorkflow } from '../../src/workflows/backfill-outage-window';
import { CreditExhaustionDetectorWorkflow } from '../../src/workflows/credit-exhaustion-detector';
import { creditsRestoredSignal, type BackfillResult } from '../../src/workflows/messages';
import { SECRET, testConfig } from '../support/config';
import { eventually } from '../support/eventually';
import { type RunningSandbox, startSandbox } from '../support/sandbox';
import { posthogSignup } from '../support/signups';
import { type RunningWorker, startWorker } from '../support/stack';

interface SlackMessage {
  fields: { text?: string; body?: { text?: string } };
}

/**
 * The RevOps handbook's outage, played day by day on the time-skipping server through the real intake, worker,
 * ledger and sandbox: normal traffic, then Clearbit out of credits for two days, the alert on the first complete
 * bad day, credits restored, the incident resolved and its window backfilled, and the next day's rate reported.
 */
describe('credit exhaustion: detection, resolution, backfill and recovery', () => {
  const PER_DAY = 6;
  let env: TestWorkflowEnvironment;
  let sandbox: RunningSandbox;
  let ledger: Ledger;
  let config: Config;
  let worker: RunningWorker;
  let intake: Intake;
  let base: string;
  // Companies Clearbit knows completely, a different one per signup: the domain cache must not hide the outage.
  const companies = createDataset().companies.filter(
    (c) => c.knownBy.clearbit && c.clearbitHasIndustry && !c.quirks && c.people.length > 0,
  );
  let nextCompany = 0;
  // A plain client: the test environment's own client lets time run free while it awaits a result, which would skip
  // past the days this test plays one by one. Here the clock moves only with env.sleep.
  let client: Client;

  beforeAll(async () => {
    env = await TestWorkflowEnvironment.createTimeSkipping({
      server: { executable: { type: 'existing-path', path: inject('temporalTestServer') } },
    });
    await addSearchAttributes(env.connection, 'default');
    client = new Client({ connection: env.connection });
    sandbox = await startSandbox();
    ledger = await openLedger({ databaseUrl: undefined });
    config = testConfig({
      TEMPORAL_ADDRESS: env.address,
      SANDBOX_URL: sandbox.url,
      ENRICHMENT_PROVIDERS: 'clearbit',
      DESTINATIONS: '',
      HEALTH_MIN_WRITES: '4',
      HEALTH_TRAILING_DAYS: '3',
      CREDITS_WAIT_MAX_DAYS: '1',
    });
    worker = await startWorker(config, ledger);
    // The intake checks signup times against its clock: it follows the test server's skipped clock.
    intake = createIntake(config, ledger, { outboxPollMs: 200, now: () => new Date(Date.now() + clockOffsetMs) });
    base = await intake.app.listen({ host: '127.0.0.1', port: 0 });
  });

  afterAll(async () => {
    await intake?.close();
    await worker?.shutdown();
    await ledger?.close();
    await sandbox?.close();
    await env?.teardown();
  });

  let clockOffsetMs = 0;

  /** Moves the server's clock to `hour`:00 UTC of `day`. */
  const sleepUntil = async (day: string, hour: number) => {
    const ms = Date.parse(`${day}T${String(hour).padStart(2, '0')}:00:00Z`) - (await env.currentTimeMs());
    if (ms > 0) await env.sleep(ms);
  };

  /** Posts a day's signups (signed up now, by the server's clock) and returns their workflow ids. */
  const signups = async (n: number): Promise<{ signupId: string; workflowId: string }[]> => {
    const posted: { signupId: string; workflowId: string }[] = [];
    for (let i = 0; i < n; i++) {
      const company: Company = companies[nextCompany++]!;
      const payload = posthogSignup({ email: company.people[0]!.email });
      const serverNow = await env.currentTimeMs();
      clockOffsetMs = serverNow - Date.now();
      payload.event.timestamp = new Date(serverNow).toISOString();
      const res = await fetch(`${base}/webhooks/posthog`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${SECRET}` },
        body: JSON.stringify(payload),
      });
      expect(res.status).toBe(202);
      posted.push((await res.json()) as { signupId: string; workflowId: string });
    }
    return posted;
  };

  const recorded = (ids: string[]) =>
    eventually(async () => {
      const rows = await Promise.all(ids.map((id) => ledger.signups.getSignup(id)));
      return rows.every((r) => r?.enrichedAt) ? rows : undefined;
    }, 60_000);

  /** Every signup of the list stuck waiting for credits (the ledger shows them unrecorded). */
  const waiting = async (ids: string[]) => {
    await eventually(async () => {
      const inspection = await sandbox.inspect<{ calls: { status: number }[] }>('clearbit');
      return inspection.calls.filter((c) => c.status === 402).length >= ids.length ? true : undefined;
    });
    const rows = await Promise.all(ids.map((id) => ledger.signups.getSignup(id)));
    expect(rows.every((r) => r?.enrichedAt === null)).toBe(true);
  };

  /** The scheduled health check as it runs on the morning of `today` (for the day before, unless `day` is given). */
  const detect = (today: string, day?: string) =>
    client.workflow.execute(CreditExhaustionDetectorWorkflow, {
      taskQueue: config.temporal.taskQueue,
      workflowId: `enrichment-health-${today}`,
      args: [day ? { day } : {}],
    });

  /** The result of a workflow that polls on timers (the backfill), moving the clock ten seconds at a time. */
  const settle = async <T>(workflowId: string): Promise<T> => {
    const handle = client.workflow.getHandle(workflowId);
    while ((await handle.describe()).status.name === 'RUNNING') await env.sleep(10_000);
    return (await handle.result()) as T;
  };

  const slackTexts = async () =>
    ((await sandbox.inspect<{ records?: { message?: SlackMessage[] } }>('slack')).records?.message ?? []).map((m) =>
      JSON.stringify(m.fields),
    );

  it('alerts on the first bad day naming the provider, resolves, backfills the window and reports recovery', async () => {
    const start = addDays(utcDay(await env.currentTimeMs()), 1);
    const day = (n: number) => addDays(start, n);

    // Three normal days.
    for (let d = 0; d < 3; d++) {
      await sleepUntil(day(d), 10);
      await recorded((await signups(PER_DAY)).map((s) => s.signupId));
    }
    await sleepUntil(day(3), 9);
    expect((await detect(day(3))).assessment).toMatchObject({ day: day(2), classification: 'healthy' });

    // Day 3: Clearbit runs out of credits. Its signups wait; after CREDITS_WAIT_MAX_DAYS they are recorded without
    // company data, Clearbit named as unavailable.
    await sandbox.control('clearbit', { credits: 0 });
    await sleepUntil(day(3), 10);
    const outage1 = await signups(PER_DAY);
    await waiting(outage1.map((s) => s.signupId));

    await sleepUntil(day(4), 9);
    const first = await detect(day(4));
    expect(first.assessment).toMatchObject({ day: day(3), classification: 'enrichment_incident', writes: 0 });
    expect(first.assessment.cause).toMatchObject({ kind: 'credits', system: 'clearbit' });
    expect(first.incident).toMatchObject({ firstDay: day(3), lastDay: day(3), state: 'open' });
    expect(first.alert).toBe('posted');
    const alerts = (await slackTexts()).filter((t) => t.includes('Enrichment incident'));
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toContain('clearbit is out of credits');
    expect(alerts[0]).toContain('npx enrich credits-restored --provider clearbit');

    // Day 4: still out.
    await sleepUntil(day(4), 10);
    const outage2 = await signups(PER_DAY);
    await sleepUntil(day(5), 9);
    const second = await detect(day(5));
    expect(second.assessment.classification).toBe('enrichment_incident');
    expect(second.incident).toMatchObject({ firstDay: day(3), lastDay: day(4), state: 'open' });
    // Day 3's signups gave up waiting (one day): recorded without company data.
    const gaveUp = await recorded(outage1.map((s) => s.signupId));
    expect(gaveUp.every((r) => r?.status === 'not_found' && r.statusReason?.includes('clearbit out of credits'))).toBe(
      true,
    );

    // Credits are topped up; the signups still waiting are told so (enrich credits-restored) and finish on day 5.
    await sandbox.control('clearbit', { credits: null });
    for (const s of outage2) await client.workflow.getHandle(s.workflowId).signal(creditsRestoredSignal, {});
    await recorded(outage2.map((s) => s.signupId));
    await sleepUntil(day(5), 10);
    await recorded((await signups(PER_DAY)).map((s) => s.signupId));

    // Day 6 morning: day 5 is healthy again, the incident resolves and its window (days 3-4) is backfilled.
    await sleepUntil(day(6), 9);
    const resolved = await detect(day(6));
    expect(resolved.assessment).toMatchObject({ day: day(5), classification: 'healthy' });
    expect(resolved.incident).toMatchObject({ firstDay: day(3), lastDay: day(4), state: 'resolved' });
    const backfillId = `backfill-${day(3)}-${day(4)}`;
    expect(resolved.backfill).toBe(`started ${backfillId}`);
    const summary = await settle<BackfillResult>(backfillId);
    expect(summary).toMatchObject({ found: PER_DAY, reenqueued: PER_DAY, enriched: PER_DAY, stillMissing: {} });
    for (const s of [...outage1, ...outage2]) {
      const row = await ledger.signups.getSignup(s.signupId);
      expect(row?.status).toBe('enriched');
      expect(row?.icpFields?.companyName).toBeTruthy();
      expect(row?.icpFields?.country).toBeTruthy();
    }

    // A second backfill of the same window finds nothing more to do.
    await client.workflow.start(BackfillOutageWindowWorkflow, {
      taskQueue: config.temporal.taskQueue,
      workflowId: `${backfillId}-again`,
      args: [{ from: day(3), to: day(4) }],
    });
    const again = await settle<BackfillResult>(`${backfillId}-again`);
    expect(again).toMatchObject({ found: 0, reenqueued: 0 });

    // Day 6's rate (the backfilled signups and the day's own) is checked and reported as recovered. The check runs
    // for day 6 by name: after the detector's abandoned backfill child, the time-skipping server stops skipping time.
    await recorded((await signups(PER_DAY)).map((s) => s.signupId));
    const next = await detect(day(7), day(6));
    expect(next.assessment).toMatchObject({ day: day(6), classification: 'healthy' });
    expect(next.recoveries).toEqual([expect.objectContaining({ recovered: true })]);
    expect((await slackTexts()).filter((t) => t.includes('Recovered after the enrichment incident'))).toHaveLength(1);
  }, 180_000);
});
