import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { EnrichmentStatus } from '../domain/status';
import type { LedgerMetricsSnapshot, MetricsRepository } from '../ledger/metrics';

/**
 * How long one reading of the ledger (and of Temporal's visibility) serves scrapes: Prometheus replicas and a
 * dashboard scraping together cost one set of queries, not one each.
 */
export const PIPELINE_METRICS_CACHE_MS = 10_000;

/** How long the visibility count of one status may take before the scrape goes on without it. */
export const WORKFLOW_COUNT_TIMEOUT_MS = 3_000;

/** The `EnrichmentStatus` values of a signup workflow still at work, each counted through visibility. */
export const RUNNING_STATUSES = [
  'received',
  'enriching',
  'waiting_for_credits',
  'paused',
] as const satisfies readonly EnrichmentStatus[];

/** Running signup workflows of this deployment with an `EnrichmentStatus` (src/temporal/visibility-counts.ts). */
export type CountRunningWorkflows = (status: (typeof RUNNING_STATUSES)[number]) => Promise<number>;

/** Receipt-to-settled buckets, in seconds: seconds for a signup enriched at once, up to the 7 days a wait may last. */
export const SETTLED_BUCKETS = [1, 5, 15, 30, 60, 300, 900, 3_600, 14_400, 86_400, 259_200, 604_800];

const OUTBOX_AGE = 'signup_outbox_oldest_pending_age_seconds';

/** Where a scrape could not read: the ledger, Temporal's visibility, or the SDK's own exporter. */
export type MetricsSource = 'ledger' | 'temporal' | 'sdk';

/**
 * The pipeline's Prometheus metrics, on a registry of their own (the worker's endpoint, src/metrics/server.ts). Ledger
 * totals are read at scrape time, so they survive restarts and equal the ledger; the receipt-to-settled histogram is
 * observed by the activity that records a signup's first outcome. Labels are closed vocabularies (status, provider,
 * lookup, outcome, destination, state): no email, domain, company or id ever becomes a label.
 */
export function createPipelineMetrics(deps: {
  ledger: Pick<MetricsRepository, 'snapshot'>;
  /** Absent: no running-workflow gauge (a worker without a client to ask). */
  countRunningWorkflows?: CountRunningWorkflows;
  cacheMs?: number;
  now?: () => number;
}) {
  const registry = new Registry();
  const cacheMs = deps.cacheMs ?? PIPELINE_METRICS_CACHE_MS;
  const now = deps.now ?? Date.now;

  const credits = new Counter({
    name: 'signup_enrichment_credits_spent_total',
    help: "Provider credits spent, by provider: the ledger's found answers of company and person lookups (one credit each).",
    labelNames: ['provider'] as const,
    registers: [registry],
  });
  const lookups = new Counter({
    name: 'signup_provider_lookups_total',
    help: 'Provider answers archived in the ledger, by provider, lookup (company, person, enrichment_status) and outcome.',
    labelNames: ['provider', 'lookup', 'outcome'] as const,
    registers: [registry],
  });
  const signups = new Gauge({
    name: 'signup_ledger_signups',
    help: 'Signups in the ledger by status (one still being worked on stays received there; see signup_running_workflows).',
    labelNames: ['status'] as const,
    registers: [registry],
  });
  const writes = new Gauge({
    name: 'signup_destination_writes',
    help: 'Destination writes tracked in the ledger, by destination and state (sending, done, failed).',
    labelNames: ['destination', 'state'] as const,
    registers: [registry],
  });
  const outboxAge = new Gauge({
    name: OUTBOX_AGE,
    help: 'Age of the oldest signup whose workflow start is pending in the outbox (0 when none is).',
    registers: [registry],
  });
  const running = deps.countRunningWorkflows
    ? new Gauge({
        name: 'signup_running_workflows',
        help: "Running signup workflows of this task queue by EnrichmentStatus (Temporal's visibility): waiting_for_credits is the credits backlog.",
        labelNames: ['enrichment_status'] as const,
        registers: [registry],
      })
    : undefined;
  const receiptToSettled = new Histogram({
    name: 'signup_receipt_to_settled_seconds',
    help: 'Time from a signup received by the intake to its first recorded outcome, by that status.',
    labelNames: ['status'] as const,
    buckets: SETTLED_BUCKETS,
    registers: [registry],
  });
  const errors = new Counter({
    name: 'signup_worker_metrics_errors_total',
    help: 'Scrapes of the worker endpoint that could not read a source (ledger, temporal, sdk); its series were left out.',
    labelNames: ['source'] as const,
    registers: [registry],
  });
  for (const source of ['ledger', 'temporal', 'sdk'] as const) errors.inc({ source }, 0);

  /** One reading of a source, shared by the scrapes within `cacheMs` (and by concurrent ones); a failure is counted. */
  const cached = <T>(read: () => Promise<T>, source: MetricsSource) => {
    let last: { at: number; value: Promise<T | undefined> } | undefined;
    return () => {
      if (!last || now() - last.at >= cacheMs) {
        const reading: { at: number; value: Promise<T | undefined> } = {
          at: now(),
          value: read().catch(() => {
            errors.inc({ source });
            if (last === reading) last = undefined;
            return undefined;
          }),
        };
        last = reading;
      }
      return last.value;
    };
  };
  const readLedger = cached<LedgerMetricsSnapshot>(() => deps.ledger.snapshot(), 'ledger');
  const count = deps.countRunningWorkflows;
  const readWorkflows = cached<Record<string, number>>(
    async () =>
      Object.fromEntries(
        await Promise.all(RUNNING_STATUSES.map(async (s): Promise<[string, number]> => [s, await count!(s)])),
      ),
    'temporal',
  );

  /** The scrape-time values from the readings; a source that could not be read leaves its series out. */
  const refresh = async () => {
    const [s, w] = await Promise.all([readLedger(), count ? readWorkflows() : undefined]);
    for (const metric of [credits, lookups, signups, writes, outboxAge]) metric.reset();
    if (s) {
      for (const [provider, n] of Object.entries(s.creditsSpent)) credits.inc({ provider }, n);
      for (const l of s.lookups) lookups.inc({ provider: l.provider, lookup: l.lookup, outcome: l.outcome }, l.count);
      for (const [status, n] of Object.entries(s.signupsByStatus)) signups.set({ status }, n);
      for (const x of s.destinationWrites) writes.set({ destination: x.destination, state: x.state }, x.count);
      outboxAge.set(s.outbox.oldestPendingAgeSeconds);
    } else {
      // prom-client's reset() of a metric without labels keeps a 0, which would read as an empty outbox.
      registry.removeSingleMetric(OUTBOX_AGE);
    }
    running?.reset();
    for (const [status, n] of Object.entries(w ?? {})) running?.set({ enrichment_status: status }, n);
    if (s && !registry.getSingleMetric(OUTBOX_AGE)) registry.registerMetric(outboxAge);
  };

  return {
    registry,
    errors,
    /** The Prometheus text of the pipeline's metrics, read now (or within `cacheMs`). */
    async text(): Promise<string> {
      await refresh();
      return registry.metrics();
    },
    /** Observes a signup's first recorded outcome (the `saveEnrichment` activity). */
    settled: (status: EnrichmentStatus, receivedAt: string, recordedAt: string): void => {
      const seconds = (Date.parse(recordedAt) - Date.parse(receivedAt)) / 1000;
      if (Number.isFinite(seconds)) receiptToSettled.observe({ status }, Math.max(seconds, 0));
    },
  };
}

export type PipelineMetrics = ReturnType<typeof createPipelineMetrics>;
