import type { Provenance } from '../domain/enrichment/merge';
import type { IcpFields } from '../domain/icp/fields';
import { iso, type Sql } from './sql';

/** The company of each email domain as last enriched, so signups of a known company spend no credits. */
export class CompanyCacheRepository {
  constructor(private readonly sql: Sql) {}

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
}
