import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { HealthActivities } from '../../src/activities/health';
import type { Cause, DayClassification, WindowAssessment } from '../../src/domain/health';
import type { Incident } from '../../src/ledger/health';
import { RollingHealthCheckWorkflow } from '../../src/workflows/rolling-health-check';
import { rollingAlertKey, type RollingHealthCheckInput } from '../../src/workflows/messages';
import { failureOf, timeSkippingServer, withMockedActivities } from '../support/workflows';

const AT = '2026-11-20T15:00:00.000Z';
const credits: Cause = { kind: 'credits', system: 'harmonic', summary: 'harmonic is out of credits (9 answers)' };

const assessment = (classification: DayClassification, extra: Partial<WindowAssessment> = {}): WindowAssessment => ({
  day: '2026-11-20',
  from: '2026-11-19T15:00:00.000Z',
  to: AT,
  hours: 24,
  signups: 40,
  eligible: 30,
  writes: classification === 'healthy' ? 29 : 3,
  rate: classification === 'healthy' ? 29 / 30 : 3 / 30,
  baseline: 38,
  classification,
  reason: classification === 'enrichment_incident' ? 'write rate 10% < 50%' : 'test',
  cause: classification === 'enrichment_incident' ? credits : undefined,
  snoozedUntil: undefined,
  ...extra,
});

const incident = (extra: Partial<Incident> = {}): Incident => ({
  id: 'incident-2026-11-19',
  firstDay: '2026-11-19',
  lastDay: '2026-11-20',
  state: 'open',
  cause: credits,
  resolvedDay: undefined,
  backfill: undefined,
  recovery: undefined,
  ...extra,
});

interface World {
  assessment: WindowAssessment;
  open?: Incident;
  autoBackfill?: boolean;
}

/** Typed mocks of the health activities the rolling check uses; the daily check's own are never called. */
function healthMocks(world: World) {
  const posted = new Set<string>();
  const seen = {
    calls: [] as string[],
    windows: [] as { to: string; hours: number }[],
    incidentsAt: [] as { at: string; cause: Cause | undefined }[],
    alerts: [] as { key: string; text: string }[],
    resolved: [] as { id: string; resolvedDay: string; backfill: string }[],
    backfillWindows: [] as { from: string; to: string }[],
  };
  const call = (name: string) => seen.calls.push(name);
  const unused = () => Promise.reject(new Error('not used by the rolling check'));
  const activities: HealthActivities = {
    getEnrichmentControls: unused,
    getHealthPolicy: unused,
    checkDay: unused,
    recordIncidentDay: unused,
    incidentsAwaitingRecovery: unused,
    setIncidentRecovery: unused,
    posthogOrganizationsWithoutEnrichment: unused,
    getRollingHealthPolicy: async () => (
      call('getRollingHealthPolicy'),
      { windowHours: 24, autoBackfill: world.autoBackfill ?? false, backfillConcurrency: 2 }
    ),
    checkWindow: async (input) => {
      call('checkWindow');
      seen.windows.push(input);
      return { ...world.assessment, to: input.to, hours: input.hours };
    },
    recordIncidentAt: async (input) => {
      call('recordIncidentAt');
      seen.incidentsAt.push(input);
      return { incident: world.open ?? incident({ firstDay: '2026-11-20' }), opened: !world.open };
    },
    openIncident: async () => (call('openIncident'), world.open),
    resolveIncident: async (input) => {
      call('resolveIncident');
      seen.resolved.push(input);
    },
    postHealthAlert: async ({ key, text }) => {
      call('postHealthAlert');
      seen.alerts.push({ key, text });
      if (posted.has(key)) return 'already posted';
      posted.add(key);
      return 'posted';
    },
    // The backfill a resolution starts: an empty window, so that it ends at once.
    importPosthogSignups: async () => ({ notReceived: 0, imported: 0, unusable: 0 }),
    listBackfillCandidates: async ({ from, to }) => {
      seen.backfillWindows.push({ from, to });
      return [];
    },
    reenqueueSignups: async () => undefined,
    backfillStates: async () => [],
  };
  return { activities, seen };
}

// The rolling check's decisions on the time-skipping test server, with typed mocks of the health activities.
describe('RollingHealthCheckWorkflow', () => {
  const server = timeSkippingServer();

  async function check(world: World, ...inputs: RollingHealthCheckInput[]) {
    const { activities, seen } = healthMocks(world);
    const results = await withMockedActivities(server(), activities, async (taskQueue) => {
      const out = [];
      for (const input of inputs) {
        out.push(
          await server().client.workflow.execute(RollingHealthCheckWorkflow, {
            taskQueue,
            workflowId: `rolling-${randomUUID()}`,
            args: [input],
          }),
        );
      }
      return out;
    });
    return { results, seen };
  }

  it('opens or extends the incident and alerts it once, however many hours it lasts', async () => {
    const { results, seen } = await check(
      { assessment: assessment('enrichment_incident'), open: incident() },
      { at: AT },
      { at: '2026-11-20T16:00:00.000Z' },
    );
    expect(results.map((r) => r.alert)).toEqual(['posted', 'already posted']);
    expect(seen.alerts.map((a) => a.key)).toEqual([
      rollingAlertKey('incident-2026-11-19'),
      rollingAlertKey('incident-2026-11-19'),
    ]);
    expect(seen.incidentsAt).toEqual([
      { at: AT, cause: credits },
      { at: '2026-11-20T16:00:00.000Z', cause: credits },
    ]);
    expect(seen.windows).toEqual([
      { to: AT, hours: 24 },
      { to: '2026-11-20T16:00:00.000Z', hours: 24 },
    ]);
    const text = seen.alerts[0]!.text;
    expect(text).toMatch(
      /^:rotating_light: Enrichment incident since 2026-11-19: the 24 h to 2026-11-20 15:00 UTC had 3 enrichment writes/,
    );
    expect(text).toContain('top up harmonic, then `npx enrich credits-restored --provider harmonic`');
    expect(seen.calls).not.toContain('openIncident');
  });

  it('records a snoozed incident without alerting', async () => {
    const { results, seen } = await check(
      { assessment: assessment('enrichment_incident', { snoozedUntil: '2026-11-21' }) },
      { at: AT },
    );
    expect(results[0]).toMatchObject({ alert: 'snoozed', incident: { state: 'open' } });
    expect(seen.incidentsAt).toHaveLength(1);
    expect(seen.calls).not.toContain('postHealthAlert');
  });

  // `awaiting_recovery`: the window passes but the latest interval shows no writes back yet (combineRolling).
  it.each(['traffic_drop', 'paused', 'no_signups', 'awaiting_recovery'] as const)(
    'stays quiet on a %s window and leaves an open incident open',
    async (classification) => {
      const { results, seen } = await check({ assessment: assessment(classification), open: incident() }, { at: AT });
      expect(results[0]?.alert).toBe('none');
      expect(results[0]?.incident).toBeUndefined();
      expect(results[0]?.backfill).toBeUndefined();
      expect(seen.calls).toEqual(['getRollingHealthPolicy', 'checkWindow']);
    },
  );

  it("resolves the open incident on a healthy window, backfills its days and posts under the daily check's key", async () => {
    const { results, seen } = await check(
      { assessment: assessment('healthy'), open: incident(), autoBackfill: true },
      { at: AT, windowHours: 6 },
    );
    expect(seen.windows).toEqual([{ to: AT, hours: 6 }]);
    expect(results[0]).toMatchObject({
      alert: 'posted',
      incident: { id: 'incident-2026-11-19', state: 'resolved' },
      backfill: 'started backfill-2026-11-19-2026-11-20',
    });
    expect(seen.resolved).toEqual([
      { id: 'incident-2026-11-19', resolvedDay: '2026-11-20', backfill: 'started backfill-2026-11-19-2026-11-20' },
    ]);
    expect(seen.alerts.map((a) => a.key)).toEqual(['incident-2026-11-19:resolved']);
    expect(seen.alerts[0]!.text).toMatch(/^Resolved: enrichment writes are back \(the 6 h to 2026-11-20 15:00 UTC/);
    expect(seen.backfillWindows).toEqual([{ from: '2026-11-19', to: '2026-11-20' }]);
  });

  it('does nothing more on a healthy window without an open incident', async () => {
    const { results, seen } = await check({ assessment: assessment('healthy') }, {});
    expect(results[0]?.alert).toBe('none');
    expect(results[0]?.incident).toBeUndefined();
    expect(seen.calls).toEqual(['getRollingHealthPolicy', 'checkWindow', 'openIncident']);
    // Without `at`, the window ends at the run's start, to the minute.
    expect(seen.windows[0]!.to).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:00\.000Z$/);
  });

  it('refuses an `at` that is not a time, or a window under an hour, without calling anything', async () => {
    for (const input of [{ at: 'yesterday' }, { windowHours: 0 }]) {
      const { activities, seen } = healthMocks({ assessment: assessment('healthy') });
      const cause = await withMockedActivities(server(), activities, (taskQueue) =>
        failureOf(
          server().client.workflow.execute(RollingHealthCheckWorkflow, {
            taskQueue,
            workflowId: `rolling-${randomUUID()}`,
            args: [input],
          }),
        ),
      );
      expect(cause).toMatchObject({ type: 'InvalidInput', nonRetryable: true });
      expect(seen.calls).toEqual([]);
    }
  });
});
