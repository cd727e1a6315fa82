import { ApplicationFailure, continueAsNew, log, proxyActivities, setCurrentDetails } from '@temporalio/workflow';
import type { RetentionActivities } from '../activities/retention';
import {
  describePurge,
  PURGE_BATCH_SIZE,
  PURGE_BATCHES_PER_RUN,
  retentionCutoff,
  type PurgeInput,
  type PurgeResult,
} from '../domain/retention';
import { ledgerScan, policyRead } from './activity-options';

const { getRetentionPolicy } = proxyActivities<RetentionActivities>(policyRead);
const { purgeExpiredRawDataBatch } = proxyActivities<RetentionActivities>(ledgerScan);

/** The largest batch an input may ask for: one statement per table, within the worker's statement deadline. */
const MAX_BATCH_SIZE = 10_000;

/**
 * The daily purge of expired raw data (schedule `raw-data-retention-daily`, docs/personal-data.md): the cutoff is
 * this workflow's time less RAW_DATA_RETENTION_DAYS (or `retentionDays`), computed once, then the ledger is purged in
 * bounded batches until a batch comes back short. Raw payloads and provider answers of settled signups received
 * before the cutoff are emptied; every row, derived field and provenance stays. The result says what was purged.
 */
export async function PurgeExpiredRawDataWorkflow(input: PurgeInput = {}): Promise<PurgeResult> {
  const limit = input.batchSize ?? PURGE_BATCH_SIZE;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_BATCH_SIZE) {
    throw invalid(`batchSize must be a whole number from 1 to ${MAX_BATCH_SIZE} (got ${String(input.batchSize)})`);
  }
  const perRun = input.batchesPerRun ?? PURGE_BATCHES_PER_RUN;
  if (!Number.isInteger(perRun) || perRun < 1) {
    throw invalid(`batchesPerRun must be a whole number, at least 1 (got ${String(input.batchesPerRun)})`);
  }
  const result = input.carried ?? (await start(input.retentionDays));
  setCurrentDetails(describePurge(result));
  for (let batch = 0; ; batch++) {
    if (batch === perRun) {
      return continueAsNew<typeof PurgeExpiredRawDataWorkflow>({ ...input, carried: result });
    }
    const counts = await purgeExpiredRawDataBatch({
      cutoff: result.cutoff,
      limit,
      purgedAt: new Date(Date.now()).toISOString(),
    });
    result.signupPayloads += counts.signupPayloads;
    result.providerBodies += counts.providerBodies;
    result.batches++;
    setCurrentDetails(describePurge(result));
    if (counts.signupPayloads < limit && counts.providerBodies < limit) break;
  }
  log.info('raw data purge finished', { ...result });
  return result;
}

async function start(retentionDays: number | undefined): Promise<PurgeResult> {
  if (retentionDays !== undefined && (!Number.isInteger(retentionDays) || retentionDays < 1)) {
    throw invalid(`retentionDays must be a whole number of days, at least 1 (got ${String(retentionDays)})`);
  }
  const days = retentionDays ?? (await getRetentionPolicy()).rawDataDays;
  return {
    retentionDays: days,
    cutoff: retentionCutoff(Date.now(), days),
    signupPayloads: 0,
    providerBodies: 0,
    batches: 0,
  };
}

const invalid = (message: string) => ApplicationFailure.create({ type: 'InvalidInput', message, nonRetryable: true });
