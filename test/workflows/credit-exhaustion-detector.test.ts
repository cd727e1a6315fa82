import { randomUUID } from 'node:crypto';
import { ActivityFailure, ApplicationFailure, defaultPayloadConverter } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import type { HealthActivities } from '../../src/activities/health';
import type { AlertResult } from '../../src/activities/support';
import { ErrorType } from '../../src/domain/errors';
import type { Cause, DayAssessment, DayClassification } from '../../src/domain/health';
import type { Incident } from '../../src/ledger/health';
import { CreditExhaustionDetectorWorkflow } from '../../src/workflows/credit-exhaustion-detector';
import { BackfillOutageWindowWorkflow } from '../../src/workflows/backfill-outage-window';
import { backfillWorkflowId, type BackfillInput, type DetectorInput } from '../../src/workflows/messages';
import { failureOf, timeSkippingServer, webUiMetadata, withMockedActivities } from '../support/workflows';

const DAY = '2026-11-20';
const credits: Cause = { kind: 'credits', system: 'clearbit', summary: 'clearbit is out of credits (41 answers)' };

const assessment = (classification: DayClassification, extra: Partial<DayAssessment> = {}): DayAssessment => ({
  day: DAY,
  signups: 300,
  eligible: 280,
  writes: classification === 'healthy' ? 270 : 12,
  rate: classification === 'healthy' ? 270 / 280 : 12 / 280,
  baseline: 310,
  classification,
  reason: classification === 'enrichment_incident' ? '12 writes < 250 a day' : 'test',
  cause: classification === 'enrichment_incident' ? credits : undefined,
  snoozedUntil: undefined,
  ...extra,
});

const incident = (extra: Partial<Incident> = {}): Incident => ({
  id: 'inc-1',
  firstDay: '2026-11-17',
  lastDay: '2026-11-19',
  state: 'open',
  cause: credits,
  resolvedDay: undefined,
  backfill: undefined,
  recovery: undefined,
  ...extra,
});

interface World {
  assessment: DayAssessment;
  /** The incident `openIncident` returns (none: no incident open). */
  open?: Incident;
  awaitingRecovery?: Incident[];
  autoBackfill?: boolean;
  /** How `checkDay` answers its nth call (default: the assessment). */
  checkDay?: (call: number) => DayAssessment;
  /** How `postHealthAlert` answers (default: posted once per key, as the activity's guard does). */
  alert?: (key: string) => AlertResult;
}

/** Typed mocks of the health activities, recording what the workflow (and a backfill it starts) asked. */
function healthMocks(world: World) {
  const posted = new Set<string>();
  const seen = {
    calls: [] as string[],
    alerts: [] as { key: string; text: string }[],
    incidentDays: [] as { day: string; cause: Cause | undefined }[],
    resolved: [] as { id: string; resolvedDay: string; backfill: string }[],
    recoveries: [] as { id: string; recovery: string }[],
    backfillWindows: [] as { from: string; to: string }[],
  };
  const call = (name: string) => seen.calls.push(name);
  const activities: HealthActivities = {
    getEnrichmentControls: async () => ({ paused: false, pauseReason: undefined, snoozedUntil: undefined }),
    getHealthPolicy: async () => (
      call('getHealthPolicy'),
      { autoBackfill: world.autoBackfill ?? false, backfillConcurrency: 3 }
    ),
    checkDay: async ({ day }) => {
      call('checkDay');
      const n = seen.calls.filter((c) => c === 'checkDay').length;
      return { ...(world.checkDay ? world.checkDay(n) : world.assessment), day };
    },
    getRollingHealthPolicy: () => Promise.reject(new Error('not used by the daily check')),
    checkWindow: () => Promise.reject(new Error('not used by the daily check')),
    recordIncidentAt: () => Promise.reject(new Error('not used by the daily check')),
    recordIncidentDay: async (input) => {
      call('recordIncidentDay');
      seen.incidentDays.push(input);
      const first = world.open?.firstDay ?? input.day;
      return { incident: incident({ firstDay: first, lastDay: input.day }), opened: !world.open };
    },
    openIncident: async () => (call('openIncident'), world.open),
    resolveIncident: async (input) => {
      call('resolveIncident');
      seen.resolved.push(input);
    },
    incidentsAwaitingRecovery: async () => (call('incidentsAwaitingRecovery'), world.awaitingRecovery ?? []),
    setIncidentRecovery: async (input) => {
      call('setIncidentRecovery');
      seen.recoveries.push(input);
    },
    postHealthAlert: async ({ key, text }) => {
      call('postHealthAlert');
      seen.alerts.push({ key, text });
      if (world.alert) return world.alert(key);
      if (posted.has(key)) return 'already posted';
      posted.add(key);
      return 'posted';
    },
    // The backfill a resolution starts: an empty window, so that it ends at once.
    listBackfillCandidates: async ({ from, to }) => {
      seen.backfillWindows.push({ from, to });
      return [];
    },
    reenqueueSignups: async () => undefined,
    backfillStates: async () => [],
    posthogOrganizationsWithoutEnrichment: async () => [],
    importPosthogSignups: async () => ({ notReceived: 0, imported: 0, unusable: 0 }),
  };
  return { activities, seen };
}

// The daily health check's decisions on the time-skipping test server, with typed mocks of the health activities.
describe('CreditExhaustionDetectorWorkflow', () => {
  const server = timeSkippingServer();

  /** Runs the detector once per input, in order, against one set of mocks. */
  async function detect(world: World, ...inputs: DetectorInput[]) {
    const { activities, seen } = healthMocks(world);
    const results = await withMockedActivities(server(), activities, async (taskQueue) => {
      const out = [];
      for (const input of inputs) {
        out.push(
          await server().client.workflow.execute(CreditExhaustionDetectorWorkflow, {
            taskQueue,
            workflowId: `health-${randomUUID()}`,
            args: [input],
          }),
        );
      }
      return out;
    });
    return { results, seen };
  }

  it('opens an incident on a bad day and alerts once for the day, naming the cause and the runbook', async () => {
    const { results, seen } = await detect(
      { assessment: assessment('enrichment_incident') },
      { day: DAY },
      { day: DAY },
    );
    const [first, again] = results;
    expect(first).toMatchObject({
      alert: 'posted',
      incident: { id: 'inc-1', firstDay: DAY, lastDay: DAY, state: 'open' },
      recoveries: [],
    });
    expect(first?.backfill).toBeUndefined();
    expect(seen.incidentDays[0]).toEqual({ day: DAY, cause: credits });
    // A second check of the same day (a retried schedule) asks with the same key: the alert is not posted twice.
    expect(again?.alert).toBe('already posted');
    expect(seen.alerts.map((a) => a.key)).toEqual([`inc-1:${DAY}`, `inc-1:${DAY}`]);
    const text = seen.alerts[0]!.text;
    expect(text).toContain(`${DAY} had 12 enrichment writes for 300 signups`);
    expect(text).toContain('Likely cause: clearbit is out of credits (41 answers).');
    expect(text).toContain('top up clearbit, then `npx enrich credits-restored --provider clearbit`');
    expect(text).toContain(`npx enrich backfill --from ${DAY} --to ${DAY}`);
    expect(seen.calls).not.toContain('openIncident');
    expect(seen.resolved).toEqual([]);
  });

  it('extends an open incident day by day, one alert per day, saying since when', async () => {
    const { results, seen } = await detect(
      { assessment: assessment('enrichment_incident'), open: incident({ lastDay: '2026-11-19' }) },
      { day: DAY },
    );
    expect(results[0]).toMatchObject({ alert: 'posted', incident: { firstDay: '2026-11-17', lastDay: DAY } });
    expect(seen.alerts).toHaveLength(1);
    expect(seen.alerts[0]!.key).toBe(`inc-1:${DAY}`);
    expect(seen.alerts[0]!.text).toMatch(/^:rotating_light: Enrichment incident since 2026-11-17: 2026-11-20 had/);
    expect(seen.alerts[0]!.text).toContain('npx enrich backfill --from 2026-11-17 --to 2026-11-20');
  });

  it('records a snoozed incident day without posting an alert', async () => {
    const { results, seen } = await detect(
      { assessment: assessment('enrichment_incident', { snoozedUntil: '2026-11-22' }) },
      { day: DAY },
    );
    expect(results[0]).toMatchObject({ alert: 'snoozed', incident: { id: 'inc-1', state: 'open' } });
    expect(seen.incidentDays).toHaveLength(1);
    expect(seen.calls).not.toContain('postHealthAlert');
  });

  it.each(['traffic_drop', 'paused', 'no_signups'] as const)(
    'stays quiet on a %s day and leaves an open incident open',
    async (classification) => {
      const { results, seen } = await detect(
        { assessment: assessment(classification), open: incident() },
        { day: DAY },
      );
      expect(results[0]?.alert).toBe('none');
      expect(results[0]?.incident).toBeUndefined();
      expect(results[0]?.backfill).toBeUndefined();
      expect(seen.calls).not.toContain('recordIncidentDay');
      expect(seen.calls).not.toContain('openIncident');
      expect(seen.calls).not.toContain('postHealthAlert');
      expect(seen.resolved).toEqual([]);
    },
  );

  it('does nothing more on a healthy day without an open incident', async () => {
    const { results, seen } = await detect({ assessment: assessment('healthy') }, { day: DAY });
    expect(results[0]?.alert).toBe('none');
    expect(results[0]?.incident).toBeUndefined();
    expect(results[0]?.backfill).toBeUndefined();
    expect(seen.calls).toContain('openIncident');
    expect(seen.calls).not.toContain('postHealthAlert');
  });

  it('resolves an open incident on a healthy day and proposes the backfill command when not automatic', async () => {
    const { results, seen } = await detect({ assessment: assessment('healthy'), open: incident() }, { day: DAY });
    const proposed = 'proposed: npx enrich backfill --from 2026-11-17 --to 2026-11-19';
    expect(results[0]).toMatchObject({
      alert: 'posted',
      backfill: proposed,
      incident: { id: 'inc-1', firstDay: '2026-11-17', lastDay: '2026-11-19', state: 'resolved' },
    });
    expect(seen.resolved).toEqual([{ id: 'inc-1', resolvedDay: DAY, backfill: proposed }]);
    expect(seen.alerts).toHaveLength(1);
    expect(seen.alerts[0]!.key).toBe('inc-1:resolved');
    expect(seen.alerts[0]!.text).toContain('Resolved: enrichment writes are back (2026-11-20: 270 writes, rate 96%)');
    expect(seen.alerts[0]!.text).toContain(`Window 2026-11-17 to 2026-11-19: ${proposed}.`);
    // Nothing was started: no backfill read the window.
    expect(seen.backfillWindows).toEqual([]);
  });

  it('resolves an open incident and starts the backfill of its window, with the configured concurrency', async () => {
    const { activities, seen } = healthMocks({
      assessment: assessment('healthy'),
      open: incident(),
      autoBackfill: true,
    });
    const backfillId = backfillWorkflowId('2026-11-17', '2026-11-19');
    const { result, input, ui } = await withMockedActivities(server(), activities, async (taskQueue) => {
      const detector = await server().client.workflow.start(CreditExhaustionDetectorWorkflow, {
        taskQueue,
        workflowId: `health-${randomUUID()}`,
        args: [{ day: DAY }],
      });
      const result = await detector.result();
      const backfill = server().client.workflow.getHandle<typeof BackfillOutageWindowWorkflow>(backfillId);
      await backfill.result();
      const { events } = await backfill.fetchHistory();
      const payload = events![0]!.workflowExecutionStartedEventAttributes!.input!.payloads![0]!;
      const ui = { detector: await webUiMetadata(detector), backfill: await webUiMetadata(backfill) };
      return { result, input: defaultPayloadConverter.fromPayload<BackfillInput>(payload), ui };
    });
    // The Web UI: the child's summary says who started it and for which window; the check's details its outcome.
    expect(ui.backfill.summary).toBe('Backfill 2026-11-17 to 2026-11-19 · started by the health check on recovery');
    expect(ui.backfill.details).toContain('**Backfill 2026-11-17 to 2026-11-19**: done');
    expect(ui.detector.details).toBe(
      [
        `**Health check of ${DAY}**: healthy`,
        '300 signups (280 with a work email) · 270 enrichment writes · rate 96% · usual signups 310',
        'Rule: test',
        'Incident inc-1 (2026-11-17 to 2026-11-19): resolved',
        'Alert: posted',
        `Backfill: started ${backfillId}`,
      ].join('\n'),
    );
    expect(result).toMatchObject({
      backfill: `started ${backfillId}`,
      alert: 'posted',
      incident: { state: 'resolved' },
    });
    expect(input).toEqual({ from: '2026-11-17', to: '2026-11-19', concurrency: 3 });
    expect(seen.backfillWindows).toEqual([{ from: '2026-11-17', to: '2026-11-19' }]);
    expect(seen.resolved).toEqual([{ id: 'inc-1', resolvedDay: DAY, backfill: `started ${backfillId}` }]);
    expect(seen.alerts[0]!.text).toContain(`Window 2026-11-17 to 2026-11-19: backfill ${backfillId} started.`);
  });

  it('finds the backfill of the window already running and still resolves the incident', async () => {
    const window = incident({ firstDay: '2026-11-10', lastDay: '2026-11-10', id: 'inc-2' });
    const backfillId = backfillWorkflowId(window.firstDay, window.lastDay);
    // Started by `enrich backfill` on a queue no worker polls: it stays running.
    const running = await server().client.workflow.start(BackfillOutageWindowWorkflow, {
      taskQueue: `nobody-${randomUUID()}`,
      workflowId: backfillId,
      args: [{ from: window.firstDay, to: window.lastDay }],
    });
    try {
      const { results, seen } = await detect(
        { assessment: assessment('healthy'), open: window, autoBackfill: true },
        {
          day: DAY,
        },
      );
      expect(results[0]).toMatchObject({ backfill: `already running ${backfillId}`, alert: 'posted' });
      expect(seen.resolved).toEqual([{ id: 'inc-2', resolvedDay: DAY, backfill: `already running ${backfillId}` }]);
      expect(seen.alerts[0]!.text).toContain('Window 2026-11-10: backfill');
      expect(seen.backfillWindows).toEqual([]);
    } finally {
      await running.terminate('test over');
    }
  });

  it('reports recovery of incidents resolved earlier, once per incident, recovered or not', async () => {
    const resolved = [
      incident({ id: 'inc-a', state: 'resolved', resolvedDay: '2026-11-19' }),
      incident({ id: 'inc-b', firstDay: '2026-11-18', lastDay: '2026-11-18', state: 'resolved' }),
    ];
    const healthy = await detect({ assessment: assessment('healthy'), awaitingRecovery: resolved }, { day: DAY });
    expect(healthy.results[0]!.recoveries.map((r) => [r.incident, r.recovered])).toEqual([
      ['inc-a', true],
      ['inc-b', true],
    ]);
    expect(healthy.seen.recoveries.map((r) => r.id)).toEqual(['inc-a', 'inc-b']);
    expect(healthy.seen.recoveries[0]!.recovery).toBe(
      'Recovered after the enrichment incident of 2026-11-17 to 2026-11-19: 2026-11-20 had 270 writes for 280 ' +
        'signups (rate 96%, healthy).',
    );
    expect(healthy.seen.recoveries[1]!.recovery).toMatch(/^Recovered after the enrichment incident of 2026-11-18:/);
    expect(healthy.seen.alerts.map((a) => a.key)).toEqual(['inc-a:recovery', 'inc-b:recovery']);

    const bad = await detect(
      { assessment: assessment('enrichment_incident'), awaitingRecovery: [resolved[0]!] },
      {
        day: DAY,
      },
    );
    expect(bad.results[0]!.recoveries).toMatchObject([{ incident: 'inc-a', recovered: false }]);
    expect(bad.seen.recoveries[0]!.recovery).toMatch(/^Not recovered after .*\(rate 4%, enrichment incident\)\.$/);
    // The recovery report and the new day's alert: two messages, each under its own key.
    expect(bad.seen.alerts.map((a) => a.key)).toEqual(['inc-a:recovery', `inc-1:${DAY}`]);
  });

  it('retries a failing ledger read and completes', async () => {
    const { results, seen } = await detect(
      {
        assessment: assessment('enrichment_incident'),
        checkDay: (call) => {
          if (call < 3) throw new Error('connection terminated unexpectedly');
          return assessment('enrichment_incident');
        },
      },
      { day: DAY },
    );
    expect(seen.calls.filter((c) => c === 'checkDay')).toHaveLength(3);
    expect(results[0]?.alert).toBe('posted');
  });

  it('fails the check at once when the alert webhook refuses our credentials, after recording the day', async () => {
    const { activities, seen } = healthMocks({
      assessment: assessment('enrichment_incident'),
      alert: () => {
        throw ApplicationFailure.create({
          type: ErrorType.DestinationAuthFailed,
          message: 'Slack answered 403 invalid_token',
          nonRetryable: true,
        });
      },
    });
    const cause = await withMockedActivities(server(), activities, (taskQueue) =>
      failureOf(
        server().client.workflow.execute(CreditExhaustionDetectorWorkflow, {
          taskQueue,
          workflowId: `health-${randomUUID()}`,
          args: [{ day: DAY }],
        }),
      ),
    );
    expect(cause).toBeInstanceOf(ActivityFailure);
    expect((cause as ActivityFailure).cause).toMatchObject({ type: ErrorType.DestinationAuthFailed });
    expect(seen.incidentDays).toHaveLength(1);
    expect(seen.calls.filter((c) => c === 'postHealthAlert')).toHaveLength(1);
  });

  it('refuses a day that is not YYYY-MM-DD without calling anything', async () => {
    const { activities, seen } = healthMocks({ assessment: assessment('healthy') });
    const cause = await withMockedActivities(server(), activities, (taskQueue) =>
      failureOf(
        server().client.workflow.execute(CreditExhaustionDetectorWorkflow, {
          taskQueue,
          workflowId: `health-${randomUUID()}`,
          args: [{ day: '2026-11-31' }],
        }),
      ),
    );
    expect(cause).toMatchObject({ type: 'InvalidInput' });
    expect(seen.calls).toEqual([]);
  });
});
