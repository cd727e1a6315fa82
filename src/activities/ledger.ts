import { ApplicationFailure } from '@temporalio/common';
import { ErrorType } from '../domain/errors';
import type { DeliverabilityPort } from '../domain/ports';
import { screenEmail, UNDELIVERABLE_REASONS } from '../domain/screening';
import type { EmailKind, EnrichmentStatus } from '../domain/status';
import type { Ledger } from '../ledger/ledger';
import type { SettledObserver } from './support';

export interface ScreenSignupInput {
  signupId: string;
}

export interface ScreenSignupResult {
  signupId: string;
  status: EnrichmentStatus;
  emailKind: EmailKind;
  /** The email's domain; a company domain only when `emailKind` is `work`. */
  domain: string;
  signedUpAt: string;
  reason: string | undefined;
  /**
   * `false`: the domain stays out of the `CompanyDomain` search attribute, which the server indexes in clear and the
   * payload codec cannot encrypt (PAYLOAD_CODEC_KEYS set). Absent (results recorded before it existed too): indexed.
   */
  indexDomain?: false;
}

export const createLedgerActivities = (deps: {
  ledger: Ledger;
  indexCompanyDomain?: boolean;
  deliverability?: DeliverabilityPort;
  /** Told of a signup screened `undeliverable` (its first settled outcome: the receipt-to-settled histogram). */
  onSettled?: SettledObserver;
}) => ({
  /**
   * Classifies the signup's email (work, free-mail, disposable), screens a work email's domain in DNS (undeliverable:
   * no paid lookup; a DNS failure lets it through) and records the outcome. Idempotent: a signup
   * already screened returns its recorded outcome, so a retried activity or a re-delivered start changes nothing.
   */
  async screenSignup({ signupId }: ScreenSignupInput): Promise<ScreenSignupResult> {
    const signup = await deps.ledger.signups.getSignup(signupId);
    if (signup?.erasedAt && !signup.email) {
      // Erased (enrich forget) before it was screened: nothing left to enrich; the signup settles as skipped.
      const kind = signup.emailKind ?? 'free_mail';
      if (signup.emailKind === null) {
        await deps.ledger.signups.recordScreening(signupId, { emailKind: kind, status: 'skipped', reason: 'erased' });
      }
      return {
        signupId,
        status: signup.emailKind === null ? 'skipped' : signup.status,
        emailKind: kind,
        domain: signup.emailDomain ?? '',
        signedUpAt: signup.signedUpAt,
        reason: signup.emailKind === null ? 'erased' : (signup.statusReason ?? undefined),
      };
    }
    if (!signup?.email) {
      throw ApplicationFailure.create({
        type: ErrorType.SignupNotFound,
        message: `signup ${signupId} is not in the ledger or has no email`,
        nonRetryable: true,
      });
    }
    const { kind, domain } = screenEmail(signup.email);
    const result = (status: EnrichmentStatus, reason: string | undefined): ScreenSignupResult => ({
      signupId,
      status,
      emailKind: kind,
      domain,
      signedUpAt: signup.signedUpAt,
      reason,
      ...(deps.indexCompanyDomain === false ? { indexDomain: false as const } : {}),
    });
    if (signup.emailKind !== null) return result(signup.status, signup.statusReason ?? undefined);

    // Free-mail and disposable signups are person-only: no company lookup is ever paid for them. A work email whose
    // domain cannot receive mail gets no lookup at all. The DNS answer is asked here, inside the screening the workflow
    // already makes, so a signup's command sequence stays what it was.
    const deliverability = kind === 'work' ? await deps.deliverability?.check(domain) : undefined;
    const outcome =
      kind !== 'work'
        ? result('skipped', kind)
        : deliverability?.deliverable === false
          ? result('undeliverable', UNDELIVERABLE_REASONS[deliverability.reason])
          : result('received', undefined);
    await deps.ledger.signups.recordScreening(signupId, {
      emailKind: kind,
      status: outcome.status,
      reason: outcome.reason,
    });
    // Undeliverable is settled here (the workflow ends without saveEnrichment); skipped signups settle later.
    if (outcome.status === 'undeliverable')
      deps.onSettled?.(outcome.status, signup.receivedAt, new Date().toISOString());
    return outcome;
  },
});

export type LedgerActivities = ReturnType<typeof createLedgerActivities>;
