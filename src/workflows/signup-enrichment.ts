import { RetryState, type SearchAttributeUpdatePair } from '@temporalio/common';
import {
  ActivityFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  patched,
  proxyActivities,
  proxyLocalActivities,
  workflowInfo,
  setCurrentDetails,
  setHandler,
  sleep,
  TimeoutFailure,
  upsertSearchAttributes,
  type ActivityInterfaceFor,
  type ActivityOptions,
  type LocalActivityOptions,
} from '@temporalio/workflow';
import type { EnrichmentActivities, EnrichmentPolicy } from '../activities/enrichment';
import { mergeFields, missingFields } from '../domain/enrichment/merge';
import type { IcpScore } from '../domain/icp/scoring';
import type { ProviderName } from '../domain/provider-outcome';
import type { LedgerActivities } from '../activities/ledger';
import { ErrorType } from '../domain/errors';
import {
  CompanyDomainKey,
  EnrichmentStatusKey,
  IcpScoreKey,
  IcpTierKey,
  SignupAtKey,
} from '../domain/search-attributes';
import type { IcpFields } from '../domain/icp/fields';
import type { EnrichmentStatus } from '../domain/status';
import { DAY_MS, HOUR_MS } from '../domain/time';
import type { HealthActivities } from '../activities/health';
import {
  clayResultSignal,
  creditsRestoredSignal,
  enrichmentPausedSignal,
  enrichmentResumedSignal,
  getStatusQuery,
  signupReceivedSignal,
  type CarriedFollowUp,
  type RunLimits,
  type SignupEnrichmentCarried,
  type SignupEnrichmentInput,
  type SignupEnrichmentResult,
  type SignupEnrichmentStatus,
  type SignupProgress,
} from './messages';
import { fanOut } from './fan-out';
import { callProviderWithin, checkScheduledWithin, describeShortfall, runWaterfall } from './waterfall';

/** Workflows started before the fan-out existed replay without it; new ones write every outcome downstream. */
const FAN_OUT_PATCH = 'fan-out-v1';
/** Workflows started before continue-as-new existed replay without it; new ones continue as new at RUN_LIMITS. */
const CONTINUE_AS_NEW_PATCH = 'continue-as-new-v1';

/**
 * A run continues as new at the first of these (or when the server suggests it), far below Temporal's limits of
 * 50,000 events or 50 MB of history and 10,000 signals per run: a burst of thousands of signups of one organization is
 * handled over a chain of short runs. A signup costs about 20 events when its company is known and up to about 80 with
 * provider calls and five writes, so either the event or the signup cap ends a run.
 */
export const RUN_LIMITS: RunLimits = {
  historyEvents: 10_000,
  historyBytes: 10 * 1024 * 1024,
  signupsHandled: 500,
  signalsReceived: 5_000,
};
/** How long a run ending waits for writes still in flight; those still unsettled are started again by the next run. */
const FAN_OUT_DRAIN_MS = 60_000;
/** How many settled signup ids the next run remembers, so that a second delivery of one is not enriched again. */
const RECENT_SIGNUPS = 1_000;
/**
 * Follow-ups a run hands on at most (each carries its signup's fields and provenance, about 1 KB): a burst of one
 * organization whose company is still being computed must not make the next run's input too large to start.
 */
const MAX_CARRIED_FOLLOW_UPS = 300;
/** Signups handled in one workflow task, with nothing but local activities, before the task is ended on purpose. */
const LOCAL_CHAIN_SIGNUPS = 25;
/** How many signups the Web UI's current details list. */
const DETAILS_SIGNUPS = 50;

/** Ledger reads and writes: quick, local, retried patiently because the database may be restarting. */
const ledgerCall: ActivityOptions = {
  startToCloseTimeout: '10 seconds',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
    nonRetryableErrorTypes: [ErrorType.SignupNotFound],
  },
};

/** Workflows started before the ledger calls ran as local activities replay them as activities. */
const LOCAL_LEDGER_PATCH = 'ledger-local-activities-v1';
type LedgerCalls = Pick<LedgerActivities, 'screenSignup'> &
  Pick<EnrichmentActivities, 'getEnrichmentPolicy' | 'lookupCachedCompany' | 'saveEnrichment'>;
const ledgerCalls = (
  ledger: ActivityInterfaceFor<LedgerActivities>,
  enrichment: ActivityInterfaceFor<EnrichmentActivities>,
): LedgerCalls => ({
  screenSignup: ledger.screenSignup,
  getEnrichmentPolicy: enrichment.getEnrichmentPolicy,
  lookupCachedCompany: enrichment.lookupCachedCompany,
  saveEnrichment: enrichment.saveEnrichment,
});
const remoteLedger = ledgerCalls(
  proxyActivities<LedgerActivities>(ledgerCall),
  proxyActivities<EnrichmentActivities>(ledgerCall),
);
// A burst of one organization's signups is handled one after another: without a round trip through the server for
// each ledger call it goes several times faster, with fewer history events per signup. Provider calls stay activities
// and end the workflow task; signups that need none are cut into tasks by endLongLocalChain.
// A local activity is retried inside the workflow task, adding task events while it waits: during a ledger outage it
// gives up after a minute and the same call goes on as a regular activity, which waits without growing the history.
const localLedgerCall: LocalActivityOptions = { ...ledgerCall, scheduleToCloseTimeout: '1 minute' };
const local = ledgerCalls(
  proxyLocalActivities<LedgerActivities>(localLedgerCall),
  proxyLocalActivities<EnrichmentActivities>(localLedgerCall),
);
const orRemote =
  <A extends unknown[], R>(localCall: (...args: A) => Promise<R>, remoteCall: (...args: A) => Promise<R>) =>
  async (...args: A): Promise<R> => {
    try {
      return await localCall(...args);
    } catch (err) {
      const timedOut =
        err instanceof ActivityFailure &&
        (err.retryState === RetryState.TIMEOUT || err.cause instanceof TimeoutFailure);
      if (!timedOut) throw err;
      return remoteCall(...args);
    }
  };
const localLedger: LedgerCalls = {
  screenSignup: orRemote(local.screenSignup, remoteLedger.screenSignup),
  getEnrichmentPolicy: orRemote(local.getEnrichmentPolicy, remoteLedger.getEnrichmentPolicy),
  lookupCachedCompany: orRemote(local.lookupCachedCompany, remoteLedger.lookupCachedCompany),
  saveEnrichment: orRemote(local.saveEnrichment, remoteLedger.saveEnrichment),
};
/** The ledger calls: local activities, except in histories recorded before they were. */
const ledger = (): LedgerCalls => (patched(LOCAL_LEDGER_PATCH) ? localLedger : remoteLedger);
const { getEnrichmentControls } = proxyActivities<HealthActivities>(ledgerCall);

/** Recorded without every required field: what a backfill may enrich again. */
const RERUNNABLE: readonly EnrichmentStatus[] = ['partial', 'not_found', 'failed'];

/** A company lookup a provider was still computing when the signup was recorded. */
interface FollowUp {
  signup: SignupProgress;
  domain: string;
  provider: ProviderName;
  token: string | undefined;
  policy: EnrichmentPolicy;
  deadline: number;
}

/**
 * One workflow per organization (or per person without one): the first signup starts it, later signups of the
 * same organization arrive by `signupReceived` and are handled in order. Each is screened (work email, free-mail,
 * disposable), enriched through the cost-ordered provider waterfall (company data only for work emails), scored,
 * and recorded in the ledger.
 */
export async function SignupEnrichmentWorkflow(input: SignupEnrichmentInput): Promise<SignupEnrichmentResult> {
  const carried = input.carried;
  const signups: SignupProgress[] = carried
    ? [...carried.signups, ...carried.pending.map((signupId) => ({ signupId, status: 'received' as const }))]
    : [{ signupId: input.signupId, status: 'received' }];
  let companyDomain: string | undefined = carried?.companyDomain;
  let icp: { score: number | undefined; tier: string | undefined } = carried?.icp ?? {
    score: undefined,
    tier: undefined,
  };
  // Compared only within one waterfall, and a run never ends inside one: not carried.
  let creditsRestored = 0;
  const followUps: FollowUp[] = (carried?.followUps ?? []).flatMap((f) => {
    const signup = signups.find((s) => s.signupId === f.signupId);
    const policy = carried?.policies[f.policy];
    return signup && policy ? [{ ...f, signup, policy }] : [];
  });
  const recent = new Set(carried?.recent);
  const run = carried?.run ?? 1;
  const limits: RunLimits = { ...RUN_LIMITS, ...input.runLimits };
  let signalsReceived = 0;
  let signupsHandled = 0;

  /** The live state, read-only: the Web UI details are built from it after every change without copying a burst. */
  const view = (): SignupEnrichmentStatus => ({
    status: overallStatus(signups),
    companyDomain,
    icpScore: icp.score,
    icpTier: icp.tier,
    signups,
    ...(carried && { run, settledEarlier: carried.settledEarlier }),
  });
  const snapshot = (): SignupEnrichmentStatus => {
    const v = view();
    return {
      ...v,
      signups: signups.map((s) => ({ ...s })),
      ...(v.settledEarlier && { settledEarlier: { ...v.settledEarlier } }),
    };
  };
  const publish = (extra: SearchAttributeUpdatePair[] = []) => {
    upsertSearchAttributes([{ key: EnrichmentStatusKey, value: overallStatus(signups) }, ...extra]);
    setCurrentDetails(describe(view()));
  };
  setHandler(getStatusQuery, snapshot);
  setHandler(signupReceivedSignal, ({ signupId, rerun }) => {
    signalsReceived++;
    // Signal-with-start delivers the first signup as a signal too; the outbox may also deliver one twice.
    const known = signups.find((s) => s.signupId === signupId);
    if (!known) {
      // Settled in an earlier run of the chain: only a backfill's rerun enriches it again.
      if (recent.has(signupId) && !rerun) return;
      signups.push({ signupId, status: 'received' });
    } else if (rerun && RERUNNABLE.includes(known.status)) {
      // A backfill while this run still follows lookups up: enrich it again now, and stop the old follow-up.
      for (const f of followUps.filter((x) => x.signup === known)) followUps.splice(followUps.indexOf(f), 1);
      Object.assign(known, { status: 'received', emailKind: undefined, reason: undefined });
    }
  });
  setHandler(creditsRestoredSignal, () => {
    creditsRestored++;
  });
  // Paused on purpose: no provider call until resumed. Signups waiting for credits show `paused` at once.
  let pause: { reason: string | undefined } | undefined = carried?.pause;
  const pausedReason = () => `paused: ${pause?.reason ?? 'by an operator'}`;
  setHandler(enrichmentPausedSignal, ({ reason }) => {
    pause = { reason };
    const waiting = signups.filter((s) => s.status === 'waiting_for_credits');
    for (const s of waiting) Object.assign(s, { status: 'paused', reason: pausedReason() });
    if (waiting.length > 0) publish();
  });
  setHandler(enrichmentResumedSignal, () => {
    pause = undefined;
    // Resuming wakes signups waiting for credits too: they try again now.
    creditsRestored++;
  });
  /** Holds a signup before a provider call while enrichment is paused; re-reads the ledger hourly. */
  const whileUnpaused = async (signup: SignupProgress) => {
    if (!pause) return;
    const before = { status: signup.status, reason: signup.reason };
    Object.assign(signup, { status: 'paused', reason: pausedReason() });
    publish();
    while (pause) {
      if (await condition(() => pause === undefined, '1 hour')) break;
      if (!(await getEnrichmentControls()).paused) pause = undefined;
    }
    // A follow-up of a recorded signup goes back to its recorded status; one being enriched goes on enriching.
    const recorded = !['received', 'enriching', 'waiting_for_credits', 'paused'].includes(before.status);
    Object.assign(signup, recorded ? before : { status: 'enriching', reason: undefined });
    publish();
  };
  const asyncResults = new Map<string, { found: boolean; fields: IcpFields }>();
  setHandler(clayResultSignal, ({ signupId, found, fields }) => {
    asyncResults.set(signupId, { found, fields });
  });

  const handle = async (signup: SignupProgress): Promise<void> => {
    try {
      const { screenSignup, getEnrichmentPolicy, lookupCachedCompany, saveEnrichment } = ledger();
      const screening = await screenSignup({ signupId: signup.signupId });
      Object.assign(signup, { emailKind: screening.emailKind, domain: screening.domain, status: 'enriching' });
      const work = screening.emailKind === 'work';
      if (work && companyDomain === undefined) {
        companyDomain = screening.domain;
        publish([
          { key: CompanyDomainKey, value: companyDomain },
          { key: SignupAtKey, value: new Date(screening.signedUpAt) },
        ]);
      } else {
        publish();
      }

      const policy = await getEnrichmentPolicy();
      if (policy.paused) pause = policy.paused;
      const cached = work
        ? await lookupCachedCompany({
            domain: screening.domain,
            freshSince: new Date(Date.now() - policy.domainCacheDays * DAY_MS).toISOString(),
          })
        : undefined;
      const result = await runWaterfall({
        signupId: signup.signupId,
        domain: work ? screening.domain : undefined,
        policy,
        cached,
        creditsRestoredCount: () => creditsRestored,
        awaitAsyncResult: async (timeoutMs) => {
          // The result may already be here: Clay can answer before the row's activity completion is processed.
          await condition(() => asyncResults.has(signup.signupId), timeoutMs);
          return asyncResults.get(signup.signupId);
        },
        forgetAsyncResult: () => asyncResults.delete(signup.signupId),
        whileUnpaused: () => whileUnpaused(signup),
        onWaiting: (waiting, reason) => {
          if (waiting === (signup.status === 'waiting_for_credits')) return;
          Object.assign(signup, { status: waiting ? 'waiting_for_credits' : 'enriching', reason });
          publish();
        },
      });

      // Free-mail and disposable signups get person data only: `skipped` for company data.
      const status: EnrichmentStatus = !work
        ? 'skipped'
        : result.missing.length === 0
          ? 'enriched'
          : result.companyFoundByProvider || cached
            ? 'partial'
            : result.noCompanyAnswer
              ? 'failed'
              : 'not_found';
      const reason = !work
        ? screening.emailKind
        : result.missing.length === 0
          ? undefined
          : `missing ${result.missing.join(', ')}${describeShortfall(result)}`;
      const score = await saveEnrichment({
        signupId: signup.signupId,
        domain: work ? screening.domain : undefined,
        status,
        reason,
        fields: result.fields,
        provenance: result.provenance,
        creditsSpent: result.creditsSpent,
        cacheCompany: work && result.companyFoundByProvider,
        unavailableProviders: result.unavailable.map((u) => u.provider),
        recordedAt: new Date(Date.now()).toISOString(),
      });
      Object.assign(signup, {
        status,
        reason,
        fields: result.fields,
        provenance: result.provenance,
        missingFields: result.missing,
        creditsSpent: result.creditsSpent,
        trace: result.trace,
        score: { status: score.status, score: score.score, tier: score.tier },
      });
      publishScore(work, score);
      startFanOut(signup);
      if (work && result.missing.length > 0) {
        const deadline = Date.now() + policy.queuedFollowUpHours * HOUR_MS;
        for (const q of result.queued) followUps.push({ signup, domain: screening.domain, policy, deadline, ...q });
      }
    } catch (err) {
      // Only non-retryable failures get here: the ledger lost the row, or a provider rejected our API key.
      Object.assign(signup, { status: 'failed', reason: failureReason(err) });
      publish();
    }
  };

  /** The signups whose writes are in flight (a follow-up may start a second fan-out of the same signup). */
  const fanningOut = new Map<SignupProgress, number>();
  /** Writes the recorded outcome to every destination, in the background: the next signup does not wait for it. */
  const startFanOut = (signup: SignupProgress) => {
    if (!patched(FAN_OUT_PATCH)) return;
    const writes: NonNullable<SignupProgress['writes']> = {};
    signup.writes = writes;
    fanningOut.set(signup, (fanningOut.get(signup) ?? 0) + 1);
    fanOut(signup.signupId, writes, () => publish())
      .catch((err: unknown) => {
        // Only a signup missing from the ledger gets here (planning is retried otherwise).
        signup.reason = `fan-out not planned: ${failureReason(err)}`;
        publish();
      })
      .finally(() => {
        const left = (fanningOut.get(signup) ?? 1) - 1;
        if (left > 0) fanningOut.set(signup, left);
        else fanningOut.delete(signup);
      });
  };

  const publishScore = (work: boolean, score: IcpScore) => {
    const extra: SearchAttributeUpdatePair[] = [];
    if (work && score.score !== undefined && score.tier !== undefined) {
      icp = { score: score.score, tier: score.tier };
      extra.push({ key: IcpScoreKey, value: score.score }, { key: IcpTierKey, value: score.tier });
    }
    publish(extra);
  };

  /**
   * A lookup the provider was still computing: ask again (Harmonic: once its scheduled enrichment is complete) and,
   * if it now has data, fill what is still missing and record the signup again. Returns whether it is settled.
   */
  const followUpOnce = async (f: FollowUp): Promise<boolean> => {
    if (Date.now() >= f.deadline) return true;
    if (f.token !== undefined) {
      const state = await checkScheduledWithin(f.policy, {
        provider: f.provider,
        token: f.token,
        signupId: f.signup.signupId,
      });
      if (state === 'pending') return false;
      if (state !== 'complete') return true;
    }
    await whileUnpaused(f.signup);
    const result = await callProviderWithin(f.policy, {
      provider: f.provider,
      signupId: f.signup.signupId,
      workflowId: workflowInfo().workflowId,
      lookup: 'company',
      domain: f.domain,
    });
    if (result.kind === 'queued') return false;
    const s = f.signup;
    s.trace = [
      ...(s.trace ?? []),
      { source: f.provider, lookup: 'company', outcome: `follow-up ${result.kind}`, filled: [] },
    ];
    if (result.kind !== 'found') return true;
    const merged = mergeFields(
      { fields: s.fields ?? {}, provenance: s.provenance ?? {} },
      result.fields,
      { source: f.provider, at: result.at },
      f.policy.fieldPreference,
    );
    const missing = missingFields(merged.fields, f.policy.requiredFields);
    const status: EnrichmentStatus = missing.length === 0 ? 'enriched' : 'partial';
    const creditsSpent = { ...s.creditsSpent, [f.provider]: (s.creditsSpent?.[f.provider] ?? 0) + 1 };
    s.trace.at(-1)!.filled = merged.filled;
    const reason = missing.length === 0 ? undefined : `missing ${missing.join(', ')}`;
    const score = await ledger().saveEnrichment({
      signupId: s.signupId,
      domain: f.domain,
      status,
      reason,
      fields: merged.fields,
      provenance: merged.provenance,
      creditsSpent,
      cacheCompany: true,
      recordedAt: new Date(Date.now()).toISOString(),
    });
    Object.assign(s, {
      status,
      reason,
      fields: merged.fields,
      provenance: merged.provenance,
      missingFields: missing,
      creditsSpent,
      score: { status: score.status, score: score.score, tier: score.tier },
    });
    publishScore(true, score);
    startFanOut(s);
    return true;
  };

  /**
   * A follow-up that fails for good (a provider refusing our key mid-window, the ledger row gone) ends for its signup
   * alone, with the reason: the organization's other signups and follow-ups go on.
   */
  const followUp = async (f: FollowUp): Promise<boolean> => {
    try {
      return await followUpOnce(f);
    } catch (err) {
      f.signup.reason = `follow-up stopped: ${failureReason(err)}`;
      publish();
      return true;
    }
  };

  /** Whether this run has grown enough to continue as new (checked between signups, never inside one). */
  const runIsFull = (): boolean => {
    const info = workflowInfo();
    const full =
      info.continueAsNewSuggested ||
      info.historyLength >= limits.historyEvents ||
      info.historySize >= limits.historyBytes ||
      signupsHandled >= limits.signupsHandled ||
      signalsReceived >= limits.signalsReceived;
    // Asked only once the run is full, so runs (and recorded histories) that never get there are unchanged.
    return full && patched(CONTINUE_AS_NEW_PATCH);
  };

  /** Hands the organization's state to a new run: the writes in flight settle (or are carried), signals are drained. */
  const continueAsNewNow = async (): Promise<never> => {
    if (fanningOut.size > 0) await condition(() => fanningOut.size === 0, FAN_OUT_DRAIN_MS);
    await condition(allHandlersFinished);
    const next = carry();
    setCurrentDetails(`${describe(view())}\n\n**Continued as new:** run ${next.run} takes over`);
    return continueAsNew<typeof SignupEnrichmentWorkflow>({ ...input, carried: next });
  };

  const carry = (): SignupEnrichmentCarried => {
    const lead = signups.find((s) => s.emailKind === 'work');
    // Beyond the cap a follow-up ends here: its signup stays as recorded (partial or not_found), which a backfill re-runs.
    const carriedFollowUps = followUps.slice(0, MAX_CARRIED_FOLLOW_UPS);
    const followed = new Set(carriedFollowUps.map((f) => f.signup));
    const policies: EnrichmentPolicy[] = [];
    const policyIndex = (policy: EnrichmentPolicy): number => {
      const json = JSON.stringify(policy);
      const i = policies.findIndex((p) => JSON.stringify(p) === json);
      return i >= 0 ? i : policies.push(policy) - 1;
    };
    const settledEarlier = { ...carried?.settledEarlier };
    const kept: SignupProgress[] = [];
    const settled: string[] = [];
    for (const s of signups) {
      if (isNew(s)) continue;
      if (s === lead || followed.has(s)) {
        // Traces and write states stay in this run's history; the next run shows what it does itself.
        const { trace: _trace, writes: _writes, ...slim } = s;
        kept.push(slim);
      } else if (fanningOut.has(s)) {
        // Its writes are planned again from the ledger: the id and status are all the next run needs.
        kept.push({ signupId: s.signupId, status: s.status, emailKind: s.emailKind, reason: s.reason });
      } else {
        settledEarlier[s.status] = (settledEarlier[s.status] ?? 0) + 1;
        settled.push(s.signupId);
      }
    }
    return {
      run: run + 1,
      companyDomain,
      icp,
      pause,
      signups: kept,
      pending: signups.filter(isNew).map((s) => s.signupId),
      followUps: carriedFollowUps.map((f): CarriedFollowUp => ({
        signupId: f.signup.signupId,
        domain: f.domain,
        provider: f.provider,
        token: f.token,
        policy: policyIndex(f.policy),
        deadline: f.deadline,
      })),
      followUpPollMs: pollMs,
      policies,
      fanOuts: [...fanningOut.keys()].map((s) => s.signupId),
      recent: [...(carried?.recent ?? []), ...settled].slice(-RECENT_SIGNUPS),
      settledEarlier,
    };
  };

  let chain = { historyLength: 0, signups: 0 };
  /**
   * Signups whose every call was a ledger call (screening failed, no person provider) run in one workflow task: after
   * LOCAL_CHAIN_SIGNUPS of them, a 1 ms timer ends the task, so no task grows long enough to time out.
   */
  const endLongLocalChain = async () => {
    const { historyLength } = workflowInfo();
    if (historyLength !== chain.historyLength) chain = { historyLength, signups: 0 };
    if (++chain.signups < LOCAL_CHAIN_SIGNUPS || !patched(LOCAL_LEDGER_PATCH)) return;
    await sleep(1);
    chain = { historyLength: workflowInfo().historyLength, signups: 0 };
  };

  // Writes the previous run left unsettled: asked again under the same idempotency keys, so nothing is written twice.
  for (const id of carried?.fanOuts ?? []) {
    const signup = signups.find((s) => s.signupId === id);
    if (signup) startFanOut(signup);
  }
  if (carried) publish();

  // New signups first; then, while lookups are still being computed by a provider, poll them with a growing
  // interval (1 min doubling to 1 h) until each settles or its follow-up window closes; and until every write has
  // settled. A signup that arrives meanwhile is handled at once.
  // A run that grows too long continues as new between two signups, or before a round of follow-ups.
  let pollMs = carried?.followUpPollMs ?? 60_000;
  for (;;) {
    for (let next = signups.find(isNew); next; next = signups.find(isNew)) {
      // Each run handles one signup at least: a run can never hand everything on without doing anything.
      if (signupsHandled > 0 && runIsFull()) await continueAsNewNow();
      await handle(next);
      signupsHandled++;
      await endLongLocalChain();
    }
    if (followUps.length === 0) {
      if (fanningOut.size === 0) break;
      await condition(() => signups.some(isNew) || fanningOut.size === 0);
      continue;
    }
    if (await condition(() => signups.some(isNew), pollMs)) continue;
    pollMs = Math.min(pollMs * 2, HOUR_MS);
    if (runIsFull()) await continueAsNewNow();
    for (const f of [...followUps]) {
      if (await followUp(f)) followUps.splice(followUps.indexOf(f), 1);
    }
  }
  return snapshot();
}

function isNew(s: SignupProgress): boolean {
  return s.emailKind === undefined && s.status === 'received';
}

function failureReason(err: unknown): string {
  const cause = (err as { cause?: unknown }).cause;
  return cause instanceof Error ? cause.message : err instanceof Error ? err.message : String(err);
}

/** The organization's status: a work-email signup carries it; only when every signup was skipped is it skipped. */
function overallStatus(signups: SignupProgress[]): EnrichmentStatus {
  const work = signups.find((s) => s.emailKind === 'work');
  if (work) return work.status;
  const active = signups.find((s) => s.status === 'enriching' || s.status === 'waiting_for_credits');
  if (active) return active.status;
  if (signups.some((s) => s.status === 'failed')) return 'failed';
  return signups.every((s) => s.status === 'skipped') ? 'skipped' : 'received';
}

function describe(s: SignupEnrichmentStatus): string {
  const lines = [
    `**Status:** ${s.status}`,
    `**Company:** ${s.companyDomain ?? '—'}`,
    `**ICP:** ${s.icpScore === undefined ? '—' : `${s.icpScore} (tier ${s.icpTier ?? '?'})`}`,
  ];
  if (s.run !== undefined) {
    const earlier = Object.entries(s.settledEarlier ?? {});
    const total = earlier.reduce((n, [, count]) => n + count, 0);
    const byStatus = earlier.map(([status, count]) => `${count} ${status}`).join(', ');
    lines.push(
      `**Run:** ${s.run} (continued as new; ${total} signups settled in earlier runs${total ? `: ${byStatus}` : ''})`,
    );
  }
  lines.push('', '**Signups:**');
  // A burst lists thousands: the Web UI gets the latest handled ones and counts for the rest (getStatus has them all).
  const waiting = s.signups.length > DETAILS_SIGNUPS ? s.signups.filter(isNew).length : 0;
  const handled = waiting > 0 ? s.signups.filter((p) => !isNew(p)) : s.signups;
  const listed = handled.slice(-DETAILS_SIGNUPS);
  if (listed.length < handled.length) lines.push(`- … ${handled.length - listed.length} earlier signups of this run`);
  for (const p of listed) {
    const credits = Object.entries(p.creditsSpent ?? {})
      .map(([provider, n]) => `${provider} ${n}`)
      .join(', ');
    lines.push(
      `- ${p.signupId}: ${p.status}${p.reason ? ` (${p.reason})` : ''}${p.emailKind ? ` · ${p.emailKind}` : ''}` +
        `${p.fields?.companyName ? ` · ${p.fields.companyName}` : ''}${credits ? ` · credits: ${credits}` : ''}`,
    );
    const writes = Object.entries(p.writes ?? {}).map(
      ([destination, w]) =>
        `${destination} ${w.state}${w.state === 'retrying' || w.state === 'failed' ? ` (${w.reason ?? ''})` : ''}`,
    );
    if (writes.length > 0) lines.push(`  - writes: ${writes.join(' · ')}`);
  }
  if (waiting > 0) lines.push(`- … ${waiting} received, waiting their turn`);
  return lines.join('\n');
}
