import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { HealthActivities } from '../../src/activities/health';
import type { BackfillCandidate } from '../../src/domain/health';
import { BackfillOutageWindowWorkflow } from '../../src/workflows/backfill-outage-window';
import { getBackfillProgressQuery, type BackfillInput } from '../../src/workflows/messages';
import { eventually } from '../support/eventually';
import { failureOf, timeSkippingServer, withMockedActivities } from '../support/workflows';

type LedgerState = Awaited<ReturnType<HealthActivities['backfillStates']>>[number];
type Fate = 'enriched' | 'partial' | 'gone';
/** What becomes of a re-enqueued candidate: most are enriched, some stay partial, some vanish from the ledger. */
const fateOf = (i: number): Fate => (i % 10 === 3 ? 'partial' : i % 10 === 7 ? 'gone' : 'enriched');

/** A ledger of `n` candidates (ids in order, as the ledger pages them) behind typed health activity mocks. */
function ledgerMocks(n: number, options: { posthogMissing?: string[] } = {}) {
  const candidates: BackfillCandidate[] = Array.from({ length: n }, (_, i) => ({
    id: `c${String(i).padStart(4, '0')}`,
    workflowId: `signup-org-${i}`,
    status: i % 2 === 0 ? 'failed' : 'partial',
    reason: i % 2 === 0 ? 'every provider down' : 'employees missing',
  }));
  const fate = new Map(candidates.map((c, i) => [c.id, fateOf(i)]));
  const inFlight = new Set<string>();
  const seen = {
    pages: [] as { from: string; to: string; afterId: string | undefined; limit: number }[],
    batches: [] as { backfillId: string; ids: string[] }[],
    maxInFlight: 0,
    stateReads: 0,
    posthogReads: 0,
    imports: [] as { from: string; to: string; dryRun: boolean }[],
  };
  const unused = () => Promise.reject(new Error('not used by the backfill'));
  const activities: HealthActivities = {
    getEnrichmentControls: unused,
    getHealthPolicy: unused,
    checkDay: unused,
    getRollingHealthPolicy: unused,
    checkWindow: unused,
    recordIncidentAt: unused,
    recordIncidentDay: unused,
    openIncident: unused,
    resolveIncident: unused,
    incidentsAwaitingRecovery: unused,
    setIncidentRecovery: unused,
    postHealthAlert: unused,
    // Runs started before the import (a recorded history) counted organizations; these runs import.
    posthogOrganizationsWithoutEnrichment: unused,
    importPosthogSignups: async (input) => {
      seen.posthogReads++;
      seen.imports.push(input);
      const notReceived = (options.posthogMissing ?? []).length;
      return { notReceived, imported: input.dryRun ? 0 : notReceived, unusable: 0 };
    },
    listBackfillCandidates: async (input) => {
      seen.pages.push(input);
      return candidates.filter((c) => input.afterId === undefined || c.id > input.afterId).slice(0, input.limit);
    },
    reenqueueSignups: async ({ backfillId, candidates: batch }) => {
      seen.batches.push({ backfillId, ids: batch.map((c) => c.id) });
      for (const c of batch) inFlight.add(c.id);
      seen.maxInFlight = Math.max(seen.maxInFlight, inFlight.size);
    },
    // Each check finds the older half of the signups asked about recorded again; the rest are still running.
    backfillStates: async ({ ids }) => {
      seen.stateReads++;
      const settled = new Set(ids.slice(0, Math.ceil(ids.length / 2)));
      return ids.flatMap((id): LedgerState[] => {
        if (!settled.has(id)) return [{ id, status: 'enriching', reason: null, recorded: false }];
        inFlight.delete(id);
        const f = fate.get(id)!;
        if (f === 'gone') return [];
        return [
          f === 'enriched'
            ? { id, status: 'enriched', reason: null, recorded: true }
            : { id, status: 'partial', reason: 'harmonic out of credits', recorded: true },
        ];
      });
    },
  };
  return { activities, seen, candidates };
}

// The backfill's paging, concurrency and progress on the time-skipping test server (its 10 s polls take no time),
// with typed mocks of the health activities standing in for the ledger and the signup workflows it re-enqueues.
describe('BackfillOutageWindowWorkflow', () => {
  const server = timeSkippingServer();

  const window = { from: '2026-11-17', to: '2026-11-19' };

  it('pages through the window, never more than `concurrency` in flight, and reports progress while running and at the end', async () => {
    const { activities, seen, candidates } = ledgerMocks(230, { posthogMissing: ['org-a', 'org-b'] });
    const concurrency = 8;
    const workflowId = `backfill-${randomUUID()}`;
    const { during, result, after } = await withMockedActivities(server(), activities, async (taskQueue) => {
      const handle = await server().client.workflow.start(BackfillOutageWindowWorkflow, {
        taskQueue,
        workflowId,
        args: [{ ...window, concurrency }],
      });
      // The clock stands still until the result is awaited: the workflow waits on its first poll with a full batch.
      const during = await eventually(async () => {
        const p = await handle.query(getBackfillProgressQuery);
        return p.inFlight === concurrency ? p : undefined;
      });
      const result = await handle.result();
      return { during, result, after: await handle.query(getBackfillProgressQuery) };
    });

    expect(during).toMatchObject({
      ...window,
      dryRun: false,
      phase: 'enriching',
      found: 100,
      reenqueued: concurrency,
      enriched: 0,
      stillMissing: {},
      inFlight: concurrency,
      posthogOrganizationsNotReceived: 2,
    });

    // Pages of 100 after the last id seen, until a short page.
    expect(seen.pages).toEqual([
      { ...window, afterId: undefined, limit: 100 },
      { ...window, afterId: 'c0099', limit: 100 },
      { ...window, afterId: 'c0199', limit: 100 },
    ]);
    expect(seen.posthogReads).toBe(1);
    expect(seen.imports).toEqual([{ ...window, dryRun: false }]);

    // The limit is reached and never passed.
    expect(seen.maxInFlight).toBe(concurrency);
    expect(Math.max(...seen.batches.map((b) => b.ids.length))).toBe(concurrency);

    // Every candidate re-enqueued exactly once, in ledger order, under the backfill's own id.
    const reenqueued = seen.batches.flatMap((b) => b.ids);
    expect(reenqueued).toEqual(candidates.map((c) => c.id));
    expect(new Set(seen.batches.map((b) => b.backfillId))).toEqual(new Set([workflowId]));

    const fates = candidates.map((_, i) => fateOf(i));
    const count = (f: Fate) => fates.filter((x) => x === f).length;
    expect(result).toMatchObject({
      ...window,
      dryRun: false,
      phase: 'done',
      found: 230,
      reenqueued: 230,
      enriched: count('enriched'),
      stillMissing: { 'partial: harmonic out of credits': count('partial'), 'no longer in the ledger': count('gone') },
      inFlight: 0,
      posthogOrganizationsNotReceived: 2,
    });
    expect(after).toEqual(result);
  });

  it('lists what a dry run would re-enqueue, by status, and re-enqueues nothing', async () => {
    const { activities, seen } = ledgerMocks(150);
    const result = await withMockedActivities(server(), activities, (taskQueue) =>
      server().client.workflow.execute(BackfillOutageWindowWorkflow, {
        taskQueue,
        workflowId: `backfill-dry-run-${randomUUID()}`,
        args: [{ ...window, dryRun: true }],
      }),
    );
    expect(result).toMatchObject({
      dryRun: true,
      phase: 'done',
      found: 150,
      reenqueued: 0,
      enriched: 0,
      inFlight: 0,
      stillMissing: { 'would re-enqueue (failed)': 75, 'would re-enqueue (partial)': 75 },
    });
    expect(seen.pages.map((p) => p.afterId)).toEqual([undefined, 'c0099']);
    // PostHog's undelivered signups are counted, not recorded.
    expect(seen.imports).toEqual([{ ...window, dryRun: true }]);
    expect(seen.batches).toEqual([]);
    expect(seen.stateReads).toBe(0);
  });

  it('ends at once, with nothing re-enqueued, when the window has no candidates left (a second backfill)', async () => {
    const { activities, seen } = ledgerMocks(0);
    const result = await withMockedActivities(server(), activities, (taskQueue) =>
      server().client.workflow.execute(BackfillOutageWindowWorkflow, {
        taskQueue,
        workflowId: `backfill-${randomUUID()}`,
        args: [{ ...window }],
      }),
    );
    expect(result).toMatchObject({ phase: 'done', found: 0, reenqueued: 0, enriched: 0, stillMissing: {} });
    expect(seen.pages).toHaveLength(1);
    expect(seen.batches).toEqual([]);
    expect(seen.stateReads).toBe(0);
  });

  it('takes one signup at a time with concurrency 1 (and treats a fractional or zero value as at least 1)', async () => {
    for (const concurrency of [1, 0.5]) {
      const { activities, seen } = ledgerMocks(5);
      const result = await withMockedActivities(server(), activities, (taskQueue) =>
        server().client.workflow.execute(BackfillOutageWindowWorkflow, {
          taskQueue,
          workflowId: `backfill-${randomUUID()}`,
          args: [{ ...window, concurrency }],
        }),
      );
      expect(seen.maxInFlight).toBe(1);
      expect(seen.batches.map((b) => b.ids.length)).toEqual([1, 1, 1, 1, 1]);
      expect(result).toMatchObject({ phase: 'done', found: 5, reenqueued: 5, inFlight: 0 });
    }
  });

  it.each<[string, BackfillInput]>([
    ['from after to', { from: '2026-11-19', to: '2026-11-17' }],
    ['a day that does not exist', { from: '2026-11-31', to: '2026-12-01' }],
  ])('refuses a window with %s, before reading anything', async (_, input) => {
    const { activities, seen } = ledgerMocks(5);
    const cause = await withMockedActivities(server(), activities, (taskQueue) =>
      failureOf(
        server().client.workflow.execute(BackfillOutageWindowWorkflow, {
          taskQueue,
          workflowId: `backfill-${randomUUID()}`,
          args: [input],
        }),
      ),
    );
    expect(cause).toMatchObject({ type: 'InvalidInput', nonRetryable: true });
    expect(seen.posthogReads + seen.pages.length).toBe(0);
  });
});
