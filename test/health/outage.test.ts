import { describe, expect, it } from 'vitest';
import { addDays, utcDay } from '../../src/domain/health';
import { BackfillOutageWindowWorkflow } from '../../src/workflows/backfill-outage-window';
import { CreditExhaustionDetectorWorkflow } from '../../src/workflows/credit-exhaustion-detector';
import { creditsRestoredSignal, type BackfillResult } from '../../src/workflows/messages';
import { useTimeSkippingStack } from '../support/stack';

/**
 * The RevOps handbook's outage, played day by day on the time-skipping server through the real intake, worker,
 * ledger and sandbox: normal traffic, then Clearbit out of credits for two days, the alert on the first complete
 * bad day, credits restored, the incident resolved and its window backfilled, and the next day's rate reported.
 */
describe('credit exhaustion: detection, resolution, backfill and recovery', () => {
  const PER_DAY = 6;
  const stack = useTimeSkippingStack({
    env: {
      ENRICHMENT_PROVIDERS: 'clearbit',
      DESTINATIONS: '',
      HEALTH_MIN_WRITES: '4',
      HEALTH_TRAILING_DAYS: '3',
      CREDITS_WAIT_MAX_DAYS: '1',
    },
  });
  const { sleepUntil, signups, recorded, waiting, slackTexts } = stack;

  /** The scheduled health check as it runs on the morning of `today` (for the day before, unless `day` is given). */
  const detect = (today: string, day?: string) =>
    stack.client.workflow.execute(CreditExhaustionDetectorWorkflow, {
      taskQueue: stack.config.temporal.taskQueue,
      workflowId: `enrichment-health-${today}`,
      args: [day ? { day } : {}],
    });

  /** The result of a workflow that polls on timers (the backfill), moving the clock ten seconds at a time. */
  const settle = async <T>(workflowId: string): Promise<T> => {
    const handle = stack.client.workflow.getHandle(workflowId);
    while ((await handle.describe()).status.name === 'RUNNING') await stack.env.sleep(10_000);
    return (await handle.result()) as T;
  };

  it('alerts on the first bad day naming the provider, resolves, backfills the window and reports recovery', async () => {
    const start = addDays(utcDay(await stack.env.currentTimeMs()), 1);
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
    await stack.sandbox.control('clearbit', { credits: 0 });
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
    await stack.sandbox.control('clearbit', { credits: null });
    for (const s of outage2) await stack.client.workflow.getHandle(s.workflowId).signal(creditsRestoredSignal, {});
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
      const row = await stack.ledger.signups.getSignup(s.signupId);
      expect(row?.status).toBe('enriched');
      expect(row?.icpFields?.companyName).toBeTruthy();
      expect(row?.icpFields?.country).toBeTruthy();
    }

    // A second backfill of the same window finds nothing more to do.
    await stack.client.workflow.start(BackfillOutageWindowWorkflow, {
      taskQueue: stack.config.temporal.taskQueue,
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
