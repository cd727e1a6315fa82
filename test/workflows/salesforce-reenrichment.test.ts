import { randomUUID } from 'node:crypto';
import { ActivityFailure, ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import type { ReEnrichmentActivities } from '../../src/activities/reenrichment';
import { ErrorType } from '../../src/domain/errors';
import type {
  AccountOutcome,
  AccountToRefresh,
  ReEnrichmentInput,
  ReEnrichmentPolicy,
} from '../../src/domain/reenrichment';
import { getReEnrichmentProgressQuery } from '../../src/workflows/messages';
import { SalesforceReEnrichmentWorkflow } from '../../src/workflows/salesforce-reenrichment';
import { eventually } from '../support/eventually';
import { failureOf, timeSkippingServer, withMockedActivities } from '../support/workflows';

const policy: ReEnrichmentPolicy = {
  staleDays: 90,
  incompleteRetryDays: 14,
  creditBudget: 100,
  pageSize: 4,
  providers: ['clearbit', 'harmonic'],
  requiredFields: ['companyName', 'employees', 'industry', 'country'],
  fieldPreference: {},
  domainCacheDays: 30,
  excludedDomains: ['competitor.example'],
  orderBy: 'AnnualRevenue DESC NULLS LAST',
  extraWhere: '',
  bulkThreshold: 2,
  fieldPolicy: {},
  outageRetry: { initialMs: 60_000, maxMs: 600_000 },
};

/*
 * The Account table: 10 selected accounts in pages of 4. Every fifth one (a4, a9) has a personal domain and comes
 * back skipped; of the others, by index: refreshed, unchanged, not found. A lookup costs one Clearbit credit.
 */
const ACCOUNTS = 10;
const PAGES = Math.ceil(ACCOUNTS / policy.pageSize);
const kindOf = (i: number) => (['refreshed', 'unchanged', 'not_found'] as const)[i % 3]!;
const indexOf = (id: string) => Number(id.slice(1));

interface SalesforceFaults {
  /** Throw from `fetchAccountPage` (its nth call, counted over every attempt), or answer. */
  fetch?: (input: { locator?: string }, call: number) => Error | undefined;
  /** Which page the nth selection by query returns (default: the first). */
  queryPage?: (n: number) => number;
  /** Account ids whose update Salesforce refuses. */
  refuse?: string[];
}

/** Typed re-enrichment activity mocks over the Account table, recording every call. */
function salesforceMocks(faults: SalesforceFaults = {}) {
  const seen = {
    policyReads: 0,
    fetches: [] as Parameters<ReEnrichmentActivities['fetchAccountPage']>[0][],
    lookups: [] as { accounts: string[]; creditsLeft: number; dryRun: boolean }[],
    writes: [] as { runId: string; ids: string[]; bulkThreshold: number }[],
    propagated: [] as string[][],
    summaries: [] as { runId: string; text: string }[],
  };
  let queries = 0;
  const page = (n: number) => {
    const ids = Array.from({ length: ACCOUNTS }, (_, i) => i).slice(n * policy.pageSize, (n + 1) * policy.pageSize);
    const accounts: AccountToRefresh[] = [];
    const skipped: AccountOutcome[] = [];
    for (const i of ids) {
      if (i % 5 === 4) skipped.push({ accountId: `a${i}`, domain: 'gmail.com', kind: 'skipped', reason: 'personal' });
      else accounts.push({ id: `a${i}`, name: `Account ${i}`, domain: `acct-${i}.example`, current: {} });
    }
    return { accounts, skipped, totalSize: ACCOUNTS, next: n + 1 < PAGES ? `loc-${n + 1}` : undefined };
  };
  const activities: ReEnrichmentActivities = {
    getReEnrichmentPolicy: async () => (seen.policyReads++, policy),
    fetchAccountPage: async (input) => {
      seen.fetches.push(input);
      const err = faults.fetch?.(input, seen.fetches.length);
      if (err) throw err;
      return page(input.locator ? Number(input.locator.slice(4)) : (faults.queryPage?.(++queries) ?? 0));
    },
    reEnrichAccounts: async ({ accounts, creditsLeft, dryRun, exhausted }) => {
      seen.lookups.push({ accounts: accounts.map((a) => a.id), creditsLeft, dryRun });
      const outcomes: AccountOutcome[] = [];
      const notReached: string[] = [];
      let spent = 0;
      for (const a of accounts) {
        const base = { accountId: a.id, domain: a.domain };
        if (dryRun) {
          outcomes.push({ ...base, kind: 'refreshed', changed: [], update: undefined, fromCache: false });
          continue;
        }
        if (spent >= creditsLeft) {
          notReached.push(a.id);
          continue;
        }
        spent++;
        const kind = kindOf(indexOf(a.id));
        outcomes.push(
          kind === 'not_found'
            ? { ...base, kind, reason: 'no provider knows the domain', update: { Id: a.id, Status: 'not_found' } }
            : {
                ...base,
                kind,
                changed: kind === 'refreshed' ? ['Industry'] : [],
                update: { Id: a.id, ...(kind === 'refreshed' && { Industry: 'Software' }) },
                fromCache: false,
              },
        );
      }
      const creditsSpent: Record<string, number> = spent > 0 ? { clearbit: spent } : {};
      return { outcomes, creditsSpent, exhausted, notReached };
    },
    writeBackAccounts: async ({ runId, updates, bulkThreshold }) => {
      const ids = updates.map((u) => String(u.Id));
      seen.writes.push({ runId, ids, bulkThreshold });
      const errors = ids
        .filter((id) => faults.refuse?.includes(id))
        .map((accountId) => ({ accountId, error: 'FIELD_CUSTOM_VALIDATION_EXCEPTION: Industry locked' }));
      return {
        written: ids.length - errors.length,
        alreadyWritten: 0,
        errors,
        api: ids.length > bulkThreshold ? 'bulk' : 'collections',
      };
    },
    propagateToOrganizations: async ({ domains }) => {
      seen.propagated.push(domains);
      return { organizations: domains.length, posthog: domains.length, vitally: 0 };
    },
    postReEnrichmentSummary: async ({ runId, text }) => {
      seen.summaries.push({ runId, text });
      return 'posted';
    },
  };
  return { activities, seen };
}

const unavailable = () =>
  ApplicationFailure.create({ type: ErrorType.DestinationUnavailable, message: 'Salesforce answered 503' });

// The weekend refresh's decisions on the time-skipping test server (outage waits take no time), with typed mocks of
// the re-enrichment activities standing in for Salesforce, the providers and the alert channel.
describe('SalesforceReEnrichmentWorkflow', () => {
  const server = timeSkippingServer();

  async function reenrich(input: ReEnrichmentInput, faults: SalesforceFaults = {}) {
    const { activities, seen } = salesforceMocks(faults);
    const workflowId = `salesforce-reenrichment-${randomUUID()}`;
    const { summary, progress } = await withMockedActivities(server(), activities, async (taskQueue) => {
      const handle = await server().client.workflow.start(SalesforceReEnrichmentWorkflow, {
        taskQueue,
        workflowId,
        args: [input],
      });
      const summary = await handle.result();
      return { summary, progress: await handle.query(getReEnrichmentProgressQuery) };
    });
    return { summary, progress, seen, workflowId };
  }

  it('pages through the selection one page a run, writes each page back in one call, and posts the summary once', async () => {
    const { summary, progress, seen, workflowId } = await reenrich({}, { refuse: ['a3'] });

    // The first page by query, the next ones by the locator the previous run carried over; the policy read once.
    expect(seen.policyReads).toBe(1);
    expect(seen.fetches[0]).toMatchObject({
      query: { requiredFields: policy.requiredFields, orderBy: policy.orderBy, extraWhere: '' },
      pageSize: 4,
      excludedDomains: ['competitor.example'],
    });
    expect(seen.fetches[0]!.locator).toBeUndefined();
    expect(seen.fetches.slice(1).map((f) => [f.locator, f.query])).toEqual([
      ['loc-1', undefined],
      ['loc-2', undefined],
    ]);
    const { staleBefore, incompleteBefore } = seen.fetches[0]!.query!;
    expect(Date.parse(incompleteBefore) - Date.parse(staleBefore)).toBe((90 - 14) * 86_400_000);

    // Skipped accounts are never looked up; every lookup knows the credits left.
    expect(seen.lookups.map((l) => l.accounts)).toEqual([['a0', 'a1', 'a2', 'a3'], ['a5', 'a6', 'a7'], ['a8']]);
    expect(seen.lookups.map((l) => l.creditsLeft)).toEqual([100, 96, 93]);

    // One write-back per page with the page's updates and the bulk threshold; the run id stamps them.
    expect(seen.writes).toEqual([
      { runId: workflowId, ids: ['a0', 'a1', 'a2', 'a3'], bulkThreshold: 2 },
      { runId: workflowId, ids: ['a5', 'a6', 'a7'], bulkThreshold: 2 },
      { runId: workflowId, ids: ['a8'], bulkThreshold: 2 },
    ]);
    // Only what was refreshed, and not refused, reaches the organizations.
    expect(seen.propagated).toEqual([['acct-0.example'], ['acct-6.example']]);

    expect(summary).toMatchObject({
      dryRun: false,
      state: 'done',
      selected: 10,
      pages: 3,
      processed: 8,
      reEnriched: 2,
      unchanged: 2,
      notFound: 3,
      skipped: { personal: 2 },
      failed: {
        count: 1,
        examples: [{ accountId: 'a3', reason: 'FIELD_CUSTOM_VALIDATION_EXCEPTION: Industry locked' }],
      },
      notReached: { count: 0, examples: [] },
      creditBudget: 100,
      creditsSpent: { clearbit: 8 },
      propagated: { organizations: 2, posthog: 2, vitally: 0 },
    });
    expect(summary.finishedAt).toBeDefined();
    expect(progress).toEqual(summary);

    expect(seen.summaries).toHaveLength(1);
    expect(seen.summaries[0]!.runId).toBe(workflowId);
    expect(seen.summaries[0]!.text).toContain(`*Salesforce re-enrichment* ${workflowId}: done`);
    expect(seen.summaries[0]!.text).toContain('selected 10 · processed 8 · re-enriched 2 · unchanged 2');
    expect(seen.summaries[0]!.text).toContain('credits 8 of 100 (clearbit 8)');
  });

  it('stops when the credit budget is spent, counting what it did not reach, and fetches no further page', async () => {
    const { summary, seen } = await reenrich({ creditBudget: 5 });
    expect(seen.lookups.map((l) => l.creditsLeft)).toEqual([5, 1]);
    expect(seen.fetches).toHaveLength(2);
    expect(seen.writes.map((w) => w.ids)).toEqual([['a0', 'a1', 'a2', 'a3'], ['a5']]);
    expect(summary).toMatchObject({
      state: 'budget_spent',
      processed: 5,
      creditBudget: 5,
      creditsSpent: { clearbit: 5 },
      notReached: {
        count: 4,
        reason: 'credit budget of 5 spent',
        examples: [
          { accountId: 'a6', domain: 'acct-6.example', reason: 'budget spent' },
          { accountId: 'a7', domain: 'acct-7.example', reason: 'budget spent' },
        ],
      },
    });
    expect(seen.summaries).toHaveLength(1);
    expect(seen.summaries[0]!.text).toContain('budget spent');
    expect(seen.summaries[0]!.text).toContain('not reached: 4 (credit budget of 5 spent)');
  });

  it('ends after a page that spends the budget exactly, before fetching the next', async () => {
    const { summary, seen } = await reenrich({ creditBudget: 4 });
    expect(seen.fetches).toHaveLength(1);
    expect(summary).toMatchObject({ state: 'budget_spent', processed: 4, notReached: { count: 6 } });
    expect(seen.summaries).toHaveLength(1);
  });

  it('stops at the account limit, leaving the rest of the page for next time', async () => {
    const { summary, seen } = await reenrich({ limit: 6 });
    expect(seen.lookups.map((l) => l.accounts)).toEqual([
      ['a0', 'a1', 'a2', 'a3'],
      ['a5', 'a6'],
    ]);
    expect(summary).toMatchObject({
      state: 'limit_reached',
      processed: 6,
      notReached: { count: 3, reason: 'limit of 6 accounts', examples: [{ accountId: 'a7', reason: 'limit reached' }] },
    });
    expect(seen.summaries).toHaveLength(1);
  });

  it('writes nothing back and passes nothing on in a dry run, and says so', async () => {
    const { summary, seen } = await reenrich({ dryRun: true });
    expect(seen.lookups.every((l) => l.dryRun)).toBe(true);
    expect(seen.lookups).toHaveLength(3);
    expect(seen.writes).toEqual([]);
    expect(seen.propagated).toEqual([]);
    expect(summary).toMatchObject({ dryRun: true, state: 'done', processed: 8, reEnriched: 8, creditsSpent: {} });
    expect(seen.summaries).toHaveLength(1);
    expect(seen.summaries[0]!.text).toContain('(dry run)');
    expect(seen.summaries[0]!.text).toContain('would re-enrich 8');
  });

  it('waits out a Salesforce outage, visible in the progress, and resumes where it was', async () => {
    // The second page's selection fails four times: three attempts of the activity, then one more after a wait.
    const fails = new Set([2, 3, 4, 5]);
    const { activities, seen } = salesforceMocks({ fetch: (_, call) => (fails.has(call) ? unavailable() : undefined) });
    const { waiting, summary } = await withMockedActivities(server(), activities, async (taskQueue) => {
      const handle = await server().client.workflow.start(SalesforceReEnrichmentWorkflow, {
        taskQueue,
        workflowId: `salesforce-reenrichment-${randomUUID()}`,
        args: [{}],
      });
      // The clock stands still until the result is awaited: the workflow is caught in its first wait.
      const waiting = await eventually(async () => {
        const p = await handle.query(getReEnrichmentProgressQuery);
        return p.state === 'waiting_for_salesforce' ? p : undefined;
      });
      return { waiting, summary: await handle.result() };
    });
    expect(waiting.waiting).toBe('selecting accounts: Salesforce answered 503; next try in 60 s');
    expect(waiting.pages).toBe(1);
    expect(seen.fetches.map((f) => f.locator)).toEqual([
      undefined,
      'loc-1',
      'loc-1',
      'loc-1',
      'loc-1',
      'loc-1',
      'loc-2',
    ]);
    expect(summary).toMatchObject({ state: 'done', pages: 3, processed: 8 });
    expect(summary.waiting).toBeUndefined();
    expect(seen.summaries).toHaveLength(1);
  });

  it('selects again when the query locator expired, without counting the selection twice', async () => {
    const { summary, seen } = await reenrich(
      {},
      {
        fetch: (input) =>
          input.locator === 'loc-2'
            ? ApplicationFailure.create({
                type: ErrorType.QueryLocatorExpired,
                message: 'selecting accounts: the query locator expired',
                nonRetryable: true,
              })
            : undefined,
        // Accounts already refreshed drop out of a new selection: it starts at what was the third page.
        queryPage: (n) => (n === 1 ? 0 : 2),
      },
    );
    expect(seen.fetches.map((f) => [f.locator, f.query !== undefined])).toEqual([
      [undefined, true],
      ['loc-1', false],
      ['loc-2', false],
      [undefined, true],
    ]);
    expect(seen.fetches[3]!.query).toEqual(seen.fetches[0]!.query);
    expect(summary).toMatchObject({ state: 'done', selected: 10, pages: 3, processed: 8 });
    expect(seen.summaries).toHaveLength(1);
  });

  it('fails the run without a summary when Salesforce refuses our credentials', async () => {
    const { activities, seen } = salesforceMocks({
      fetch: () =>
        ApplicationFailure.create({
          type: ErrorType.DestinationAuthFailed,
          message: 'selecting accounts: INVALID_SESSION_ID',
          nonRetryable: true,
        }),
    });
    const cause = await withMockedActivities(server(), activities, (taskQueue) =>
      failureOf(
        server().client.workflow.execute(SalesforceReEnrichmentWorkflow, {
          taskQueue,
          workflowId: `salesforce-reenrichment-${randomUUID()}`,
          args: [{}],
        }),
      ),
    );
    expect(cause).toBeInstanceOf(ActivityFailure);
    expect((cause as ActivityFailure).cause).toMatchObject({ type: ErrorType.DestinationAuthFailed });
    expect(seen.fetches).toHaveLength(1);
    expect(seen.lookups).toEqual([]);
    expect(seen.summaries).toEqual([]);
  });
});
