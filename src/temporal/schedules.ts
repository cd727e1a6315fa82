import {
  ScheduleAlreadyRunning,
  ScheduleOverlapPolicy,
  type Client,
  type ScheduleOptions,
  type ScheduleUpdateOptions,
} from '@temporalio/client';
import type { Config } from '../config';
import { WorkflowType } from '../workflows/messages';

export const HEALTH_SCHEDULE_ID = 'enrichment-health-daily';
export const HOURLY_HEALTH_SCHEDULE_ID = 'enrichment-health-hourly';
export const REENRICHMENT_SCHEDULE_ID = 'salesforce-weekend-reenrichment';
export const RETENTION_SCHEDULE_ID = 'raw-data-retention-daily';

/** The schedules of DESIGN.md 5.2, from the configuration. */
export function scheduleDefinitions(config: Config): ScheduleOptions[] {
  return [
    {
      scheduleId: HEALTH_SCHEDULE_ID,
      // Every day at 09:00 UTC: the day before is complete, and people are at work to act on an alert.
      spec: { calendars: [{ hour: 9, minute: 0 }] },
      action: {
        type: 'startWorkflow',
        workflowType: WorkflowType.creditExhaustionDetector,
        workflowId: 'enrichment-health',
        taskQueue: config.temporal.taskQueue,
        args: [{}],
        staticSummary: 'Enrichment health check of the day before · daily schedule',
      },
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 day' },
      memo: { description: 'Daily enrichment health check: signups vs enrichment writes (docs/runbook.md)' },
    },
    {
      scheduleId: REENRICHMENT_SCHEDULE_ID,
      // Saturday 02:00 UTC: nobody is editing accounts, and the providers' rate limits are the run's alone.
      spec: { calendars: [{ dayOfWeek: 'SATURDAY', hour: 2, minute: 0 }] },
      action: {
        type: 'startWorkflow',
        workflowType: WorkflowType.salesforceReEnrichment,
        workflowId: 'salesforce-reenrichment',
        taskQueue: config.temporal.taskQueue,
        args: [{}],
        staticSummary: 'Salesforce re-enrichment · weekend schedule',
      },
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 day' },
      memo: { description: 'Weekend re-enrichment of stale Salesforce accounts, within REENRICH_CREDIT_BUDGET' },
    },
    {
      scheduleId: RETENTION_SCHEDULE_ID,
      // Every day at 03:30 UTC: after the night's backfills and re-enrichment have started, before the working day.
      spec: { calendars: [{ hour: 3, minute: 30 }] },
      action: {
        type: 'startWorkflow',
        workflowType: WorkflowType.purgeExpiredRawData,
        workflowId: 'raw-data-retention',
        taskQueue: config.temporal.taskQueue,
        args: [{}],
        staticSummary: 'Purge of raw data older than RAW_DATA_RETENTION_DAYS · daily schedule',
      },
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 day' },
      memo: {
        description: `Daily purge of raw payloads and provider answers older than ${config.retention.rawDataDays} days (docs/personal-data.md)`,
      },
    },
    {
      scheduleId: HOURLY_HEALTH_SCHEDULE_ID,
      // Every HEALTH_CHECK_INTERVAL_MINUTES: an outage the rules see is alerted within one interval, not next morning.
      spec: { intervals: [{ every: `${config.health.checkIntervalMinutes} minutes` }] },
      action: {
        type: 'startWorkflow',
        workflowType: WorkflowType.rollingHealthCheck,
        workflowId: 'enrichment-health-rolling',
        taskQueue: config.temporal.taskQueue,
        args: [{}],
        staticSummary: `Rolling health check · last ${config.health.rollingWindowHours} h · every ${config.health.checkIntervalMinutes} min`,
      },
      // A missed run is not worth catching up: the next one looks at the same window.
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 hour' },
      memo: {
        description:
          `Rolling enrichment health check: signups vs enrichment writes over the last ${config.health.rollingWindowHours} h, ` +
          'alerted once per incident (docs/observability.md)',
      },
    },
  ];
}

/**
 * Creates each schedule, or updates it to the current definition when it exists (worker start-up and
 * `enrich schedules apply`): running it twice changes nothing. A paused schedule stays paused.
 */
export async function applySchedules(
  client: Client,
  config: Config,
): Promise<{ id: string; action: 'created' | 'updated' }[]> {
  const applied: { id: string; action: 'created' | 'updated' }[] = [];
  for (const definition of scheduleDefinitions(config)) {
    try {
      await client.schedule.create(definition);
      applied.push({ id: definition.scheduleId, action: 'created' });
    } catch (err) {
      if (!(err instanceof ScheduleAlreadyRunning)) throw err;
      await client.schedule.getHandle(definition.scheduleId).update((previous): ScheduleUpdateOptions => ({
        ...previous,
        spec: definition.spec,
        action: definition.action,
        policies: { ...previous.policies, ...definition.policies },
      }));
      applied.push({ id: definition.scheduleId, action: 'updated' });
    }
  }
  return applied;
}
