import { classifyTitle, employeeRangeOf, type IcpFields } from '../../domain/icp/fields';
import { countryCode } from '../country';
import { compact } from '../http';
import type { HarmonicCompany, HarmonicPerson } from './schemas';

const STAGES: Record<string, IcpFields['fundingStage']> = {
  PRE_SEED: 'pre_seed',
  SEED: 'seed',
  SERIES_A: 'series_a',
  SERIES_B: 'series_b',
  SERIES_C: 'series_c',
  SERIES_D: 'series_d_plus',
  SERIES_E: 'series_d_plus',
  SERIES_F: 'series_d_plus',
  SERIES_G: 'series_d_plus',
  LATER_STAGE: 'series_d_plus',
  IPO: 'public',
  PUBLIC: 'public',
  EXITED: 'acquired',
  ACQUIRED: 'acquired',
  BOOTSTRAPPED: 'bootstrapped',
};

const COMPANY_TYPES: Record<string, IcpFields['companyType']> = {
  STARTUP: 'startup',
  PRIVATE: 'private',
  PUBLIC: 'public',
  NON_PROFIT: 'nonprofit',
  NONPROFIT: 'nonprofit',
  GOVERNMENT: 'government',
  EDUCATION: 'education',
};

export function companyFields(c: HarmonicCompany): IcpFields {
  const tags = [...(c.tags_v2 ?? []), ...(c.tags ?? [])];
  const industryTags = [...new Set(tags.map((t) => t.display_value).filter((v): v is string => Boolean(v)))];
  const industryTag =
    tags.find((t) => t.is_primary && t.display_value) ??
    tags.find((t) => /INDUSTRY|MARKET_VERTICAL/.test(t.type ?? '') && t.display_value);
  const employees = typeof c.headcount === 'number' ? Math.round(c.headcount) : undefined;
  const stage = (c.funding?.funding_stage ?? c.stage)?.toUpperCase();
  const founded = c.founding_date?.date ? Number(c.founding_date.date.slice(0, 4)) : undefined;
  return compact({
    companyName: c.name ?? c.legal_name ?? undefined,
    domain: c.website?.domain?.toLowerCase() ?? undefined,
    employees,
    employeeRange: employees === undefined ? undefined : employeeRangeOf(employees),
    industry: industryTag?.display_value ?? undefined,
    industryTags: industryTags.length > 0 ? industryTags : undefined,
    country: countryCode(c.location?.country),
    totalFundingUsd: typeof c.funding?.funding_total === 'number' ? c.funding.funding_total : undefined,
    fundingStage: stage ? STAGES[stage] : undefined,
    foundedYear: founded && Number.isInteger(founded) && founded > 1800 ? founded : undefined,
    companyType: c.company_type ? COMPANY_TYPES[c.company_type.toUpperCase()] : undefined,
  });
}

export function personFields(p: HarmonicPerson): IcpFields {
  const current = p.experience?.find((e) => e.is_current_position) ?? p.experience?.[0];
  const title = current?.title ?? undefined;
  if (!title) return {};
  const { role, seniority } = classifyTitle(title);
  return { personTitle: title, role, seniority };
}
