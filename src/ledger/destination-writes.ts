import type { Sql } from './sql';

/** A destination write as the ledger remembers it (see `claimDestinationWrite`). */
export type DestinationWriteState = 'sending' | 'done' | 'failed';

/** The state of each destination write by its idempotency key, for destinations that cannot deduplicate on their own. */
export class DestinationWritesRepository {
  constructor(private readonly sql: Sql) {}

  /** What the ledger knows of a destination write by its idempotency key. */
  async getDestinationWrite(
    destination: string,
    key: string,
  ): Promise<{ state: DestinationWriteState; attempts: number; detail: string | null } | undefined> {
    const rows = await this.sql.query<{ state: DestinationWriteState; attempts: number; detail: string | null }>(
      'SELECT state, attempts, detail FROM destination_writes WHERE destination = $1 AND idempotency_key = $2',
      [destination, key],
    );
    return rows[0];
  }

  /**
   * Marks a write as being sent and returns the state it had before (undefined: never tried). For destinations that
   * cannot deduplicate (Slack), a previous `sending` means an attempt whose outcome is unknown — a crash mid-call.
   */
  async claimDestinationWrite(
    destination: string,
    key: string,
    signupId: string,
  ): Promise<DestinationWriteState | undefined> {
    return this.sql.transaction(async (tx) => {
      const before = await tx.query<{ state: DestinationWriteState }>(
        `SELECT state FROM destination_writes WHERE destination = $1 AND idempotency_key = $2 FOR UPDATE`,
        [destination, key],
      );
      await tx.query(
        `INSERT INTO destination_writes (destination, idempotency_key, signup_id, state, attempts)
         VALUES ($1, $2, $3, 'sending', 1)
         ON CONFLICT (destination, idempotency_key) DO UPDATE
           SET state = 'sending', attempts = destination_writes.attempts + 1, updated_at = now()
           WHERE destination_writes.state <> 'done'`,
        [destination, key, signupId],
      );
      return before[0]?.state;
    });
  }

  async finishDestinationWrite(
    destination: string,
    key: string,
    signupId: string,
    state: 'done' | 'failed',
    detail: string,
  ): Promise<void> {
    await this.sql.query(
      `INSERT INTO destination_writes (destination, idempotency_key, signup_id, state, attempts, detail)
       VALUES ($1, $2, $3, $4, 1, $5)
       ON CONFLICT (destination, idempotency_key) DO UPDATE
         SET state = EXCLUDED.state, detail = EXCLUDED.detail, updated_at = now()`,
      [destination, key, signupId, state, detail.slice(0, 500)],
    );
  }
}
