import { randomUUID } from 'node:crypto';
import type { Provenance } from '../domain/enrichment/merge';
import type { IcpFields } from '../domain/icp/fields';
import type { IcpScore } from '../domain/icp/scoring';
import type { EmailKind, EnrichmentStatus } from '../domain/status';
import { HealthLedger } from './health';
import { migrate } from './migrations';
import { openPglite, openPostgres, type PostgresTimeouts, type Sql } from './sql';

export interface NewSignup {
  source: 'posthog' | 'api';
  eventUuid: string | undefined;
  dedupeKey: string;
  /** Undefined when the signup is recorded but not enriched (no email). */
  workflowId: string | undefined;
  email: string | undefined;
  emailDomain: string | undefined;
  distinctId: string | undefined;
  personId: string | undefined;
  name: string | undefined;
  organizationId: string | undefined;
  organizationName: string | undefined;
  signedUpAt: string;
  status: EnrichmentStatus;
  statusReason: string | undefined;
  payload: unknown;
}

export interface SignupRecord {
  id: string;
  source: string;
  eventUuid: string | null;
  workflowId: string | null;
  email: string | null;
  emailDomain: string | null;
  distinctId: string | null;
  personId: string | null;
  organizationId: string | null;
  organizationName: string | null;
  name: string | null;
  signedUpAt: string;
  receivedAt: string;
  status: EnrichmentStatus;
  statusReason: string | null;
  emailKind: EmailKind | null;
  startAttempts: number;
  workflowStartedAt: string | null;
  lastStartError: string | null;
  icpFields: IcpFields | null;
  provenance: Provenance | null;
  icpScore: number | null;
  icpTier: string | null;
  score: IcpScore | null;
  creditsSpent: Record<string, number> | null;
  enrichedAt: string | null;
}

/** A destination write as the ledger remembers it (see `claimDestinationWrite`). */
export type DestinationWriteState = 'sending' | 'done' | 'failed';

export interface PendingStart {
  id: string;
  workflowId: string;
  signedUpAt: string;
  emailDomain: string | null;
  attempts: number;
}

interface SignupRow {
  id: string;
  source: string;
  event_uuid: string | null;
  workflow_id: string | null;
  email: string | null;
  email_domain: string | null;
  distinct_id: string | null;
  person_id: string | null;
  organization_id: string | null;
  organization_name: string | null;
  name: string | null;
  signed_up_at: Date | string;
  received_at: Date | string;
  status: EnrichmentStatus;
  status_reason: string | null;
  email_kind: EmailKind | null;
  start_attempts: number;
  workflow_started_at: Date | string | null;
  last_start_error: string | null;
  icp_fields: IcpFields | null;
  provenance: Provenance | null;
  icp_score: number | null;
  icp_tier: string | null;
  score: IcpScore | null;
  credits_spent: Record<string, number> | null;
  enriched_at: Date | string | null;
}

/** The `failed` reason of a dead-lettered signup starts with this (docs/runbook.md, "Dead-lettered signups"). */
export const DEAD_LETTER_REASON = 'workflow could not be started';

const iso = (v: Date | string): string => new Date(v).toISOString();
const isoOrNull = (v: Date | string | null): string | null => (v === null ? null : iso(v));

const toRecord = (r: SignupRow): SignupRecord => ({
  id: r.id,
  source: r.source,
  eventUuid: r.event_uuid,
  workflowId: r.workflow_id,
  email: r.email,
  emailDomain: r.email_domain,
  distinctId: r.distinct_id,
  personId: r.person_id,
  organizationId: r.organization_id,
  organizationName: r.organization_name,
  name: r.name,
  signedUpAt: iso(r.signed_up_at),
  receivedAt: iso(r.received_at),
  status: r.status,
  statusReason: r.status_reason,
  emailKind: r.email_kind,
  startAttempts: r.start_attempts,
  workflowStartedAt: isoOrNull(r.workflow_started_at),
  lastStartError: r.last_start_error,
  icpFields: r.icp_fields,
  provenance: r.provenance,
  icpScore: r.icp_score,
  icpTier: r.icp_tier,
  score: r.score,
  creditsSpent: r.credits_spent,
  enrichedAt: isoOrNull(r.enriched_at),
});

/** The signups ledger: every signup is recorded here before it is acknowledged, and it doubles as the outbox. */
export class Ledger {
  /** Daily counts, evidence, pause and snooze, incidents, backfill marks. */
  readonly health: HealthLedger;

  constructor(private readonly sql: Sql) {
    this.health = new HealthLedger(sql);
  }

  get engine(): Sql['engine'] {
    return this.sql.engine;
  }

  /** Inserts a signup unless the same event (uuid) or the same organization + person is already recorded. */
  async recordSignup(s: NewSignup): Promise<{ duplicate: boolean; signup: SignupRecord }> {
    const inserted = await this.sql.query<SignupRow>(
      `INSERT INTO signups (id, source, event_uuid, dedupe_key, workflow_id, email, email_domain, distinct_id,
         person_id, name, organization_id, organization_name, signed_up_at, status, status_reason, payload,
         next_start_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16::jsonb,
         CASE WHEN $5::text IS NULL THEN NULL ELSE now() END)
       ON CONFLICT DO NOTHING
       RETURNING *`,
      [
        randomUUID(),
        s.source,
        s.eventUuid ?? null,
        s.dedupeKey,
        s.workflowId ?? null,
        s.email ?? null,
        s.emailDomain ?? null,
        s.distinctId ?? null,
        s.personId ?? null,
        s.name ?? null,
        s.organizationId ?? null,
        s.organizationName ?? null,
        s.signedUpAt,
        s.status,
        s.statusReason ?? null,
        JSON.stringify(s.payload),
      ],
    );
    const row = inserted[0];
    if (row) return { duplicate: false, signup: toRecord(row) };
    const existing = await this.sql.query<SignupRow>(
      `SELECT * FROM signups WHERE ($1::text IS NOT NULL AND event_uuid = $1) OR dedupe_key = $2
       ORDER BY received_at LIMIT 1`,
      [s.eventUuid ?? null, s.dedupeKey],
    );
    if (!existing[0]) throw new Error('signup insert conflicted but no existing row was found');
    return { duplicate: true, signup: toRecord(existing[0]) };
  }

  async getSignup(id: string): Promise<SignupRecord | undefined> {
    const rows = await this.sql.query<SignupRow>('SELECT * FROM signups WHERE id = $1', [id]);
    return rows[0] ? toRecord(rows[0]) : undefined;
  }

  async listSignupsByWorkflowId(workflowId: string): Promise<SignupRecord[]> {
    const rows = await this.sql.query<SignupRow>('SELECT * FROM signups WHERE workflow_id = $1 ORDER BY received_at', [
      workflowId,
    ]);
    return rows.map(toRecord);
  }

  /** The latest work-email signup of each organization of a company domain (what PostHog and Vitally know). */
  async latestSignupPerOrganization(domain: string): Promise<SignupRecord[]> {
    const rows = await this.sql.query<SignupRow>(
      `SELECT DISTINCT ON (organization_id) * FROM signups
       WHERE email_domain = $1 AND email_kind = 'work' AND organization_id IS NOT NULL
       ORDER BY organization_id, received_at DESC`,
      [domain],
    );
    return rows.map(toRecord);
  }

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

  /** Signups by status, and how many of them have an enrichment written. */
  async statusCounts(): Promise<{ byStatus: Record<string, number>; enrichmentWrites: number }> {
    const rows = await this.sql.query<{ status: string; n: number; written: number }>(
      `SELECT status, count(*)::int AS n, count(enriched_at)::int AS written FROM signups GROUP BY status`,
    );
    return {
      byStatus: Object.fromEntries(rows.map((r) => [r.status, r.n])),
      enrichmentWrites: rows.reduce((sum, r) => sum + r.written, 0),
    };
  }

  async countPendingStarts(): Promise<number> {
    const rows = await this.sql.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM signups
       WHERE workflow_started_at IS NULL AND workflow_id IS NOT NULL AND next_start_at IS NOT NULL`,
    );
    return rows[0]?.n ?? 0;
  }

  async recordScreening(
    id: string,
    screening: { emailKind: EmailKind; status: EnrichmentStatus; reason: string | undefined },
  ): Promise<void> {
    await this.sql.query(
      `UPDATE signups SET email_kind = $2, status = $3, status_reason = $4, screened_at = now(), updated_at = now()
       WHERE id = $1`,
      [id, screening.emailKind, screening.status, screening.reason ?? null],
    );
  }

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

  /** The cached company for `domain` if it was enriched at or after `freshSince`. */
  async getCachedCompany(
    domain: string,
    freshSince: string,
  ): Promise<{ fields: IcpFields; provenance: Provenance; enrichedAt: string } | undefined> {
    const rows = await this.sql.query<{ fields: IcpFields; provenance: Provenance; enriched_at: Date | string }>(
      'SELECT fields, provenance, enriched_at FROM company_cache WHERE domain = $1 AND enriched_at >= $2',
      [domain, freshSince],
    );
    const row = rows[0];
    return row ? { fields: row.fields, provenance: row.provenance, enrichedAt: iso(row.enriched_at) } : undefined;
  }

  async putCachedCompany(domain: string, fields: IcpFields, provenance: Provenance, enrichedAt: string): Promise<void> {
    await this.sql.query(
      `INSERT INTO company_cache (domain, fields, provenance, enriched_at) VALUES ($1, $2::jsonb, $3::jsonb, $4)
       ON CONFLICT (domain) DO UPDATE SET fields = EXCLUDED.fields, provenance = EXCLUDED.provenance,
         enriched_at = EXCLUDED.enriched_at`,
      [domain, JSON.stringify(fields), JSON.stringify(provenance), enrichedAt],
    );
  }

  async recordEnrichment(
    id: string,
    r: {
      status: EnrichmentStatus;
      reason: string | undefined;
      fields: IcpFields;
      provenance: Provenance;
      score: IcpScore | undefined;
      creditsSpent: Record<string, number>;
      /** Providers that were out of credits or silent when the signup was recorded (a backfill retries these). */
      unavailableProviders?: string[];
      /** When (the workflow's time); the health check counts the write on this day. */
      at?: string;
    },
  ): Promise<void> {
    await this.sql.query(
      `UPDATE signups SET status = $2, status_reason = $3, icp_fields = $4::jsonb, provenance = $5::jsonb,
         icp_score = $6, icp_tier = $7, score = $8::jsonb, credits_spent = $9::jsonb,
         unavailable_providers = $10::jsonb, enriched_at = coalesce($11::timestamptz, now()), updated_at = now()
       WHERE id = $1`,
      [
        id,
        r.status,
        r.reason ?? null,
        JSON.stringify(r.fields),
        JSON.stringify(r.provenance),
        r.score?.score ?? null,
        r.score?.tier ?? null,
        r.score === undefined ? null : JSON.stringify(r.score),
        JSON.stringify(r.creditsSpent),
        JSON.stringify(r.unavailableProviders ?? []),
        r.at ?? null,
      ],
    );
  }

  /** Enriched signups with their stored fields and score, oldest first, a page at a time (rescoring). */
  async listScoredSignups(
    afterId: string | undefined,
    limit: number,
  ): Promise<{ id: string; fields: IcpFields; score: IcpScore | null }[]> {
    return this.sql.query(
      `SELECT id, icp_fields AS fields, score FROM signups
       WHERE icp_fields IS NOT NULL AND ($1::uuid IS NULL OR id > $1::uuid)
       ORDER BY id LIMIT $2`,
      [afterId ?? null, limit],
    );
  }

  async updateScore(id: string, score: IcpScore): Promise<void> {
    await this.sql.query(
      'UPDATE signups SET icp_score = $2, icp_tier = $3, score = $4::jsonb, updated_at = now() WHERE id = $1',
      [id, score.score ?? null, score.tier ?? null, JSON.stringify(score)],
    );
  }

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

  async ping(): Promise<void> {
    await this.sql.query('SELECT 1');
  }

  async close(): Promise<void> {
    await this.sql.close();
  }
}

/**
 * Opens PostgreSQL when a URL is given (with `timeouts`, by default the intake's short ones), else the embedded PGlite
 * under `dataDir`, and applies migrations.
 */
export async function openLedger(options: {
  databaseUrl: string | undefined;
  dataDir?: string;
  timeouts?: Partial<PostgresTimeouts>;
}): Promise<Ledger> {
  const sql = options.databaseUrl
    ? await openPostgres(options.databaseUrl, options.timeouts)
    : await openPglite(options.dataDir);
  try {
    await migrate(sql);
  } catch (err) {
    await sql.close();
    throw err;
  }
  return new Ledger(sql);
}
