import { randomUUID } from 'node:crypto';
import { iso, type Sql } from './sql';

/** Every provider answer, kept so that a signup's fields can be re-derived or explained without another paid call. */
export class ProviderArchiveRepository {
  constructor(private readonly sql: Sql) {}

  /** Archives a provider's answer (found or not) so its fields can be re-derived without another paid call. */
  async archiveProviderResponse(r: {
    provider: string;
    lookup: 'company' | 'person' | 'enrichment_status';
    lookupKey: string;
    signupId: string | undefined;
    outcome: string;
    httpStatus: number | undefined;
    body: unknown;
    /** When it was answered (the activity's server time, so time-skipping tests place it on their day). */
    receivedAt?: string;
  }): Promise<string> {
    const id = randomUUID();
    await this.sql.query(
      `INSERT INTO provider_responses (id, provider, lookup, lookup_key, signup_id, outcome, http_status, body,
         received_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, coalesce($9::timestamptz, now()))`,
      [
        id,
        r.provider,
        r.lookup,
        r.lookupKey,
        r.signupId ?? null,
        r.outcome,
        r.httpStatus ?? null,
        r.body === undefined ? null : JSON.stringify(r.body),
        r.receivedAt ?? null,
      ],
    );
    return id;
  }

  async listProviderResponses(
    signupId: string,
  ): Promise<{ provider: string; lookup: string; outcome: string; body: unknown }[]> {
    return this.sql.query(
      'SELECT provider, lookup, outcome, body FROM provider_responses WHERE signup_id = $1 ORDER BY received_at',
      [signupId],
    );
  }

  /** One provider's archived answers for a signup, oldest first, with when each was received. */
  async providerAnswers(
    signupId: string,
    provider: string,
  ): Promise<{ lookup: string; outcome: string; body: unknown; receivedAt: string }[]> {
    const rows = await this.sql.query<{ lookup: string; outcome: string; body: unknown; received_at: Date | string }>(
      `SELECT lookup, outcome, body, received_at FROM provider_responses WHERE signup_id = $1 AND provider = $2
       ORDER BY received_at`,
      [signupId, provider],
    );
    return rows.map((r) => ({ lookup: r.lookup, outcome: r.outcome, body: r.body, receivedAt: iso(r.received_at) }));
  }
}
