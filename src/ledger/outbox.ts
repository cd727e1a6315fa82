import { iso, type Sql } from './sql';

export interface PendingStart {
  id: string;
  workflowId: string;
  signedUpAt: string;
  emailDomain: string | null;
  attempts: number;
}

/** The `failed` reason of a dead-lettered signup starts with this (docs/runbook.md, "Dead-lettered signups"). */
export const DEAD_LETTER_REASON = 'workflow could not be started';

/** The outbox: the workflow-start columns of the signups, polled by the starter until Temporal has each workflow. */
export class OutboxRepository {
  constructor(private readonly sql: Sql) {}

  /**
   * Leases up to `limit` signups whose workflow start is due. The lease (next_start_at pushed forward) keeps a
   * second starter process from starting the same signup at the same time; SKIP LOCKED keeps them from waiting.
   */
  async claimPendingStarts(limit: number, leaseMs: number): Promise<PendingStart[]> {
    const rows = await this.sql.query<{
      id: string;
      workflow_id: string;
      signed_up_at: Date | string;
      email_domain: string | null;
      start_attempts: number;
    }>(
      `UPDATE signups SET next_start_at = now() + ($2::int * interval '1 millisecond'), updated_at = now()
       WHERE id IN (
         SELECT id FROM signups
         WHERE workflow_started_at IS NULL AND workflow_id IS NOT NULL AND next_start_at <= now()
         ORDER BY next_start_at
         LIMIT $1
         FOR UPDATE SKIP LOCKED)
       RETURNING id, workflow_id, signed_up_at, email_domain, start_attempts`,
      [limit, leaseMs],
    );
    return rows.map((r) => ({
      id: r.id,
      workflowId: r.workflow_id,
      signedUpAt: iso(r.signed_up_at),
      emailDomain: r.email_domain,
      attempts: r.start_attempts,
    }));
  }

  async markWorkflowStarted(id: string): Promise<void> {
    await this.sql.query(
      `UPDATE signups SET workflow_started_at = now(), next_start_at = NULL, start_attempts = start_attempts + 1,
         last_start_error = NULL, updated_at = now()
       WHERE id = $1`,
      [id],
    );
  }

  async markStartFailed(id: string, error: string, retryInMs: number): Promise<void> {
    await this.sql.query(
      `UPDATE signups SET start_attempts = start_attempts + 1, last_start_error = $2,
         next_start_at = now() + ($3::int * interval '1 millisecond'), updated_at = now()
       WHERE id = $1`,
      [id, error.slice(0, 500), retryInMs],
    );
  }

  /**
   * The outbox's dead letter: Temporal refused the signup's workflow start for good. The signup is settled as `failed`
   * with the refusal as its reason, and no longer polled; a backfill of its day re-runs it once the cause is fixed.
   */
  async markStartDeadLettered(id: string, error: string): Promise<void> {
    await this.sql.query(
      `UPDATE signups SET start_attempts = start_attempts + 1, last_start_error = $2, next_start_at = NULL,
         status = 'failed', status_reason = $3, updated_at = now()
       WHERE id = $1`,
      [id, error.slice(0, 500), `${DEAD_LETTER_REASON}: ${error}`.slice(0, 500)],
    );
  }

  /** Signups whose workflow start Temporal refused for good (the outbox's dead letter), still not re-run. */
  async countDeadLettered(): Promise<number> {
    const rows = await this.sql.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM signups
       WHERE workflow_started_at IS NULL AND workflow_id IS NOT NULL AND next_start_at IS NULL AND status = 'failed'`,
    );
    return rows[0]?.n ?? 0;
  }

  async countPendingStarts(): Promise<number> {
    const rows = await this.sql.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM signups
       WHERE workflow_started_at IS NULL AND workflow_id IS NOT NULL AND next_start_at IS NOT NULL`,
    );
    return rows[0]?.n ?? 0;
  }
}
