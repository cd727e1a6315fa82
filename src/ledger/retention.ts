import { PURGED_PAYLOAD, SETTLED_STATUSES } from '../domain/retention';
import type { Sql } from './sql';

/**
 * The purge of expired raw data (docs/personal-data.md, "Retention"): a signup's raw PostHog payload is emptied and an
 * archived provider answer's body removed, each stamped with when; every other column of every row stays as it was.
 * Only raw data received before the cutoff, and only of signups whose workflow is done with them (`SETTLED_STATUSES`;
 * a provider answer without a signup counts as settled). Each call purges at most `limit` rows, oldest first.
 */
export class RetentionRepository {
  constructor(private readonly sql: Sql) {}

  /** Empties the payload of up to `limit` settled signups received before `cutoff`; how many. */
  async purgeSignupPayloads(cutoff: string, limit: number, purgedAt: string): Promise<number> {
    // The status is checked again by the UPDATE itself: a signup re-enqueued meanwhile (a backfill) keeps its payload.
    const rows = await this.sql.query<{ id: string }>(
      `UPDATE signups SET payload = $4::jsonb, payload_purged_at = $3::timestamptz
       WHERE id IN (
         SELECT id FROM signups
         WHERE payload_purged_at IS NULL AND received_at < $1::timestamptz AND status = ANY($5::text[])
         ORDER BY received_at LIMIT $2)
         AND payload_purged_at IS NULL AND status = ANY($5::text[])
       RETURNING id`,
      [cutoff, limit, purgedAt, JSON.stringify(PURGED_PAYLOAD), SETTLED_STATUSES],
    );
    return rows.length;
  }

  /** Removes the body of up to `limit` provider answers received before `cutoff` for settled signups; how many. */
  async purgeProviderBodies(cutoff: string, limit: number, purgedAt: string): Promise<number> {
    const rows = await this.sql.query<{ id: string }>(
      `UPDATE provider_responses SET body = NULL, purged_at = $3::timestamptz
       WHERE id IN (
         SELECT r.id FROM provider_responses r LEFT JOIN signups s ON s.id = r.signup_id
         WHERE r.purged_at IS NULL AND r.body IS NOT NULL AND r.received_at < $1::timestamptz
           AND (s.id IS NULL OR s.status = ANY($4::text[]))
         ORDER BY r.received_at LIMIT $2)
         AND purged_at IS NULL
       RETURNING id`,
      [cutoff, limit, purgedAt, SETTLED_STATUSES],
    );
    return rows.length;
  }
}
