import type { FieldPreference } from './enrichment/merge';
import type { IcpField } from './icp/fields';
import type { ProviderName } from './provider-outcome';

/** How a weekend run selects, pays for and writes back accounts (from the configuration, read once per run). */
export interface ReEnrichmentPolicy {
  /** An account enriched longer ago than this is stale. */
  staleDays: number;
  /** An account missing a required field is retried when its last attempt is older than this. */
  incompleteRetryDays: number;
  /** Provider credits one run may spend. */
  creditBudget: number;
  /** Accounts per page (Sforce-Query-Options batchSize, 200..2,000): one page per workflow run. */
  pageSize: number;
  /** Company providers in cost order (synchronous ones: Clay answers by callback and is left out). */
  providers: ProviderName[];
  requiredFields: IcpField[];
  fieldPreference: FieldPreference;
  domainCacheDays: number;
  /** Never re-enriched (besides personal-email and disposable domains). */
  excludedDomains: string[];
  /** SOQL ORDER BY: most valuable first. */
  orderBy: string;
  /** Extra SOQL condition ANDed to the selection, or empty. */
  extraWhere: string;
  /** A page's write-back with more updates than this goes through one Bulk API 2.0 job instead of Collections. */
  bulkThreshold: number;
  /** Salesforce write policy per Account field (SALESFORCE_FIELD_POLICY on top of the defaults). */
  fieldPolicy: Record<string, 'overwrite' | 'fill_empty'>;
  /** How a Salesforce outage is waited out: first wait, doubling up to the max. */
  outageRetry: { initialMs: number; maxMs: number };
}

export interface ReEnrichmentInput {
  dryRun?: boolean;
  /** Re-enrich at most this many accounts. */
  limit?: number;
  /** Overrides REENRICH_CREDIT_BUDGET for this run. */
  creditBudget?: number;
  /** Set by the workflow itself when it continues as new: where the run stands. */
  checkpoint?: ReEnrichmentCheckpoint;
}

export interface ReEnrichmentCheckpoint {
  policy: ReEnrichmentPolicy;
  startedAt: string;
  /** Accounts enriched before this are stale (fixed at the start: later pages do not shift). */
  staleBefore: string;
  incompleteBefore: string;
  /** The query locator of the next page (`nextRecordsUrl`). */
  next: string;
  summary: ReEnrichmentSummary;
}

/** One account a page selected, as the waterfall needs it. `current` holds the Account's values of the ICP fields. */
export interface AccountToRefresh {
  id: string;
  name: string | undefined;
  domain: string;
  current: Record<string, unknown>;
}

export type AccountOutcome =
  | {
      accountId: string;
      domain: string;
      kind: 'refreshed' | 'unchanged';
      /** Fields changed on the Account (after the write policy), by Salesforce name. */
      changed: string[];
      /** The Account update (Id plus fields), or undefined in a dry run. */
      update: Record<string, unknown> | undefined;
      fromCache: boolean;
    }
  | {
      accountId: string;
      domain: string;
      kind: 'not_found' | 'skipped';
      reason: string;
      update?: Record<string, unknown>;
    }
  | { accountId: string; domain: string; kind: 'failed'; reason: string };

export interface Example {
  accountId: string;
  domain?: string;
  reason: string;
}

export interface ReEnrichmentSummary {
  dryRun: boolean;
  state: 'running' | 'waiting_for_salesforce' | 'done' | 'budget_spent' | 'limit_reached';
  /** Why it is waiting (a Salesforce outage), while it is. */
  waiting?: string;
  /** Accounts the selection matched (the query's totalSize). */
  selected: number;
  pages: number;
  /** Accounts the waterfall looked at (skipped ones not included). */
  processed: number;
  /** Changed fields written (a dry run: accounts that would be re-enriched). */
  reEnriched: number;
  /** Looked up, nothing new: only the enrichment stamp written. */
  unchanged: number;
  /** Served by the domain cache at no cost (a company refreshed by a signup recently). */
  fromCache: number;
  notFound: number;
  skipped: Record<string, number>;
  failed: { count: number; examples: Example[] };
  notReached: { count: number; reason?: string; examples: Example[] };
  creditBudget: number;
  creditsSpent: Record<string, number>;
  /** Providers that ran out of credits during the run. */
  providersExhausted: string[];
  propagated: { organizations: number; posthog: number; vitally: number };
  startedAt: string;
  finishedAt?: string;
}

const MAX_EXAMPLES = 20;

export function emptySummary(dryRun: boolean, creditBudget: number, startedAt: string): ReEnrichmentSummary {
  return {
    dryRun,
    state: 'running',
    selected: 0,
    pages: 0,
    processed: 0,
    reEnriched: 0,
    unchanged: 0,
    fromCache: 0,
    notFound: 0,
    skipped: {},
    failed: { count: 0, examples: [] },
    notReached: { count: 0, examples: [] },
    creditBudget,
    creditsSpent: {},
    providersExhausted: [],
    propagated: { organizations: 0, posthog: 0, vitally: 0 },
    startedAt,
  };
}

/** The sum of a count record (credits by provider, skipped by reason). */
export const sumCounts = (counts: Record<string, number>): number => Object.values(counts).reduce((a, b) => a + b, 0);

export function addExample(list: { count: number; examples: Example[] }, example: Example): void {
  list.count++;
  if (list.examples.length < MAX_EXAMPLES) list.examples.push(example);
}

/** Salesforce ids compared in their 15-character form (the 18-character one adds a checksum suffix). */
const sameId = (id: string) => id.slice(0, 15);

/** A page's outcomes after the write-back: an account whose update Salesforce refused has failed, with the reason. */
export function withRefusals(
  outcomes: AccountOutcome[],
  errors: { accountId: string; error: string }[],
): AccountOutcome[] {
  const refused = new Map(errors.map((e) => [sameId(e.accountId), e.error]));
  return outcomes.map((o) => {
    const reason = refused.get(sameId(o.accountId));
    return reason === undefined ? o : { accountId: o.accountId, domain: o.domain, kind: 'failed', reason };
  });
}

/** Counts one page's outcomes into the summary. */
export function countOutcomes(summary: ReEnrichmentSummary, outcomes: AccountOutcome[]): void {
  for (const o of outcomes) {
    if (o.kind !== 'skipped') summary.processed++;
    switch (o.kind) {
      case 'refreshed':
        summary.reEnriched++;
        if (o.fromCache) summary.fromCache++;
        break;
      case 'unchanged':
        summary.unchanged++;
        if (o.fromCache) summary.fromCache++;
        break;
      case 'not_found':
        summary.notFound++;
        break;
      case 'skipped':
        summary.skipped[o.reason] = (summary.skipped[o.reason] ?? 0) + 1;
        break;
      case 'failed':
        addExample(summary.failed, { accountId: o.accountId, domain: o.domain, reason: o.reason });
        break;
    }
  }
}

/** The run's result as a few lines of text (log and Slack). */
export function describeSummary(s: ReEnrichmentSummary, runId: string): string {
  const credits = Object.entries(s.creditsSpent)
    .map(([p, n]) => `${p} ${n}`)
    .join(', ');
  const skipped = Object.entries(s.skipped)
    .map(([reason, n]) => `${n} ${reason}`)
    .join(', ');
  const lines = [
    `*Salesforce re-enrichment${s.dryRun ? ' (dry run)' : ''}* ${runId}: ${s.state.replace(/_/g, ' ')}`,
    `selected ${s.selected} · processed ${s.processed} · ${s.dryRun ? 'would re-enrich' : 're-enriched'} ${s.reEnriched} · unchanged ${s.unchanged} · from cache ${s.fromCache} · not found ${s.notFound}`,
    `credits ${sumCounts(s.creditsSpent)} of ${s.creditBudget}${credits ? ` (${credits})` : ''}${s.providersExhausted.length ? ` · out of credits: ${s.providersExhausted.join(', ')}` : ''}`,
  ];
  if (skipped) lines.push(`skipped: ${skipped}`);
  if (s.failed.count > 0) {
    lines.push(
      `failed ${s.failed.count}: ${s.failed.examples
        .slice(0, 5)
        .map((e) => `${e.domain ?? e.accountId} (${e.reason})`)
        .join('; ')}`,
    );
  }
  if (s.notReached.count > 0) lines.push(`not reached: ${s.notReached.count} (${s.notReached.reason ?? ''})`);
  if (s.propagated.organizations > 0) {
    lines.push(
      `organizations updated: ${s.propagated.organizations} (PostHog ${s.propagated.posthog}, Vitally ${s.propagated.vitally})`,
    );
  }
  return lines.join('\n');
}
