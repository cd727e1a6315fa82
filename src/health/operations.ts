import { EnrichmentStatusKey } from '../domain/search-attributes';
import { addDays, assessDay, isDay, utcDay, type DayAssessment, type HealthRules } from '../domain/health';
import type { Incident } from '../ledger/health';
import type { Ledger } from '../ledger/ledger';
import { signalSignups, type SignupFleet } from '../temporal/signups';
import { creditsRestoredSignal, enrichmentPausedSignal, enrichmentResumedSignal } from '../workflows/messages';

/** One row of `enrich health`: a day's numbers, how it was (or would be) classified, and its incident. */
export interface HealthRow {
  day: string;
  signups: number;
  eligible: number;
  writes: number;
  rate: number;
  /** The detector's classification; `today` for the day still in progress; `(not checked)` suffix if computed now. */
  status: string;
  checked: boolean;
  incident: string | undefined;
}

export interface HealthReport {
  rows: HealthRow[];
  paused: { reason: string | undefined } | undefined;
  snoozedUntil: string | undefined;
  openIncident: Incident | undefined;
  /** Signups whose workflow could not be started (the outbox's dead letter), waiting for an operator. */
  deadLettered: number;
}

/** The last `days` complete days and today, oldest first: stored checks where the detector ran, computed otherwise. */
export async function healthReport(
  ledger: Ledger,
  rules: HealthRules,
  days: number,
  nowMs = Date.now(),
): Promise<HealthReport> {
  const today = utcDay(nowMs);
  const from = addDays(today, -days);
  const counts = await ledger.health.dayCounts(addDays(from, -rules.trailingDays), today);
  const checks = await ledger.health.healthChecks(from, today);
  const incidents = await ledger.health.incidents(from, today);
  const controls = await ledger.health.controls();
  const rows: HealthRow[] = [];
  for (let i = rules.trailingDays; i < counts.length; i++) {
    const c = counts[i]!;
    const stored = checks.find((a) => a.day === c.day);
    let status: string;
    if (c.day === today) status = 'today';
    else if (stored) status = stored.classification;
    else {
      const evidence = await ledger.health.dayEvidence(c.day);
      status = assessDay(c, counts.slice(i - rules.trailingDays, i), evidence, controls, rules).classification;
    }
    const incident = incidents.find((x) => x.firstDay <= c.day && c.day <= (x.resolvedDay ?? x.lastDay));
    rows.push({
      ...c,
      rate: c.eligible === 0 ? 1 : Math.min(c.writes / c.eligible, 1),
      status,
      checked: stored !== undefined,
      incident: incident && `${incident.id} (${incident.state}${incident.cause ? `: ${incident.cause.summary}` : ''})`,
    });
  }
  return {
    rows,
    paused: controls.paused ? { reason: controls.pauseReason } : undefined,
    snoozedUntil: controls.snoozedUntil,
    openIncident: await ledger.health.openIncident(),
    deadLettered: await ledger.outbox.countDeadLettered(),
  };
}

/** Pauses enrichment: the flag in the ledger (new signups read it) and a signal to every running signup workflow. */
export async function pauseEnrichment(ledger: Ledger, fleet: SignupFleet, reason: string): Promise<number> {
  await ledger.health.setPaused(true, reason);
  return signalSignups(fleet, enrichmentPausedSignal, [{ reason }]);
}

/** Resumes enrichment: paused signups continue and those waiting for credits retry now. */
export async function resumeEnrichment(ledger: Ledger, fleet: SignupFleet): Promise<number> {
  await ledger.health.setPaused(false, undefined);
  return signalSignups(fleet, enrichmentResumedSignal, []);
}

/** Wakes signups waiting for credits (all of them; the provider is passed on for the record). */
export function creditsRestored(fleet: SignupFleet, provider: string | undefined): Promise<number> {
  return signalSignups(
    fleet,
    creditsRestoredSignal,
    [{ provider }],
    `${EnrichmentStatusKey.name} = 'waiting_for_credits'`,
  );
}

export class InputError extends Error {}

/** The furthest a snooze reaches: a forgotten snooze must not silence the health alert for good. */
export const MAX_SNOOZE_DAYS = 30;

/** The last day `enrich snooze --until` accepts today. */
export const latestSnoozeDay = (nowMs = Date.now()): string => addDays(utcDay(nowMs), MAX_SNOOZE_DAYS);

/** Snoozes the alert up to and including `until` (a day from today to MAX_SNOOZE_DAYS ahead), or lifts the snooze. */
export async function snoozeAlerts(
  ledger: Ledger,
  until: string | undefined,
  reason: string | undefined,
  nowMs = Date.now(),
): Promise<void> {
  if (until !== undefined && (!isDay(until) || until < utcDay(nowMs))) {
    throw new InputError(`--until must be a day from today on, as YYYY-MM-DD (got "${until}")`);
  }
  if (until !== undefined && until > latestSnoozeDay(nowMs)) {
    throw new InputError(
      `--until may be at most ${MAX_SNOOZE_DAYS} days ahead, ${latestSnoozeDay(nowMs)} at the latest (got "${until}")`,
    );
  }
  await ledger.health.setSnooze(until, reason);
}

export type { DayAssessment, SignupFleet };
