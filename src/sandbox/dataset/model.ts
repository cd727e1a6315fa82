import type { Industry } from './vocabulary';

/** What the data set holds: companies, their people, and which provider knows each. */

export type CompanyType = 'startup' | 'private' | 'public' | 'nonprofit';
export type FundingStage =
  'pre_seed' | 'seed' | 'series_a' | 'series_b' | 'series_c' | 'series_d_plus' | 'bootstrapped' | 'public';
export type Seniority = 'executive' | 'director' | 'manager' | 'individual_contributor';
/** A subset of Clearbit's documented `employment.role` values, used as the data set's own vocabulary. */
export type Role =
  | 'ceo'
  | 'founder'
  | 'engineering'
  | 'product'
  | 'sales'
  | 'marketing'
  | 'finance'
  | 'operations'
  | 'human_resources'
  | 'customer_service'
  | 'legal';

export interface Coverage {
  clearbit: boolean;
  harmonic: boolean;
  clay: boolean;
}

export interface Person {
  /** Stable within the data set; simulators derive their own ids from it. */
  id: number;
  firstName: string;
  lastName: string;
  email: string;
  title: string;
  role: Role;
  seniority: Seniority;
  /** The path part of the LinkedIn profile URL: `https://www.linkedin.com/in/<linkedinHandle>`. */
  linkedinHandle: string;
  knownBy: Coverage;
}

export interface Company {
  id: number;
  name: string;
  domain: string;
  description: string;
  employees: number;
  industry: Industry;
  industryTags: string[];
  /** ISO 3166-1 alpha-2. */
  country: string;
  city: string;
  totalFundingUsd: number | null;
  fundingStage: FundingStage | null;
  foundedYear: number;
  companyType: CompanyType;
  people: Person[];
  knownBy: Coverage;
  /** False when Clearbit knows the company but not its industry (no category, no tags). */
  clearbitHasIndustry: boolean;
  /** Behaviours of the well-known fixtures; absent on generated companies. */
  quirks?: { clearbitQueuedOnce?: boolean; harmonicEnrichedAfterPoll?: boolean };
}

export interface Dataset {
  seed: number;
  companies: readonly Company[];
  byDomain: ReadonlyMap<string, Company>;
  byEmail: ReadonlyMap<string, { person: Person; company: Company }>;
  byLinkedinHandle: ReadonlyMap<string, { person: Person; company: Company }>;
}

/** The one-sentence description every company has, fixture or generated. */
export function describeCompany(name: string, industry: Industry, city: string): string {
  return `${name} is a ${industry.toLowerCase()} company based in ${city}.`;
}
