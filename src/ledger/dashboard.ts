import { addDays } from '../domain/health';
import type { Sql } from './sql';

/** Credits the signups recorded on `day` spent with `provider` (each signup's `credits_spent`, by its recording day). */
export interface DayCredits {
  day: string;
  provider: string;
  credits: number;
}

export interface OpenIncident {
  id: string;
  firstDay: string;
  lastDay: string;
  cause: string | undefined;
  causeSystem: string | undefined;
}

export interface AlertControls {
  paused: boolean;
  pauseReason: string | undefined;
  pausedAt: string | undefined;
  snoozedUntil: string | undefined;
  snoozeReason: string | undefined;
}

const start = (day: string) => `${day}T00:00:00.000Z`;

/**
 * What `/dashboard` reads besides the health check's daily counts (`HealthRepository.dayCounts`) and the signups by
 * status (`SignupsRepository.statusCounts`): one query each, so the page costs a handful of statements under the
 * ledger's statement timeout.
 */
export class DashboardRepository {
  constructor(private readonly sql: Sql) {}

  /** Credits per provider per UTC day from `from` to `to` (both included), by the day each signup was recorded. */
  async creditsByDay(from: string, to: string): Promise<DayCredits[]> {
    const rows = await this.sql.query<{ day: string; provider: string; credits: string | number }>(
      `SELECT to_char(s.enriched_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, c.key AS provider,
         sum(CASE WHEN jsonb_typeof(c.value) = 'number' THEN (c.value #>> '{}')::numeric ELSE 0 END) AS credits
       FROM signups s, jsonb_each(s.credits_spent) c
       WHERE s.enriched_at >= $1 AND s.enriched_at < $2 AND jsonb_typeof(s.credits_spent) = 'object'
       GROUP BY 1, 2 ORDER BY 1, 2`,
      [start(from), start(addDays(to, 1))],
    );
    return rows.map((r) => ({ day: r.day, provider: r.provider, credits: Number(r.credits) }));
  }

  async openIncidents(): Promise<OpenIncident[]> {
    const rows = await this.sql.query<{
      id: string;
      first_day: string;
      last_day: string;
      cause: string | null;
      cause_system: string | null;
    }>(
      `SELECT id, first_day, last_day, cause, cause_system FROM incidents WHERE state = 'open' ORDER BY first_day DESC`,
    );
    return rows.map((r) => ({
      id: r.id,
      firstDay: r.first_day,
      lastDay: r.last_day,
      cause: r.cause ?? undefined,
      causeSystem: r.cause_system ?? undefined,
    }));
  }

  /** The pause and the snooze, with their reasons. */
  async alertControls(): Promise<AlertControls> {
    const rows = await this.sql.query<{
      paused: boolean;
      pause_reason: string | null;
      paused_at: Date | string | null;
      snoozed_until: string | null;
      snooze_reason: string | null;
    }>('SELECT paused, pause_reason, paused_at, snoozed_until, snooze_reason FROM pipeline_controls WHERE id = 1');
    const r = rows[0];
    return {
      paused: r?.paused ?? false,
      pauseReason: r?.pause_reason ?? undefined,
      pausedAt: r?.paused_at ? new Date(r.paused_at).toISOString() : undefined,
      snoozedUntil: r?.snoozed_until ?? undefined,
      snoozeReason: r?.snooze_reason ?? undefined,
    };
  }
}
