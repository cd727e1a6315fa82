import type { EnrichmentStatus } from './status';
import { DAY_MS } from './time';

/*
 * Retention of raw data (docs/personal-data.md, "Retention"): the raw PostHog payload of a signup and the archived
 * provider answers are purged once older than RAW_DATA_RETENTION_DAYS; the fields derived from them, their provenance
 * and every row stay.
 */

/**
 * Statuses of a signup whose workflow is done with it: its raw data may be purged. A signup still `received`,
 * `enriching`, `waiting_for_credits` or `paused` keeps its payload and its provider answers however old they are
 * (its workflow may still read the answers it archived: a Harmonic follow-up, a Clay result).
 */
export const SETTLED_STATUSES = [
  'enriched',
  'partial',
  'not_found',
  'skipped',
  'undeliverable',
  'failed',
] as const satisfies readonly EnrichmentStatus[];

/** What a purged `signups.payload` holds: an empty object (the column is NOT NULL); `payload_purged_at` says when. */
export const PURGED_PAYLOAD = {};

/** Rows purged by one activity call, per table: a bounded transaction, however much has expired. */
export const PURGE_BATCH_SIZE = 1_000;

/** Batches of one run: a first purge of a long-kept ledger continues as new rather than grow one history. */
export const PURGE_BATCHES_PER_RUN = 200;

/** The retention policy of the worker (RAW_DATA_RETENTION_DAYS). */
export interface RetentionPolicy {
  rawDataDays: number;
}

export interface PurgeInput {
  /** Overrides RAW_DATA_RETENTION_DAYS for this run (at least 1). */
  retentionDays?: number;
  /** Rows per table and activity call; by default `PURGE_BATCH_SIZE`. */
  batchSize?: number;
  /** Batches after which a run continues as new; by default `PURGE_BATCHES_PER_RUN` (lower in tests). */
  batchesPerRun?: number;
  /** Carried over continue-as-new; not for callers. */
  carried?: PurgeResult;
}

export interface PurgeCounts {
  /** Signups whose raw PostHog payload was emptied. */
  signupPayloads: number;
  /** Archived provider answers whose body was removed. */
  providerBodies: number;
}

export interface PurgeResult extends PurgeCounts {
  retentionDays: number;
  /** Raw data received before this instant (ISO) was purged, if its signup was settled. */
  cutoff: string;
  /** Activity calls (batches) so far. */
  batches: number;
}

/** The cutoff of a run at `nowMs` (the workflow's clock): everything received before it has expired. */
export const retentionCutoff = (nowMs: number, days: number): string => new Date(nowMs - days * DAY_MS).toISOString();

/** One line for the Web UI and the result's readers. */
export const describePurge = (r: PurgeResult): string =>
  `purged ${r.signupPayloads} signup payloads and ${r.providerBodies} provider answers received before ` +
  `${r.cutoff} (retention ${r.retentionDays} days)`;
