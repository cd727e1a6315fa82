import { TemporalFailure, type SearchAttributeUpdatePair } from '@temporalio/common';
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  patched,
  proxyActivities,
  workflowInfo,
  setCurrentDetails,
  setHandler,
  sleep,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { EnrichmentPolicy, SaveEnrichmentInput } from '../activities/enrichment';
import type { HealthActivities } from '../activities/health';
import { mergeFields, missingFields } from '../domain/enrichment/merge';
import { describeShortfall, missingReason, recordedStatus, withCredit } from '../domain/enrichment/waterfall';
import type { IcpFields } from '../domain/icp/fields';
import type { IcpScore } from '../domain/icp/scoring';
import type { ProviderName } from '../domain/provider-outcome';
import {
  CompanyDomainKey,
  EnrichmentStatusKey,
  IcpScoreKey,
  IcpTierKey,
  SignupAtKey,
} from '../domain/search-attributes';
import { DAY_MS, HOUR_MS } from '../domain/time';
import { ledgerCall } from './activity-options';
import { fanOut } from './fan-out';
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
  type TraceEntry,
} from './messages';
import { LOCAL_LEDGER_PATCH, signupLedger } from './signup-ledger';
import { describe, failureReason, isNew, isRecorded, overallStatus, RERUNNABLE, transition } from './signup-state';
import { callProviderWithin, checkScheduledWithin, runWaterfall } from './waterfall';

/** Workflows started before the fan-out existed replay without it; new ones write every outcome downstream. */
const FAN_OUT_PATCH = 'fan-out-v1';
/** Workflows started before continue-as-new existed replay without it; new ones continue as new at RUN_LIMITS. */
const CONTINUE_AS_NEW_PATCH = 'continue-as-new-v1';
/** A signup screened `undeliverable` ends there, before the policy read and any lookup. */
export const DELIVERABILITY_PATCH = 'deliverability-screening-v1';

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

const { getEnrichmentControls } = proxyActivities<HealthActivities>(ledgerCall);

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
      transition(known, { to: 'rerun' });
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
    for (const s of waiting) transition(s, { to: 'paused', reason: pausedReason() });
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
    transition(signup, { to: 'paused', reason: pausedReason() });
    publish();
    while (pause) {
      if (await condition(() => pause === undefined, '1 hour')) break;
      if (!(await getEnrichmentControls()).paused) pause = undefined;
    }
    // A follow-up of a recorded signup goes back to its recorded status; one being enriched goes on enriching.
    transition(signup, isRecorded(before.status) ? { to: 'resumed_recorded', ...before } : { to: 'enriching' });
    publish();
  };
  const asyncResults = new Map<string, { found: boolean; fields: IcpFields }>();
  setHandler(clayResultSignal, ({ signupId, found, fields }) => {
    asyncResults.set(signupId, { found, fields });
  });

  const handle = async (signup: SignupProgress): Promise<void> => {
    try {
      const { screenSignup, getEnrichmentPolicy, lookupCachedCompany } = signupLedger();
      const screening = await screenSignup({ signupId: signup.signupId });
      // Only a screening that found the domain undeliverable takes this branch; the patch keeps an execution that an
      // older worker screened so (and went on to the waterfall) replaying as it ran.
      if (screening.status === 'undeliverable' && patched(DELIVERABILITY_PATCH)) {
        transition(signup, {
          to: 'undeliverable',
          emailKind: screening.emailKind,
          domain: screening.domain,
          reason: screening.reason ?? 'undeliverable',
        });
        publish();
        return;
      }
      transition(signup, { to: 'screened', emailKind: screening.emailKind, domain: screening.domain });
      const work = screening.emailKind === 'work';
      if (work && companyDomain === undefined) {
        companyDomain = screening.domain;
        // Still one upsert, its content taken from the recorded screening: histories from before `indexDomain`
        // replay as they ran. Search attributes are stored in clear, so an encrypted deployment leaves the domain out.
        publish([
          ...(screening.indexDomain === false ? [] : [{ key: CompanyDomainKey, value: companyDomain }]),
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
          transition(signup, waiting ? { to: 'waiting_for_credits', reason: reason ?? '' } : { to: 'enriching' });
          publish();
        },
      });

      // Free-mail and disposable signups get person data only: `skipped` for company data.
      const status = recordedStatus({
        work,
        missing: result.missing,
        companyKnown: result.companyFoundByProvider || cached !== undefined,
        noCompanyAnswer: result.noCompanyAnswer,
      });
      await record(
        signup,
        work,
        {
          signupId: signup.signupId,
          domain: work ? screening.domain : undefined,
          status,
          reason: work ? missingReason(result.missing, describeShortfall(result)) : screening.emailKind,
          fields: result.fields,
          provenance: result.provenance,
          creditsSpent: result.creditsSpent,
          cacheCompany: work && result.companyFoundByProvider,
          unavailableProviders: result.unavailable.map((u) => u.provider),
          recordedAt: new Date(Date.now()).toISOString(),
        },
        { missing: result.missing, trace: result.trace },
      );
      if (work && result.missing.length > 0) {
        const deadline = Date.now() + policy.queuedFollowUpHours * HOUR_MS;
        for (const q of result.queued) followUps.push({ signup, domain: screening.domain, policy, deadline, ...q });
      }
    } catch (err) {
      // Only non-retryable failures end a signup: the ledger lost the row, or a provider rejected our API key. A bug
      // in this code (a TypeError) fails the workflow task instead, retried until a deploy fixes it.
      if (!(err instanceof TemporalFailure)) throw err;
      transition(signup, { to: 'failed', reason: failureReason(err) });
      publish();
    }
  };

  /**
   * Saves a signup's outcome in the ledger (which scores it), then shows it, publishes the score and writes it to
   * every destination: the one way an outcome is recorded, for a first enrichment and a follow-up alike.
   */
  const record = async (
    signup: SignupProgress,
    work: boolean,
    save: SaveEnrichmentInput,
    found: { missing: string[]; trace?: TraceEntry[] },
  ): Promise<void> => {
    const score = await signupLedger().saveEnrichment(save);
    transition(signup, {
      to: 'recorded',
      outcome: {
        status: save.status,
        reason: save.reason,
        fields: save.fields,
        provenance: save.provenance,
        missingFields: found.missing,
        creditsSpent: save.creditsSpent,
        trace: found.trace,
        score: { status: score.status, score: score.score, tier: score.tier },
      },
    });
    publishScore(work, score);
    startFanOut(signup);
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
        // Only a signup missing from the ledger gets here (planning is retried otherwise); a bug fails the task.
        if (!(err instanceof TemporalFailure)) throw err;
        transition(signup, { to: 'noted', reason: `fan-out not planned: ${failureReason(err)}` });
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
    s.trace.at(-1)!.filled = merged.filled;
    await record(
      s,
      true,
      {
        signupId: s.signupId,
        domain: f.domain,
        status: recordedStatus({ work: true, missing, companyKnown: true, noCompanyAnswer: false }),
        reason: missingReason(missing),
        fields: merged.fields,
        provenance: merged.provenance,
        creditsSpent: withCredit(s.creditsSpent ?? {}, f.provider),
        cacheCompany: true,
        recordedAt: new Date(Date.now()).toISOString(),
      },
      { missing },
    );
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
      if (!(err instanceof TemporalFailure)) throw err;
      transition(f.signup, { to: 'noted', reason: `follow-up stopped: ${failureReason(err)}` });
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
