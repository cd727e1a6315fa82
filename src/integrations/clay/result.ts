import { z } from 'zod';
import { employeeRangeOf, FUNDING_STAGES, type IcpFields } from '../../domain/icp/fields';
import { countryCode } from '../country';

const s = z.string().nullish();
const n = z.number().nullish();

/**
 * The body our Clay table's HTTP API column sends to `POST /webhooks/clay`: the row's own fields echoed back plus
 * the enrichment columns. The column template is ours to define in Clay; docs/http-api.md shows it.
 */
export const clayResultSchema = z.looseObject({
  request_id: z.uuid(),
  workflow_id: z.string().min(1),
  company_found: z.boolean(),
  company_name: s,
  company_domain: s,
  company_employee_count: n,
  company_industry: s,
  company_industry_tags: z.array(z.string()).nullish(),
  company_country: s,
  company_total_funding_usd: n,
  company_funding_stage: s,
  company_founded_year: n,
  company_type: s,
});

export type ClayResult = z.infer<typeof clayResultSchema>;

const COMPANY_TYPES = new Set(['startup', 'private', 'public', 'nonprofit', 'government', 'education', 'other']);

export function clayCompanyFields(r: ClayResult): IcpFields {
  if (!r.company_found) return {};
  const employees = typeof r.company_employee_count === 'number' ? Math.round(r.company_employee_count) : undefined;
  const stage = r.company_funding_stage?.toLowerCase().replace(/[\s-]+/g, '_');
  const type = r.company_type?.toLowerCase();
  const fields: IcpFields = {
    companyName: r.company_name ?? undefined,
    domain: r.company_domain?.toLowerCase() ?? undefined,
    employees,
    employeeRange: employees === undefined ? undefined : employeeRangeOf(employees),
    industry: r.company_industry ?? undefined,
    industryTags: r.company_industry_tags && r.company_industry_tags.length > 0 ? r.company_industry_tags : undefined,
    country: countryCode(r.company_country),
    totalFundingUsd: r.company_total_funding_usd ?? undefined,
    fundingStage: (FUNDING_STAGES as readonly string[]).includes(stage ?? '')
      ? (stage as IcpFields['fundingStage'])
      : undefined,
    foundedYear: r.company_founded_year ?? undefined,
    companyType: type && COMPANY_TYPES.has(type) ? (type as IcpFields['companyType']) : undefined,
  };
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
}
