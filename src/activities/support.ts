import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { ErrorType } from '../domain/errors';
import type { EnrichedSignup } from '../domain/fan-out';
import type { EnrichmentStatus } from '../domain/status';
import type { SlackPort } from '../domain/ports';
import type { Ledger } from '../ledger/ledger';
import type { SignupRecord } from '../ledger/signups';
import { emailRedactor, type Redactor } from '../redact';

/** The server's time of this attempt: the wall clock in production, the skipped clock in time-skipping tests. */
export function serverNow(): string {
  return new Date(Context.current().info.currentAttemptScheduledTimestampMs).toISOString();
}

/** A signup's first recorded outcome: its status, when the intake received it, when the outcome was recorded (ISO). */
export type SettledObserver = (status: EnrichmentStatus, receivedAt: string, recordedAt: string) => void;

/** Provider retries spread by up to 50 % of their delay; destination retries by up to 25 %. */
export const PROVIDER_JITTER = 0.5;
export const DESTINATION_JITTER = 0.25;

/**
 * The one retry policy of our outside calls, providers and destinations alike: the wait before trying again after
 * attempt `attempt` (1-based) failed. A 429 waits what the vendor asked (at least 100 ms); an outage backs off from
 * 1 s, doubling, to at most 10 s — 429s count as attempts too, so Temporal's exponential interval would otherwise
 * leave a call idle for minutes after one 5xx. The wait is lengthened by a random share of up to `spread` of itself,
 * so that many calls throttled at once do not come back at once.
 */
export function retryDelayMs(
  failure: { kind: 'rate_limited'; retryAfterMs: number } | { kind: 'transient' },
  attempt: number,
  spread: number,
): number {
  const ms =
    failure.kind === 'rate_limited'
      ? Math.max(failure.retryAfterMs, 100)
      : Math.min(1000 * 2 ** Math.min(attempt - 1, 4), 10_000);
  return Math.round(ms * (1 + Math.random() * spread));
}

/**
 * Heartbeats every second while `fn` runs, so a worker that dies mid-call is noticed within the heartbeat timeout
 * and a cancellation reaches the activity; `details` (if given) is what a retry finds in `heartbeatDetails`. A
 * cancelled activity ends at once: HTTP calls are aborted by their own signal (src/integrations/http.ts), and one that
 * cannot be (jsforce's) is left to end at its deadline rather than hold the activity.
 */
export async function heartbeating<T>(fn: () => Promise<T>, details?: () => unknown): Promise<T> {
  const ctx = Context.current();
  ctx.heartbeat(details?.());
  const timer = setInterval(() => ctx.heartbeat(details?.()), 1000);
  try {
    const work = fn();
    work.catch(() => undefined);
    return await Promise.race([work, ctx.cancelled]);
  } finally {
    clearInterval(timer);
  }
}

/** A ledger signup as the destinations' clients take it. */
export function enrichedSignup(r: SignupRecord): EnrichedSignup {
  return {
    signupId: r.id,
    personKey: r.distinctId ?? r.personId ?? r.id,
    distinctId: r.distinctId ?? undefined,
    email: r.email ?? undefined,
    name: r.name ?? undefined,
    emailKind: r.emailKind ?? undefined,
    domain: r.emailKind === 'work' ? (r.emailDomain ?? undefined) : undefined,
    organizationId: r.organizationId ?? undefined,
    organizationName: r.organizationName ?? undefined,
    signedUpAt: r.signedUpAt,
    status: r.status,
    reason: r.statusReason ?? undefined,
    fields: r.icpFields ?? {},
    provenance: r.provenance ?? {},
    score: r.score ?? undefined,
    enrichedAt: r.enrichedAt ?? undefined,
  };
}

/** The signup id of writes that belong to no signup (alerts, summaries). */
export const NO_SIGNUP = '00000000-0000-0000-0000-000000000000';

export type AlertResult = 'posted' | 'already posted' | 'not configured';

export interface AlertDeps {
  ledger: Ledger;
  alerts: { slack: SlackPort; webhookUrl: string | undefined };
  /** The redaction of Slack's error texts before the ledger and the failure; emails only by default. */
  redact?: Redactor;
}

/**
 * Posts `text` to the alert channel at most once per `key` (a retried activity does not post twice; an attempt cut
 * off mid-post is not repeated). Without an alert webhook it is only logged. Shared by every alert and summary.
 */
export async function postAlertOnce(deps: AlertDeps, key: string, text: string, what: string): Promise<AlertResult> {
  const url = deps.alerts.webhookUrl;
  if (!url) {
    Context.current().log.warn(`${what} (no SLACK_ALERT_WEBHOOK_URL)`, { key, text });
    return 'not configured';
  }
  const before = await deps.ledger.destinationWrites.claimDestinationWrite('slack_alert', key, NO_SIGNUP);
  if (before !== undefined && before !== 'failed') return 'already posted';
  const posted = await deps.alerts.slack.post(url, { text });
  const outcome =
    posted.kind === 'written' ? posted : { ...posted, detail: (deps.redact ?? emailRedactor).text(posted.detail) };
  if (outcome.kind === 'written') {
    await deps.ledger.destinationWrites.finishDestinationWrite('slack_alert', key, NO_SIGNUP, 'done', outcome.detail);
    return 'posted';
  }
  await deps.ledger.destinationWrites.finishDestinationWrite('slack_alert', key, NO_SIGNUP, 'failed', outcome.detail);
  throw ApplicationFailure.create({
    type: outcome.kind === 'auth_failed' ? ErrorType.DestinationAuthFailed : ErrorType.DestinationUnavailable,
    message: `${what} not posted: ${outcome.detail}`,
    nonRetryable: outcome.kind === 'auth_failed' || outcome.kind === 'rejected',
    nextRetryDelay: outcome.kind === 'rate_limited' ? outcome.retryAfterMs : undefined,
  });
}

/**
 * A provider's or destination's message can echo what was sent: emails never go into histories, failures or the
 * trace — nor into the archive of an answer that is not data. The one pattern lives in src/redact.ts.
 */
export { withoutEmails } from '../redact';
