import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { Provenance } from '../domain/enrichment/merge';
import type { Destination, WriteProgress } from '../domain/fan-out';
import type { DayAssessment, WindowAssessment } from '../domain/health';
import type { IcpFields } from '../domain/icp/fields';
import type { ScoreStatus } from '../domain/icp/scoring';
import type { ReEnrichmentSummary } from '../domain/reenrichment';
import type { ProviderName } from '../domain/provider-outcome';
import type { EmailKind, EnrichmentStatus } from '../domain/status';
import type { EnrichmentPolicy } from '../activities/enrichment';

/*
 * The contract of everything Temporal-facing: workflow types, signals, queries, the default task queue, task
 * priorities, and each workflow's input and result. Client code (outbox, backfill, CLI, operator API, schedules)
 * refers to these definitions, never to a name retyped as a string (test/temporal/contract.test.ts holds it); workflow
 * code imports them too, so this module stays pure. A name here is part of every running workflow and recorded
 * history: renaming one breaks them.
 */

/** Workflow type names, as exported by `src/workflows/index.ts` (a test checks they match the functions). */
export const WorkflowType = {
  signupEnrichment: 'SignupEnrichmentWorkflow',
  creditExhaustionDetector: 'CreditExhaustionDetectorWorkflow',
  backfillOutageWindow: 'BackfillOutageWindowWorkflow',
  salesforceReEnrichment: 'SalesforceReEnrichmentWorkflow',
  purgeExpiredRawData: 'PurgeExpiredRawDataWorkflow',
  rollingHealthCheck: 'RollingHealthCheckWorkflow',
} as const;

/** The task queue when TEMPORAL_TASK_QUEUE is not set. */
export const DEFAULT_TASK_QUEUE = 'signup-enrichment';

/**
 * The task queue of one provider's calls (`callProvider`, `checkScheduledEnrichment`): each provider has its own, so
 * that its workers' `maxTaskQueueActivitiesPerSecond` — enforced by the server across every worker of the queue —
 * holds all calls to that provider to its documented rate limit. `base` is the workflow's own task queue.
 */
export const providerTaskQueue = (base: string, provider: ProviderName): string => `${base}-${provider}`;

/** Temporal task priority: 1 highest, 5 lowest; unset is the default, 3 (live signups). */
const LOWEST_PRIORITY_KEY = 5;
/** Re-enqueued signups of a backfill run below live ones. */
export const BACKFILL_PRIORITY = { priorityKey: LOWEST_PRIORITY_KEY } as const;
/** The Salesforce re-enrichment and its activities: live signups and backfills go first. */
export const REENRICHMENT_PRIORITY = { priorityKey: LOWEST_PRIORITY_KEY } as const;

/**
 * The workflow id of a window's backfill, the same whether the detector or `enrich backfill` starts it: a second start
 * of the same window finds the first one running.
 */
export const backfillWorkflowId = (from: string, to: string): string => `backfill-${from}-${to}`;

export interface SignupEnrichmentInput {
  /** The ledger id of the signup that started this workflow. */
  signupId: string;
  /** Lower limits at which a run continues as new, for tests and recorded histories; by default `RUN_LIMITS`. */
  runLimits?: Partial<RunLimits>;
  /** Carried over continue-as-new; not for callers. */
  carried?: SignupEnrichmentCarried;
}

/** When a run of `SignupEnrichmentWorkflow` continues as new: at the first limit reached. */
export interface RunLimits {
  historyEvents: number;
  historyBytes: number;
  signupsHandled: number;
  signalsReceived: number;
}

/** A company lookup a provider was still computing, as one run hands it to the next. */
export interface CarriedFollowUp {
  signupId: string;
  domain: string;
  provider: ProviderName;
  token: string | undefined;
  /** Index into `SignupEnrichmentCarried.policies` (one copy of the policy, not one per follow-up). */
  policy: number;
  /** When following up ends (epoch ms). */
  deadline: number;
}

/**
 * What a run of an organization's workflow hands to the next one when it continues as new, so that a burst of signups
 * never brings one run near Temporal's history or signal limits. Ids and counts, not whole signups, where that does.
 */
export interface SignupEnrichmentCarried {
  /** This run's number in the chain (the first run is 1). */
  run: number;
  companyDomain: string | undefined;
  icp: { score: number | undefined; tier: string | undefined };
  /** Enrichment paused on purpose when the run ended. */
  pause: { reason: string | undefined } | undefined;
  /**
   * Signups still shown or still worked on: the organization's first work-email signup (it carries the organization's
   * status), signups whose lookups are followed up, and signups whose writes had not settled. Without traces or writes.
   */
  signups: SignupProgress[];
  /** Signups received but not handled yet, in arrival order. */
  pending: string[];
  followUps: CarriedFollowUp[];
  /** The follow-ups' current polling interval (it grows from 1 minute to 1 hour); absent = 1 minute. */
  followUpPollMs?: number;
  policies: EnrichmentPolicy[];
  /** Signups whose destination writes had not settled: written again (idempotently) by the next run. */
  fanOuts: string[];
  /** The most recently settled signups: a second delivery of one of them is not enriched again. */
  recent: string[];
  /** Signups settled in earlier runs, by status. */
  settledEarlier: Partial<Record<EnrichmentStatus, number>>;
}

/** One step of the waterfall, for getStatus and the Web UI: who was asked what, and what it gave. */
export interface TraceEntry {
  source: string;
  lookup: 'company' | 'person' | 'cache';
  outcome: string;
  filled: string[];
  /** A lookup the provider refused (`rejected`): its error type (`email_invalid`), or `HTTP <status>` when unnamed. */
  errorType?: string;
  /** What the provider said (`rejected`), or the last failure before the lookup fell through (`provider_outage`). */
  detail?: string;
}

export interface SignupProgress {
  signupId: string;
  status: EnrichmentStatus;
  emailKind?: EmailKind;
  domain?: string;
  reason?: string;
  fields?: IcpFields;
  provenance?: Provenance;
  missingFields?: string[];
  creditsSpent?: Record<string, number>;
  trace?: TraceEntry[];
  score?: { status: ScoreStatus; score: number | undefined; tier: string | undefined };
  /** Each destination write of the recorded outcome: pending, retrying, done, skipped or failed (with the reason). */
  writes?: Partial<Record<Destination, WriteProgress>>;
}

export interface SignupEnrichmentStatus {
  status: EnrichmentStatus;
  companyDomain: string | undefined;
  icpScore: number | undefined;
  icpTier: string | undefined;
  signups: SignupProgress[];
  /** After the workflow continued as new: this run's number in the chain (absent in the first run). */
  run?: number;
  /** After the workflow continued as new: signups settled in earlier runs (not in `signups`), by status. */
  settledEarlier?: Partial<Record<EnrichmentStatus, number>>;
}

export type SignupEnrichmentResult = SignupEnrichmentStatus;

/** The signup workflow's signature, for clients that start it by its type name (src/temporal/signups.ts). */
export type SignupEnrichmentWorkflowType = (input: SignupEnrichmentInput) => Promise<SignupEnrichmentResult>;

export interface SignupReceived {
  signupId: string;
  /** A backfill asks for it again: a signup already recorded without every field is enriched once more. */
  rerun?: boolean;
}

export const getStatusQuery = defineQuery<SignupEnrichmentStatus>('getStatus');
/** Another person of the same organization signed up while its workflow runs (sent with signal-with-start). */
export const signupReceivedSignal = defineSignal<[SignupReceived]>('signupReceived');
/** Credits were topped up (`enrich credits-restored`): signups waiting for credits retry now instead of later. */
export const creditsRestoredSignal = defineSignal<[{ provider?: string }]>('creditsRestored');

/** A Clay row's result, forwarded by the starter from `POST /webhooks/clay`. */
export interface ClayResultMessage {
  signupId: string;
  found: boolean;
  fields: IcpFields;
}
export const clayResultSignal = defineSignal<[ClayResultMessage]>('clayResult');

/** Enrichment paused on purpose (`enrich pause`): no provider is called until `enrichmentResumed`. */
export const enrichmentPausedSignal = defineSignal<[{ reason?: string }]>('enrichmentPaused');
/** Enrichment resumed (`enrich resume`): paused signups continue, and those waiting for credits retry now. */
export const enrichmentResumedSignal = defineSignal<[]>('enrichmentResumed');

export interface DetectorInput {
  /** The UTC day to check (`YYYY-MM-DD`); by default the most recent complete day. */
  day?: string;
}

export interface DetectorResult {
  assessment: DayAssessment;
  /** The incident this day opened or extended, or resolved. */
  incident: { id: string; firstDay: string; lastDay: string; state: 'open' | 'resolved' } | undefined;
  alert: 'posted' | 'already posted' | 'not configured' | 'snoozed' | 'none';
  /** On resolution: the backfill started (its workflow id) or proposed. */
  backfill: string | undefined;
  /** Recovery reports of incidents resolved on an earlier day. */
  recoveries: { incident: string; recovered: boolean; report: string }[];
}

export interface RollingHealthCheckInput {
  /** The end of the window (ISO time); by default the workflow's start. */
  at?: string;
  /** The window's length in hours; by default HEALTH_ROLLING_WINDOW_HOURS. */
  windowHours?: number;
}

export interface RollingHealthCheckResult {
  assessment: WindowAssessment;
  /** The incident this check opened or extended, or resolved. */
  incident: { id: string; firstDay: string; lastDay: string; state: 'open' | 'resolved' } | undefined;
  alert: DetectorResult['alert'];
  /** On resolution: the backfill started (its workflow id) or proposed. */
  backfill: string | undefined;
}

/** The rolling check alerts an incident under this key: once per incident, however many hours it lasts. */
export const rollingAlertKey = (incidentId: string): string => `${incidentId}:rolling`;

export interface BackfillInput {
  /** First and last UTC day of the window (`YYYY-MM-DD`, both included). */
  from: string;
  to: string;
  /** List the candidates and what would be done, without re-enqueueing anything. */
  dryRun?: boolean;
  /** How many re-enqueued signups may be in flight at once (default 5). */
  concurrency?: number;
  /** Carried over continue-as-new; not for callers. */
  carried?: BackfillProgress;
}

export interface BackfillProgress {
  from: string;
  to: string;
  dryRun: boolean;
  phase: 'finding' | 'enriching' | 'done';
  /** Candidates found so far: signups of the window lacking ICP fields. */
  found: number;
  reenqueued: number;
  /** Re-enqueued signups recorded again with every required field. */
  enriched: number;
  /** Still without every required field, by why. */
  stillMissing: Record<string, number>;
  inFlight: number;
  /** Live mode: PostHog organizations of the window that never reached the webhook. */
  posthogOrganizationsNotReceived: number;
  /** Runs of this backfill so far (continue-as-new keeps each history short). */
  runs: number;
}

export type BackfillResult = BackfillProgress;

export const getBackfillProgressQuery = defineQuery<BackfillProgress>('getBackfillProgress');

/** Where a Salesforce re-enrichment run stands (the summary so far). */
export const getReEnrichmentProgressQuery = defineQuery<ReEnrichmentSummary>('getReEnrichmentProgress');
