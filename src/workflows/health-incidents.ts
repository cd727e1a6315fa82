import { ParentClosePolicy, startChild } from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { Cause } from '../domain/health';
import { BackfillOutageWindowWorkflow } from './backfill-outage-window';
import { backfillWorkflowId } from './messages';

/** What the daily and the hourly health check do alike with an incident: its window, its backfill, its runbook. */

interface IncidentWindow {
  firstDay: string;
  lastDay: string;
}

export const incidentWindow = (i: IncidentWindow): string =>
  i.firstDay === i.lastDay ? i.firstDay : `${i.firstDay} to ${i.lastDay}`;

/**
 * The backfill of a resolved incident's window: started as a child that outlives the check (or found already
 * running), or, without HEALTH_AUTO_BACKFILL, the command that would start it. Returns its id and what was done.
 */
export async function backfillResolvedWindow(
  open: IncidentWindow,
  policy: { autoBackfill: boolean; backfillConcurrency: number },
  startedBy: string,
): Promise<{ backfillId: string; backfill: string }> {
  const backfillId = backfillWorkflowId(open.firstDay, open.lastDay);
  if (!policy.autoBackfill) {
    return { backfillId, backfill: `proposed: npx enrich backfill --from ${open.firstDay} --to ${open.lastDay}` };
  }
  try {
    await startChild(BackfillOutageWindowWorkflow, {
      workflowId: backfillId,
      args: [{ from: open.firstDay, to: open.lastDay, concurrency: policy.backfillConcurrency }],
      parentClosePolicy: ParentClosePolicy.ABANDON,
      // User metadata of the command, not part of what replay compares (health-check-backfill.json replays).
      staticSummary: `Backfill ${incidentWindow(open)} · started by ${startedBy} on recovery`,
    });
    return { backfillId, backfill: `started ${backfillId}` };
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    return { backfillId, backfill: `already running ${backfillId}` };
  }
}

/** The alert's runbook lines: confirm, pause, the fix for the likely cause, the backfill, the snooze. */
export function runbookSteps(cause: Cause | undefined, firstDay: string, lastDay: string): string[] {
  const provider = cause?.kind === 'credits' || cause?.kind === 'row_limit' ? cause.system : undefined;
  return [
    'Runbook (docs/runbook.md):',
    '1. Confirm it is real: `npx enrich health --days 7`',
    '2. Paused on purpose? `npx enrich resume` when it should run again',
    provider
      ? `3. Fix the cause: top up ${provider}, then \`npx enrich credits-restored --provider ${provider}\``
      : cause?.kind === 'provider_auth' || cause?.kind === 'provider_rejecting'
        ? `3. Fix what ${cause.system ?? 'the provider'} refuses: its API key or configuration (e.g. CLAY_WEBHOOK_URL), ` +
          'or our client after an API change (archived bodies in provider_responses)'
        : '3. Fix the cause (provider credits, API keys, the PostHog webhook destination)',
    `4. The window is backfilled when writes recover (or now: \`npx enrich backfill --from ${firstDay} --to ${lastDay}\`)`,
    '5. Quiet until a date: `npx enrich snooze --until YYYY-MM-DD`',
  ];
}
