import {
  ActivityFailure,
  ApplicationFailure,
  continueAsNew,
  log,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import type { AccountPage, ReEnrichmentActivities } from '../activities/reenrichment';
import { ErrorType } from '../domain/errors';
import {
  countOutcomes,
  describeSummary,
  emptySummary,
  type ReEnrichmentCheckpoint,
  type ReEnrichmentInput,
  type ReEnrichmentSummary,
  sumCounts,
  withRefusals,
} from '../domain/reenrichment';
import { DAY_MS } from '../domain/time';
import { pageOfLookups, policyRead, propagation, salesforceCall, summaryPost } from './activity-options';
import { getReEnrichmentProgressQuery } from './messages';

const { getReEnrichmentPolicy } = proxyActivities<ReEnrichmentActivities>(policyRead);
const { fetchAccountPage, writeBackAccounts } = proxyActivities<ReEnrichmentActivities>(salesforceCall);
const { reEnrichAccounts } = proxyActivities<ReEnrichmentActivities>(pageOfLookups);
const { propagateToOrganizations } = proxyActivities<ReEnrichmentActivities>(propagation);
const { postReEnrichmentSummary } = proxyActivities<ReEnrichmentActivities>(summaryPost);

/**
 * The weekend refresh of Salesforce Accounts: selected by SOQL (stale or incomplete, most valuable first), paged
 * with the query locator, re-enriched through the domain cache and the provider waterfall at the lowest priority
 * and within a credit budget, written back through sObject Collections, and the changes passed on to PostHog and
 * Vitally. One page per run: it continues as new with the locator and the running summary, so a long table never
 * grows one history and a restarted worker resumes at the page it was on.
 */
export async function SalesforceReEnrichmentWorkflow(input: ReEnrichmentInput = {}): Promise<ReEnrichmentSummary> {
  const runId = workflowInfo().workflowId;
  const checkpoint = input.checkpoint ?? (await start(input));
  const { policy, summary } = checkpoint;
  const limit = input.limit;
  const publish = () => setCurrentDetails(progressText(summary, runId));
  setHandler(getReEnrichmentProgressQuery, () => summary);
  publish();

  /** A Salesforce step: an outage is waited out with a growing delay, visible in the progress. */
  const withSalesforce = async <T>(what: string, step: () => Promise<T>): Promise<T> => {
    let waitMs = policy.outageRetry.initialMs;
    for (;;) {
      try {
        const result = await step();
        if (summary.state === 'waiting_for_salesforce') {
          Object.assign(summary, { state: 'running', waiting: undefined });
          publish();
        }
        return result;
      } catch (err) {
        const cause = err instanceof ActivityFailure && err.cause instanceof ApplicationFailure ? err.cause : undefined;
        if (cause?.type !== ErrorType.DestinationUnavailable) throw err;
        Object.assign(summary, {
          state: 'waiting_for_salesforce',
          waiting: `${what}: ${cause.message}; next try in ${Math.round(waitMs / 1000)} s`,
        });
        publish();
        await sleep(waitMs);
        waitMs = Math.min(waitMs * 2, policy.outageRetry.maxMs);
      }
    }
  };

  const query = {
    requiredFields: policy.requiredFields,
    staleBefore: checkpoint.staleBefore,
    incompleteBefore: checkpoint.incompleteBefore,
    orderBy: policy.orderBy,
    extraWhere: policy.extraWhere,
  };
  let page: AccountPage;
  try {
    page = await withSalesforce('selecting accounts', () =>
      fetchAccountPage({
        ...(checkpoint.next ? { locator: checkpoint.next } : { query }),
        pageSize: policy.pageSize,
        excludedDomains: policy.excludedDomains,
      }),
    );
  } catch (err) {
    // The cursor expired (a long outage): select again; accounts already refreshed are fresh and drop out.
    if (!(err instanceof ActivityFailure && (err.cause as ApplicationFailure)?.type === ErrorType.QueryLocatorExpired))
      throw err;
    log.warn('query locator expired; selecting again', { runId });
    page = await withSalesforce('selecting accounts', () =>
      fetchAccountPage({ query, pageSize: policy.pageSize, excludedDomains: policy.excludedDomains }),
    );
  }
  if (summary.pages === 0) summary.selected = page.totalSize;
  summary.pages++;
  countOutcomes(summary, page.skipped);

  const room = limit === undefined ? page.accounts.length : Math.max(0, limit - summary.processed);
  const accounts = page.accounts.slice(0, room);
  const result = await reEnrichAccounts({
    runId,
    accounts,
    creditsLeft: summary.creditBudget - sumCounts(summary.creditsSpent),
    dryRun: summary.dryRun,
    policy,
    exhausted: summary.providersExhausted,
  });
  for (const [provider, n] of Object.entries(result.creditsSpent)) {
    summary.creditsSpent[provider] = (summary.creditsSpent[provider] ?? 0) + n;
  }
  summary.providersExhausted = result.exhausted;

  let outcomes = result.outcomes;
  if (!summary.dryRun) {
    const updates = outcomes.flatMap((o) => ('update' in o && o.update ? [o.update] : []));
    const written = await withSalesforce('writing accounts back', () =>
      writeBackAccounts({ runId, updates, bulkThreshold: policy.bulkThreshold }),
    );
    // A refused write is not a re-enrichment.
    outcomes = withRefusals(outcomes, written.errors);
    const domains = outcomes.flatMap((o) => (o.kind === 'refreshed' ? [o.domain] : []));
    if (domains.length > 0) {
      const p = await propagateToOrganizations({ runId, domains: [...new Set(domains)] });
      summary.propagated.organizations += p.organizations;
      summary.propagated.posthog += p.posthog;
      summary.propagated.vitally += p.vitally;
    }
  }
  countOutcomes(summary, outcomes);

  // Why the run ends here, if it does: the budget, the limit, or the end of the selection.
  const budgetSpent = sumCounts(summary.creditsSpent) >= summary.creditBudget;
  if (result.notReached.length > 0 || (page.next && budgetSpent)) {
    summary.state = 'budget_spent';
  } else if (
    limit !== undefined &&
    summary.processed >= limit &&
    (page.next || accounts.length < page.accounts.length)
  ) {
    summary.state = 'limit_reached';
  } else if (page.next) {
    publish();
    return continueAsNew<typeof SalesforceReEnrichmentWorkflow>({
      ...input,
      checkpoint: { ...checkpoint, next: page.next, summary },
    });
  } else {
    summary.state = 'done';
  }
  if (summary.state !== 'done') {
    const why = summary.state === 'budget_spent' ? 'budget spent' : 'limit reached';
    const left = [...result.notReached, ...page.accounts.slice(accounts.length).map((a) => a.id)];
    summary.notReached = {
      // Everything selected that was neither looked at nor skipped: this page's rest and the pages not fetched.
      count: Math.max(0, summary.selected - summary.processed - sumCounts(summary.skipped)),
      reason:
        summary.state === 'budget_spent'
          ? `credit budget of ${summary.creditBudget} spent`
          : `limit of ${limit} accounts`,
      examples: [...new Set(left)].slice(0, 20).map((accountId) => ({
        accountId,
        domain: page.accounts.find((a) => a.id === accountId)?.domain,
        reason: why,
      })),
    };
  }
  summary.finishedAt = new Date(Date.now()).toISOString();
  publish();
  const text = describeSummary(summary, runId);
  log.info('salesforce re-enrichment finished', { runId, state: summary.state, summary: text });
  await postReEnrichmentSummary({ runId, text });
  return summary;
}

/** The first run: the policy, fixed for every page, and the cut-off times of "stale" and "tried recently". */
async function start(input: ReEnrichmentInput): Promise<ReEnrichmentCheckpoint & { next: string }> {
  const policy = await getReEnrichmentPolicy();
  const now = Date.now();
  const startedAt = new Date(now).toISOString();
  return {
    policy,
    startedAt,
    staleBefore: new Date(now - policy.staleDays * DAY_MS).toISOString(),
    incompleteBefore: new Date(now - policy.incompleteRetryDays * DAY_MS).toISOString(),
    next: '',
    summary: emptySummary(input.dryRun ?? false, input.creditBudget ?? policy.creditBudget, startedAt),
  };
}

function progressText(s: ReEnrichmentSummary, runId: string): string {
  return [describeSummary(s, runId), ...(s.waiting ? [`**Waiting:** ${s.waiting}`] : [])].join('\n\n');
}
