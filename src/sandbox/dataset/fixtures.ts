import { describeCompany, type Company, type Coverage, type Role, type Seniority } from './model';
import { makePerson } from './people';

/**
 * Fixtures: fixed companies the tests and the README rely on, the same whatever the seed. Their domains are never
 * generated.
 */

interface FixturePersonSpec {
  firstName: string;
  lastName: string;
  role: Role;
  seniority: Seniority;
  knownBy: Coverage;
}

function fixture(
  id: number,
  spec: Omit<Company, 'id' | 'people' | 'description'> & { people: FixturePersonSpec[] },
): Company {
  const company: Company = {
    ...spec,
    id,
    description: describeCompany(spec.name, spec.industry, spec.city),
    people: [],
  };
  company.people = spec.people.map((p, i) => makePerson(company, id * 10 + i, p.firstName, p.lastName, p, p.knownBy));
  return company;
}

// The coverages the fixtures use, named so that each fixture person reads on one line.
const ALL: Coverage = { clearbit: true, harmonic: true, clay: true };
const NONE: Coverage = { clearbit: false, harmonic: false, clay: false };
const CLEARBIT_AND_CLAY: Coverage = { clearbit: true, harmonic: false, clay: true };
const HARMONIC_ONLY: Coverage = { clearbit: false, harmonic: true, clay: false };
const CLAY_ONLY: Coverage = { clearbit: false, harmonic: false, clay: true };

export const FIXTURE_DOMAINS = {
  clearbitComplete: 'quorvalis.com',
  clearbitWithoutIndustry: 'zentrivo.io',
  harmonicOnly: 'plumbrixa.ai',
  clayOnly: 'vantollo.co',
  unknown: 'grelmquist.dev',
  clearbitQueuedOnce: 'ostravine.com',
  harmonicEnrichedAfterPoll: 'fenwaro.io',
} as const;

/**
 * Domains that cannot receive mail, answered so by the sandbox's DNS server (src/sandbox/dns.ts) and known to no
 * provider: `noMail` exists with neither an MX nor an address record, `nxdomain` does not exist. `addressOnly` has an
 * address and no MX: deliverable (mail goes to the address, RFC 5321 §5.1).
 */
export const DNS_FIXTURE_DOMAINS = {
  noMail: 'brindlemoor.com',
  nxdomain: 'quellstrand.io',
  addressOnly: 'tavrenholt.net',
} as const;

export const FIXTURES: readonly Company[] = [
  fixture(900001, {
    name: 'Quorvalis Systems',
    domain: FIXTURE_DOMAINS.clearbitComplete,
    employees: 1850,
    industry: 'Software',
    industryTags: ['SaaS', 'B2B', 'Analytics'],
    country: 'US',
    city: 'Boston',
    totalFundingUsd: 310_000_000,
    fundingStage: 'series_d_plus',
    foundedYear: 2009,
    companyType: 'private',
    knownBy: CLEARBIT_AND_CLAY,
    clearbitHasIndustry: true,
    people: [
      { firstName: 'Ada', lastName: 'Quillon', role: 'engineering', seniority: 'executive', knownBy: ALL },
      { firstName: 'Bruno', lastName: 'Marchetti', role: 'sales', seniority: 'director', knownBy: ALL },
    ],
  }),
  fixture(900002, {
    name: 'Zentrivo',
    domain: FIXTURE_DOMAINS.clearbitWithoutIndustry,
    employees: 85,
    industry: 'Financial Services',
    industryTags: ['Fintech', 'Payments', 'B2B'],
    country: 'GB',
    city: 'London',
    totalFundingUsd: 18_500_000,
    fundingStage: 'series_a',
    foundedYear: 2019,
    companyType: 'startup',
    knownBy: ALL,
    clearbitHasIndustry: false,
    people: [
      { firstName: 'Chloe', lastName: 'Okafor', role: 'ceo', seniority: 'executive', knownBy: ALL },
      { firstName: 'Dmitri', lastName: 'Novak', role: 'product', seniority: 'manager', knownBy: ALL },
    ],
  }),
  fixture(900003, {
    name: 'Plumbrixa',
    domain: FIXTURE_DOMAINS.harmonicOnly,
    employees: 12,
    industry: 'Software',
    industryTags: ['Artificial Intelligence', 'Developer Tools', 'B2B'],
    country: 'DE',
    city: 'Berlin',
    totalFundingUsd: 3_200_000,
    fundingStage: 'seed',
    foundedYear: 2023,
    companyType: 'startup',
    knownBy: HARMONIC_ONLY,
    clearbitHasIndustry: false,
    people: [
      { firstName: 'Elena', lastName: 'Varga', role: 'founder', seniority: 'executive', knownBy: HARMONIC_ONLY },
      {
        firstName: 'Farid',
        lastName: 'Rahman',
        role: 'engineering',
        seniority: 'individual_contributor',
        knownBy: HARMONIC_ONLY,
      },
    ],
  }),
  fixture(900004, {
    name: 'Vantollo',
    domain: FIXTURE_DOMAINS.clayOnly,
    employees: 40,
    industry: 'E-commerce',
    industryTags: ['Marketplace', 'D2C'],
    country: 'ES',
    city: 'Barcelona',
    totalFundingUsd: null,
    fundingStage: 'bootstrapped',
    foundedYear: 2016,
    companyType: 'private',
    knownBy: CLAY_ONLY,
    clearbitHasIndustry: true,
    people: [
      { firstName: 'Greta', lastName: 'Lindqvist', role: 'operations', seniority: 'director', knownBy: CLAY_ONLY },
      { firstName: 'Hiro', lastName: 'Takeda', role: 'marketing', seniority: 'manager', knownBy: CLAY_ONLY },
    ],
  }),
  fixture(900005, {
    name: 'Grelmquist',
    domain: FIXTURE_DOMAINS.unknown,
    employees: 6,
    industry: 'Gaming',
    industryTags: ['Mobile Games'],
    country: 'SE',
    city: 'Stockholm',
    totalFundingUsd: null,
    fundingStage: 'bootstrapped',
    foundedYear: 2022,
    companyType: 'private',
    knownBy: NONE,
    clearbitHasIndustry: false,
    people: [
      { firstName: 'Ines', lastName: 'Ibarra', role: 'founder', seniority: 'executive', knownBy: NONE },
      { firstName: 'Jonas', lastName: 'Holm', role: 'engineering', seniority: 'individual_contributor', knownBy: NONE },
    ],
  }),
  fixture(900006, {
    name: 'Ostravine Logistics',
    domain: FIXTURE_DOMAINS.clearbitQueuedOnce,
    employees: 640,
    industry: 'Logistics & Supply Chain',
    industryTags: ['Freight', 'Supply Chain'],
    country: 'NL',
    city: 'Rotterdam',
    totalFundingUsd: 95_000_000,
    fundingStage: 'series_c',
    foundedYear: 2012,
    companyType: 'private',
    knownBy: CLEARBIT_AND_CLAY,
    clearbitHasIndustry: true,
    quirks: { clearbitQueuedOnce: true },
    people: [
      { firstName: 'Kemi', lastName: 'Achebe', role: 'finance', seniority: 'executive', knownBy: CLEARBIT_AND_CLAY },
      {
        firstName: 'Luca',
        lastName: 'Galvano',
        role: 'customer_service',
        seniority: 'manager',
        knownBy: CLEARBIT_AND_CLAY,
      },
    ],
  }),
  fixture(900007, {
    name: 'Fenwaro',
    domain: FIXTURE_DOMAINS.harmonicEnrichedAfterPoll,
    employees: 28,
    industry: 'Energy & Climate',
    industryTags: ['Climate Tech', 'Energy Storage', 'Sustainability'],
    country: 'CA',
    city: 'Vancouver',
    totalFundingUsd: 7_400_000,
    fundingStage: 'seed',
    foundedYear: 2021,
    companyType: 'startup',
    // Harmonic does not know it until its enrichment completes (see quirks); nobody else ever does.
    knownBy: NONE,
    clearbitHasIndustry: false,
    quirks: { harmonicEnrichedAfterPoll: true },
    people: [
      { firstName: 'Maya', lastName: 'Sorensen', role: 'ceo', seniority: 'executive', knownBy: HARMONIC_ONLY },
      {
        firstName: 'Nikhil',
        lastName: 'Keller',
        role: 'sales',
        seniority: 'individual_contributor',
        knownBy: HARMONIC_ONLY,
      },
    ],
  }),
];
