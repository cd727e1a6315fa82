import {
  describeCompany,
  type Company,
  type CompanyType,
  type Coverage,
  type FundingStage,
  type Role,
  type Seniority,
} from './model';
import { EXECUTIVE_ROLES, FUNCTION_ROLES, makePerson } from './people';
import { createRng } from './random';
import { COUNTRIES, FIRST_NAMES, INDUSTRIES, INDUSTRY_NAMES, LAST_NAMES, SYLLABLES, type Industry } from './vocabulary';

/**
 * `count` companies drawn from `seed`, with ids from 1, none at a `reserved` domain (the fixtures'). Every draw comes
 * from the one generator in a fixed order: changing the order of the draws changes the whole data set.
 */
export function generate(seed: number, count: number, reserved: readonly string[]): Company[] {
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
  const taken = new Set<string>(reserved);
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
      description: describeCompany(name, industry, city),
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
