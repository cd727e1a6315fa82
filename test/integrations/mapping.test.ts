import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { icpFieldsSchema } from '../../src/domain/icp/fields-schema';
import * as clearbit from '../../src/integrations/clearbit/mapping';
import { clearbitCompanySchema } from '../../src/integrations/clearbit/schemas';
import { countryCode } from '../../src/integrations/country';
import * as harmonic from '../../src/integrations/harmonic/mapping';
import { harmonicCompanySchema } from '../../src/integrations/harmonic/schemas';

const fixture = (name: string) =>
  JSON.parse(readFileSync(path.join(__dirname, '../fixtures/providers', name), 'utf8')) as unknown;

describe('provider payload → ICP fields', () => {
  it('maps a Clearbit company', () => {
    const fields = clearbit.companyFields(clearbitCompanySchema.parse(fixture('clearbit-company.json')));
    expect(fields).toEqual({
      companyName: 'Lumenforge',
      domain: 'lumenforge.io',
      employees: 85,
      employeeRange: '51-200',
      industry: 'Software',
      industryTags: ['Technology', 'SAAS', 'B2B'],
      country: 'DE',
      totalFundingUsd: 14500000,
      foundedYear: 2019,
      companyType: 'private',
    });
    expect(icpFieldsSchema.parse(fields)).toEqual(fields);
  });

  it('maps a Harmonic company, with its richer industry tags and country name', () => {
    const fields = harmonic.companyFields(harmonicCompanySchema.parse(fixture('harmonic-company.json')));
    expect(fields).toEqual({
      companyName: 'Quillbyte',
      domain: 'quillbyte.dev',
      employees: 23,
      employeeRange: '11-50',
      industry: 'Developer Tools',
      industryTags: ['Developer Tools', 'Observability', 'B2B'],
      country: 'CA',
      totalFundingUsd: 4200000,
      fundingStage: 'seed',
      foundedYear: 2022,
      companyType: 'startup',
    });
    expect(icpFieldsSchema.parse(fields)).toEqual(fields);
  });

  it('leaves out what a provider does not know instead of inventing it', () => {
    expect(clearbit.companyFields(clearbitCompanySchema.parse({ name: 'X', metrics: { employees: null } }))).toEqual({
      companyName: 'X',
    });
    expect(harmonic.personFields({ experience: [] })).toEqual({});
  });

  it('maps a person from a Clearbit role or, failing that, the title', () => {
    expect(
      clearbit.personFields({ employment: { title: 'Staff Engineer', role: 'engineering', seniority: null } }),
    ).toEqual({
      personTitle: 'Staff Engineer',
      role: 'engineering',
      seniority: 'senior',
    });
    expect(harmonic.personFields({ experience: [{ title: 'Head of Data', is_current_position: true }] })).toEqual({
      personTitle: 'Head of Data',
      role: 'data',
      seniority: 'director',
    });
  });

  it.each([
    ['United States', 'US'],
    ['united kingdom', 'GB'],
    ['UK', 'GB'],
    ['Germany', 'DE'],
    ['de', 'DE'],
    ['Benin', 'BJ'],
    ['Burkina Faso', 'BF'],
    ['Russia', 'RU'],
    ['Atlantis', undefined],
    ['', undefined],
  ])('country %j → %s', (name, code) => {
    expect(countryCode(name)).toBe(code);
  });
});
