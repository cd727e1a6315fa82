import { z } from 'zod';

// Clearbit's Company and Person objects (Enrichment API v2). Only the fields we map are checked; Clearbit returns
// null for unknown values, and adds fields over time.
const nullableString = z.string().nullish();
const nullableNumber = z.number().nullish();

export const clearbitCompanySchema = z.looseObject({
  id: z.string().nullish(),
  name: nullableString,
  legalName: nullableString,
  domain: nullableString,
  type: nullableString,
  foundedYear: nullableNumber,
  tags: z.array(z.string()).nullish(),
  category: z
    .looseObject({
      sector: nullableString,
      industryGroup: nullableString,
      industry: nullableString,
      subIndustry: nullableString,
    })
    .nullish(),
  geo: z.looseObject({ country: nullableString, countryCode: nullableString }).nullish(),
  metrics: z
    .looseObject({
      employees: nullableNumber,
      employeesRange: nullableString,
      raised: nullableNumber,
      annualRevenue: nullableNumber,
    })
    .nullish(),
});

export const clearbitPersonSchema = z.looseObject({
  id: z.string().nullish(),
  name: z.looseObject({ fullName: nullableString, givenName: nullableString, familyName: nullableString }).nullish(),
  email: nullableString,
  employment: z
    .looseObject({
      domain: nullableString,
      name: nullableString,
      title: nullableString,
      role: nullableString,
      subRole: nullableString,
      seniority: nullableString,
    })
    .nullish(),
});

export const clearbitCombinedSchema = z.looseObject({
  person: clearbitPersonSchema.nullish(),
  company: clearbitCompanySchema.nullish(),
});

export type ClearbitCompany = z.infer<typeof clearbitCompanySchema>;
export type ClearbitPerson = z.infer<typeof clearbitPersonSchema>;

/**
 * Clearbit's error body: `{ "error": { "type", "message" } }` with a documented type (params_invalid, unknown_record,
 * unknown_route, queued, rate_limit, api_error; `email_invalid` for the Combined API's email).
 */
export const clearbitErrorSchema = z.looseObject({
  error: z.looseObject({ type: z.string().min(1), message: z.string().nullish() }),
});
