import { randomUUID } from 'node:crypto';
import type { Provenance } from '../domain/enrichment/merge';
import type { IcpFields } from '../domain/icp/fields';
import type { IcpScore } from '../domain/icp/scoring';
import type { EmailKind, EnrichmentStatus } from '../domain/status';
import { iso, type Sql } from './sql';

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
  /** When `enrich forget` erased the person (their activities then write nothing about them). */
  erasedAt: string | null;
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
  erased_at: Date | string | null;
}

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
  erasedAt: isoOrNull(r.erased_at),
});

/** The signups: each recorded once, then screened, enriched and scored on its own row. */
export class SignupsRepository {
  constructor(private readonly sql: Sql) {}

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

  /** Whether the ledger holds this signup: the same event uuid, or the same organization + person (`recordSignup`). */
  async isRecorded(eventUuid: string | undefined, dedupeKey: string): Promise<boolean> {
    const rows = await this.sql.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM signups WHERE ($1::text IS NOT NULL AND event_uuid = $1) OR dedupe_key = $2`,
      [eventUuid ?? null, dedupeKey],
    );
    return (rows[0]?.n ?? 0) > 0;
  }

  async getSignup(id: string): Promise<SignupRecord | undefined> {
    const rows = await this.sql.query<SignupRow>('SELECT * FROM signups WHERE id = $1', [id]);
    return rows[0] ? toRecord(rows[0]) : undefined;
  }

  /** The raw payload the signup arrived with (a PostHog delivery or a `/signups` body; `{}` once purged or erased); undefined for an unknown id. */
  async getPayload(id: string): Promise<unknown> {
    const rows = await this.sql.query<{ payload: unknown }>('SELECT payload FROM signups WHERE id = $1', [id]);
    return rows[0]?.payload;
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

  /** Signups by status, and how many of them have an enrichment written. */
  /**
   * What recording an outcome needs of the signup's row, in one read: whether it was erased while it ran (its person
   * fields are not stored again), when the intake received it and whether an outcome was recorded before (the
   * receipt-to-settled histogram observes the first).
   */
  async recordingState(
    id: string,
  ): Promise<{ erased: boolean; receivedAt: string; recordedBefore: boolean } | undefined> {
    const rows = await this.sql.query<{ erased: boolean; received_at: Date | string; recorded: boolean }>(
      `SELECT erased_at IS NOT NULL AS erased, received_at, enriched_at IS NOT NULL AS recorded
       FROM signups WHERE id = $1`,
      [id],
    );
    const r = rows[0];
    return r && { erased: r.erased, receivedAt: new Date(r.received_at).toISOString(), recordedBefore: r.recorded };
  }

  async statusCounts(): Promise<{ byStatus: Record<string, number>; enrichmentWrites: number }> {
    const rows = await this.sql.query<{ status: string; n: number; written: number }>(
      `SELECT status, count(*)::int AS n, count(enriched_at)::int AS written FROM signups GROUP BY status`,
    );
    return {
      byStatus: Object.fromEntries(rows.map((r) => [r.status, r.n])),
      enrichmentWrites: rows.reduce((sum, r) => sum + r.written, 0),
    };
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

  /**
   * Enriched signups with their stored fields and score, by id, a page at a time (rescoring); `rawPurged` when the
   * retention purge has emptied its payload or any of its archived provider answers.
   */
  async listScoredSignups(
    afterId: string | undefined,
    limit: number,
  ): Promise<{ id: string; fields: IcpFields; score: IcpScore | null; rawPurged: boolean }[]> {
    return this.sql.query(
      `SELECT id, icp_fields AS fields, score,
         (payload_purged_at IS NOT NULL
           OR EXISTS (SELECT 1 FROM provider_responses r WHERE r.signup_id = s.id AND r.purged_at IS NOT NULL))
           AS "rawPurged"
       FROM signups s
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
}
