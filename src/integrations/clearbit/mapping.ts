import { classifyTitle, employeeRangeOf, type IcpFields } from '../../domain/icp/fields';
import { compact } from '../http';
import type { ClearbitCompany, ClearbitPerson } from './schemas';

const COMPANY_TYPES: Record<string, IcpFields['companyType']> = {
  private: 'private',
  public: 'public',
  nonprofit: 'nonprofit',
  education: 'education',
  government: 'government',
};

// Clearbit's employment.role vocabulary → ours; the rest comes from the title.
const ROLES: Record<string, IcpFields['role']> = {
  engineering: 'engineering',
  information_technology: 'engineering',
  product: 'product',
  marketing: 'marketing',
  sales: 'sales',
  research: 'data',
};
const SENIORITIES: Record<string, IcpFields['seniority']> = {
  executive: 'executive',
  director: 'director',
  manager: 'manager',
};

export function companyFields(c: ClearbitCompany): IcpFields {
  const employees = typeof c.metrics?.employees === 'number' ? Math.round(c.metrics.employees) : undefined;
  const country = c.geo?.countryCode?.toUpperCase();
  return compact({
    companyName: c.name ?? c.legalName ?? undefined,
    domain: c.domain?.toLowerCase() ?? undefined,
    employees,
    employeeRange: employees === undefined ? undefined : employeeRangeOf(employees),
    industry: c.category?.industry ?? c.category?.industryGroup ?? undefined,
    industryTags: c.tags && c.tags.length > 0 ? c.tags : undefined,
    country: country && /^[A-Z]{2}$/.test(country) ? country : undefined,
    totalFundingUsd: typeof c.metrics?.raised === 'number' ? c.metrics.raised : undefined,
    foundedYear: typeof c.foundedYear === 'number' ? c.foundedYear : undefined,
    companyType: c.type ? COMPANY_TYPES[c.type] : undefined,
  });
}

export function personFields(p: ClearbitPerson): IcpFields {
  const title = p.employment?.title ?? undefined;
  const fromTitle = title ? classifyTitle(title) : undefined;
  const role = (p.employment?.role ? ROLES[p.employment.role] : undefined) ?? fromTitle?.role;
  const seniority = (p.employment?.seniority ? SENIORITIES[p.employment.seniority] : undefined) ?? fromTitle?.seniority;
  return compact({ personTitle: title, role, seniority });
}
