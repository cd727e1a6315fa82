import { scoreIcp, type ScoringConfig } from '../domain/icp/scoring';
import { sha256 } from '../hash';
import type { Ledger } from '../ledger/ledger';

/**
 * Rescores every enriched signup from the fields stored in the ledger — no provider is called, no credit spent.
 * A signup whose input hash (config version + the fields the rules read) is unchanged is left alone. The stored fields
 * outlive the retention purge, so every signup is rescored; `outsideRetention` counts those whose raw data (payload or
 * archived provider answers) is purged: their fields can no longer be re-derived from the archive, only rescored.
 */
export async function rescoreAll(
  ledger: Ledger,
  scoring: ScoringConfig,
  onProgress?: (done: number) => void,
): Promise<{ examined: number; changed: number; outsideRetention: number }> {
  let examined = 0;
  let changed = 0;
  let outsideRetention = 0;
  let after: string | undefined;
  for (;;) {
    const page = await ledger.signups.listScoredSignups(after, 500);
    if (page.length === 0) return { examined, changed, outsideRetention };
    for (const row of page) {
      const score = scoreIcp(row.fields, scoring, sha256);
      if (score.inputHash !== row.score?.inputHash) {
        await ledger.signups.updateScore(row.id, score);
        changed++;
      }
      examined++;
      if (row.rawPurged) outsideRetention++;
    }
    after = page.at(-1)!.id;
    onProgress?.(examined);
  }
}
