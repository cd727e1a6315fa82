import {
  ApplicationFailure,
  condition,
  continueAsNew,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { HealthActivities } from '../activities/health';
import { isDay, type BackfillCandidate } from '../domain/health';
import { enqueueCall, ledgerScan, posthogImport } from './activity-options';
import { getBackfillProgressQuery, type BackfillInput, type BackfillProgress, type BackfillResult } from './messages';

const { listBackfillCandidates, backfillStates, posthogOrganizationsWithoutEnrichment } =
  proxyActivities<HealthActivities>(ledgerScan);
const { importPosthogSignups } = proxyActivities<HealthActivities>(posthogImport);
const { reenqueueSignups } = proxyActivities<HealthActivities>(enqueueCall);

/** The `patched()` id of the import of signups PostHog recorded but never delivered (replaces the organization count). */
export const IMPORT_POSTHOG_SIGNUPS_PATCH = 'backfill-imports-posthog-signups';

const PAGE = 100;
const DEFAULT_CONCURRENCY = 5;
/** How often the re-enqueued signups are checked in the ledger. */
const POLL_MS = 10_000;
/** A re-enqueued signup not recorded within this is counted as still missing (it may be waiting for credits). */
const SETTLE_MS = 6 * 60 * 60 * 1000;

interface InFlight {
  id: string;
  since: number;
}

/** What a run hands to the next one through continue-as-new. */
interface Carried extends BackfillProgress {
  backfillId: string;
  startedAt: string;
  afterId: string | undefined;
  queue: Pick<BackfillCandidate, 'id' | 'workflowId'>[];
  flying: InFlight[];
  exhausted: boolean;
}

/**
 * Re-enqueues the signups of a window that lack ICP fields (`enrich backfill`, the detector on recovery, or
 * `temporal workflow start --type BackfillOutageWindowWorkflow`): candidates a page at a time from the ledger, at
 * most `concurrency` in flight, each as its `SignupEnrichmentWorkflow` at backfill priority (below live signups;
 * provider rate limits are honoured by the enrichment activities themselves). A second backfill of the same window
 * finds nothing new. Continues as new to keep each history short.
 */
export async function BackfillOutageWindowWorkflow(input: BackfillInput): Promise<BackfillResult> {
  if (!isDay(input.from) || !isDay(input.to) || input.from > input.to) {
    throw ApplicationFailure.create({
      type: 'InvalidInput',
      message: `window ${input.from}..${input.to}: from and to must be YYYY-MM-DD days, from <= to`,
      nonRetryable: true,
    });
  }
  const concurrency = Math.max(1, Math.floor(input.concurrency ?? DEFAULT_CONCURRENCY));
  const s: Carried = input.carried
    ? { ...(input.carried as Carried), runs: input.carried.runs + 1 }
    : {
        from: input.from,
        to: input.to,
        dryRun: input.dryRun ?? false,
        phase: 'finding',
        found: 0,
        reenqueued: 0,
        enriched: 0,
        stillMissing: {},
        inFlight: 0,
        posthogOrganizationsNotReceived: 0,
        runs: 1,
        backfillId: workflowInfo().workflowId,
        startedAt: new Date(Date.now()).toISOString(),
        afterId: undefined,
        queue: [],
        flying: [],
        exhausted: false,
      };
  const progress = (): BackfillProgress => ({
    from: s.from,
    to: s.to,
    dryRun: s.dryRun,
    phase: s.phase,
    found: s.found,
    reenqueued: s.reenqueued,
    enriched: s.enriched,
    stillMissing: { ...s.stillMissing },
    inFlight: s.flying.length,
    posthogOrganizationsNotReceived: s.posthogOrganizationsNotReceived,
    runs: s.runs,
  });
  setHandler(getBackfillProgressQuery, progress);
  const missing = (why: string) => (s.stillMissing[why] = (s.stillMissing[why] ?? 0) + 1);

  if (s.runs === 1) {
    // Since the import: the signups PostHog recorded that never reached us are recorded first, so the pages below
    // find them. Runs started before it only counted PostHog's organizations without enrichment.
    s.posthogOrganizationsNotReceived = patched(IMPORT_POSTHOG_SIGNUPS_PATCH)
      ? (await importPosthogSignups({ from: s.from, to: s.to, dryRun: s.dryRun })).notReceived
      : (await posthogOrganizationsWithoutEnrichment({ from: s.from, to: s.to })).length;
  }

  while (!s.exhausted || s.queue.length > 0 || s.flying.length > 0) {
    setCurrentDetails(describeProgress(progress()));
    if (workflowInfo().continueAsNewSuggested) {
      await continueAsNew<typeof BackfillOutageWindowWorkflow>({ ...input, carried: s });
    }
    if (s.queue.length === 0 && !s.exhausted) {
      const page = await listBackfillCandidates({ from: s.from, to: s.to, afterId: s.afterId, limit: PAGE });
      s.exhausted = page.length < PAGE;
      s.afterId = page.at(-1)?.id ?? s.afterId;
      s.found += page.length;
      if (s.dryRun) {
        for (const c of page) missing(`would re-enqueue (${c.status})`);
      } else {
        s.queue.push(...page.map((c) => ({ id: c.id, workflowId: c.workflowId })));
        s.phase = 'enriching';
      }
      continue;
    }
    const room = concurrency - s.flying.length;
    if (room > 0 && s.queue.length > 0) {
      const batch = s.queue.splice(0, room);
      await reenqueueSignups({ backfillId: s.backfillId, candidates: batch, at: new Date(Date.now()).toISOString() });
      s.reenqueued += batch.length;
      s.flying.push(...batch.map((c) => ({ id: c.id, since: Date.now() })));
      continue;
    }
    if (s.flying.length === 0) continue;
    await condition(() => false, POLL_MS);
    const states = await backfillStates({ ids: s.flying.map((f) => f.id), since: s.startedAt });
    for (const flying of [...s.flying]) {
      const state = states.find((x) => x.id === flying.id);
      const late = Date.now() - flying.since > SETTLE_MS;
      if (state && !state.recorded && !late) continue;
      s.flying.splice(s.flying.indexOf(flying), 1);
      if (!state) missing('no longer in the ledger');
      else if (!state.recorded) missing('not recorded in time (waiting for credits?)');
      else if (state.status === 'enriched') s.enriched++;
      else missing(`${state.status}${state.reason ? `: ${state.reason}` : ''}`);
    }
  }
  s.phase = 'done';
  setCurrentDetails(describeProgress(progress()));
  return progress();
}

/** The Web UI summary of a backfill. */
function describeProgress(p: BackfillProgress): string {
  const missing = Object.entries(p.stillMissing).map(([why, n]) => `- ${n} ${why}`);
  return [
    `**Backfill ${p.from} to ${p.to}**${p.dryRun ? ' (dry run)' : ''}: ${p.phase}`,
    `found ${p.found} · re-enqueued ${p.reenqueued} · enriched ${p.enriched} · in flight ${p.inFlight}`,
    ...(missing.length > 0 ? ['', `**${p.dryRun ? 'Would re-enqueue' : 'Still missing'}:**`, ...missing] : []),
  ].join('\n');
}
