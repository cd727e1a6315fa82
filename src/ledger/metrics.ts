import type { Sql } from './sql';

/**
 * How long the metrics queries may run on PostgreSQL: a scrape that would take longer fails (and is counted) rather
 * than hold a connection of the worker's pool. PGlite has no deadlines.
 */
export const LEDGER_METRICS_STATEMENT_MS = 5_000;

/** The ledger's numbers behind the worker's pipeline metrics (src/metrics/pipeline.ts), read in one transaction. */
export interface LedgerMetricsSnapshot {
  /** Signups by their ledger status (a signup still being worked on stays `received` in the ledger). */
  signupsByStatus: Record<string, number>;
  /** Every archived provider answer, by provider, lookup (`company`, `person`, `enrichment_status`) and outcome. */
  lookups: { provider: string; lookup: string; outcome: string; count: number }[];
  /** Credits spent by provider: the `found` answers of company and person lookups, each paid one credit. */
  creditsSpent: Record<string, number>;
  /** Destination writes the ledger tracks, by destination and state (`sending`, `done`, `failed`). */
  destinationWrites: { destination: string; state: string; count: number }[];
  /** Signups whose workflow start is pending in the outbox: how many, and the age of the oldest (0 when none). */
  outbox: { pending: number; oldestPendingAgeSeconds: number };
}

/**
 * Aggregates of the whole ledger for Prometheus: a handful of GROUP BY queries, each one pass over its table, under
 * their own short statement deadline. No row identity leaves this repository: only counts by closed vocabularies
 * (status, provider, outcome, destination, state), never an email, a domain or an id.
 */
export class MetricsRepository {
  constructor(private readonly sql: Sql) {}

  async snapshot(): Promise<LedgerMetricsSnapshot> {
    return this.sql.transaction(
      async (tx) => {
        const statuses = await tx.query<{ status: string; n: number }>(
          'SELECT status, count(*)::int AS n FROM signups GROUP BY status',
        );
        const lookups = await tx.query<{ provider: string; lookup: string; outcome: string; n: number }>(
          'SELECT provider, lookup, outcome, count(*)::int AS n FROM provider_responses GROUP BY provider, lookup, outcome',
        );
        const writes = await tx.query<{ destination: string; state: string; n: number }>(
          'SELECT destination, state, count(*)::int AS n FROM destination_writes GROUP BY destination, state',
        );
        // The outbox's own definition of a pending start (OutboxRepository.countPendingStarts), aged by the database's
        // clock so that a skewed worker clock cannot hide a stuck outbox.
        const outbox = await tx.query<{ n: number; age: number | string | null }>(
          `SELECT count(*)::int AS n, extract(epoch FROM now() - min(received_at)) AS age FROM signups
           WHERE workflow_started_at IS NULL AND workflow_id IS NOT NULL AND next_start_at IS NOT NULL`,
        );
        const creditsSpent: Record<string, number> = {};
        for (const l of lookups) {
          if (l.outcome === 'found' && (l.lookup === 'company' || l.lookup === 'person')) {
            creditsSpent[l.provider] = (creditsSpent[l.provider] ?? 0) + l.n;
          }
        }
        return {
          signupsByStatus: Object.fromEntries(statuses.map((r) => [r.status, r.n])),
          lookups: lookups.map((l) => ({ provider: l.provider, lookup: l.lookup, outcome: l.outcome, count: l.n })),
          creditsSpent,
          destinationWrites: writes.map((w) => ({ destination: w.destination, state: w.state, count: w.n })),
          outbox: { pending: outbox[0]?.n ?? 0, oldestPendingAgeSeconds: Math.max(Number(outbox[0]?.age ?? 0), 0) },
        };
      },
      { statementMs: LEDGER_METRICS_STATEMENT_MS },
    );
  }
}
