import { ApplicationFailure, proxyActivities, setCurrentDetails } from '@temporalio/workflow';
import type { HealthActivities } from '../activities/health';
import { isDay, percent, utcDay, type DayAssessment } from '../domain/health';
import { DAY_MS } from '../domain/time';
import { alertCall, ledgerScan } from './activity-options';
import { backfillResolvedWindow, incidentWindow, runbookSteps } from './health-incidents';
import type { DetectorInput, DetectorResult } from './messages';

const {
  checkDay,
  getHealthPolicy,
  incidentsAwaitingRecovery,
  openIncident,
  recordIncidentDay,
  resolveIncident,
  setIncidentRecovery,
} = proxyActivities<HealthActivities>(ledgerScan);
const { postHealthAlert } = proxyActivities<HealthActivities>(alertCall);

/**
 * The daily health check (schedule `enrichment-health-daily`): assesses the most recent complete day, opens or
 * extends an incident and alerts when enrichment writes fell while signups did not, stays quiet for a traffic drop,
 * a deliberate pause or a snooze; resolves the incident once writes are back and backfills its window; and the day
 * after, reports whether the write rate held.
 */
export async function CreditExhaustionDetectorWorkflow(input: DetectorInput = {}): Promise<DetectorResult> {
  const day = input.day ?? utcDay(Date.now() - DAY_MS);
  if (!isDay(day)) {
    throw ApplicationFailure.create({
      type: 'InvalidInput',
      message: `day "${day}" is not YYYY-MM-DD`,
      nonRetryable: true,
    });
  }
  setCurrentDetails(`**Health check of ${day}**: assessing`);
  const policy = await getHealthPolicy();
  const assessment = await checkDay({ day });
  const result: DetectorResult = {
    assessment,
    incident: undefined,
    alert: 'none',
    backfill: undefined,
    recoveries: [],
  };
  // Details create no command: the Web UI shows the day's assessment, then the outcome, while the check runs.
  const publish = () => setCurrentDetails(describeCheck(result));
  publish();

  for (const incident of await incidentsAwaitingRecovery({ day })) {
    const recovered = assessment.classification === 'healthy';
    const report =
      `${recovered ? 'Recovered' : 'Not recovered'} after the enrichment incident of ${incidentWindow(incident)}: ` +
      `${day} had ${assessment.writes} writes for ${assessment.eligible} signups (rate ${percent(assessment.rate)}, ` +
      `${assessment.classification.replace('_', ' ')}).`;
    await setIncidentRecovery({ id: incident.id, recovery: report });
    await postHealthAlert({ key: `${incident.id}:recovery`, text: report });
    result.recoveries.push({ incident: incident.id, recovered, report });
    publish();
  }

  if (assessment.classification === 'enrichment_incident') {
    const { incident } = await recordIncidentDay({ day, cause: assessment.cause });
    result.incident = incident;
    publish();
    result.alert = assessment.snoozedUntil
      ? 'snoozed'
      : await postHealthAlert({ key: `${incident.id}:${day}`, text: alertText(assessment, incident.firstDay) });
    publish();
    return result;
  }
  if (assessment.classification !== 'healthy') return result;

  const open = await openIncident();
  if (!open) return result;
  const { backfillId, backfill } = await backfillResolvedWindow(open, policy, 'the health check');
  result.backfill = backfill;
  await resolveIncident({ id: open.id, resolvedDay: day, backfill: result.backfill });
  result.incident = { ...open, state: 'resolved' };
  result.alert = await postHealthAlert({
    key: `${open.id}:resolved`,
    text:
      `Resolved: enrichment writes are back (${day}: ${assessment.writes} writes, rate ${percent(assessment.rate)}). ` +
      `Window ${incidentWindow(open)}: ${policy.autoBackfill ? `backfill ${backfillId} started` : result.backfill}. ` +
      `Tomorrow's check reports whether the rate held.`,
  });
  publish();
  return result;
}

/** The Web UI's current details of a check: the day's figures, then what was decided. */
function describeCheck(r: DetectorResult): string {
  const a = r.assessment;
  const lines = [
    `**Health check of ${a.day}**: ${a.classification.replace(/_/g, ' ')}`,
    `${a.signups} signups (${a.eligible} with a work email) · ${a.writes} enrichment writes · rate ${percent(a.rate)}` +
      ` · usual signups ${a.baseline ?? 'unknown'}`,
    `Rule: ${a.reason}`,
  ];
  if (a.cause) lines.push(`Likely cause: ${a.cause.summary}`);
  if (a.snoozedUntil) lines.push(`Snoozed until ${a.snoozedUntil}`);
  if (r.incident) lines.push(`Incident ${r.incident.id} (${incidentWindow(r.incident)}): ${r.incident.state}`);
  if (r.alert !== 'none') lines.push(`Alert: ${r.alert}`);
  if (r.backfill) lines.push(`Backfill: ${r.backfill}`);
  for (const recovery of r.recoveries) lines.push(`Recovery of ${recovery.incident}: ${recovery.report}`);
  return lines.join('\n');
}

function alertText(a: DayAssessment, firstDay: string): string {
  return [
    `:rotating_light: Enrichment incident${firstDay < a.day ? ` since ${firstDay}` : ''}: ${a.day} had ` +
      `${a.writes} enrichment writes for ${a.signups} signups (${a.eligible} with a work email; rate ` +
      `${percent(a.rate)}; usual signups ${a.baseline ?? 'unknown'}). Rule: ${a.reason}.`,
    `Likely cause: ${a.cause?.summary ?? 'unknown'}.`,
    ...runbookSteps(a.cause, firstDay, a.day),
  ].join('\n');
}
