import {
  ApplicationFailure,
  ParentClosePolicy,
  proxyActivities,
  setCurrentDetails,
  startChild,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { HealthActivities } from '../activities/health';
import { isDay, percent, utcDay, type DayAssessment } from '../domain/health';
import { DAY_MS } from '../domain/time';
import { alertCall, ledgerScan } from './activity-options';
import { BackfillOutageWindowWorkflow } from './backfill-outage-window';
import { backfillWorkflowId, type DetectorInput, type DetectorResult } from './messages';

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
      `${recovered ? 'Recovered' : 'Not recovered'} after the enrichment incident of ${window(incident)}: ` +
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
  const backfillId = backfillWorkflowId(open.firstDay, open.lastDay);
  if (policy.autoBackfill) {
    try {
      await startChild(BackfillOutageWindowWorkflow, {
        workflowId: backfillId,
        args: [{ from: open.firstDay, to: open.lastDay, concurrency: policy.backfillConcurrency }],
        parentClosePolicy: ParentClosePolicy.ABANDON,
        // User metadata of the command, not part of what replay compares (health-check-backfill.json replays).
        staticSummary: `Backfill ${open.firstDay} to ${open.lastDay} · started by the health check on recovery`,
      });
      result.backfill = `started ${backfillId}`;
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      result.backfill = `already running ${backfillId}`;
    }
  } else {
    result.backfill = `proposed: npx enrich backfill --from ${open.firstDay} --to ${open.lastDay}`;
  }
  await resolveIncident({ id: open.id, resolvedDay: day, backfill: result.backfill });
  result.incident = { ...open, state: 'resolved' };
  result.alert = await postHealthAlert({
    key: `${open.id}:resolved`,
    text:
      `Resolved: enrichment writes are back (${day}: ${assessment.writes} writes, rate ${percent(assessment.rate)}). ` +
      `Window ${window(open)}: ${policy.autoBackfill ? `backfill ${backfillId} started` : result.backfill}. ` +
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
  if (r.incident) lines.push(`Incident ${r.incident.id} (${window(r.incident)}): ${r.incident.state}`);
  if (r.alert !== 'none') lines.push(`Alert: ${r.alert}`);
  if (r.backfill) lines.push(`Backfill: ${r.backfill}`);
  for (const recovery of r.recoveries) lines.push(`Recovery of ${recovery.incident}: ${recovery.report}`);
  return lines.join('\n');
}

const window = (i: { firstDay: string; lastDay: string }) =>
  i.firstDay === i.lastDay ? i.firstDay : `${i.firstDay} to ${i.lastDay}`;

function alertText(a: DayAssessment, firstDay: string): string {
  const provider = a.cause?.kind === 'credits' || a.cause?.kind === 'row_limit' ? a.cause.system : undefined;
  return [
    `:rotating_light: Enrichment incident${firstDay < a.day ? ` since ${firstDay}` : ''}: ${a.day} had ` +
      `${a.writes} enrichment writes for ${a.signups} signups (${a.eligible} with a work email; rate ` +
      `${percent(a.rate)}; usual signups ${a.baseline ?? 'unknown'}). Rule: ${a.reason}.`,
    `Likely cause: ${a.cause?.summary ?? 'unknown'}.`,
    'Runbook (docs/runbook.md):',
    '1. Confirm it is real: `npx enrich health --days 7`',
    '2. Paused on purpose? `npx enrich resume` when it should run again',
    provider
      ? `3. Fix the cause: top up ${provider}, then \`npx enrich credits-restored --provider ${provider}\``
      : a.cause?.kind === 'provider_auth' || a.cause?.kind === 'provider_rejecting'
        ? `3. Fix what ${a.cause.system ?? 'the provider'} refuses: its API key or configuration (e.g. CLAY_WEBHOOK_URL), ` +
          'or our client after an API change (archived bodies in provider_responses)'
        : '3. Fix the cause (provider credits, API keys, the PostHog webhook destination)',
    `4. The window is backfilled when writes recover (or now: \`npx enrich backfill --from ${firstDay} --to ${a.day}\`)`,
    '5. Quiet until a date: `npx enrich snooze --until YYYY-MM-DD`',
  ].join('\n');
}
