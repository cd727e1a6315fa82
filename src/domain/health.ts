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

export type DayClassification = 'healthy' | 'enrichment_incident' | 'traffic_drop' | 'paused' | 'no_signups';

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
}

/** The daily rules for a window of `hours`: the writes a day expected are scaled to it, the ratios stay. */
export const rulesForWindow = (rules: HealthRules, hours: number): HealthRules => ({
  ...rules,
  minWrites: (rules.minWrites * hours) / 24,
});

export const percent = (ratio: number): string => `${Math.round(ratio * 100)}%`;
