import { describe, expect, it } from 'vitest';
import { addDays, utcDay } from '../../src/domain/health';
import { creditsRestoredSignal } from '../../src/workflows/messages';
import { RollingHealthCheckWorkflow } from '../../src/workflows/rolling-health-check';
import { useTimeSkippingStack } from '../support/stack';

/**
 * The rolling check (schedule `enrichment-health-hourly`) with its DEFAULT 24 h window (HEALTH_ROLLING_WINDOW_HOURS
 * unset) and 60 min interval, played hour by hour on the time-skipping server through the real intake, worker, ledger
 * and sandbox. Clearbit runs out of credits at 18:00: the 24 h window still passes the ratio rule (an hour of outage
 * barely moves a day), but the 19:00 check judges the hour's own signups and alerts it — not half a day later —; the
 * 20:00 check finds the same incident and posts nothing more; a quiet 21:00 hour does not resolve it; credits come
 * back and the 22:00 check resolves it; two days on, a drop in traffic during another Clearbit outage stays quiet.
 */
describe('the rolling health check', () => {
  // HEALTH_RECENT_MIN_SIGNUPS's default: settled signups of the hour it takes to open an incident.
  const MIN_SIGNUPS = 10;
  // Normal traffic per slot: four slots keep the 24 h window above the 50% rule through two hours of outage.
  const PER_SLOT = 6;
  const stack = useTimeSkippingStack({
    postgres: true,
    env: {
      ENRICHMENT_PROVIDERS: 'clearbit',
      DESTINATIONS: '',
      // Only the ratio rule: writes below half the signups with a work email.
      HEALTH_MIN_WRITES: '0',
      HEALTH_TRAILING_DAYS: '3',
      HEALTH_AUTO_BACKFILL: 'false',
      CREDITS_WAIT_MAX_DAYS: '2',
    },
  });
  const { sleepUntil, signups, recorded, waiting } = stack;

  /** The check as the schedule starts it, at the server's current time. */
  let runs = 0;
  const check = () =>
    stack.client.workflow.execute(RollingHealthCheckWorkflow, {
      taskQueue: stack.config.temporal.taskQueue,
      workflowId: `enrichment-health-rolling-${++runs}`,
      args: [{}],
    });

  const incidentAlerts = async () => (await stack.slackTexts()).filter((t) => t.includes('Enrichment incident'));

  it('alerts an outage at the next hourly run with the 24 h window, once per incident, resolves it, and stays quiet for a traffic drop', async () => {
    expect(stack.config.health.rollingWindowHours).toBe(24);
    expect(stack.config.health.checkIntervalMinutes).toBe(60);
    expect(stack.config.health.recentMinSignups).toBe(MIN_SIGNUPS);
    const day = addDays(utcDay(await stack.env.currentTimeMs()), 1);
    const later = addDays(day, 2);

    // Normal traffic: PER_SLOT signups at a time, all enriched.
    for (const hour of [2, 8, 14, 17]) {
      await sleepUntil(day, hour);
      await recorded((await signups(PER_SLOT)).map((s) => s.signupId));
    }
    await sleepUntil(day, 18);
    expect((await check()).assessment).toMatchObject({
      classification: 'healthy',
      hours: 24,
      writes: 4 * PER_SLOT,
      eligible: 4 * PER_SLOT,
      recent: { verdict: 'recovered', written: PER_SLOT, judged: PER_SLOT },
    });

    // 18:00 Clearbit runs out of credits; signups keep coming and wait.
    await stack.sandbox.control('clearbit', { credits: 0 });
    await sleepUntil(day, 18, 20);
    const outage = await signups(MIN_SIGNUPS);
    await waiting(outage.map((s) => s.signupId));

    // The 19:00 check: the 24 h window has 24 writes for 34 signups (71%, above the 50% rule), but the last hour's
    // 10 signups were all refused for credits: an incident, alerted now.
    await sleepUntil(day, 19);
    const first = await check();
    expect(first.assessment).toMatchObject({
      classification: 'enrichment_incident',
      from: `${addDays(day, -1)}T19:00:00.000Z`,
      hours: 24,
      eligible: 4 * PER_SLOT + MIN_SIGNUPS,
      writes: 4 * PER_SLOT,
      reason: `last 60 min: 0 of ${MIN_SIGNUPS} settled signups with a work email written (rate 0% < 50%)`,
      cause: { kind: 'credits', system: 'clearbit' },
      recent: { verdict: 'failing', from: `${day}T18:00:00.000Z`, minutes: 60, judged: MIN_SIGNUPS, written: 0 },
    });
    expect(first.assessment.rate).toBeCloseTo(24 / 34);
    expect(first.incident).toMatchObject({ firstDay: day, lastDay: day, state: 'open' });
    expect(first.alert).toBe('posted');
    const alerts = await incidentAlerts();
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toContain('clearbit is out of credits');
    expect(alerts[0]).toContain(`the 24 h to ${day} 19:00 UTC had 24 enrichment writes for 34 signups`);
    expect(alerts[0]).toContain('Rule: last 60 min: 0 of 10 settled signups with a work email written');

    // The 20:00 check: more signups refused in the last hour (the window: 24 of 44, still 55%): the same incident,
    // not alerted again.
    await sleepUntil(day, 19, 20);
    const more = await signups(MIN_SIGNUPS);
    await waiting(more.map((s) => s.signupId));
    await sleepUntil(day, 20);
    const second = await check();
    expect(second.assessment).toMatchObject({
      classification: 'enrichment_incident',
      eligible: 4 * PER_SLOT + 2 * MIN_SIGNUPS,
      writes: 4 * PER_SLOT,
    });
    expect(second.assessment.reason).toMatch(/^last 60 min: /);
    expect(second.incident?.id).toBe(first.incident?.id);
    expect(second.alert).toBe('already posted');
    expect(await incidentAlerts()).toHaveLength(1);

    // The 21:00 check: nobody signed up in the last hour and nothing was written. The window passes, but a quiet hour
    // is no recovery: the incident stays open and nothing is posted.
    await sleepUntil(day, 21);
    const quietHour = await check();
    expect(quietHour.assessment).toMatchObject({
      classification: 'awaiting_recovery',
      recent: { verdict: 'inconclusive' },
    });
    expect(quietHour.alert).toBe('none');
    expect(await stack.ledger.health.openIncident()).toMatchObject({ id: first.incident?.id });

    // Credits are back; the waiting signups are told and recorded. The 22:00 check sees the writes and resolves it.
    await stack.sandbox.control('clearbit', { credits: null });
    for (const s of [...outage, ...more]) {
      await stack.client.workflow.getHandle(s.workflowId).signal(creditsRestoredSignal, {});
    }
    await recorded([...outage, ...more].map((s) => s.signupId));
    await sleepUntil(day, 22);
    const resolved = await check();
    expect(resolved.assessment).toMatchObject({
      classification: 'healthy',
      writes: 4 * PER_SLOT + 2 * MIN_SIGNUPS,
      recent: { verdict: 'recovered', writes: 2 * MIN_SIGNUPS },
    });
    expect(resolved.incident).toMatchObject({ id: first.incident?.id, state: 'resolved' });
    expect(resolved.backfill).toBe(`proposed: npx enrich backfill --from ${day} --to ${day}`);
    expect(resolved.alert).toBe('posted');
    expect(await stack.ledger.health.openIncident()).toBeUndefined();

    // Two days on: Clearbit is out again, but only one signup comes in where the 24 h windows before had 32 and 12.
    await stack.sandbox.control('clearbit', { credits: 0 });
    await sleepUntil(later, 11);
    const quiet = await signups(1);
    await waiting(quiet.map((s) => s.signupId));
    await sleepUntil(later, 12);
    const drop = await check();
    expect(drop.assessment).toMatchObject({
      classification: 'traffic_drop',
      eligible: 1,
      writes: 0,
      baseline: 22,
      recent: { verdict: 'inconclusive', judged: 1 },
    });
    expect(drop.incident).toBeUndefined();
    expect(drop.alert).toBe('none');
    expect(await incidentAlerts()).toHaveLength(1);
    expect(await stack.ledger.health.openIncident()).toBeUndefined();
  }, 420_000);
});
