/**
 * The sandbox's world: ~3,000 fictional companies and their people, generated from a seed. Same seed, same world —
 * no Math.random, no clock. Names are syllable combinations and every domain is invented; any resemblance to a real
 * company is a coincidence.
 *
 * Provider coverage is decided here, once per company, so that every simulator agrees on who knows what:
 * - Clearbit knows most large companies (≥ 200 employees, 92%) and some small ones (30%); for startups it often has no
 *   industry classification (`clearbitHasIndustry` false: `category` all null and `tags` empty).
 * - Harmonic knows most venture-funded companies under 500 employees (85%), few others (10%), with richer tags.
 * - Clay knows 95% of everything.
 * Some companies are known by nobody.
 *
 * Well-known fixtures (fixed, whatever the seed; see FIXTURES and src/sandbox/README.md):
 * - quorvalis.com   Clearbit has every field; Harmonic does not know it; Clay does.
 * - zentrivo.io     Clearbit knows it without industry or tags; Harmonic has industry and tags; Clay knows it.
 * - plumbrixa.ai    only Harmonic knows it.
 * - vantollo.co     only Clay knows it.
 * - grelmquist.dev  nobody knows it (Harmonic answers 404 + enrichment urn; the status poll ends NOT_FOUND).
 * - ostravine.com   Clearbit answers 202 queued to the first lookup (`queuedLookups` of them), then 200; Clay knows it.
 * - fenwaro.io      Harmonic answers 404 + enrichment urn, the status poll ends COMPLETE, after which it is found.
 */

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

export const DEFAULT_SEED = 20240917;
export const DATASET_SIZE = 3000;

export const INDUSTRIES = {
  Software: ['SaaS', 'B2B', 'Developer Tools', 'Analytics', 'Artificial Intelligence', 'Cloud Infrastructure'],
  'Financial Services': ['Fintech', 'Payments', 'Banking', 'Insurance', 'Lending', 'B2B'],
  Healthcare: ['Healthtech', 'Digital Health', 'Telemedicine', 'Medical Devices', 'B2B'],
  Biotechnology: ['Biotech', 'Drug Discovery', 'Genomics', 'Life Sciences'],
  'E-commerce': ['Marketplace', 'Retail', 'D2C', 'B2C', 'Logistics'],
  Education: ['Edtech', 'Online Learning', 'K-12', 'Higher Education'],
  'Media & Entertainment': ['Streaming', 'Publishing', 'Creator Economy', 'B2C'],
  Gaming: ['Video Games', 'Mobile Games', 'Esports', 'B2C'],
  Cybersecurity: ['Security', 'Identity', 'Compliance', 'Cloud Security', 'B2B'],
  'Marketing & Advertising': ['Martech', 'Adtech', 'CRM', 'Analytics', 'B2B'],
  'Logistics & Supply Chain': ['Freight', 'Supply Chain', 'Fleet Management', 'Logistics'],
  Manufacturing: ['Industrial', 'Robotics', 'Hardware', 'IoT'],
  'Energy & Climate': ['Climate Tech', 'Renewable Energy', 'Energy Storage', 'Sustainability'],
  'Real Estate': ['Proptech', 'Construction', 'Property Management'],
  'Human Resources': ['HR Tech', 'Recruiting', 'Payroll', 'Future of Work', 'B2B'],
  Nonprofit: ['Social Impact', 'Community', 'Advocacy'],
} as const satisfies Record<string, readonly string[]>;
export type Industry = keyof typeof INDUSTRIES;
const INDUSTRY_NAMES = Object.keys(INDUSTRIES) as Industry[];

/** Countries with their English names (Harmonic and Clearbit spell countries out) and a few cities. */
export const COUNTRIES: Record<string, { name: string; cities: readonly string[]; weight: number }> = {
  US: { name: 'United States', cities: ['San Francisco', 'New York', 'Austin', 'Boston', 'Seattle'], weight: 40 },
  GB: { name: 'United Kingdom', cities: ['London', 'Manchester', 'Edinburgh'], weight: 10 },
  DE: { name: 'Germany', cities: ['Berlin', 'Munich', 'Hamburg'], weight: 8 },
  FR: { name: 'France', cities: ['Paris', 'Lyon'], weight: 6 },
  CA: { name: 'Canada', cities: ['Toronto', 'Vancouver', 'Montreal'], weight: 6 },
  IN: { name: 'India', cities: ['Bengaluru', 'Mumbai'], weight: 6 },
  NL: { name: 'Netherlands', cities: ['Amsterdam', 'Rotterdam'], weight: 4 },
  AU: { name: 'Australia', cities: ['Sydney', 'Melbourne'], weight: 4 },
  SE: { name: 'Sweden', cities: ['Stockholm'], weight: 3 },
  ES: { name: 'Spain', cities: ['Madrid', 'Barcelona'], weight: 3 },
  BR: { name: 'Brazil', cities: ['São Paulo'], weight: 3 },
  IL: { name: 'Israel', cities: ['Tel Aviv'], weight: 3 },
  SG: { name: 'Singapore', cities: ['Singapore'], weight: 2 },
  JP: { name: 'Japan', cities: ['Tokyo'], weight: 2 },
};

// prettier-ignore
const SYLLABLES = [
  'bra', 'cor', 'dax', 'el', 'fen', 'gor', 'hal', 'iv', 'jor', 'kal', 'lum', 'mor', 'nex', 'ol', 'pra', 'quor',
  'ril', 'sol', 'tav', 'ul', 'vex', 'wim', 'xan', 'yor', 'zel', 'tri', 'ost', 'vin', 'plu', 'mab', 'drel', 'kiv',
];
// prettier-ignore
const FIRST_NAMES = [
  'Ada', 'Bruno', 'Chloe', 'Dmitri', 'Elena', 'Farid', 'Greta', 'Hiro', 'Ines', 'Jonas', 'Kemi', 'Luca', 'Maya',
  'Nikhil', 'Olga', 'Pavel', 'Quinn', 'Rosa', 'Sami', 'Tara', 'Umar', 'Vera', 'Wes', 'Xenia', 'Yusuf', 'Zoe',
  'Aiden', 'Beatriz', 'Camille', 'Dario', 'Emeka', 'Freya', 'Gus', 'Hana', 'Ivo', 'Jade', 'Kai', 'Lena', 'Mateo',
  'Nora',
];
// prettier-ignore
const LAST_NAMES = [
  'Abara', 'Brisk', 'Calloway', 'Draxler', 'Eskola', 'Fairbrook', 'Galvano', 'Holm', 'Ibarra', 'Jansky', 'Kowal',
  'Lindqvist', 'Marchetti', 'Novak', 'Okafor', 'Petrov', 'Quillon', 'Rahman', 'Sorensen', 'Takeda', 'Uribe', 'Varga',
  'Whitcombe', 'Xu', 'Yilmaz', 'Zamora', 'Achebe', 'Brandt', 'Castell', 'Dunmore', 'Everly', 'Finch', 'Grau',
  'Hartigan', 'Ilves', 'Jovanovic', 'Keller', 'Lowell', 'Mbeki', 'Nakamura',
];

const FUNCTION_LABELS: Record<Role, string> = {
  ceo: 'Executive',
  founder: 'Founding Team',
  engineering: 'Engineering',
  product: 'Product',
  sales: 'Sales',
  marketing: 'Marketing',
  finance: 'Finance',
  operations: 'Operations',
  human_resources: 'People',
  customer_service: 'Customer Success',
  legal: 'Legal',
};
const EXECUTIVE_TITLES: Partial<Record<Role, string>> = {
  ceo: 'Chief Executive Officer',
  founder: 'Co-Founder',
  engineering: 'Chief Technology Officer',
  product: 'Chief Product Officer',
  sales: 'Chief Revenue Officer',
  marketing: 'Chief Marketing Officer',
  finance: 'Chief Financial Officer',
  operations: 'Chief Operating Officer',
  human_resources: 'Chief People Officer',
};
const IC_TITLES: Record<Role, string> = {
  ceo: 'Chief Executive Officer',
  founder: 'Co-Founder',
  engineering: 'Software Engineer',
  product: 'Product Analyst',
  sales: 'Account Executive',
  marketing: 'Growth Marketer',
  finance: 'Financial Analyst',
  operations: 'Operations Associate',
  human_resources: 'Recruiter',
  customer_service: 'Customer Success Specialist',
  legal: 'Legal Counsel',
};
const EXECUTIVE_ROLES: Role[] = [
  'ceo',
  'founder',
  'engineering',
  'finance',
  'marketing',
  'sales',
  'operations',
  'product',
];
const FUNCTION_ROLES: Role[] = [
  'engineering',
  'product',
  'sales',
  'marketing',
  'finance',
  'operations',
  'human_resources',
  'customer_service',
  'legal',
];

export function titleFor(role: Role, seniority: Seniority): string {
  const label = FUNCTION_LABELS[role];
  switch (seniority) {
    case 'executive':
      return EXECUTIVE_TITLES[role] ?? `VP of ${label}`;
    case 'director':
      return `Director of ${label}`;
    case 'manager':
      return `${label} Manager`;
    case 'individual_contributor':
      return IC_TITLES[role];
  }
}

/** mulberry32: small, fast, and good enough for test data; the whole data set hangs off one seed. */
export function createRng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** FNV-1a, for ids derived from strings (stable across seeds and runs). */
export function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** A UUID-shaped string derived from `text`: providers' ids look like UUIDs, ours must not change between runs. */
export function uuidFrom(text: string): string {
  const hex = [0, 1, 2, 3].map((i) => hash32(`${i}:${text}`).toString(16).padStart(8, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** `https://www.Example.com/path` → `example.com`. */
export function normalizeDomain(input: string): string {
  let d = input.trim().toLowerCase();
  d = d.replace(/^[a-z][a-z0-9+.-]*:\/\//, '');
  d = d.split(/[/?#]/, 1)[0] ?? '';
  d = d.replace(/:\d+$/, '').replace(/\.$/, '');
  return d.startsWith('www.') ? d.slice(4) : d;
}

export function findCompanyByDomain(dataset: Dataset, domain: string): Company | undefined {
  return dataset.byDomain.get(normalizeDomain(domain));
}

export function findPersonByEmail(dataset: Dataset, email: string): { person: Person; company: Company } | undefined {
  return dataset.byEmail.get(email.trim().toLowerCase());
}

/** The company behind an email's domain, whether or not the person is known. */
export function findCompanyByEmail(dataset: Dataset, email: string): Company | undefined {
  const at = email.lastIndexOf('@');
  return at < 0 ? undefined : findCompanyByDomain(dataset, email.slice(at + 1));
}

export function findPersonByLinkedinUrl(
  dataset: Dataset,
  url: string,
): { person: Person; company: Company } | undefined {
  const match = /linkedin\.com\/in\/([^/?#]+)/i.exec(url);
  return match?.[1] ? dataset.byLinkedinHandle.get(match[1].toLowerCase()) : undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// Fixtures: fixed companies the tests and the README rely on. Their domains are never generated.

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
    description: describe(spec.name, spec.industry, spec.city),
    people: [],
  };
  company.people = spec.people.map((p, i) => makePerson(company, id * 10 + i, p.firstName, p.lastName, p, p.knownBy));
  return company;
}

const ALL: Coverage = { clearbit: true, harmonic: true, clay: true };
const NONE: Coverage = { clearbit: false, harmonic: false, clay: false };

export const FIXTURE_DOMAINS = {
  clearbitComplete: 'quorvalis.com',
  clearbitWithoutIndustry: 'zentrivo.io',
  harmonicOnly: 'plumbrixa.ai',
  clayOnly: 'vantollo.co',
  unknown: 'grelmquist.dev',
  clearbitQueuedOnce: 'ostravine.com',
  harmonicEnrichedAfterPoll: 'fenwaro.io',
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
    knownBy: { clearbit: true, harmonic: false, clay: true },
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
    knownBy: { clearbit: true, harmonic: true, clay: true },
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
    knownBy: { clearbit: false, harmonic: true, clay: false },
    clearbitHasIndustry: false,
    people: [
      {
        firstName: 'Elena',
        lastName: 'Varga',
        role: 'founder',
        seniority: 'executive',
        knownBy: { clearbit: false, harmonic: true, clay: false },
      },
      {
        firstName: 'Farid',
        lastName: 'Rahman',
        role: 'engineering',
        seniority: 'individual_contributor',
        knownBy: { clearbit: false, harmonic: true, clay: false },
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
    knownBy: { clearbit: false, harmonic: false, clay: true },
    clearbitHasIndustry: true,
    people: [
      {
        firstName: 'Greta',
        lastName: 'Lindqvist',
        role: 'operations',
        seniority: 'director',
        knownBy: { clearbit: false, harmonic: false, clay: true },
      },
      {
        firstName: 'Hiro',
        lastName: 'Takeda',
        role: 'marketing',
        seniority: 'manager',
        knownBy: { clearbit: false, harmonic: false, clay: true },
      },
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
    knownBy: { clearbit: true, harmonic: false, clay: true },
    clearbitHasIndustry: true,
    quirks: { clearbitQueuedOnce: true },
    people: [
      {
        firstName: 'Kemi',
        lastName: 'Achebe',
        role: 'finance',
        seniority: 'executive',
        knownBy: { clearbit: true, harmonic: false, clay: true },
      },
      {
        firstName: 'Luca',
        lastName: 'Galvano',
        role: 'customer_service',
        seniority: 'manager',
        knownBy: { clearbit: true, harmonic: false, clay: true },
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
      {
        firstName: 'Maya',
        lastName: 'Sorensen',
        role: 'ceo',
        seniority: 'executive',
        knownBy: { clearbit: false, harmonic: true, clay: false },
      },
      {
        firstName: 'Nikhil',
        lastName: 'Keller',
        role: 'sales',
        seniority: 'individual_contributor',
        knownBy: { clearbit: false, harmonic: true, clay: false },
      },
    ],
  }),
];

// ---------------------------------------------------------------------------------------------------------------
// Generation

function describe(name: string, industry: Industry, city: string): string {
  return `${name} is a ${industry.toLowerCase()} company based in ${city}.`;
}

function makePerson(
  company: Pick<Company, 'domain' | 'people'>,
  id: number,
  firstName: string,
  lastName: string,
  job: { role: Role; seniority: Seniority },
  knownBy: Coverage,
): Person {
  const first = asciiSlug(firstName);
  const last = asciiSlug(lastName);
  const taken = new Set(company.people.map((p) => p.email));
  let local = `${first}.${last}`;
  if (taken.has(`${local}@${company.domain}`)) local = `${first}${last.slice(0, 1)}${id % 100}`;
  return {
    id,
    firstName,
    lastName,
    email: `${local}@${company.domain}`,
    title: titleFor(job.role, job.seniority),
    role: job.role,
    seniority: job.seniority,
    linkedinHandle: `${first}-${last}-${(hash32(`${id}:${company.domain}`) % 0xffff).toString(16).padStart(4, '0')}`,
    knownBy,
  };
}

function asciiSlug(text: string): string {
  return text
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
}

function generate(seed: number, count: number): Company[] {
  const rng = createRng(seed);
  const chance = (p: number) => rng() < p;
  const int = (min: number, max: number) => min + Math.floor(rng() * (max - min + 1));
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rng() * items.length)] as T;
  const weighted = <T extends string>(weights: Record<T, number>): T => {
    const entries = Object.entries(weights) as [T, number][];
    let r = rng() * entries.reduce((sum, [, w]) => sum + w, 0);
    for (const [value, w] of entries) {
      r -= w;
      if (r < 0) return value;
    }
    return entries[entries.length - 1]![0];
  };
  const logUniform = (min: number, max: number) => Math.round(Math.exp(Math.log(min) + rng() * Math.log(max / min)));
  const roundTo = (value: number, step: number) => Math.max(step, Math.round(value / step) * step);

  const countryWeights = Object.fromEntries(Object.entries(COUNTRIES).map(([code, c]) => [code, c.weight]));
  const taken = new Set<string>(FIXTURES.map((f) => f.domain));
  const companies: Company[] = [];

  for (let id = 1; companies.length < count; id++) {
    const companyType = weighted<CompanyType>({ startup: 55, private: 25, public: 10, nonprofit: 10 });

    let name: string;
    let domain: string;
    do {
      const syllables = Array.from({ length: chance(0.6) ? 3 : 2 }, () => pick(SYLLABLES)).join('');
      name = syllables.charAt(0).toUpperCase() + syllables.slice(1);
      const tld =
        companyType === 'nonprofit'
          ? 'org'
          : companyType === 'startup'
            ? pick(['io', 'ai', 'co', 'dev', 'app', 'com'])
            : pick(['com', 'com', 'net', 'co']);
      domain = `${name.toLowerCase()}.${tld}`;
    } while (taken.has(domain) || taken.has(name.toLowerCase()));
    taken.add(domain);
    // One company per name: two "Zelvex" at different TLDs would make a confusing data set.
    taken.add(name.toLowerCase());

    let employees: number;
    let fundingStage: FundingStage | null;
    let totalFundingUsd: number | null;
    let foundedYear: number;
    switch (companyType) {
      case 'startup': {
        fundingStage = weighted<FundingStage>({
          pre_seed: 15,
          seed: 30,
          series_a: 25,
          series_b: 15,
          series_c: 10,
          series_d_plus: 5,
          bootstrapped: 0,
          public: 0,
        });
        const [minE, maxE, minF, maxF, minY] = STARTUP_STAGES[fundingStage as keyof typeof STARTUP_STAGES];
        employees = logUniform(minE, maxE);
        totalFundingUsd = roundTo(logUniform(minF, maxF), 100_000);
        foundedYear = int(minY, 2024);
        break;
      }
      case 'private':
        employees = logUniform(10, 8000);
        fundingStage = chance(0.6) ? 'bootstrapped' : pick(['series_b', 'series_c', 'series_d_plus'] as const);
        totalFundingUsd = fundingStage === 'bootstrapped' ? null : roundTo(logUniform(20e6, 600e6), 1_000_000);
        foundedYear = int(1960, 2018);
        break;
      case 'public':
        employees = logUniform(300, 150_000);
        fundingStage = 'public';
        totalFundingUsd = chance(0.4) ? roundTo(logUniform(100e6, 2e9), 1_000_000) : null;
        foundedYear = int(1900, 2012);
        break;
      case 'nonprofit':
        employees = logUniform(5, 3000);
        fundingStage = null;
        totalFundingUsd = null;
        foundedYear = int(1950, 2020);
        break;
    }

    const industry: Industry =
      companyType === 'nonprofit' && chance(0.5) ? 'Nonprofit' : pick(INDUSTRY_NAMES.filter((i) => i !== 'Nonprofit'));
    const pool = INDUSTRIES[industry];
    const tagCount = Math.min(pool.length, int(2, 4));
    const shuffled: string[] = [...pool];
    for (let i = shuffled.length - 1; i > 0; i--) {
      const j = Math.floor(rng() * (i + 1));
      [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
    }
    const industryTags = shuffled.slice(0, tagCount);
    const country = weighted(countryWeights);
    const city = pick(COUNTRIES[country]!.cities);

    const ventureFunded = fundingStage !== null && STARTUP_STAGE_NAMES.has(fundingStage);
    const knownBy: Coverage = {
      clearbit: chance(employees >= 200 ? 0.92 : 0.3),
      harmonic: chance(ventureFunded && employees < 500 ? 0.85 : 0.1),
      clay: chance(0.95),
    };
    const clearbitHasIndustry = chance(companyType === 'startup' ? 0.45 : 0.95);

    const company: Company = {
      id,
      name,
      domain,
      description: describe(name, industry, city),
      employees,
      industry,
      industryTags,
      country,
      city,
      totalFundingUsd,
      fundingStage,
      foundedYear,
      companyType,
      people: [],
      knownBy,
      clearbitHasIndustry,
    };

    const peopleCount = Number(weighted({ '1': 20, '2': 60, '3': 20 }));
    for (let i = 0; i < peopleCount; i++) {
      const job: { role: Role; seniority: Seniority } =
        i === 0
          ? { role: pick(EXECUTIVE_ROLES), seniority: 'executive' }
          : {
              role: pick(FUNCTION_ROLES),
              seniority: weighted<Seniority>({ executive: 0, director: 30, manager: 35, individual_contributor: 35 }),
            };
      company.people.push(
        makePerson(company, id * 10 + i, pick(FIRST_NAMES), pick(LAST_NAMES), job, {
          clearbit: knownBy.clearbit && chance(0.75),
          harmonic: knownBy.harmonic && chance(0.7),
          clay: knownBy.clay && chance(0.85),
        }),
      );
    }
    companies.push(company);
  }
  return companies;
}

/** Employees min/max, funding min/max (USD), earliest founding year, by venture stage. */
const STARTUP_STAGES = {
  pre_seed: [2, 15, 100_000, 1_500_000, 2019],
  seed: [5, 40, 1_000_000, 5_000_000, 2017],
  series_a: [20, 150, 5_000_000, 25_000_000, 2014],
  series_b: [60, 400, 20_000_000, 70_000_000, 2012],
  series_c: [150, 900, 50_000_000, 150_000_000, 2010],
  series_d_plus: [300, 3000, 120_000_000, 800_000_000, 2008],
} as const;
const STARTUP_STAGE_NAMES: ReadonlySet<FundingStage> = new Set(Object.keys(STARTUP_STAGES) as FundingStage[]);

const cache = new Map<number, Dataset>();

/** The data set for `seed` (memoised: it is immutable). Fixtures first, then generated companies. */
export function createDataset(seed: number = DEFAULT_SEED): Dataset {
  const cached = cache.get(seed);
  if (cached) return cached;
  const companies = [...FIXTURES, ...generate(seed, DATASET_SIZE - FIXTURES.length)];
  const byDomain = new Map(companies.map((c) => [c.domain, c]));
  const byEmail = new Map<string, { person: Person; company: Company }>();
  const byLinkedinHandle = new Map<string, { person: Person; company: Company }>();
  for (const company of companies) {
    for (const person of company.people) {
      byEmail.set(person.email, { person, company });
      byLinkedinHandle.set(person.linkedinHandle, { person, company });
    }
  }
  const dataset: Dataset = { seed, companies, byDomain, byEmail, byLinkedinHandle };
  cache.set(seed, dataset);
  return dataset;
}
