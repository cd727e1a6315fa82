/** Roles a person's title maps to; the scorer and the CRM see only these. */
export const ROLES = ['engineering', 'founder', 'product', 'data', 'marketing', 'sales', 'other'] as const;
export const SENIORITIES = ['executive', 'director', 'manager', 'senior', 'individual_contributor'] as const;
export const FUNDING_STAGES = [
  'bootstrapped',
  'pre_seed',
  'seed',
  'series_a',
  'series_b',
  'series_c',
  'series_d_plus',
  'public',
  'acquired',
] as const;
export const COMPANY_TYPES = ['startup', 'private', 'public', 'nonprofit', 'government', 'education', 'other'] as const;
export const EMPLOYEE_RANGES = [
  '1-10',
  '11-50',
  '51-200',
  '201-500',
  '501-1000',
  '1001-5000',
  '5001-10000',
  '10001+',
] as const;

export type Role = (typeof ROLES)[number];
export type Seniority = (typeof SENIORITIES)[number];
export type FundingStage = (typeof FUNDING_STAGES)[number];
export type CompanyType = (typeof COMPANY_TYPES)[number];
export type EmployeeRange = (typeof EMPLOYEE_RANGES)[number];

/**
 * The consistent ICP field set every provider is mapped to. Every field is optional: a field is either known (with
 * its provenance, see `ProvenancedFields`) or missing, never guessed. Its zod schema, `icpFieldsSchema`, is in
 * `fields-schema.ts`: workflow code imports this module, and the SDK evaluates a workflow's modules once per
 * execution — zod's modules included, CPU paid by every signup workflow (bench P4, docs/performance.md).
 */
export type IcpFields = {
  companyName?: string;
  domain?: string;
  employees?: number;
  employeeRange?: EmployeeRange;
  industry?: string;
  industryTags?: string[];
  /** ISO 3166-1 alpha-2, upper case. */
  country?: string;
  totalFundingUsd?: number;
  fundingStage?: FundingStage;
  foundedYear?: number;
  companyType?: CompanyType;
  personTitle?: string;
  role?: Role;
  seniority?: Seniority;
};
export type IcpField = keyof IcpFields;

export const COMPANY_FIELDS: readonly IcpField[] = [
  'companyName',
  'domain',
  'employees',
  'employeeRange',
  'industry',
  'industryTags',
  'country',
  'totalFundingUsd',
  'fundingStage',
  'foundedYear',
  'companyType',
];
export const PERSON_FIELDS: readonly IcpField[] = ['personTitle', 'role', 'seniority'];
export const ICP_FIELDS: IcpField[] = [...COMPANY_FIELDS, ...PERSON_FIELDS];

/** The company part of fields (or of their provenance): what the domain cache keeps. */
export const companyPart = <T extends object>(o: T): T =>
  Object.fromEntries(Object.entries(o).filter(([field]) => COMPANY_FIELDS.includes(field as IcpField))) as T;

/** The standard headcount bands (the ones LinkedIn and most CRMs use). */
export function employeeRangeOf(employees: number): (typeof EMPLOYEE_RANGES)[number] {
  const bounds: [number, (typeof EMPLOYEE_RANGES)[number]][] = [
    [10, '1-10'],
    [50, '11-50'],
    [200, '51-200'],
    [500, '201-500'],
    [1000, '501-1000'],
    [5000, '1001-5000'],
    [10000, '5001-10000'],
  ];
  return bounds.find(([max]) => employees <= max)?.[1] ?? '10001+';
}

/** Title → role and seniority, for providers that give only a free-text title. */
export function classifyTitle(title: string): {
  role: Role;
  seniority: Seniority;
} {
  const t = title.toLowerCase();
  const has = (...words: string[]) => words.some((w) => new RegExp(`\\b${w}\\b`).test(t));
  const role = has('founder', 'co-founder', 'cofounder')
    ? 'founder'
    : has('data', 'analytics', 'analyst', 'scientist', 'bi')
      ? 'data'
      : has('engineer', 'engineering', 'developer', 'cto', 'architect', 'devops', 'sre', 'software')
        ? 'engineering'
        : has('product', 'cpo', 'pm')
          ? 'product'
          : has('marketing', 'cmo', 'growth', 'brand', 'content')
            ? 'marketing'
            : has('sales', 'account executive', 'revenue', 'cro', 'bdr', 'sdr', 'revops')
              ? 'sales'
              : 'other';
  const seniority = has('ceo', 'cto', 'cfo', 'coo', 'cmo', 'cpo', 'cro', 'chief', 'founder', 'co-founder', 'president')
    ? 'executive'
    : has('vp', 'vice president', 'head', 'director')
      ? 'director'
      : has('manager', 'lead')
        ? 'manager'
        : has('senior', 'sr', 'staff', 'principal')
          ? 'senior'
          : 'individual_contributor';
  return { role, seniority };
}
