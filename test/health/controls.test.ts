import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { Client, Connection, ScheduleOverlapPolicy } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config';
import { addDays, utcDay } from '../../src/domain/health';
import { MAX_SNOOZE_DAYS } from '../../src/health/operations';
import { openLedger, type Ledger } from '../../src/ledger/ledger';
import { createDataset } from '../../src/sandbox/dataset';
import { createIntake, type Intake } from '../../src/starter';
import { CreditExhaustionDetectorWorkflow } from '../../src/workflows/credit-exhaustion-detector';
import { getStatusQuery } from '../../src/workflows/messages';
import { runEnrich } from '../support/cli';
import { ADMIN_TOKEN, SECRET, testConfig } from '../support/config';
import { eventually } from '../support/eventually';
import { type RunningSandbox, startSandbox } from '../support/sandbox';
import { posthogSignup } from '../support/signups';
import { type RunningWorker, startWorker } from '../support/stack';

const root = path.resolve(__dirname, '../..');

/**
 * Pause, traffic drops and snooze on the run's Temporal server, operated through the `enrich` CLI (a real child
 * process) against the starter's operator API; a ledger of its own so that the daily counts are this test's alone.
 */
describe('health controls: pause, traffic drop, snooze, and the enrich CLI', () => {
  let sandbox: RunningSandbox;
  let ledger: Ledger;
  let config: Config;
  let worker: RunningWorker;
  let intake: Intake;
  let base: string;
  let client: Client;

  beforeAll(async () => {
    sandbox = await startSandbox();
    ledger = await openLedger({ databaseUrl: undefined });
    config = testConfig({
      SANDBOX_URL: sandbox.url,
      ENRICHMENT_PROVIDERS: 'clearbit',
      DESTINATIONS: '',
      HEALTH_MIN_WRITES: '4',
      HEALTH_TRAILING_DAYS: '3',
    });
    worker = await startWorker(config, ledger);
    // Seeded signups are never started by the outbox: it polls once a minute and they are marked started at once.
    intake = createIntake(config, ledger, { outboxPollMs: 60_000 });
    base = await intake.app.listen({ host: '127.0.0.1', port: 0 });
    client = new Client({ connection: await Connection.connect({ address: config.temporal.address }) });
  });

  afterAll(async () => {
    await intake?.close();
    await worker?.shutdown();
    await client?.connection.close();
    await ledger?.close();
    await sandbox?.close();
  });

  /** `npx enrich ...` as an operator runs it, against this file's starter and task queue. */
  const enrich = (...args: string[]) =>
    runEnrich(
      {
        ENRICH_API_URL: base,
        ADMIN_TOKEN,
        TEMPORAL_ADDRESS: config.temporal.address,
        TEMPORAL_TASK_QUEUE: config.temporal.taskQueue,
      },
      args,
    );

  const detect = (day: string) =>
    client.workflow.execute(CreditExhaustionDetectorWorkflow, {
      taskQueue: config.temporal.taskQueue,
      workflowId: `health-${randomUUID()}`,
      args: [{ day }],
    });

  const incidentMessages = async () =>
    ((await sandbox.inspect<{ records?: { message?: { fields: unknown }[] } }>('slack')).records?.message ?? [])
      .map((m) => JSON.stringify(m.fields))
      .filter((t) => t.includes('Enrichment incident'));

  /** Days of signups straight into the ledger: `signups` a day, `writes` of them recorded with ICP fields. */
  async function seed(days: { day: string; signups: number; writes: number }[]) {
    for (const d of days) {
      for (let i = 0; i < d.signups; i++) {
        const key = randomUUID();
        const { signup } = await ledger.signups.recordSignup({
          source: 'api',
          eventUuid: undefined,
          dedupeKey: key,
          workflowId: `signup-seeded-${key}`,
          email: `person.${i}@seeded-${key.slice(0, 8)}.example`,
          emailDomain: `seeded-${key.slice(0, 8)}.example`,
          distinctId: key,
          personId: undefined,
          name: undefined,
          organizationId: undefined,
          organizationName: undefined,
          signedUpAt: `${d.day}T11:00:00.000Z`,
          status: 'received',
          statusReason: undefined,
          payload: {},
        });
        await ledger.outbox.markWorkflowStarted(signup.id);
        if (i < d.writes) {
          await ledger.signups.recordEnrichment(signup.id, {
            status: 'enriched',
            reason: undefined,
            fields: { companyName: 'Seeded', employees: 50, industry: 'Software', country: 'US' },
            provenance: {},
            score: undefined,
            creditsSpent: {},
            at: `${d.day}T12:00:00.000Z`,
          });
        }
      }
    }
  }

  it('pauses without spending credits or alerting, and resumes where it stopped', async () => {
    const paused = await enrich('pause', '--reason', 'switching enrichment vendors');
    expect(paused).toMatchObject({ code: 0 });
    expect(paused.stdout).toContain('enrichment paused');

    const company = createDataset().companies.find((c) => c.knownBy.clearbit && !c.quirks && c.people.length > 0)!;
    const res = await fetch(`${base}/webhooks/posthog`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${SECRET}` },
      body: JSON.stringify(posthogSignup({ email: company.people[0]!.email })),
    });
    const { workflowId } = (await res.json()) as { workflowId: string };
    const handle = client.workflow.getHandle(workflowId);
    const status = await eventually(async () => {
      const s = await handle.query(getStatusQuery).catch(() => undefined);
      return s?.status === 'paused' ? s : undefined;
    });
    expect(status.signups[0]?.reason).toBe('paused: switching enrichment vendors');
    expect((await sandbox.inspect<{ calls: unknown[] }>('clearbit')).calls).toHaveLength(0);

    const health = await enrich('health', '--days', '2');
    expect(health.code).toBe(0);
    expect(health.stdout).toMatch(/^day\s+signups\s+writes\s+rate\s+status\s+incident/);
    expect(health.stdout).toContain('enrichment is PAUSED: switching enrichment vendors');

    // A day checked while paused is expected to have no writes: no incident, no alert.
    const today = utcDay(Date.now());
    const check = await detect(today);
    expect(check).toMatchObject({ assessment: { classification: 'paused' }, alert: 'none' });
    expect(check.incident).toBeUndefined();
    expect(await incidentMessages()).toHaveLength(0);

    const resumed = await enrich('resume');
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toContain('1 running signup workflows signalled');
    const done = await eventually(async () => {
      const s = await handle.query(getStatusQuery).catch(() => undefined);
      return s?.status === 'enriched' ? s : undefined;
    });
    expect(done.signups[0]?.creditsSpent?.clearbit).toBeGreaterThan(0);
  });

  it('classifies a drop in signups as traffic, with no enrichment alert', async () => {
    await seed([
      { day: '2026-10-01', signups: 10, writes: 10 },
      { day: '2026-10-02', signups: 12, writes: 11 },
      { day: '2026-10-03', signups: 11, writes: 11 },
      { day: '2026-10-04', signups: 2, writes: 0 },
    ]);
    const check = await detect('2026-10-04');
    expect(check.assessment).toMatchObject({ classification: 'traffic_drop', signups: 2, writes: 0, baseline: 11 });
    expect(check.alert).toBe('none');
    expect(check.incident).toBeUndefined();
    expect(await incidentMessages()).toHaveLength(0);
  });

  it('keeps a snoozed alert quiet until its date, then alerts', async () => {
    // Days of their own ahead of today (no other test seeds them), near enough for a snooze (MAX_SNOOZE_DAYS).
    const first = addDays(utcDay(Date.now()), 20);
    const day = (n: number) => addDays(first, n);
    await seed([
      { day: day(0), signups: 10, writes: 10 },
      { day: day(1), signups: 10, writes: 9 },
      { day: day(2), signups: 10, writes: 10 },
      { day: day(3), signups: 10, writes: 0 },
      { day: day(4), signups: 10, writes: 1 },
      { day: day(5), signups: 10, writes: 0 },
    ]);
    const tooFar = await enrich('snooze', '--until', addDays(utcDay(Date.now()), MAX_SNOOZE_DAYS + 1));
    expect(tooFar.code).toBe(2);
    expect(tooFar.stderr).toContain(`--until may be at most ${MAX_SNOOZE_DAYS} days ahead`);
    const snoozed = await enrich('snooze', '--until', day(4));
    expect(snoozed).toMatchObject({ code: 0, stdout: `health alert snoozed until ${day(4)} (included)\n` });

    const quiet = await detect(day(3));
    expect(quiet).toMatchObject({ assessment: { classification: 'enrichment_incident' }, alert: 'snoozed' });
    expect((await detect(day(4))).alert).toBe('snoozed');
    expect(await incidentMessages()).toHaveLength(0);

    const loud = await detect(day(5));
    expect(loud).toMatchObject({ alert: 'posted', incident: { firstDay: day(3), lastDay: day(5) } });
    expect(await incidentMessages()).toHaveLength(1);

    // The health table shows the incident on its days; a dry-run backfill lists the window's unenriched signups.
    const health = await enrich('health', '--days', '1');
    expect(health.code).toBe(0);
    const dry = await enrich('backfill', '--from', day(3), '--to', day(5), '--dry-run');
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain(`dry run: window ${day(3)}..${day(5)}: 29 signups lacking ICP fields found`);
  });

  it('wakes signups waiting for credits with credits-restored', async () => {
    await sandbox.control('clearbit', { credits: 0 });
    const company = createDataset().companies.filter(
      (c) => c.knownBy.clearbit && c.clearbitHasIndustry && !c.quirks && c.people.length > 0,
    )[7]!;
    const res = await fetch(`${base}/webhooks/posthog`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${SECRET}` },
      body: JSON.stringify(posthogSignup({ email: company.people[0]!.email })),
    });
    const { workflowId } = (await res.json()) as { workflowId: string };
    const handle = client.workflow.getHandle(workflowId);
    // Listed by its search attribute, as the CLI finds it.
    await eventually(async () => {
      const { executions } = await client.workflowService.listWorkflowExecutions({
        namespace: 'default',
        query: `WorkflowId = '${workflowId}' AND EnrichmentStatus = 'waiting_for_credits'`,
      });
      return executions.length === 1 ? true : undefined;
    });
    await sandbox.control('clearbit', { credits: null });
    const woken = await enrich('credits-restored', '--provider', 'clearbit');
    expect(woken).toMatchObject({ code: 0 });
    expect(woken.stdout).toMatch(/^[1-9]\d* signups waiting for credits signalled \(clearbit restored\)/);
    // Without the signal it would wait 15 minutes before trying again.
    const done = await eventually(async () => {
      const s = await handle.query(getStatusQuery);
      return s.status === 'enriched' ? s : undefined;
    });
    expect(done.signups[0]?.fields?.companyName).toBe(company.name);
  });

  it('applies the schedules idempotently and replays an exported history', async () => {
    const first = await enrich('schedules', 'apply');
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/^schedule enrichment-health-daily: (created|updated)$/m);
    const second = await enrich('schedules', 'apply');
    expect(second.stdout).toContain('schedule enrichment-health-daily: updated');
    const schedule = await client.schedule.getHandle('enrichment-health-daily').describe();
    expect(schedule.action).toMatchObject({ workflowType: 'CreditExhaustionDetectorWorkflow' });
    expect(schedule.spec.calendars).toMatchObject([{ hour: [{ start: 9 }], minute: [{ start: 0 }] }]);
    await client.schedule.getHandle('enrichment-health-daily').delete();
    expect(second.stdout).toContain('schedule salesforce-weekend-reenrichment: updated');
    const weekend = await client.schedule.getHandle('salesforce-weekend-reenrichment').describe();
    expect(weekend.action).toMatchObject({ workflowType: 'SalesforceReEnrichmentWorkflow' });
    expect(weekend.spec.calendars).toMatchObject([
      { dayOfWeek: [{ start: 'SATURDAY' }], hour: [{ start: 2 }], minute: [{ start: 0 }] },
    ]);
    expect(weekend.policies.overlap).toBe(ScheduleOverlapPolicy.SKIP);
    await client.schedule.getHandle('salesforce-weekend-reenrichment').delete();
    expect(second.stdout).toContain('schedule raw-data-retention-daily: updated');
    const retention = await client.schedule.getHandle('raw-data-retention-daily').describe();
    expect(retention.action).toMatchObject({ workflowType: 'PurgeExpiredRawDataWorkflow' });
    expect(retention.spec.calendars).toMatchObject([{ hour: [{ start: 3 }], minute: [{ start: 30 }] }]);
    expect(retention.policies.overlap).toBe(ScheduleOverlapPolicy.SKIP);
    await client.schedule.getHandle('raw-data-retention-daily').delete();
    expect(second.stdout).toContain('schedule enrichment-health-hourly: updated');
    const hourly = await client.schedule.getHandle('enrichment-health-hourly').describe();
    await client.schedule.getHandle('enrichment-health-hourly').delete();
    expect(hourly.action).toMatchObject({
      workflowType: 'RollingHealthCheckWorkflow',
      staticSummary: 'Rolling health check · last 24 h · every 60 min',
    });
    expect(hourly.spec.intervals).toMatchObject([{ every: 3_600_000 }]);
    expect(hourly.policies.overlap).toBe(ScheduleOverlapPolicy.SKIP);

    const file = path.join(root, 'test/fixtures/histories/signup-fan-out.json');
    const replayed = await enrich('replay', file);
    expect(replayed).toMatchObject({ code: 0 });
    expect(replayed.stdout).toContain(`${file} replays against today's workflow code`);
  }, 120_000);

  it('answers bad input with one clear line and a non-zero exit', async () => {
    const past = await enrich('snooze', '--until', '2020-01-01');
    expect(past.code).toBe(2);
    expect(past.stderr.trim()).toBe(
      'enrich: the starter answered 400: --until must be a day from today on, as YYYY-MM-DD (got "2020-01-01")',
    );
    const usage = await enrich('backfill', '--from', '2026-11-31', '--to', '2026-12-01');
    expect(usage.code).toBe(2);
    expect(usage.stderr.split('\n')[0]).toBe('enrich: --from and --to must be days as YYYY-MM-DD');
    const unknown = await enrich('frobnicate');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr.split('\n')[0]).toBe('enrich: unknown command "frobnicate"');
  });
});
