import { filledFields, type EnrichedSignup } from '../../domain/fan-out';
import { PERSON_FIELDS, type IcpField } from '../../domain/icp/fields';
import { compact } from '../http';

/** Every property we write to PostHog starts with this, so our fields never collide with the product's own. */
export const PROPERTY_PREFIX = 'enrichment_';

/** The ICP field's property name: `employeeRange` → `enrichment_employee_range`. */
export function propertyName(field: string): string {
  return PROPERTY_PREFIX + field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/**
 * The enrichment as properties: ICP fields, score, tier, status, provenance (`enrichment_sources`: field → provider)
 * and enrichment time. The organization gets the company part; the person everything.
 */
export function enrichmentProperties(s: EnrichedSignup, scope: 'organization' | 'person'): Record<string, unknown> {
  const fields = Object.entries(s.fields).filter(
    ([field]) => scope === 'person' || !PERSON_FIELDS.includes(field as IcpField),
  );
  const sources = Object.fromEntries(
    Object.entries(s.provenance)
      .filter(([field]) => fields.some(([f]) => f === field))
      .map(([field, p]) => [field, p.source]),
  );
  return compact({
    ...Object.fromEntries(fields.map(([field, value]) => [propertyName(field), value])),
    [propertyName('status')]: s.status,
    [propertyName('icpScore')]: s.score?.score,
    [propertyName('icpTier')]: s.score?.tier,
    [propertyName('icpStatus')]: s.score?.status,
    [propertyName('icpConfigVersion')]: s.score?.configVersion,
    [propertyName('sources')]: Object.keys(sources).length > 0 ? sources : undefined,
    [propertyName('enrichedAt')]: s.enrichedAt,
  });
}

/** The `organization_enriched` event's own properties: what the chart of the enrichment write rate needs. */
export function enrichedEventProperties(s: EnrichedSignup): Record<string, unknown> {
  const filled = filledFields(s.fields);
  return compact({
    status: s.status,
    icp_score: s.score?.score,
    icp_tier: s.score?.tier,
    fields_filled: filled,
    fields_filled_count: filled.length,
    company_domain: s.domain,
  });
}
