import { ApplicationFailure, proxyActivities, setCurrentDetails } from '@temporalio/workflow';
import type { HealthActivities } from '../activities/health';
import { percent, type WindowAssessment } from '../domain/health';
import { alertCall, ledgerScan } from './activity-options';
import { backfillResolvedWindow, incidentWindow, runbookSteps } from './health-incidents';
import { rollingAlertKey, type RollingHealthCheckInput, type RollingHealthCheckResult } from './messages';

const MINUTE_MS = 60_000;

const { checkWindow, getRollingHealthPolicy, openIncident, recordIncidentAt, resolveIncident } =
  proxyActivities<HealthActivities>(ledgerScan);
const { postHealthAlert } = proxyActivities<HealthActivities>(alertCall);

/**
 * The rolling health check (schedule `enrichment-health-hourly`): the daily check's rules over the last
 * HEALTH_ROLLING_WINDOW_HOURS, so that an outage is alerted within one check interval of the rules seeing it instead of
 * the next morning. The same incidents as the daily check: opens or extends the open one and alerts it once (not
 * every hour: the key is the incident's), stays quiet for a traffic drop, a pause or a snooze; once the window is
 * healthy again resolves the incident and backfills its days. The daily check goes on reporting each complete day and
 * the day after a resolution whether the rate held.
 */
export async function RollingHealthCheckWorkflow(
  input: RollingHealthCheckInput = {},
): Promise<RollingHealthCheckResult> {
  // The schedule's time, to the minute: the window ends where the summary says it does.
  const to = input.at ?? new Date(Math.floor(Date.now() / MINUTE_MS) * MINUTE_MS).toISOString();
  if (Number.isNaN(Date.parse(to)) || (input.windowHours !== undefined && !(input.windowHours >= 1))) {
    throw ApplicationFailure.create({
      type: 'InvalidInput',
      message: 'at must be an ISO time and windowHours at least 1',
      nonRetryable: true,
    });
  }
  const policy = await getRollingHealthPolicy();
  const assessment = await checkWindow({ to, hours: input.windowHours ?? policy.windowHours });
  const result: RollingHealthCheckResult = { assessment, incident: undefined, alert: 'none', backfill: undefined };
  const done = () => {
    setCurrentDetails(describe(result));
    return result;
  };

  if (assessment.classification === 'enrichment_incident') {
    const { incident } = await recordIncidentAt({ at: to, cause: assessment.cause });
    result.incident = incident;
    result.alert = assessment.snoozedUntil
      ? 'snoozed'
      : await postHealthAlert({ key: rollingAlertKey(incident.id), text: alertText(assessment, incident.firstDay) });
    return done();
  }
  if (assessment.classification !== 'healthy') return done();

  const open = await openIncident();
  if (!open) return done();
  const { backfillId, backfill } = await backfillResolvedWindow(open, policy, 'the hourly health check');
  result.backfill = backfill;
  const today = to.slice(0, 10);
  await resolveIncident({ id: open.id, resolvedDay: today, backfill: result.backfill });
  result.incident = { ...open, state: 'resolved' };
  // The daily check's resolution key: whichever check sees the recovery first posts it, the other finds it resolved.
  result.alert = await postHealthAlert({
    key: `${open.id}:resolved`,
    text:
      `Resolved: enrichment writes are back (${span(assessment)}: ${assessment.writes} writes, rate ` +
      `${percent(assessment.rate)}). Window ${incidentWindow(open)}: ` +
      `${policy.autoBackfill ? `backfill ${backfillId} started` : result.backfill}. ` +
      `The daily check reports whether the rate held.`,
  });
  return done();
}

const span = (a: WindowAssessment) => `the ${a.hours} h to ${a.to.slice(0, 16).replace('T', ' ')} UTC`;

function alertText(a: WindowAssessment, firstDay: string): string {
  return [
    `:rotating_light: Enrichment incident${firstDay < a.day ? ` since ${firstDay}` : ''}: ${span(a)} had ` +
      `${a.writes} enrichment writes for ${a.signups} signups (${a.eligible} with a work email; rate ` +
      `${percent(a.rate)}; usual signups ${a.baseline ?? 'unknown'}). Rule: ${a.reason}. ` +
      'Alerted once per incident by the hourly check.',
    `Likely cause: ${a.cause?.summary ?? 'unknown'}.`,
    ...runbookSteps(a.cause, firstDay, a.day),
  ].join('\n');
}

/** The Web UI's current details of a check. */
function describe(r: RollingHealthCheckResult): string {
  const a = r.assessment;
  return [
    `**Rolling health check** of ${span(a)}: ${a.classification.replace('_', ' ')}`,
    `${a.signups} signups (${a.eligible} with a work email) · ${a.writes} writes · rate ${percent(a.rate)} · ` +
      `usual signups ${a.baseline ?? 'unknown'}`,
    `Why: ${a.reason}`,
    ...(a.cause ? [`Likely cause: ${a.cause.summary}`] : []),
    ...(r.incident ? [`Incident ${r.incident.id} (${r.incident.state}) · alert: ${r.alert}`] : []),
    ...(r.backfill ? [`Backfill: ${r.backfill}`] : []),
  ].join('\n');
}
