import type { SearchAttributeUpdatePair } from '@temporalio/common';
import {
  condition,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { EnrichmentActivities } from '../activities/enrichment';
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
import {
  clayResultSignal,
  creditsRestoredSignal,
  getStatusQuery,
  signupReceivedSignal,
  type SignupEnrichmentInput,
  type SignupEnrichmentResult,
  type SignupEnrichmentStatus,
  type SignupProgress,
} from './messages';
import { runWaterfall } from './waterfall';

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

const DAY_MS = 24 * 60 * 60 * 1000;

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
  setHandler(signupReceivedSignal, ({ signupId }) => {
    // Signal-with-start delivers the first signup as a signal too; the outbox may also deliver one twice.
    if (!signups.some((s) => s.signupId === signupId)) signups.push({ signupId, status: 'received' });
  });
  setHandler(creditsRestoredSignal, () => {
    creditsRestored++;
  });
  const asyncResults = new Map<string, { found: boolean; fields: IcpFields }>();
  setHandler(clayResultSignal, ({ signupId, found, fields }) => {
    asyncResults.set(signupId, { found, fields });
  });

  for (let next = signups.find(isNew); next; next = signups.find(isNew)) {
    const signup = next;
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
            : 'not_found';
      const reason = !work
        ? screening.emailKind
        : result.missing.length === 0
          ? undefined
          : `missing ${result.missing.join(', ')}${describeUnavailable(result.unavailable)}`;
      const score = await saveEnrichment({
        signupId: signup.signupId,
        domain: work ? screening.domain : undefined,
        status,
        reason,
        fields: result.fields,
        provenance: result.provenance,
        creditsSpent: result.creditsSpent,
        cacheCompany: work && result.companyFoundByProvider,
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
      const extra: SearchAttributeUpdatePair[] = [];
      if (work && score.score !== undefined && score.tier !== undefined) {
        icp = { score: score.score, tier: score.tier };
        extra.push({ key: IcpScoreKey, value: score.score }, { key: IcpTierKey, value: score.tier });
      }
      publish(extra);
    } catch (err) {
      // Only non-retryable failures get here: the ledger lost the row, or a provider rejected our API key.
      Object.assign(signup, { status: 'failed', reason: failureReason(err) });
      publish();
    }
  }
  return snapshot();
}

function describeUnavailable(unavailable: { provider: string; outcome: string }[]): string {
  if (unavailable.length === 0) return '';
  const parts = unavailable.map(
    (u) => `${u.provider} ${u.outcome === 'provider_silent' ? 'silent' : 'out of credits'}`,
  );
  return ` (${parts.join(', ')})`;
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
  }
  return lines.join('\n');
}
