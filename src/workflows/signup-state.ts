import type { EmailKind, EnrichmentStatus } from '../domain/status';
import type { SignupEnrichmentStatus, SignupProgress } from './messages';

/**
 * A signup's state inside its organization's workflow, changed only by `transition`: the statuses a signup passes
 * through (docs/architecture.md, "Statuses") are the cases below, so a reader finds every way a status can change in
 * one place. Pure and deterministic: imported by workflow code.
 */
export type SignupChange =
  /** Screened: company data is looked for when the email is a work email. */
  | { to: 'screened'; emailKind: EmailKind; domain: string }
  /** Screened out before any lookup: the work email's domain cannot receive mail (no credit is spent on it). */
  | { to: 'undeliverable'; emailKind: EmailKind; domain: string; reason: string }
  /** Providers are being asked (again): after screening, after a wait for credits, after a pause. */
  | { to: 'enriching' }
  | { to: 'waiting_for_credits'; reason: string }
  | { to: 'paused'; reason: string }
  /** A pause over a signup already recorded (a follow-up was held): back to what it was. */
  | { to: 'resumed_recorded'; status: EnrichmentStatus; reason: string | undefined }
  /** The outcome saved in the ledger. `trace` is given by the waterfall; a follow-up extends the trace itself. */
  | { to: 'recorded'; outcome: RecordedOutcome }
  /** A non-retryable failure ended this signup alone (the ledger lost its row, a provider refused our key). */
  | { to: 'failed'; reason: string }
  /** A backfill asks for a signup recorded without every field again: screened and enriched anew. */
  | { to: 'rerun' }
  /** Something went wrong after the outcome was recorded (fan-out planning, a follow-up): the status stays. */
  | { to: 'noted'; reason: string };

export type RecordedOutcome = Required<
  Pick<SignupProgress, 'status' | 'fields' | 'provenance' | 'missingFields' | 'creditsSpent' | 'score'>
> &
  Pick<SignupProgress, 'reason' | 'trace'>;

/** Applies `change` to `signup` in place: the workflow's status view and query hold the same objects. */
export function transition(signup: SignupProgress, change: SignupChange): void {
  switch (change.to) {
    case 'screened':
      Object.assign(signup, { emailKind: change.emailKind, domain: change.domain, status: 'enriching' });
      return;
    case 'undeliverable':
      Object.assign(signup, {
        emailKind: change.emailKind,
        domain: change.domain,
        status: 'undeliverable',
        reason: change.reason,
        creditsSpent: {},
      });
      return;
    case 'enriching':
      Object.assign(signup, { status: 'enriching', reason: undefined });
      return;
    case 'waiting_for_credits':
    case 'paused':
    case 'failed':
      Object.assign(signup, { status: change.to, reason: change.reason });
      return;
    case 'resumed_recorded':
      Object.assign(signup, { status: change.status, reason: change.reason });
      return;
    case 'recorded': {
      const { trace, ...outcome } = change.outcome;
      Object.assign(signup, { ...outcome, reason: outcome.reason }, trace && { trace });
      return;
    }
    case 'rerun':
      Object.assign(signup, { status: 'received', emailKind: undefined, reason: undefined });
      return;
    case 'noted':
      signup.reason = change.reason;
      return;
  }
}

/** Statuses of a signup still on its way; the others are recorded outcomes. */
const IN_PROGRESS: readonly EnrichmentStatus[] = ['received', 'enriching', 'waiting_for_credits', 'paused'];
export const isRecorded = (status: EnrichmentStatus): boolean => !IN_PROGRESS.includes(status);

/** Recorded without every required field: what a backfill may enrich again. */
export const RERUNNABLE: readonly EnrichmentStatus[] = ['partial', 'not_found', 'failed'];

/** Received and not yet screened: the workflow's queue. */
export function isNew(s: SignupProgress): boolean {
  return s.emailKind === undefined && s.status === 'received';
}

/** A failure's message for a signup's reason: the activity's own failure when it is one. */
export function failureReason(err: unknown): string {
  const cause = (err as { cause?: unknown }).cause;
  return cause instanceof Error ? cause.message : err instanceof Error ? err.message : String(err);
}

/** The organization's status: a work-email signup carries it; only when every signup was skipped is it skipped. */
export function overallStatus(signups: SignupProgress[]): EnrichmentStatus {
  // An undeliverable work email carries the organization's status only when no deliverable one does.
  const work =
    signups.find((s) => s.emailKind === 'work' && s.status !== 'undeliverable') ??
    signups.find((s) => s.emailKind === 'work');
  if (work) return work.status;
  const active = signups.find((s) => s.status === 'enriching' || s.status === 'waiting_for_credits');
  if (active) return active.status;
  if (signups.some((s) => s.status === 'failed')) return 'failed';
  return signups.every((s) => s.status === 'skipped') ? 'skipped' : 'received';
}

/** How many signups the Web UI's current details list. */
const DETAILS_SIGNUPS = 50;

/** The workflow's current details in the Web UI (Markdown). */
export function describe(s: SignupEnrichmentStatus): string {
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
