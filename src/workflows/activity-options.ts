import type { ActivityOptions, LocalActivityOptions, RetryPolicy } from '@temporalio/workflow';
import { ErrorType } from '../domain/errors';
import { REENRICHMENT_PRIORITY } from './messages';

/**
 * Every activity's timeouts and retry policy, named once for all workflows: a reader compares them side by side, and
 * two calls that should behave alike share one preset. Changing a value changes only new activity schedules; running
 * workflows keep what their history recorded.
 */

/** The patient retry of calls that must end up succeeding (the database or a provider coming back): 1 s to 1 min. */
const PATIENT: RetryPolicy = { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' };

/**
 * Provider calls: no attempt limit, because throttling and outages must never fail a signup — a 429 is retried after
 * the delay the provider advertised, 5xx and timeouts with a backoff capped at 10 s (the activity sets
 * `nextRetryDelay`, jittered). A rejected API key is the one failure that stops the signup: an operator must fix it.
 * What bounds the retrying is the policy's fall-through window, added per signup as `scheduleToCloseTimeout`
 * (src/workflows/waterfall.ts): past it the provider is skipped for that signup, recorded as `provider_outage`.
 */
export const providerCall: ActivityOptions = {
  startToCloseTimeout: '30 seconds',
  retry: { ...PATIENT, nonRetryableErrorTypes: [ErrorType.ProviderAuthFailed] },
};

/** A signup's ledger reads and writes: quick, retried patiently because the database may be restarting. */
export const ledgerCall: ActivityOptions = {
  startToCloseTimeout: '10 seconds',
  retry: { ...PATIENT, nonRetryableErrorTypes: [ErrorType.SignupNotFound] },
};

/**
 * `ledgerCall` as a local activity. A local activity is retried inside the workflow task, adding task events while it
 * waits: during a ledger outage it gives up after a minute and the same call goes on as a regular activity, which
 * waits without growing the history.
 */
export const localLedgerCall: LocalActivityOptions = { ...ledgerCall, scheduleToCloseTimeout: '1 minute' };

/** Archiving a provider's asynchronous outcome, and reading Clay's archived result: quick, retried patiently. */
export const archiveCall: ActivityOptions = {
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute' },
};

/** Reads over the whole ledger (reports, backfill pages) and PostHog's query API in live mode: retried patiently. */
export const ledgerScan: ActivityOptions = { startToCloseTimeout: '1 minute', retry: PATIENT };

/**
 * The backfill's import of the signups PostHog recorded but never delivered: query pages and ledger inserts, a
 * heartbeat per page; retried patiently (idempotent: what is recorded is found as a duplicate the next time).
 */
export const posthogImport: ActivityOptions = {
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '1 minute',
  retry: PATIENT,
};

/** Signal-with-start of a page of signups: heartbeats per signup, retried (it is idempotent). */
export const enqueueCall: ActivityOptions = {
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '30 seconds',
  retry: PATIENT,
};

/** The Slack alert: at most once per key (the activity guards it); a dead webhook URL is not retried. */
export const alertCall: ActivityOptions = {
  startToCloseTimeout: '30 seconds',
  retry: {
    initialInterval: '5 seconds',
    maximumInterval: '5 minutes',
    maximumAttempts: 20,
    nonRetryableErrorTypes: [ErrorType.DestinationAuthFailed],
  },
};

/**
 * Each write activity tries a few times quickly (a blip, a 429 after its Retry-After); if the destination is still
 * failing, the workflow takes over with a long, visible backoff (`retrying` in getStatus) so a destination that is
 * down for hours neither burns attempts nor hides its state.
 */
const quickWriteRetries: RetryPolicy = {
  initialInterval: '1 second',
  backoffCoefficient: 2,
  maximumInterval: '10 seconds',
  maximumAttempts: 3,
  nonRetryableErrorTypes: [
    ErrorType.SignupNotFound,
    ErrorType.DestinationAuthFailed,
    ErrorType.DestinationRejected,
    ErrorType.DestinationQuotaExceeded,
  ],
};

/** The activities heartbeat every second while they wait on the destination: a dead worker is noticed in 10 s. */
const write = (startToCloseTimeout: ActivityOptions['startToCloseTimeout']): ActivityOptions => ({
  startToCloseTimeout,
  heartbeatTimeout: '10 seconds',
  retry: quickWriteRetries,
});

export const posthogWrite = write('30 seconds');
/** Login, a query per fill-only field set, then two upserts: the slowest destination. */
export const salesforceWrite = write('2 minutes');
export const vitallyWrite = write('30 seconds');
export const slackNotify = write('30 seconds');
/** One delivery per configured URL. */
export const webhookDelivery = write('2 minutes');
/** Identify, then the event: two calls. */
export const customerioWrite = write('1 minute');
/** Profile, group profile and merge: three calls. */
export const mixpanelWrite = write('1 minute');
/** Custom fields, a lead search, the lead, its contacts and a follow-up: several calls of one write. */
export const closeWrite = write('2 minutes');
export const humanicDelivery = write('30 seconds');

/** Planning a signup's fan-out from the ledger. */
export const fanOutPlanning: ActivityOptions = {
  startToCloseTimeout: '10 seconds',
  retry: {
    initialInterval: '1 second',
    maximumInterval: '1 minute',
    nonRetryableErrorTypes: [ErrorType.SignupNotFound],
  },
};

/** The weekend run's policy, read once per run. */
export const policyRead: ActivityOptions = {
  startToCloseTimeout: '10 seconds',
  retry: { maximumInterval: '1 minute' },
};

/**
 * Re-enrichment's Salesforce calls try three times quickly; an outage beyond that is waited out by the workflow
 * (state `waiting_for_salesforce`), so the run pauses and resumes instead of failing.
 */
export const salesforceCall: ActivityOptions = {
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '30 seconds',
  priority: REENRICHMENT_PRIORITY,
  retry: {
    initialInterval: '1 second',
    maximumInterval: '10 seconds',
    maximumAttempts: 3,
    nonRetryableErrorTypes: [
      ErrorType.DestinationAuthFailed,
      ErrorType.DestinationRejected,
      ErrorType.QueryLocatorExpired,
    ],
  },
};

/**
 * A page of re-enrichment lookups: long, heartbeating its progress; a retry resumes after the last recorded account.
 * The SDK sends heartbeats at most every 80 % of the timeout: 10 s keeps the progress a dead worker loses short.
 */
export const pageOfLookups: ActivityOptions = {
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '10 seconds',
  priority: REENRICHMENT_PRIORITY,
  retry: {
    initialInterval: '1 second',
    maximumInterval: '1 minute',
    nonRetryableErrorTypes: [ErrorType.ProviderAuthFailed],
  },
};

/** Re-enriched company data to the organizations in PostHog and Vitally. */
export const propagation: ActivityOptions = {
  startToCloseTimeout: '10 minutes',
  priority: REENRICHMENT_PRIORITY,
  retry: { maximumInterval: '1 minute', maximumAttempts: 10 },
};

/** The weekend run's summary to the alert channel, at most once per run. */
export const summaryPost: ActivityOptions = {
  startToCloseTimeout: '30 seconds',
  retry: { maximumInterval: '1 minute', maximumAttempts: 5 },
};
