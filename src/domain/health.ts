import type { EnrichmentStatus } from './status';
import { DAY_MS } from './time';

/**
 * The daily health rules of the RevOps handbook, as pure code: compare one complete day's signups with its enrichment
 * writes, tell an enrichment incident from a traffic drop, a deliberate pause or a snooze, and name the likely cause.
 */

/** `YYYY-MM-DD` of a UTC instant. */
export const utcDay = (ms: number): string => new Date(ms).toISOString().slice(0, 10);
export const addDays = (day: string, n: number): string => utcDay(Date.parse(`${day}T00:00:00Z`) + n * DAY_MS);
/** Every day from `from` to `to`, both included. */
export function daysBetween(from: string, to: string): string[] {
  const days: string[] = [];
  for (let d = from; d <= to; d = addDays(d, 1)) days.push(d);
  return days;
}
export const isDay = (value: string): boolean => {
  const ms = Date.parse(`${value}T00:00:00Z`);
  return /^\d{4}-\d{2}-\d{2}$/.test(value) && !Number.isNaN(ms) && utcDay(ms) === value;
};

/** A signup a backfill of a window may re-enqueue: its workflow id and where it stands. */
export interface BackfillCandidate {
  id: string;
  workflowId: string;
  status: EnrichmentStatus;
  reason: string | null;
}

/** What the ledger knows about one UTC day. */
export interface DayCounts {
  day: string;
  /** Every signup recorded that day (by its signup time). */
  signups: number;
  /** Those that should get company data: not free-mail, not disposable. */
  eligible: number;
  /** Enrichment writes that day: signups (of any day) recorded with ICP fields (`enriched` or `partial`). */
  writes: number;
}

/** Direct evidence of why writes are missing, gathered for the same day. */
export interface DayEvidence {
  /** Provider answers `credits_exhausted`, by provider. */
  creditsExhausted: Record<string, number>;
  /** Rows an asynchronous provider (Clay) never answered in time: no credits or the table's row limit. */
  silent: Record<string, number>;
  /** Lookups skipped because the provider kept failing for the whole fall-through window, by provider. */
  outages?: Record<string, number>;
  /** Lookups the provider refused for good (an unmodelled 4xx: `rejected`), by provider. */
  rejected?: Record<string, number>;
  /** Calls the provider refused our key or configuration on (`auth_failed`: the signup failed), by provider. */
  authFailed?: Record<string, number>;
  /** Signups of the day that are still not recorded (waiting for credits, paused, or still running). */
  unfinished: number;
  /** Destination writes that failed that day, by destination. */
  failedWrites: Record<string, number>;
  /** Live mode: signup events PostHog counted that day (catches signups that never reached our webhook). */
  posthogSignups?: number;
}

export interface HealthRules {
  /** Writes below this many a day are an incident (the handbook's 250), when at least that many were expected. */
  minWrites: number;
  /** Writes per eligible signup below this is an incident too. */
  minWriteRatio: number;
  /** Signups below this fraction of the trailing days' median are a traffic drop, not an enrichment failure. */
  trafficDropRatio: number;
  /** How many days before the checked one form the baseline. */
  trailingDays: number;
}

export interface Controls {
  paused: boolean;
  pauseReason: string | undefined;
  /** Alerts stay quiet up to and including this day. */
  snoozedUntil: string | undefined;
}

/**
 * `awaiting_recovery` is the rolling check's only: an incident is open and the window's rules pass, but the latest
 * check interval does not show writes back yet (a quiet hour): the incident stays open, nothing is posted.
 */
export type DayClassification =
  'healthy' | 'enrichment_incident' | 'traffic_drop' | 'paused' | 'no_signups' | 'awaiting_recovery';

export interface DayAssessment extends DayCounts {
  /** writes / eligible signups (1 when none were eligible). */
  rate: number;
  /** Median signups of the trailing days, when there are any. */
  baseline: number | undefined;
  classification: DayClassification;
  /** Why: the rule that fired, or why none did. */
  reason: string;
  /** The likely cause of an incident, from the evidence. */
  cause: Cause | undefined;
  /** An incident that must stay quiet: snoozed until this day. */
  snoozedUntil: string | undefined;
}

export interface Cause {
  kind:
    'credits' | 'provider_auth' | 'provider_outage' | 'provider_rejecting' | 'row_limit' | 'destination' | 'unknown';
  /** The provider or destination to look at first. */
  system: string | undefined;
  summary: string;
}

const median = (values: number[]): number | undefined => {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/**
 * Classifies `day` against the trailing days (oldest first or in any order; days without signups are ignored).
 * `period` names the span `rules.minWrites` is per ('a day'; the rolling check's 'in 6 h').
 */
export function assessDay(
  day: DayCounts,
  trailing: DayCounts[],
  evidence: DayEvidence,
  controls: Controls,
  rules: HealthRules,
  period = 'a day',
): DayAssessment {
  const rate = day.eligible === 0 ? 1 : Math.min(day.writes / day.eligible, 1);
  const baseline = median(trailing.filter((d) => d.signups > 0).map((d) => d.signups));
  const base = { ...day, rate, baseline, cause: undefined, snoozedUntil: undefined };
  if (controls.paused) {
    return { ...base, classification: 'paused', reason: `enrichment paused: ${controls.pauseReason ?? 'no reason'}` };
  }
  if (day.signups === 0 && (baseline === undefined || baseline === 0)) {
    return { ...base, classification: 'no_signups', reason: 'no signups that day' };
  }
  const belowMin = day.writes < rules.minWrites && day.eligible >= rules.minWrites;
  const belowRatio = day.eligible > 0 && rate < rules.minWriteRatio;
  const rule = belowMin
    ? `${day.writes} writes < ${Math.round(rules.minWrites * 10) / 10} ${period}`
    : belowRatio
      ? `write rate ${percent(rate)} < ${percent(rules.minWriteRatio)}`
      : undefined;
  // PostHog's own count (live mode) tells a disabled webhook destination from a real drop in traffic.
  const notDelivered =
    evidence.posthogSignups !== undefined && day.signups < evidence.posthogSignups * rules.minWriteRatio;
  if (notDelivered) {
    return {
      ...base,
      classification: 'enrichment_incident',
      reason: `PostHog counted ${evidence.posthogSignups} signups, ${day.signups} reached the webhook`,
      cause: {
        kind: 'destination',
        system: 'posthog',
        summary: 'signups are not reaching /webhooks/posthog: check that the PostHog webhook destination is enabled',
      },
      snoozedUntil: snoozedUntil(day.day, controls),
    };
  }
  const trafficDrop = baseline !== undefined && day.signups < baseline * rules.trafficDropRatio;
  if (trafficDrop) {
    return {
      ...base,
      classification: 'traffic_drop',
      reason: `${day.signups} signups < ${percent(rules.trafficDropRatio)} of the usual ${baseline}: traffic, not enrichment`,
    };
  }
  if (rule === undefined) {
    return { ...base, classification: 'healthy', reason: `${day.writes} writes, rate ${percent(rate)}` };
  }
  return {
    ...base,
    classification: 'enrichment_incident',
    reason: rule,
    cause: likelyCause(evidence),
    snoozedUntil: snoozedUntil(day.day, controls),
  };
}

const snoozedUntil = (day: string, controls: Controls) =>
  controls.snoozedUntil !== undefined && day <= controls.snoozedUntil ? controls.snoozedUntil : undefined;

/**
 * The likeliest cause, strongest evidence first: a provider out of credits, a provider refusing our key or
 * configuration, a provider down, then a provider refusing lookups, a silent table or a failing destination. A few
 * refused lookups are everyday noise (odd input): refusals are named only when they outnumber the silent rows and the
 * failed writes — a provider refusing every lookup (a deleted Clay table, an API change) is then the cause.
 */
export function likelyCause(e: DayEvidence): Cause {
  const top = (counts: Record<string, number>) =>
    Object.entries(counts)
      .filter(([, n]) => n > 0)
      .sort((a, b) => b[1] - a[1])[0];
  const credits = top(e.creditsExhausted);
  if (credits) {
    return {
      kind: 'credits',
      system: credits[0],
      summary: `${credits[0]} is out of credits (${credits[1]} answers "credits exhausted")`,
    };
  }
  const auth = top(e.authFailed ?? {});
  if (auth) {
    return {
      kind: 'provider_auth',
      system: auth[0],
      summary: `${auth[0]} refused our API key or configuration ${auth[1]} times (those signups failed): fix it, then backfill`,
    };
  }
  const outage = top(e.outages ?? {});
  if (outage) {
    return {
      kind: 'provider_outage',
      system: outage[0],
      summary: `${outage[0]} was down: ${outage[1]} lookups skipped after failing for the whole fall-through window`,
    };
  }
  const silent = top(e.silent);
  const failed = top(e.failedWrites);
  const rejected = top(e.rejected ?? {});
  if (rejected && rejected[1] >= Math.max(silent?.[1] ?? 0, failed?.[1] ?? 0)) {
    return {
      kind: 'provider_rejecting',
      system: rejected[0],
      summary:
        `${rejected[0]} refused ${rejected[1]} lookups (an unmodelled 4xx): a configuration or API change? ` +
        `See provider_responses with outcome 'rejected'`,
    };
  }
  if (silent) {
    return {
      kind: 'row_limit',
      system: silent[0],
      summary: `${silent[0]} did not answer ${silent[1]} rows in time: its credits or the table's row limit ran out`,
    };
  }
  if (failed) {
    return { kind: 'destination', system: failed[0], summary: `${failed[1]} writes to ${failed[0]} failed` };
  }
  return { kind: 'unknown', system: undefined, summary: `no provider reported a problem (${e.unfinished} unfinished)` };
}

/** The rolling check's assessment: the rules applied to the `hours` before `to` (`day` is the day of `to`). */
export interface WindowAssessment extends DayAssessment {
  /** The window, ISO times: [from, to). */
  from: string;
  to: string;
  hours: number;
  /** The latest check interval's own verdict, when the rolling check assessed it (`combineRolling`). */
  recent?: RecentAssessment;
}

/**
 * The latest check interval (the HEALTH_CHECK_INTERVAL_MINUTES before `to`), counted by the signups that arrived in
 * it: what became of each by now, rather than the writes that happened to fall in the interval.
 */
export interface IntervalCounts {
  /** Signups that arrived in the interval. */
  signups: number;
  /** Those that should get company data: not free-mail, not disposable. */
  eligible: number;
  /** Eligible signups of the interval recorded with ICP fields (`enriched` or `partial`) by now. */
  written: number;
  /**
   * Eligible signups of the interval still being worked on (`received`, `enriching`) with no problem answer of a
   * provider recorded for them: in flight, judged neither written nor missing.
   */
  pending: number;
  /** Enrichment writes in the interval, of signups of any time: the backlog a recovery drains counts. */
  writes: number;
}

export interface RecentRules {
  /** The interval's length (HEALTH_CHECK_INTERVAL_MINUTES). */
  minutes: number;
  /** Fewer settled signups with a work email than this in the interval never open an incident. */
  minSignups: number;
  /** The write ratio rule (HEALTH_MIN_WRITE_RATIO). */
  minWriteRatio: number;
}

/**
 * `failing`: the interval's signups are not being written, for a reason a provider or destination reported (an
 * incident). `recovered`: writes are happening and keep up. `inconclusive`: too few signups, or too slow without any
 * reported failure, to say either.
 */
export type RecentVerdict = 'failing' | 'recovered' | 'inconclusive';

export interface RecentAssessment extends IntervalCounts {
  /** The interval, ISO times: [from, to). */
  from: string;
  to: string;
  minutes: number;
  /** Eligible signups whose outcome is known: written, settled without data, or held by a reported problem. */
  judged: number;
  /** written / judged (1 when none was judged). */
  rate: number;
  verdict: RecentVerdict;
  reason: string;
  /** The likely cause, from the interval's evidence, when its rate is below the rule. */
  cause: Cause | undefined;
}

/**
 * The latest check interval's verdict. The rate is over the interval's own signups (a cohort), not the writes that
 * fell in it, because a 24 h window dilutes an outage for hours and a one-hour count of writes is at the mercy of the
 * in-flight tail. Signups in flight are the hard part: a write lags its signup by seconds (Clearbit), minutes
 * (Harmonic's polling, PROVIDER_FALLTHROUGH_MINUTES) or up to CLAY_RESULT_TIMEOUT_MINUTES (a Clay row), and the ledger
 * keeps a signup waiting for credits as `received` until it is recorded. So a signup counts as missing only when
 * something says it is: it settled without data (`not_found`, `failed`, ...) or a provider answered it with a problem
 * (`credits_exhausted`, `auth_failed`, `outage`, `silent`, `rejected`). One still `received` or `enriching` with no such answer is
 * `pending` and judged neither way — a check at the end of the interval does not count a signup of its last seconds
 * as lost, and a slow provider with no failure does not count as down. On top, an incident needs at least
 * `minSignups` judged signups (a quiet hour proves nothing) and a named cause (`likelyCause` other than `unknown`).
 */
export function assessRecent(
  counts: IntervalCounts,
  evidence: DayEvidence,
  rules: RecentRules,
  span: { from: string; to: string },
): RecentAssessment {
  const judged = Math.max(counts.eligible - counts.pending, 0);
  const rate = judged === 0 ? 1 : Math.min(counts.written / judged, 1);
  const low = judged > 0 && rate < rules.minWriteRatio;
  const cause = low ? likelyCause(evidence) : undefined;
  const tally =
    `${counts.written} of ${judged} settled signups with a work email written (rate ${percent(rate)}` +
    `${low ? ` < ${percent(rules.minWriteRatio)}` : ''})${counts.pending > 0 ? `, ${counts.pending} in flight` : ''}`;
  const base = { ...counts, ...span, minutes: rules.minutes, judged, rate, cause };
  if (low && judged >= rules.minSignups && cause!.kind !== 'unknown') {
    return { ...base, verdict: 'failing', reason: tally };
  }
  if (!low && counts.written + counts.writes > 0) {
    return { ...base, verdict: 'recovered', reason: `${counts.writes} writes; ${tally}` };
  }
  const why = !low
    ? `no writes and no signups settled`
    : judged < rules.minSignups
      ? `${tally}: fewer than ${rules.minSignups}, too few to call`
      : `${tally}, but no provider or destination reported a problem`;
  return { ...base, verdict: 'inconclusive', reason: why };
}

/**
 * The rolling check's decision from its two spans: the window (the daily rules over HEALTH_ROLLING_WINDOW_HOURS) and
 * the latest check interval (`assessRecent`), so that an outage is alerted at the first check after it starts even
 * though a 24 h window needs half a day of it to break the ratio rule. The reason says which span decided.
 *
 * - Paused: the window's `paused`, whatever the interval says.
 * - The interval `failing`: an incident (also when the window calls it a traffic drop: at least `minSignups`
 *   signups came in and were not written, for a reported reason).
 * - The window's incident: an incident.
 * - An incident is open and the window passes, but the interval has not `recovered`: an incident still (the interval
 *   shows a low rate with a named cause, on fewer signups than it takes to open one) or `awaiting_recovery` (nothing to tell: quiet, the
 *   incident stays open). A quiet hour never resolves an outage that is still going on.
 * - Otherwise the window's classification.
 */
export function combineRolling(
  window: WindowAssessment,
  recent: RecentAssessment,
  controls: Controls,
  incidentOpen: boolean,
): WindowAssessment {
  const windowSpan = `last ${window.hours} h`;
  const recentSpan = `last ${recent.minutes} min`;
  const both = `${windowSpan}: ${window.reason}; ${recentSpan}: ${recent.reason}`;
  if (window.classification === 'paused') return { ...window, reason: `${windowSpan}: ${window.reason}`, recent };
  const incident = (reason: string): WindowAssessment => ({
    ...window,
    classification: 'enrichment_incident',
    reason,
    cause: recent.cause,
    snoozedUntil: snoozedUntil(window.day, controls),
    recent,
  });
  if (recent.verdict === 'failing') return incident(`${recentSpan}: ${recent.reason}`);
  if (window.classification === 'enrichment_incident') {
    return { ...window, reason: `${windowSpan}: ${window.reason}`, recent };
  }
  if (window.classification === 'healthy' && incidentOpen && recent.verdict !== 'recovered') {
    if (recent.cause && recent.cause.kind !== 'unknown') {
      return incident(`${recentSpan}: ${recent.reason}; the open incident goes on`);
    }
    return {
      ...window,
      classification: 'awaiting_recovery',
      reason: `${both}: the open incident stays open until writes are back`,
      recent,
    };
  }
  return { ...window, reason: both, recent };
}

/** The daily rules for a window of `hours`: the writes a day expected are scaled to it, the ratios stay. */
export const rulesForWindow = (rules: HealthRules, hours: number): HealthRules => ({
  ...rules,
  minWrites: (rules.minWrites * hours) / 24,
});

export const percent = (ratio: number): string => `${Math.round(ratio * 100)}%`;
