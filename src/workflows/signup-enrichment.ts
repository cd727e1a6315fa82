import {
  proxyActivities,
  type ActivityOptions,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { SearchAttributeUpdatePair } from '@temporalio/common';
import type { LedgerActivities } from '../activities/ledger';
import { ErrorType } from '../domain/errors';
import { CompanyDomainKey, EnrichmentStatusKey, SignupAtKey } from '../domain/search-attributes';
import type { EnrichmentStatus } from '../domain/status';
import {
  getStatusQuery,
  signupReceivedSignal,
  type SignupEnrichmentInput,
  type SignupEnrichmentResult,
  type SignupEnrichmentStatus,
  type SignupProgress,
} from './messages';

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

/**
 * One workflow per organization (or per person without one): the first signup starts it, later signups of the
 * same organization arrive by `signupReceived` and are handled in order. Each is screened (work email, free-mail,
 * disposable) and its outcome recorded in the ledger; provider enrichment follows screening in a later step.
 */
export async function SignupEnrichmentWorkflow(input: SignupEnrichmentInput): Promise<SignupEnrichmentResult> {
  const signups: SignupProgress[] = [{ signupId: input.signupId, status: 'received' }];
  let companyDomain: string | undefined;

  const snapshot = (): SignupEnrichmentStatus => ({
    status: overallStatus(signups),
    companyDomain,
    signups: signups.map((s) => ({ ...s })),
  });
  setHandler(getStatusQuery, snapshot);
  setHandler(signupReceivedSignal, ({ signupId }) => {
    // Signal-with-start delivers the first signup as a signal too; the outbox may also deliver one twice.
    if (!signups.some((s) => s.signupId === signupId)) signups.push({ signupId, status: 'received' });
  });

  for (let next = signups.find(isUnscreened); next; next = signups.find(isUnscreened)) {
    let outcome;
    try {
      outcome = await screenSignup({ signupId: next.signupId });
    } catch (err) {
      // Only non-retryable failures end up here (the ledger lost the row): an operator has to look at it.
      Object.assign(next, { status: 'failed', reason: err instanceof Error ? err.message : String(err) });
      upsertSearchAttributes([{ key: EnrichmentStatusKey, value: overallStatus(signups) }]);
      setCurrentDetails(describe(snapshot()));
      continue;
    }
    Object.assign(next, {
      status: outcome.status,
      emailKind: outcome.emailKind,
      domain: outcome.domain,
      reason: outcome.reason,
    });
    const updates: SearchAttributeUpdatePair[] = [{ key: EnrichmentStatusKey, value: overallStatus(signups) }];
    if (outcome.emailKind === 'work' && companyDomain === undefined) {
      companyDomain = outcome.domain;
      updates.push(
        { key: CompanyDomainKey, value: companyDomain },
        { key: SignupAtKey, value: new Date(outcome.signedUpAt) },
      );
    }
    upsertSearchAttributes(updates);
    setCurrentDetails(describe(snapshot()));
  }
  return snapshot();
}

function isUnscreened(s: SignupProgress): boolean {
  return s.emailKind === undefined && s.status === 'received';
}

/** The organization's status: a work-email signup carries it; only when every signup was skipped is it skipped. */
function overallStatus(signups: SignupProgress[]): EnrichmentStatus {
  const work = signups.find((s) => s.emailKind === 'work');
  if (work) return work.status;
  if (signups.some((s) => s.status === 'failed')) return 'failed';
  return signups.every((s) => s.status === 'skipped') ? 'skipped' : 'received';
}

function describe(s: SignupEnrichmentStatus): string {
  const lines = [`**Status:** ${s.status}`, `**Company domain:** ${s.companyDomain ?? '—'}`, '', '**Signups:**'];
  for (const p of s.signups) {
    lines.push(
      `- ${p.signupId}: ${p.status}${p.reason ? ` (${p.reason})` : ''}${p.emailKind ? ` · ${p.emailKind}` : ''}`,
    );
  }
  return lines.join('\n');
}
