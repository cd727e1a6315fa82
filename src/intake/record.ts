import { emailDomain } from '../domain/email';
import type { Ledger } from '../ledger/ledger';
import { dedupeKeyFor, workflowIdFor, type NormalizedSignup } from './normalize';

/** What recording a signup came to: skipped (no usable email), or accepted / a duplicate of one recorded before. */
export type RecordedSignup =
  | { status: 'skipped'; reason: string; signupId: string }
  | { status: 'accepted' | 'duplicate'; signupId: string; workflowId: string };

/**
 * Records a normalised signup in the ledger, idempotently (the same event uuid, or the same organization + person, is
 * a duplicate): the one path of the intake's endpoints and of the backfill's import of signups PostHog recorded but
 * never delivered. An accepted signup is due in the outbox, which starts its workflow.
 */
export async function recordNormalizedSignup(
  deps: { ledger: Ledger; piiHashKey: string },
  signup: NormalizedSignup,
  payload: unknown,
): Promise<RecordedSignup> {
  const base = {
    source: signup.source,
    eventUuid: signup.eventUuid,
    dedupeKey: dedupeKeyFor(signup),
    email: signup.email,
    emailDomain: signup.email === undefined ? undefined : emailDomain(signup.email),
    distinctId: signup.distinctId,
    personId: signup.personId,
    name: signup.name,
    organizationId: signup.organizationId,
    organizationName: signup.organizationName,
    signedUpAt: signup.signedUpAt,
    payload,
  };
  if (signup.emailProblem) {
    const { signup: row } = await deps.ledger.signups.recordSignup({
      ...base,
      workflowId: undefined,
      status: 'skipped',
      statusReason: signup.emailProblem,
    });
    return { status: 'skipped', reason: signup.emailProblem, signupId: row.id };
  }
  const workflowId = workflowIdFor(signup, deps.piiHashKey);
  const { duplicate, signup: row } = await deps.ledger.signups.recordSignup({
    ...base,
    workflowId,
    status: 'received',
    statusReason: undefined,
  });
  return { status: duplicate ? 'duplicate' : 'accepted', signupId: row.id, workflowId: row.workflowId ?? workflowId };
}
