import type { PurgeCounts, RetentionPolicy } from '../domain/retention';
import type { Ledger } from '../ledger/ledger';

export interface RetentionDeps {
  ledger: Ledger;
  /** RAW_DATA_RETENTION_DAYS, from the configuration. */
  retention: RetentionPolicy;
}

export interface PurgeBatchInput {
  /** Raw data received before this instant (ISO) has expired. */
  cutoff: string;
  /** At most this many rows per table. */
  limit: number;
  /** The stamp of the purged rows (the workflow's time, ISO). */
  purgedAt: string;
}

/** The retention of raw data: the worker's policy, and one bounded batch of the purge. */
export const createRetentionActivities = (deps: RetentionDeps) => ({
  getRetentionPolicy(): Promise<RetentionPolicy> {
    return Promise.resolve(deps.retention);
  },

  /**
   * Purges up to `limit` expired signup payloads and `limit` expired provider answers (their bodies). Idempotent: a
   * retry after a lost answer finds the rows already purged and purges the next ones, which the workflow counts alike.
   */
  async purgeExpiredRawDataBatch(input: PurgeBatchInput): Promise<PurgeCounts> {
    const signupPayloads = await deps.ledger.retention.purgeSignupPayloads(input.cutoff, input.limit, input.purgedAt);
    const providerBodies = await deps.ledger.retention.purgeProviderBodies(input.cutoff, input.limit, input.purgedAt);
    return { signupPayloads, providerBodies };
  },
});

export type RetentionActivities = ReturnType<typeof createRetentionActivities>;
