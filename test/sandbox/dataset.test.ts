import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  createDataset,
  DATASET_SIZE,
  FIXTURE_DOMAINS,
  FIXTURES,
  findCompanyByDomain,
  findCompanyByEmail,
  findPersonByEmail,
  findPersonByLinkedinUrl,
  normalizeDomain,
} from '../../src/sandbox/dataset';
import { generate } from '../../src/sandbox/dataset/generate';

afterEach(() => vi.restoreAllMocks());

describe('sandbox data set', () => {
  it('is the same for the same seed and different for another, without Math.random or the clock', () => {
    const random = vi.spyOn(Math, 'random');
    const now = vi.spyOn(Date, 'now');
    // Seeds no other test uses, so the memo cannot answer for the generator.
    const a = JSON.stringify(createDataset(101).companies);
    const b = JSON.stringify(createDataset(101).companies);
    const c = JSON.stringify(createDataset(202).companies);
    expect(a).toBe(b);
    expect(c).not.toBe(a);
    expect(random).not.toHaveBeenCalled();
    expect(now).not.toHaveBeenCalled();
  });

  it('has ~3,000 companies with unique domains, and people with emails at their company domain', () => {
    const dataset = createDataset();
    expect(dataset.companies).toHaveLength(DATASET_SIZE);
    expect(new Set(dataset.companies.map((c) => c.domain)).size).toBe(DATASET_SIZE);
    const people = dataset.companies.flatMap((c) => c.people.map((p) => ({ p, c })));
    expect(people.length).toBeGreaterThan(DATASET_SIZE * 1.8);
    expect(people.length).toBeLessThan(DATASET_SIZE * 2.2);
    for (const { p, c } of people) expect(p.email.endsWith(`@${c.domain}`)).toBe(true);
    expect(dataset.byEmail.size).toBe(people.length);
    for (const c of dataset.companies) {
      expect(c.country).toMatch(/^[A-Z]{2}$/);
      expect(c.employees).toBeGreaterThan(0);
      expect(c.industryTags.length).toBeGreaterThan(0);
    }
  });

  it('gives each provider the documented coverage', () => {
    const { companies } = createDataset();
    const share = (list: typeof companies, known: (c: (typeof companies)[number]) => boolean) =>
      list.filter(known).length / list.length;
    const large = companies.filter((c) => c.employees >= 200);
    const small = companies.filter((c) => c.employees < 200);
    expect(share(large, (c) => c.knownBy.clearbit)).toBeGreaterThan(0.85);
    expect(share(small, (c) => c.knownBy.clearbit)).toBeLessThan(0.45);
    const ventureSmall = companies.filter(
      (c) => c.companyType === 'startup' && c.employees < 500 && c.fundingStage !== null,
    );
    expect(share(ventureSmall, (c) => c.knownBy.harmonic)).toBeGreaterThan(0.75);
    expect(
      share(
        large.filter((c) => c.companyType !== 'startup'),
        (c) => c.knownBy.harmonic,
      ),
    ).toBeLessThan(0.2);
    expect(share(companies, (c) => c.knownBy.clay)).toBeGreaterThan(0.92);
    const clearbitStartups = companies.filter((c) => c.companyType === 'startup' && c.knownBy.clearbit);
    expect(share(clearbitStartups, (c) => !c.clearbitHasIndustry)).toBeGreaterThan(0.3);
    const nobody = companies.filter((c) => !c.knownBy.clearbit && !c.knownBy.harmonic && !c.knownBy.clay);
    expect(nobody.length).toBeGreaterThan(1);
  });

  it('holds the well-known fixtures, whatever the seed, with their documented coverage', () => {
    for (const seed of [1, 99]) {
      const dataset = createDataset(seed);
      const byKey = Object.fromEntries(
        Object.entries(FIXTURE_DOMAINS).map(([k, d]) => [k, findCompanyByDomain(dataset, d)]),
      );
      expect(Object.values(byKey).every((c) => c !== undefined)).toBe(true);
      expect(byKey.clearbitComplete?.knownBy).toEqual({ clearbit: true, harmonic: false, clay: true });
      expect(byKey.clearbitComplete?.clearbitHasIndustry).toBe(true);
      expect(byKey.clearbitWithoutIndustry?.knownBy).toEqual({ clearbit: true, harmonic: true, clay: true });
      expect(byKey.clearbitWithoutIndustry?.clearbitHasIndustry).toBe(false);
      expect(byKey.harmonicOnly?.knownBy).toEqual({ clearbit: false, harmonic: true, clay: false });
      expect(byKey.clayOnly?.knownBy).toEqual({ clearbit: false, harmonic: false, clay: true });
      expect(byKey.unknown?.knownBy).toEqual({ clearbit: false, harmonic: false, clay: false });
      expect(byKey.clearbitQueuedOnce?.quirks?.clearbitQueuedOnce).toBe(true);
      expect(byKey.harmonicEnrichedAfterPoll?.quirks?.harmonicEnrichedAfterPoll).toBe(true);
      expect(byKey.harmonicEnrichedAfterPoll?.knownBy.harmonic).toBe(false);
    }
    expect(FIXTURES.map((f) => f.domain).sort()).toEqual(Object.values(FIXTURE_DOMAINS).sort());
  });

  it('generates companies with ids from 1, one per name, and none at a reserved domain', () => {
    const free = generate(303, 50, []);
    expect(free.map((c) => c.id)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    const reserved = [free[0]!.domain, free[1]!.domain];
    const companies = generate(303, 200, reserved);
    expect(companies.map((c) => c.domain)).not.toContain(reserved[0]);
    expect(companies.map((c) => c.domain)).not.toContain(reserved[1]);
    expect(new Set(companies.map((c) => c.name.toLowerCase())).size).toBe(companies.length);
  });

  it('finds companies and people by domain, email and LinkedIn URL, normalising what it is given', () => {
    const dataset = createDataset();
    expect(normalizeDomain('https://WWW.Quorvalis.com/about?x=1')).toBe('quorvalis.com');
    expect(findCompanyByDomain(dataset, 'www.quorvalis.com')?.name).toBe('Quorvalis Systems');
    const ada = findPersonByEmail(dataset, 'Ada.Quillon@quorvalis.com');
    expect(ada?.person.role).toBe('engineering');
    expect(ada?.person.seniority).toBe('executive');
    expect(ada?.company.domain).toBe('quorvalis.com');
    expect(findCompanyByEmail(dataset, 'someone.else@quorvalis.com')?.domain).toBe('quorvalis.com');
    expect(findPersonByEmail(dataset, 'someone.else@quorvalis.com')).toBeUndefined();
    const url = `https://www.linkedin.com/in/${ada?.person.linkedinHandle}/`;
    expect(findPersonByLinkedinUrl(dataset, url)?.person.email).toBe('ada.quillon@quorvalis.com');
    expect(findCompanyByDomain(dataset, 'gmail.com')).toBeUndefined();
  });
});
