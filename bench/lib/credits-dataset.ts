import type { IcpField, IcpFields } from '../../src/domain/icp/fields';
import { createDataset, createRng, type Company, type Person } from '../../src/sandbox/dataset';

/**
 * The credits benchmark's signups: drawn from the sandbox's data set with a realistic skew, from a seed. Company
 * sizes follow Zipf's law (the k-th most popular company signs up about 1/k as often as the first), so a few
 * companies send many people and most send one; about 40% of signups use a free-mail address.
 */
export interface BenchSignup {
  email: string;
  /** The company of a work email; undefined for free mail. */
  company: Company | undefined;
  /** The person behind the address (a free-mail address is known to no provider). */
  person: Person;
}

export const FREE_MAIL_SHARE = 0.4;
/** Zipf's exponent over the data set's companies, in a random order of popularity. */
export const ZIPF_EXPONENT = 1;
const FREE_MAIL = ['gmail.com', 'outlook.com', 'yahoo.com', 'hotmail.com', 'icloud.com', 'proton.me'];

export function benchSignups(count: number, seed: number): BenchSignup[] {
  const rng = createRng(seed);
  const companies = [...createDataset().companies];
  for (let i = companies.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [companies[i], companies[j]] = [companies[j]!, companies[i]!];
  }
  const cumulative: number[] = [];
  let total = 0;
  for (let k = 1; k <= companies.length; k++) cumulative.push((total += 1 / k ** ZIPF_EXPONENT));
  const pick = (): Company => {
    const u = rng() * total;
    let lo = 0;
    let hi = cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cumulative[mid]! < u) lo = mid + 1;
      else hi = mid;
    }
    return companies[lo]!;
  };
  const signups: BenchSignup[] = [];
  for (let i = 0; i < count; i++) {
    const company = pick();
    // The data set knows 1–3 people per company: a popular company's later signups are those people again, each
    // in a workspace of their own (a new organization), as teams do.
    const person = company.people[Math.floor(rng() * company.people.length)]!;
    if (rng() < FREE_MAIL_SHARE) {
      const local = person.email.split('@')[0]!;
      signups.push({
        email: `${local}@${FREE_MAIL[Math.floor(rng() * FREE_MAIL.length)]!}`,
        company: undefined,
        person,
      });
    } else {
      signups.push({ email: person.email, company, person });
    }
  }
  return signups;
}

/** Company providers in cost order, cheapest first (ENRICHMENT_PROVIDERS' default order). */
export const COST_ORDER = ['clearbit', 'harmonic', 'clay'] as const;
export type BenchProvider = (typeof COST_ORDER)[number];

/**
 * The cheapest provider whose answer holds the required company fields, from the data set's coverage: Clearbit when
 * it knows the company with its industry, else Harmonic, else Clay; undefined when nobody knows it.
 */
export function cheapestCovering(company: Company): BenchProvider | undefined {
  if (company.knownBy.clearbit && company.clearbitHasIndustry) return 'clearbit';
  if (company.knownBy.harmonic) return 'harmonic';
  return company.knownBy.clay ? 'clay' : undefined;
}

/** The bound: one paid lookup per distinct company of a work signup, at the cheapest provider that covers it. */
export function boundCredits(signups: readonly BenchSignup[]): { credits: number; covered: Set<string> } {
  const covered = new Set<string>();
  const seen = new Set<string>();
  for (const s of signups) {
    if (!s.company || seen.has(s.company.domain)) continue;
    seen.add(s.company.domain);
    if (cheapestCovering(s.company)) covered.add(s.company.domain);
  }
  return { credits: covered.size, covered };
}

export interface Coverage {
  /** Signups with every required field known. */
  enriched: number;
  /** Required fields known over signups × required fields, in %. */
  requiredPct: number;
  /** Signups whose role is known, in %. */
  rolePct: number;
}

const known = (v: unknown) => v !== undefined && v !== null && !(Array.isArray(v) && v.length === 0);

export function coverageOf(results: readonly (IcpFields | undefined)[], required: readonly IcpField[]): Coverage {
  let filled = 0;
  let enriched = 0;
  let roles = 0;
  for (const fields of results) {
    const n = required.filter((f) => known(fields?.[f])).length;
    filled += n;
    if (n === required.length) enriched++;
    if (known(fields?.role)) roles++;
  }
  const count = Math.max(results.length, 1);
  return {
    enriched,
    requiredPct: (100 * filled) / (count * required.length),
    rolePct: (100 * roles) / count,
  };
}
