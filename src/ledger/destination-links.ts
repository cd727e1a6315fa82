import { randomUUID } from 'node:crypto';
import type { Sql } from './sql';

/** A lease on a destination key: taken, with the remote id recorded for the key if any; or held by another writer. */
export type LinkLease = { taken: true; remoteId: string | undefined } | { taken: false };

/**
 * The remote record a destination key stands for (a company's Close lead by its domain), and a lease that makes
 * writers of the same key take turns across workers. A lease expires on its own, so a worker that died holding one
 * delays the next writer by at most the lease, never forever.
 */
export class DestinationLinksRepository {
  constructor(private readonly sql: Sql) {}

  /** The remote id recorded for a key, if any (what `enrich forget` reads: a company's Close lead). */
  async remoteId(destination: string, key: string): Promise<string | undefined> {
    const rows = await this.sql.query<{ remote_id: string | null }>(
      'SELECT remote_id FROM destination_links WHERE destination = $1 AND link_key = $2',
      [destination, key],
    );
    return rows[0]?.remote_id ?? undefined;
  }

  /** Takes the key's lease for `leaseMs` unless another holder's lease is still running. */
  async take(destination: string, key: string, holder: string, leaseMs: number): Promise<LinkLease> {
    const rows = await this.sql.query<{ remote_id: string | null }>(
      `INSERT INTO destination_links (destination, link_key, lease_holder, lease_until)
       VALUES ($1, $2, $3, now() + make_interval(secs => $4::double precision))
       ON CONFLICT (destination, link_key) DO UPDATE
         SET lease_holder = EXCLUDED.lease_holder, lease_until = EXCLUDED.lease_until, updated_at = now()
         WHERE destination_links.lease_holder IS NULL OR destination_links.lease_until < now()
       RETURNING remote_id`,
      [destination, key, holder, leaseMs / 1000],
    );
    return rows[0] ? { taken: true, remoteId: rows[0].remote_id ?? undefined } : { taken: false };
  }

  /**
   * Ends `holder`'s lease, recording the remote id when one is given (a key never linked is forgotten). A lease that
   * expired and was taken by another holder is left to that holder.
   */
  async release(destination: string, key: string, holder: string, remoteId?: string): Promise<void> {
    await this.sql.transaction(async (tx) => {
      await tx.query(
        `UPDATE destination_links
            SET lease_holder = NULL, lease_until = NULL, remote_id = COALESCE($4, remote_id), updated_at = now()
          WHERE destination = $1 AND link_key = $2 AND lease_holder = $3`,
        [destination, key, holder, remoteId ?? null],
      );
      await tx.query(
        `DELETE FROM destination_links
          WHERE destination = $1 AND link_key = $2 AND remote_id IS NULL AND lease_holder IS NULL`,
        [destination, key],
      );
    });
  }
}

/**
 * A writer's turn on a destination key: held at most `leaseMs` (by default past the Close write's 2-minute timeout,
 * so a worker that died holding it delays the next writer that long, never forever); another writer waits up to
 * `waitMs`, asking again every `pollMs`, before its attempt fails as transient and is retried.
 */
export const TURN_DEFAULTS = { leaseMs: 150_000, waitMs: 20_000, pollMs: 250 };

/** What a write done in turn returns: its outcome, and the remote id to record for the key (if any). */
export interface TurnResult<O> {
  outcome: O;
  link?: string;
}

/**
 * Runs `write` holding the lease on a destination key, given the remote id recorded for the key, and records the id
 * it returns. When the lease stays with another writer past `waitMs`, `busy` is returned instead, and nothing runs.
 */
export async function inTurn<O>(
  links: DestinationLinksRepository,
  destination: string,
  key: string,
  write: (remoteId: string | undefined) => Promise<TurnResult<O>>,
  busy: () => O,
  turn: Partial<typeof TURN_DEFAULTS> = {},
): Promise<O> {
  const { leaseMs, waitMs, pollMs } = { ...TURN_DEFAULTS, ...turn };
  const holder = randomUUID();
  const deadline = Date.now() + waitMs;
  let lease = await links.take(destination, key, holder, leaseMs);
  while (!lease.taken && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, pollMs));
    lease = await links.take(destination, key, holder, leaseMs);
  }
  if (!lease.taken) return busy();
  let link: string | undefined;
  try {
    const result = await write(lease.remoteId);
    link = result.link;
    return result.outcome;
  } finally {
    await links.release(destination, key, holder, link);
  }
}
