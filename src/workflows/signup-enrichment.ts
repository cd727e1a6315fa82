import type { SearchAttributeUpdatePair } from '@temporalio/common';
import {
  condition,
  patched,
  proxyActivities,
  workflowInfo,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  type ActivityOptions,
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
import type { HealthActivities } from '../activities/health';
import {
  clayResultSignal,
  creditsRestoredSignal,
  enrichmentPausedSignal,
  enrichmentResumedSignal,
  getStatusQuery,
  signupReceivedSignal,
  type SignupEnrichmentInput,
  type SignupEnrichmentResult,
  type SignupEnrichmentStatus,
  type SignupProgress,
} from './messages';
import { fanOut } from './fan-out';
import { callProviderWithin, checkScheduledWithin, describeShortfall, runWaterfall } from './waterfall';

/** Workflows started before the fan-out existed replay without it; new ones write every outcome downstream. */
const FAN_OUT_PATCH = 'fan-out-v1';

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

const { screenSignup } = proxyActivities<LedgerActivities>(ledgerCall);
const { getEnrichmentPolicy, lookupCachedCompany, saveEnrichment } = proxyActivities<EnrichmentActivities>(ledgerCall);
const { getEnrichmentControls } = proxyActivities<HealthActivities>(ledgerCall);

const DAY_MS = 24 * 60 * 60 * 1000;
const HOUR_MS = 60 * 60 * 1000;
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
  const signups: SignupProgress[] = [{ signupId: input.signupId, status: 'received' }];
  let companyDomain: string | undefined;
  let icp: { score: number | undefined; tier: string | undefined } = { score: undefined, tier: undefined };
  let creditsRestored = 0;
  const followUps: FollowUp[] = [];

  const snapshot = (): SignupEnrichmentStatus => ({
    status: overallStatus(signups),
    companyDomain,
    icpScore: icp.score,
    icpTier: icp.tier,
    signups: signups.map((s) => ({ ...s })),
  });
  const publish = (extra: SearchAttributeUpdatePair[] = []) => {
    upsertSearchAttributes([{ key: EnrichmentStatusKey, value: overallStatus(signups) }, ...extra]);
    setCurrentDetails(describe(snapshot()));
  };
  setHandler(getStatusQuery, snapshot);
  setHandler(signupReceivedSignal, ({ signupId, rerun }) => {
    // Signal-with-start delivers the first signup as a signal too; the outbox may also deliver one twice.
    const known = signups.find((s) => s.signupId === signupId);
    if (!known) {
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
  let pause: { reason: string | undefined } | undefined;
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

  let activeFanOuts = 0;
  /** Writes the recorded outcome to every destination, in the background: the next signup does not wait for it. */
  const startFanOut = (signup: SignupProgress) => {
    if (!patched(FAN_OUT_PATCH)) return;
    const writes: NonNullable<SignupProgress['writes']> = {};
    signup.writes = writes;
    activeFanOuts++;
    fanOut(signup.signupId, writes, () => publish())
      .catch((err: unknown) => {
        // Only a signup missing from the ledger gets here (planning is retried otherwise).
        signup.reason = `fan-out not planned: ${failureReason(err)}`;
        publish();
      })
      .finally(() => activeFanOuts--);
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
  const followUp = async (f: FollowUp): Promise<boolean> => {
    if (Date.now() >= f.deadline) return true;
    if (f.token !== undefined) {
      const state = await checkScheduledWithin(f.policy, { provider: f.provider, token: f.token });
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
    const score = await saveEnrichment({
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

  // New signups first; then, while lookups are still being computed by a provider, poll them with a growing
  // interval (1 min doubling to 1 h) until each settles or its follow-up window closes; and until every write has
  // settled. A signup that arrives meanwhile is handled at once.
  let pollMs = 60_000;
  for (;;) {
    for (let next = signups.find(isNew); next; next = signups.find(isNew)) await handle(next);
    if (followUps.length === 0) {
      if (activeFanOuts === 0) break;
      await condition(() => signups.some(isNew) || activeFanOuts === 0);
      continue;
    }
    if (await condition(() => signups.some(isNew), pollMs)) continue;
    pollMs = Math.min(pollMs * 2, HOUR_MS);
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
    '',
    '**Signups:**',
  ];
  for (const p of s.signups) {
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
  return lines.join('\n');
}
