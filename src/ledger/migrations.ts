import type { Sql } from './sql';

export interface Migration {
  id: number;
  name: string;
  sql: string;
}

/** Append only: a migration that has run somewhere is never edited, a new one is added. */
export const MIGRATIONS: readonly Migration[] = [
  {
    id: 1,
    name: 'signups ledger and workflow-start outbox',
    sql: `
      CREATE TABLE signups (
        id                  uuid PRIMARY KEY,
        source              text NOT NULL,
        event_uuid          text UNIQUE,
        dedupe_key          text NOT NULL UNIQUE,
        workflow_id         text,
        email               text,
        email_domain        text,
        distinct_id         text,
        person_id           text,
        name                text,
        organization_id     text,
        organization_name   text,
        signed_up_at        timestamptz NOT NULL,
        received_at         timestamptz NOT NULL DEFAULT now(),
        status              text NOT NULL,
        status_reason       text,
        email_kind          text,
        payload             jsonb NOT NULL,
        start_attempts      integer NOT NULL DEFAULT 0,
        next_start_at       timestamptz,
        last_start_error    text,
        workflow_started_at timestamptz,
        screened_at         timestamptz,
        updated_at          timestamptz NOT NULL DEFAULT now()
      );
      -- The outbox: signups whose workflow has not been started yet.
      CREATE INDEX signups_pending_start ON signups (next_start_at)
        WHERE workflow_started_at IS NULL AND workflow_id IS NOT NULL;
      CREATE INDEX signups_signed_up_at ON signups (signed_up_at);
      CREATE INDEX signups_workflow_id ON signups (workflow_id);
    `,
  },
  {
    id: 2,
    name: 'raw provider responses, domain cache, enrichment results',
    sql: `
      -- Every provider answer, kept so fields can be re-derived (and rescored) without paying again.
      CREATE TABLE provider_responses (
        id           uuid PRIMARY KEY,
        provider     text NOT NULL,
        lookup       text NOT NULL,
        lookup_key   text NOT NULL,
        signup_id    uuid,
        outcome      text NOT NULL,
        http_status  integer,
        body         jsonb,
        received_at  timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX provider_responses_lookup ON provider_responses (provider, lookup, lookup_key, received_at DESC);
      CREATE INDEX provider_responses_signup ON provider_responses (signup_id);
      -- Company data by domain: a company enriched within the freshness window costs no credits again.
      CREATE TABLE company_cache (
        domain       text PRIMARY KEY,
        fields       jsonb NOT NULL,
        provenance   jsonb NOT NULL,
        enriched_at  timestamptz NOT NULL
      );
      ALTER TABLE signups ADD COLUMN icp_fields jsonb;
      ALTER TABLE signups ADD COLUMN provenance jsonb;
      ALTER TABLE signups ADD COLUMN icp_score integer;
      ALTER TABLE signups ADD COLUMN icp_tier text;
      ALTER TABLE signups ADD COLUMN score jsonb;
      ALTER TABLE signups ADD COLUMN credits_spent jsonb;
      ALTER TABLE signups ADD COLUMN enriched_at timestamptz
    `,
  },
  {
    id: 3,
    name: 'destination writes by idempotency key',
    sql: `
      -- One row per write to PostHog, Salesforce, Vitally, Slack or a webhook: re-runs of a signup skip what is done,
      -- and Slack (which cannot deduplicate) is never sent twice.
      CREATE TABLE destination_writes (
        destination      text NOT NULL,
        idempotency_key  text NOT NULL,
        signup_id        uuid NOT NULL,
        state            text NOT NULL,
        attempts         integer NOT NULL DEFAULT 0,
        detail           text,
        updated_at       timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (destination, idempotency_key)
      );
      CREATE INDEX destination_writes_signup ON destination_writes (signup_id)
    `,
  },
  {
    id: 4,
    name: 'health: pause and snooze, daily checks, incidents, backfill marks',
    sql: `
      -- One row: whether enrichment is paused on purpose, and until when alerts are snoozed.
      CREATE TABLE pipeline_controls (
        id             integer PRIMARY KEY CHECK (id = 1),
        paused         boolean NOT NULL DEFAULT false,
        pause_reason   text,
        paused_at      timestamptz,
        snoozed_until  text,
        snooze_reason  text,
        updated_at     timestamptz NOT NULL DEFAULT now()
      );
      INSERT INTO pipeline_controls (id) VALUES (1);
      -- Days are UTC 'YYYY-MM-DD' text: no session time zone can shift them.
      CREATE TABLE health_checks (
        day         text PRIMARY KEY,
        assessment  jsonb NOT NULL,
        checked_at  timestamptz NOT NULL
      );
      CREATE TABLE incidents (
        id             text PRIMARY KEY,
        first_day      text NOT NULL,
        last_day       text NOT NULL,
        state          text NOT NULL,
        cause_kind     text,
        cause_system   text,
        cause          text,
        resolved_day   text,
        backfill       text,
        recovery       text,
        updated_at     timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX incidents_state ON incidents (state);
      ALTER TABLE signups ADD COLUMN unavailable_providers jsonb;
      ALTER TABLE signups ADD COLUMN backfill_id text;
      ALTER TABLE signups ADD COLUMN backfilled_at timestamptz;
      CREATE INDEX signups_enriched_at ON signups (enriched_at);
      CREATE INDEX provider_responses_received_at ON provider_responses (received_at);
      CREATE INDEX destination_writes_updated_at ON destination_writes (updated_at)
    `,
  },
  {
    id: 5,
    name: 'retention: when raw payloads and provider answers were purged',
    sql: `
      -- The raw data purged after RAW_DATA_RETENTION_DAYS (docs/personal-data.md): the rows stay, with when.
      ALTER TABLE signups ADD COLUMN payload_purged_at timestamptz;
      ALTER TABLE provider_responses ADD COLUMN purged_at timestamptz;
      -- The purge's daily scans: only what is still to purge, oldest first.
      CREATE INDEX signups_payload_unpurged ON signups (received_at) WHERE payload_purged_at IS NULL;
      CREATE INDEX provider_responses_unpurged ON provider_responses (received_at)
        WHERE purged_at IS NULL AND body IS NOT NULL
    `,
  },
  {
    id: 6,
    name: 'erasures: the record of each forgotten person, by keyed hash; signups.erased_at',
    sql: `
      -- One row per person erased (enrich forget), found again by the keyed hash of the email, never the email itself.
      -- targets: where the person was written downstream (never the email), results: per system.
      CREATE TABLE erasures (
        id              uuid PRIMARY KEY,
        subject_hash    text NOT NULL UNIQUE,
        requested_at    timestamptz NOT NULL DEFAULT now(),
        completed_at    timestamptz,
        runs            integer NOT NULL DEFAULT 1,
        signups_erased  integer NOT NULL DEFAULT 0,
        signup_ids      jsonb NOT NULL DEFAULT '[]',
        targets         jsonb NOT NULL DEFAULT '{}',
        results         jsonb NOT NULL DEFAULT '{}',
        updated_at      timestamptz NOT NULL DEFAULT now()
      );
      ALTER TABLE signups ADD COLUMN erased_at timestamptz
    `,
  },
  {
    id: 7,
    name: 'destination_links: the remote record a destination key stands for, and a lease on writing it',
    sql: `
      -- A company's Close lead by company domain (never a person's email): found here first, because Close's search
      -- lags behind its writes. The lease makes two workers writing the same company's lead take turns, and a row with
      -- no remote id is deleted when its lease is released.
      CREATE TABLE destination_links (
        destination   text NOT NULL,
        link_key      text NOT NULL,
        remote_id     text,
        lease_holder  text,
        lease_until   timestamptz,
        updated_at    timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (destination, link_key)
      )
    `,
  },
];

// Serialises concurrent start-ups (a worker and a starter on one PostgreSQL) applying the same migration.
const MIGRATION_LOCK = 7_233_001;
/**
 * How long a migration's statement may wait for a table lock. A DDL statement queued behind a running transaction
 * blocks every later query on that table (the intake would answer 503 for as long): past this, the migration rolls
 * back and start-up fails with SQLSTATE 55P03, to be retried, instead of holding the table.
 */
export const MIGRATION_LOCK_TIMEOUT_MS = 10_000;

/**
 * Applies what has not run yet, in one transaction without the connection's statement deadline: an index build on a
 * big table takes what it takes, and a deadline would fail start-up.
 */
export async function migrate(
  sql: Sql,
  migrations: readonly Migration[] = MIGRATIONS,
  options: { lockTimeoutMs?: number } = {},
): Promise<number[]> {
  return sql.transaction(
    async (tx) => {
      // Everything, even creating the bookkeeping table, under the lock: CREATE TABLE IF NOT EXISTS races otherwise.
      // (A second start-up waits here for the first one's migrations, however long they take.)
      await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      await tx.query("SELECT set_config('lock_timeout', $1, true)", [
        `${options.lockTimeoutMs ?? MIGRATION_LOCK_TIMEOUT_MS}ms`,
      ]);
      await tx.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      id integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
      const done = new Set((await tx.query<{ id: number }>('SELECT id FROM schema_migrations')).map((r) => r.id));
      const applied: number[] = [];
      for (const m of migrations.filter((m) => !done.has(m.id))) {
        for (const statement of splitStatements(m.sql)) await tx.query(statement);
        await tx.query('INSERT INTO schema_migrations (id, name) VALUES ($1, $2)', [m.id, m.name]);
        applied.push(m.id);
      }
      return applied;
    },
    { statementMs: 0 },
  );
}

// Extended-protocol queries take one statement each; migrations are plain DDL without semicolons in literals. Comment
// lines go first, so a semicolon in a comment splits nothing.
function splitStatements(script: string): string[] {
  return script
    .replace(/^\s*--.*$/gm, '')
    .split(';')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}
