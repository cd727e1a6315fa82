import { randomUUID } from 'node:crypto';
import { PERSON_FIELDS, type ErasureResult, type ErasureSystem } from '../domain/erasure';
import { iso, type Sql, type SqlExecutor } from './sql';

/** A signup of the person being erased, with what the downstream deletions need (read before the scrub). */
export interface SubjectSignup {
  id: string;
  distinctId: string | null;
  personId: string | null;
  emailKind: string | null;
  organizationId: string | null;
}

/**
 * Where the person was written, without the email: `personKeys` are the keys we wrote them under (distinct id, or the
 * signup id), `EMAIL_KEY` standing for "the email itself" (the next `enrich forget` is given it again). Kept after the
 * erasure completes, so that a later run can delete again what a write under way at the time put back.
 */
export interface ErasureTargets {
  personKeys?: string[];
  signupIds?: string[];
  slackSignupIds?: string[];
}

export const EMAIL_KEY = '<the erased email>';

export interface ErasureRecord {
  id: string;
  subjectHash: string;
  requestedAt: string;
  completedAt: string | null;
  /** The end of the last run. */
  updatedAt: string;
  runs: number;
  signupsErased: number;
  signupIds: string[];
  targets: ErasureTargets;
  results: Partial<Record<ErasureSystem, ErasureResult>>;
}

interface ErasureRow {
  id: string;
  subject_hash: string;
  requested_at: Date | string;
  completed_at: Date | string | null;
  updated_at: Date | string;
  runs: number;
  signups_erased: number;
  signup_ids: string[];
  targets: ErasureTargets;
  results: Partial<Record<ErasureSystem, ErasureResult>>;
}

const toRecord = (r: ErasureRow): ErasureRecord => ({
  id: r.id,
  subjectHash: r.subject_hash,
  requestedAt: iso(r.requested_at),
  completedAt: r.completed_at === null ? null : iso(r.completed_at),
  updatedAt: iso(r.updated_at),
  runs: r.runs,
  signupsErased: r.signups_erased,
  signupIds: r.signup_ids,
  targets: r.targets,
  results: r.results,
});

/** The statement deadline of an erasure's scrub (a sweep of every text column), instead of the intake's 15 s. */
export const SCRUB_STATEMENT_MS = 50_000;

/** A POSIX regular expression matching `text` literally. */
const literalRegex = (text: string) => text.replace(/[\\^$.|?*+()[\]{}-]/g, '\\$&');

/**
 * Erasures (`enrich forget`): finding a person's signups, scrubbing the ledger of their email, and the record of the
 * erasure by a keyed hash of the email (never the email).
 */
export class ErasuresRepository {
  constructor(private readonly sql: Sql) {}

  /** Signups whose email, distinct id or person id is `email` (normalized: trimmed, lower case). */
  async findSubjectSignups(email: string): Promise<SubjectSignup[]> {
    const rows = await this.sql.query<{
      id: string;
      distinct_id: string | null;
      person_id: string | null;
      email_kind: string | null;
      organization_id: string | null;
    }>(
      `SELECT id, distinct_id, person_id, email_kind, organization_id FROM signups
       WHERE lower(email) = $1 OR lower(distinct_id) = $1 OR lower(person_id) = $1 ORDER BY received_at`,
      [email],
    );
    return rows.map((r) => ({
      id: r.id,
      distinctId: r.distinct_id,
      personId: r.person_id,
      emailKind: r.email_kind,
      organizationId: r.organization_id,
    }));
  }

  /** The signups among `ids` a Slack message was posted for (incoming webhooks cannot delete them). */
  async slackNotified(ids: string[]): Promise<string[]> {
    return this.deliveredTo('slack', ids);
  }

  /** The signups among `ids` with a write to `destination` that did not fail (sent, or possibly sent), oldest first. */
  async deliveredTo(destination: string, ids: string[]): Promise<string[]> {
    if (ids.length === 0) return [];
    const rows = await this.sql.query<{ signup_id: string }>(
      `SELECT signup_id::text AS signup_id FROM destination_writes
       WHERE destination = $2 AND state <> 'failed' AND signup_id::text = ANY($1::text[])
       GROUP BY signup_id ORDER BY min(updated_at), signup_id`,
      [ids, destination],
    );
    return rows.map((r) => r.signup_id);
  }

  async getErasure(subjectHash: string): Promise<ErasureRecord | undefined> {
    const rows = await this.sql.query<ErasureRow>('SELECT * FROM erasures WHERE subject_hash = $1', [subjectHash]);
    return rows[0] ? toRecord(rows[0]) : undefined;
  }

  /**
   * In one transaction: the person's signups lose their email, name, payload, person fields and any distinct or
   * person id that is the email (`erased_at` set: activities of a signup still running write nothing downstream);
   * their person lookups are deleted; every remaining occurrence of the email (or its URL-encoded form) in any text
   * or JSON column of the ledger's tables is replaced by `[erased]`; and the erasure is recorded (or its run counted).
   * Returns the erasure.
   */
  async scrubAndRecord(input: {
    /** The email and any other spelling of it to sweep (matched case-insensitively). */
    spellings: string[];
    emailSha256: string;
    subjectHash: string;
    signups: SubjectSignup[];
    targets: ErasureTargets;
  }): Promise<{ erasure: ErasureRecord; cellsMasked: number }> {
    const ids = input.signups.map((s) => s.id);
    return this.sql.transaction(
      async (tx) => {
        if (ids.length > 0) {
          const dropPerson = PERSON_FIELDS.map((f) => ` - '${f}'`).join('');
          await tx.query(
            `UPDATE signups SET email = NULL, name = NULL, payload = '{}'::jsonb,
             distinct_id = NULL, person_id = NULL,
             icp_fields = icp_fields${dropPerson}, provenance = provenance${dropPerson},
             erased_at = coalesce(erased_at, now()), updated_at = now()
           WHERE id::text = ANY($1::text[])`,
            [ids],
          );
          await tx.query(
            `DELETE FROM provider_responses WHERE lookup = 'person' AND (signup_id::text = ANY($1::text[]) OR lookup_key = $2)`,
            [ids, input.emailSha256],
          );
        }
        const needles = input.spellings.flatMap((e) => [e.toLowerCase(), encodeURIComponent(e).toLowerCase()]);
        const cellsMasked = await maskEverywhere(tx, needles);
        const rows = await tx.query<ErasureRow>(
          `INSERT INTO erasures (id, subject_hash, signups_erased, signup_ids, targets)
         VALUES ($1, $2, $3, $4::jsonb, $5::jsonb)
         ON CONFLICT (subject_hash) DO UPDATE SET
           runs = erasures.runs + 1,
           signups_erased = erasures.signups_erased + EXCLUDED.signups_erased,
           signup_ids = (SELECT coalesce(jsonb_agg(DISTINCT v), '[]'::jsonb)
                         FROM jsonb_array_elements(erasures.signup_ids || EXCLUDED.signup_ids) AS t(v)),
           targets = CASE WHEN EXCLUDED.signups_erased = 0 THEN erasures.targets ELSE jsonb_build_object(
             'personKeys', coalesce(erasures.targets->'personKeys', '[]'::jsonb) || EXCLUDED.targets->'personKeys',
             'signupIds', coalesce(erasures.targets->'signupIds', '[]'::jsonb) || EXCLUDED.targets->'signupIds',
             'slackSignupIds',
               coalesce(erasures.targets->'slackSignupIds', '[]'::jsonb) || EXCLUDED.targets->'slackSignupIds') END,
           completed_at = CASE WHEN EXCLUDED.signups_erased > 0 THEN NULL ELSE erasures.completed_at END,
           updated_at = now()
         RETURNING *`,
          [randomUUID(), input.subjectHash, ids.length, JSON.stringify(ids), JSON.stringify(input.targets)],
        );
        return { erasure: toRecord(rows[0]!), cellsMasked };
        // The sweep reads every text column of every table: longer than an intake query may take, still bounded.
      },
      { statementMs: SCRUB_STATEMENT_MS },
    );
  }

  /**
   * Whether a destination write of one of `ids` finished after `since` (a write that was under way when the person
   * was erased): the next run then deletes downstream again.
   */
  async writtenSince(ids: string[], since: string): Promise<boolean> {
    if (ids.length === 0) return false;
    const rows = await this.sql.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM destination_writes
       WHERE signup_id::text = ANY($1::text[]) AND state = 'done' AND updated_at > $2::timestamptz`,
      [ids, since],
    );
    return (rows[0]?.n ?? 0) > 0;
  }

  /** Each system's result; the erasure is complete once none failed. */
  async recordResults(
    subjectHash: string,
    results: Partial<Record<ErasureSystem, ErasureResult>>,
    complete: boolean,
  ): Promise<ErasureRecord> {
    const rows = await this.sql.query<ErasureRow>(
      `UPDATE erasures SET results = $2::jsonb,
         completed_at = CASE WHEN $3 THEN coalesce(completed_at, now()) ELSE NULL END, updated_at = now()
       WHERE subject_hash = $1 RETURNING *`,
      [subjectHash, JSON.stringify(results), complete],
    );
    if (!rows[0]) throw new Error('erasure record vanished while its results were recorded');
    return toRecord(rows[0]);
  }
}

/**
 * Replaces every case-insensitive occurrence of each of `needles` in every text, varchar and JSON column of this
 * schema's tables (whatever migration added them) with `[erased]`. A replacement inside a JSON string keeps it valid:
 * an email holds no quote nor backslash. Returns how many cells changed.
 */
async function maskEverywhere(tx: SqlExecutor, needles: string[]): Promise<number> {
  const columns = await tx.query<{ table_name: string; column_name: string; data_type: string }>(
    `SELECT c.table_name, c.column_name, c.data_type FROM information_schema.columns c
     JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
     WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'
       AND c.data_type IN ('text', 'character varying', 'jsonb', 'json')`,
  );
  let changed = 0;
  for (const needle of [...new Set(needles)]) {
    const pattern = literalRegex(needle);
    for (const c of columns) {
      const col = `"${c.column_name.replace(/"/g, '""')}"`;
      const table = `"${c.table_name.replace(/"/g, '""')}"`;
      const asText = c.data_type === 'jsonb' || c.data_type === 'json' ? `${col}::text` : col;
      const back = c.data_type === 'jsonb' ? '::jsonb' : c.data_type === 'json' ? '::json' : '';
      const rows = await tx.query<{ n: number }>(
        `WITH hit AS (UPDATE ${table} SET ${col} = regexp_replace(${asText}, $1, '[erased]', 'gi')${back}
           WHERE ${asText} ~* $1 RETURNING 1) SELECT count(*)::int AS n FROM hit`,
        [pattern],
      );
      changed += rows[0]?.n ?? 0;
    }
  }
  return changed;
}
