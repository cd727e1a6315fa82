/**
 * The sandbox's world: ~3,000 fictional companies and their people, generated from a seed. Same seed, same world —
 * no Math.random, no clock. Names are syllable combinations and every domain is invented; any resemblance to a real
 * company is a coincidence.
 *
 * Provider coverage is decided once per company (`generate.ts`; the fixtures' in `fixtures.ts`), so that every
 * simulator agrees on who knows what:
 * - Clearbit knows most large companies (≥ 200 employees, 92%) and some small ones (30%); for startups it often has no
 *   industry classification (`clearbitHasIndustry` false: `category` all null and `tags` empty).
 * - Harmonic knows most venture-funded companies under 500 employees (85%), few others (10%), with richer tags.
 * - Clay knows 95% of everything.
 * Some companies are known by nobody.
 *
 * Well-known fixtures (fixed, whatever the seed; see fixtures.ts and src/sandbox/README.md):
 * - quorvalis.com   Clearbit has every field; Harmonic does not know it; Clay does.
 * - zentrivo.io     Clearbit knows it without industry or tags; Harmonic has industry and tags; Clay knows it.
 * - plumbrixa.ai    only Harmonic knows it.
 * - vantollo.co     only Clay knows it.
 * - grelmquist.dev  nobody knows it (Harmonic answers 404 + enrichment urn; the status poll ends NOT_FOUND).
 * - ostravine.com   Clearbit answers 202 queued to the first lookup (`queuedLookups` of them), then 200; Clay knows it.
 * - fenwaro.io      Harmonic answers 404 + enrichment urn, the status poll ends COMPLETE, after which it is found.
 */

import { FIXTURES } from './fixtures';
import { generate } from './generate';
import type { Company, Dataset, Person } from './model';

export { DNS_FIXTURE_DOMAINS, FIXTURE_DOMAINS, FIXTURES } from './fixtures';
export {
  findCompanyByDomain,
  findCompanyByEmail,
  findPersonByEmail,
  findPersonByLinkedinUrl,
  normalizeDomain,
} from './lookups';
export type { Company, CompanyType, Coverage, Dataset, FundingStage, Person, Role, Seniority } from './model';
export { titleFor } from './people';
export { createRng, hash32, uuidFrom } from './random';
export { COUNTRIES, INDUSTRIES, type Industry } from './vocabulary';

export const DEFAULT_SEED = 20240917;
export const DATASET_SIZE = 3000;

const cache = new Map<number, Dataset>();

/** The data set for `seed` (memoised: it is immutable). Fixtures first, then generated companies. */
export function createDataset(seed: number = DEFAULT_SEED): Dataset {
  const cached = cache.get(seed);
  if (cached) return cached;
  const fixtureDomains = FIXTURES.map((f) => f.domain);
  const companies = [...FIXTURES, ...generate(seed, DATASET_SIZE - FIXTURES.length, fixtureDomains)];
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
