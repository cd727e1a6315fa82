import {
  addDays,
  type BackfillCandidate,
  type Cause,
  type Controls,
  type DayAssessment,
  type DayCounts,
  type DayEvidence,
  daysBetween,
  type IntervalCounts,
} from '../domain/health';
import type { EnrichmentStatus } from '../domain/status';
import { iso, type Sql, type SqlExecutor } from './sql';

export interface Incident {
  id: string;
  firstDay: string;
  lastDay: string;
  state: 'open' | 'resolved';
  cause: Cause | undefined;
  /** The first healthy day, which resolved it. */
  resolvedDay: string | undefined;
  /** What happened to the window: the backfill started, or proposed. */
  backfill: string | undefined;
  /** The write rate of the day after the resolution. */
  recovery: string | undefined;
}

interface IncidentRow {
  id: string;
  first_day: string;
  last_day: string;
  state: 'open' | 'resolved';
  cause_kind: Cause['kind'] | null;
  cause_system: string | null;
  cause: string | null;
  resolved_day: string | null;
  backfill: string | null;
  recovery: string | null;
}

const toIncident = (r: IncidentRow): Incident => ({
  id: r.id,
  firstDay: r.first_day,
  lastDay: r.last_day,
  state: r.state,
  cause:
    r.cause_kind === null
      ? undefined
      : { kind: r.cause_kind, system: r.cause_system ?? undefined, summary: r.cause ?? '' },
  resolvedDay: r.resolved_day ?? undefined,
  backfill: r.backfill ?? undefined,
  recovery: r.recovery ?? undefined,
});

const start = (day: string) => `${day}T00:00:00.000Z`;
/** Statuses that say nothing was recorded yet: the signup is still being worked on (or stuck). */
const UNFINISHED = `('received', 'enriching', 'waiting_for_credits', 'paused')`;
/** Provider answers that are evidence of a problem (the health check's, and what holds a signup up). */
const PROBLEM_ANSWERS = `('credits_exhausted', 'silent', 'outage', 'rejected', 'auth_failed')`;
/** Signups that never get company data: free-mail, disposable, no email, a domain that cannot receive mail. */
const INELIGIBLE = `(status IN ('skipped', 'undeliverable') OR coalesce(email_kind, '') IN ('free_mail', 'disposable'))`;

/** The ledger's health tables and queries: daily counts, evidence, pause and snooze, incidents, backfill marks. */
export class HealthRepository {
  constructor(private readonly sql: Sql) {}

  /** Signups, eligible signups and enrichment writes of every day from `from` to `to` (UTC, both included). */
  async dayCounts(from: string, to: string): Promise<DayCounts[]> {
    const range = [start(from), start(addDays(to, 1))];
    const signups = await this.sql.query<{ day: string; signups: number; eligible: number }>(
      `SELECT to_char(signed_up_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, count(*)::int AS signups,
         count(*) FILTER (WHERE NOT ${INELIGIBLE})::int AS eligible
       FROM signups WHERE signed_up_at >= $1 AND signed_up_at < $2 GROUP BY 1`,
      range,
    );
    const writes = await this.sql.query<{ day: string; writes: number }>(
      `SELECT to_char(enriched_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, count(*)::int AS writes
       FROM signups WHERE enriched_at >= $1 AND enriched_at < $2 AND status IN ('enriched', 'partial') GROUP BY 1`,
      range,
    );
    return daysBetween(from, to).map((day) => {
      const s = signups.find((r) => r.day === day);
      return {
        day,
        signups: s?.signups ?? 0,
        eligible: s?.eligible ?? 0,
        writes: writes.find((r) => r.day === day)?.writes ?? 0,
      };
    });
  }

  /**
   * Signups, eligible signups and enrichment writes in the instants [from, to) (ISO times): one rolling window of the
   * hourly check, counted as `dayCounts` counts a day.
   */
  async windowCounts(from: string, to: string): Promise<Omit<DayCounts, 'day'>> {
    const rows = await this.sql.query<{ signups: number; eligible: number; writes: number }>(
      `SELECT
         (SELECT count(*)::int FROM signups WHERE signed_up_at >= $1 AND signed_up_at < $2) AS signups,
         (SELECT count(*)::int FROM signups WHERE signed_up_at >= $1 AND signed_up_at < $2 AND NOT ${INELIGIBLE})
           AS eligible,
         (SELECT count(*)::int FROM signups WHERE enriched_at >= $1 AND enriched_at < $2
            AND status IN ('enriched', 'partial')) AS writes`,
      [from, to],
    );
    return { signups: rows[0]?.signups ?? 0, eligible: rows[0]?.eligible ?? 0, writes: rows[0]?.writes ?? 0 };
  }

  /**
   * The latest check interval [from, to) counted by its own signups (`assessRecent`): how many arrived, how many of
   * those with a work email are recorded with ICP fields by now, how many are still in flight (`received` or
   * `enriching` with no problem answer of a provider archived for them: a signup waiting for credits stays `received`
   * here but has its `credits_exhausted` answer), and the enrichment writes of any signup in the interval.
   */
  async intervalCounts(from: string, to: string): Promise<IntervalCounts> {
    const rows = await this.sql.query<{
      signups: number;
      eligible: number;
      written: number;
      pending: number;
      writes: number;
    }>(
      `SELECT count(*)::int AS signups,
         count(*) FILTER (WHERE NOT ${INELIGIBLE})::int AS eligible,
         count(*) FILTER (WHERE NOT ${INELIGIBLE} AND status IN ('enriched', 'partial'))::int AS written,
         count(*) FILTER (WHERE NOT ${INELIGIBLE} AND status IN ('received', 'enriching') AND NOT EXISTS (
           SELECT 1 FROM provider_responses p WHERE p.signup_id = s.id AND p.outcome IN ${PROBLEM_ANSWERS}))::int
           AS pending,
         (SELECT count(*)::int FROM signups WHERE enriched_at >= $1 AND enriched_at < $2
            AND status IN ('enriched', 'partial')) AS writes
       FROM signups s WHERE signed_up_at >= $1 AND signed_up_at < $2`,
      [from, to],
    );
    const r = rows[0];
    return {
      signups: r?.signups ?? 0,
      eligible: r?.eligible ?? 0,
      written: r?.written ?? 0,
      pending: r?.pending ?? 0,
      writes: r?.writes ?? 0,
    };
  }

  /**
   * Why writes could be missing on `day`: providers out of credits, silent, down (lookups that fell through),
   * refusing lookups or our key or configuration, unfinished signups, failed writes.
   */
  dayEvidence(day: string): Promise<DayEvidence> {
    return this.windowEvidence(start(day), start(addDays(day, 1)));
  }

  /** The evidence of `dayEvidence` gathered over the instants [from, to) (ISO times). */
  async windowEvidence(from: string, to: string): Promise<DayEvidence> {
    const range = [from, to];
    const answers = await this.sql.query<{ provider: string; outcome: string; n: number }>(
      `SELECT provider, outcome, count(*)::int AS n FROM provider_responses
       WHERE received_at >= $1 AND received_at < $2
         AND outcome IN ${PROBLEM_ANSWERS}
       GROUP BY provider, outcome`,
      range,
    );
    const unfinished = await this.sql.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM signups
       WHERE signed_up_at >= $1 AND signed_up_at < $2 AND status IN ${UNFINISHED} AND NOT ${INELIGIBLE}`,
      range,
    );
    const failed = await this.sql.query<{ destination: string; n: number }>(
      `SELECT destination, count(*)::int AS n FROM destination_writes
       WHERE updated_at >= $1 AND updated_at < $2 AND state = 'failed' GROUP BY destination`,
      range,
    );
    const by = (outcome: string) =>
      Object.fromEntries(answers.filter((a) => a.outcome === outcome).map((a) => [a.provider, a.n]));
    return {
      creditsExhausted: by('credits_exhausted'),
      silent: by('silent'),
      outages: by('outage'),
      rejected: by('rejected'),
      authFailed: by('auth_failed'),
      unfinished: unfinished[0]?.n ?? 0,
      failedWrites: Object.fromEntries(failed.map((f) => [f.destination, f.n])),
    };
  }

  async controls(): Promise<Controls> {
    const rows = await this.sql.query<{ paused: boolean; pause_reason: string | null; snoozed_until: string | null }>(
      'SELECT paused, pause_reason, snoozed_until FROM pipeline_controls WHERE id = 1',
    );
    const r = rows[0];
    return {
      paused: r?.paused ?? false,
      pauseReason: r?.pause_reason ?? undefined,
      snoozedUntil: r?.snoozed_until ?? undefined,
    };
  }

  async setPaused(paused: boolean, reason: string | undefined): Promise<void> {
    await this.sql.query(
      `UPDATE pipeline_controls SET paused = $1, pause_reason = $2,
         paused_at = CASE WHEN $1 THEN now() ELSE NULL END, updated_at = now() WHERE id = 1`,
      [paused, paused ? (reason ?? null) : null],
    );
  }

  /** Alerts stay quiet up to and including `until` (undefined: no snooze). */
  async setSnooze(until: string | undefined, reason: string | undefined): Promise<void> {
    await this.sql.query(
      'UPDATE pipeline_controls SET snoozed_until = $1, snooze_reason = $2, updated_at = now() WHERE id = 1',
      [until ?? null, until ? (reason ?? null) : null],
    );
  }

  async saveHealthCheck(assessment: DayAssessment, checkedAt: string): Promise<void> {
    await this.sql.query(
      `INSERT INTO health_checks (day, assessment, checked_at) VALUES ($1, $2::jsonb, $3)
       ON CONFLICT (day) DO UPDATE SET assessment = EXCLUDED.assessment, checked_at = EXCLUDED.checked_at`,
      [assessment.day, JSON.stringify(assessment), checkedAt],
    );
  }

  async healthChecks(from: string, to: string): Promise<DayAssessment[]> {
    const rows = await this.sql.query<{ assessment: DayAssessment }>(
      'SELECT assessment FROM health_checks WHERE day >= $1 AND day <= $2 ORDER BY day',
      [from, to],
    );
    return rows.map((r) => r.assessment);
  }

  async openIncident(): Promise<Incident | undefined> {
    const rows = await this.sql.query<IncidentRow>(
      `SELECT * FROM incidents WHERE state = 'open' ORDER BY first_day DESC LIMIT 1`,
    );
    return rows[0] && toIncident(rows[0]);
  }

  /**
   * Opens an incident on `day`, or extends the open one to it (idempotent: a re-run of the same day changes nothing).
   * A day an incident already resolved (the hourly check resolves within the day, before the daily check reports the
   * complete day) opens nothing again: that incident is returned as it is.
   */
  async recordIncidentDay(day: string, cause: Cause | undefined): Promise<{ incident: Incident; opened: boolean }> {
    return this.sql.transaction(async (tx) => {
      const extended = await this.extendOpenIncident(tx, day, cause);
      if (extended) return { incident: extended, opened: false };
      const covered = await tx.query<IncidentRow>(
        `SELECT * FROM incidents WHERE state = 'resolved' AND first_day <= $1 AND resolved_day >= $1
         ORDER BY first_day DESC LIMIT 1`,
        [day],
      );
      if (covered[0]) return { incident: toIncident(covered[0]), opened: false };
      const params = [cause?.kind ?? null, cause?.system ?? null, cause?.summary ?? null];
      const rows = await tx.query<IncidentRow>(
        `INSERT INTO incidents (id, first_day, last_day, state, cause_kind, cause_system, cause)
         VALUES ($1, $2, $2, 'open', $3, $4, $5)
         ON CONFLICT (id) DO UPDATE SET state = 'open', updated_at = now() RETURNING *`,
        [`incident-${day}`, day, ...params],
      );
      return { incident: toIncident(rows[0]!), opened: true };
    });
  }

  /**
   * The rolling check's counterpart of `recordIncidentDay`: extends the open incident to the day of `at` (an ISO time),
   * or opens a new one. An incident resolved earlier the same day keeps its id: the new one is named by the hour (by
   * the minute if that is taken too).
   */
  async recordIncidentAt(at: string, cause: Cause | undefined): Promise<{ incident: Incident; opened: boolean }> {
    const day = at.slice(0, 10);
    return this.sql.transaction(async (tx) => {
      const extended = await this.extendOpenIncident(tx, day, cause);
      if (extended) return { incident: extended, opened: false };
      const params = [cause?.kind ?? null, cause?.system ?? null, cause?.summary ?? null];
      for (const id of [`incident-${day}`, `incident-${at.slice(0, 13)}h`, `incident-${at.slice(0, 16)}`]) {
        const rows = await tx.query<IncidentRow>(
          `INSERT INTO incidents (id, first_day, last_day, state, cause_kind, cause_system, cause)
           VALUES ($1, $2, $2, 'open', $3, $4, $5) ON CONFLICT (id) DO NOTHING RETURNING *`,
          [id, day, ...params],
        );
        if (rows[0]) return { incident: toIncident(rows[0]), opened: true };
      }
      throw new Error(`incidents of ${at} were opened and resolved already: this check's incident has no id left`);
    });
  }

  private async extendOpenIncident(
    tx: SqlExecutor,
    day: string,
    cause: Cause | undefined,
  ): Promise<Incident | undefined> {
    const open = await tx.query<IncidentRow>(
      `SELECT * FROM incidents WHERE state = 'open' ORDER BY first_day DESC LIMIT 1 FOR UPDATE`,
    );
    const existing = open[0];
    if (!existing) return undefined;
    const rows = await tx.query<IncidentRow>(
      `UPDATE incidents SET last_day = GREATEST(last_day, $2), cause_kind = coalesce($3, cause_kind),
         cause_system = coalesce($4, cause_system), cause = coalesce($5, cause), updated_at = now()
       WHERE id = $1 RETURNING *`,
      [existing.id, day, cause?.kind ?? null, cause?.system ?? null, cause?.summary ?? null],
    );
    return toIncident(rows[0]!);
  }

  async resolveIncident(id: string, resolvedDay: string, backfill: string): Promise<void> {
    await this.sql.query(
      `UPDATE incidents SET state = 'resolved', resolved_day = $2, backfill = $3, updated_at = now() WHERE id = $1`,
      [id, resolvedDay, backfill],
    );
  }

  /** Resolved incidents whose recovery is checked on `day`: the day after the one that resolved them. */
  async incidentsAwaitingRecovery(day: string): Promise<Incident[]> {
    const rows = await this.sql.query<IncidentRow>(
      `SELECT * FROM incidents WHERE state = 'resolved' AND recovery IS NULL AND resolved_day < $1 ORDER BY first_day`,
      [day],
    );
    return rows.map(toIncident);
  }

  async setRecovery(id: string, recovery: string): Promise<void> {
    await this.sql.query('UPDATE incidents SET recovery = $2, updated_at = now() WHERE id = $1', [id, recovery]);
  }

  /** Incidents overlapping the days from `from` to `to`. */
  async incidents(from: string, to: string): Promise<Incident[]> {
    const rows = await this.sql.query<IncidentRow>(
      `SELECT * FROM incidents WHERE first_day <= $2 AND coalesce(resolved_day, last_day) >= $1 ORDER BY first_day`,
      [from, to],
    );
    return rows.map(toIncident);
  }

  /**
   * Signups of the window (by signup time) that lack ICP fields and should get them, a page at a time by id. One a
   * backfill already re-ran is left out once it was recorded again with every provider answering: running it once
   * more would buy the same answer. So a second backfill of a window finds nothing new.
   */
  async backfillCandidates(
    from: string,
    to: string,
    afterId: string | undefined,
    limit: number,
  ): Promise<BackfillCandidate[]> {
    const rows = await this.sql.query<{
      id: string;
      workflow_id: string;
      status: EnrichmentStatus;
      status_reason: string | null;
    }>(
      `SELECT id, workflow_id, status, status_reason FROM signups
       WHERE signed_up_at >= $1 AND signed_up_at < $2 AND ($3::uuid IS NULL OR id > $3::uuid)
         AND workflow_id IS NOT NULL AND status <> 'enriched' AND NOT ${INELIGIBLE}
         AND NOT (backfilled_at IS NOT NULL AND enriched_at >= backfilled_at
                  AND coalesce(jsonb_array_length(unavailable_providers), 0) = 0)
       ORDER BY id LIMIT $4`,
      [start(from), start(addDays(to, 1)), afterId ?? null, limit],
    );
    return rows.map((r) => ({ id: r.id, workflowId: r.workflow_id, status: r.status, reason: r.status_reason }));
  }

  /** Marks signups re-enqueued by a backfill; returns what their workflow start needs (signup time, email domain). */
  async markBackfilled(
    ids: string[],
    backfillId: string,
    at: string,
  ): Promise<{ id: string; signedUpAt: string; emailDomain: string | null }[]> {
    if (ids.length === 0) return [];
    const rows = await this.sql.query<{ id: string; signed_up_at: Date | string; email_domain: string | null }>(
      `UPDATE signups SET backfill_id = $2, backfilled_at = $3, updated_at = now() WHERE id = ANY($1::uuid[])
       RETURNING id, signed_up_at, email_domain`,
      [ids, backfillId, at],
    );
    return rows.map((r) => ({
      id: r.id,
      signedUpAt: iso(r.signed_up_at),
      emailDomain: r.email_domain,
    }));
  }

  /** Where re-enqueued signups stand: recorded since `since` (with their status), or not yet. */
  async backfillStates(
    ids: string[],
    since: string,
  ): Promise<{ id: string; status: EnrichmentStatus; reason: string | null; recorded: boolean }[]> {
    if (ids.length === 0) return [];
    const rows = await this.sql.query<{
      id: string;
      status: EnrichmentStatus;
      status_reason: string | null;
      recorded: boolean;
    }>(
      `SELECT id, status, status_reason, (enriched_at IS NOT NULL AND enriched_at >= $2) AS recorded
       FROM signups WHERE id = ANY($1::uuid[])`,
      [ids, since],
    );
    return rows.map((r) => ({ id: r.id, status: r.status, reason: r.status_reason, recorded: r.recorded }));
  }
}
