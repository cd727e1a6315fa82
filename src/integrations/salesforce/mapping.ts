import { splitName, type EnrichedSignup } from '../../domain/fan-out';
import type { Provenance } from '../../domain/enrichment/merge';
import type { IcpField, IcpFields } from '../../domain/icp/fields';

/** How a field is written: `overwrite` always; `fill_empty` only while the record's value is empty. */
export type FieldWritePolicy = 'overwrite' | 'fill_empty';

/**
 * The default policy: standard fields people edit by hand (name, website, industry, headcount, a contact's name and
 * title) are only filled when empty, so a rep's correction is never clobbered; the enrichment's own custom fields
 * (score, tier, status, firmographics) are ours and always overwritten. `SALESFORCE_FIELD_POLICY` overrides per field.
 */
export const DEFAULT_FIELD_POLICY: Record<string, FieldWritePolicy> = {
  Name: 'fill_empty',
  Website: 'fill_empty',
  Industry: 'fill_empty',
  NumberOfEmployees: 'fill_empty',
  BillingCountry: 'fill_empty',
  BillingCity: 'fill_empty',
  FirstName: 'fill_empty',
  LastName: 'fill_empty',
  Email: 'fill_empty',
  Title: 'fill_empty',
  Company: 'fill_empty',
  LeadSource: 'fill_empty',
};

export const policyOf = (field: string, overrides: Record<string, FieldWritePolicy>): FieldWritePolicy =>
  overrides[field] ?? DEFAULT_FIELD_POLICY[field] ?? 'overwrite';

export type SObjectFields = Record<string, string | number | boolean | null | undefined>;

/** `field=source; ...`, as the Account's Enrichment_Sources__c shows it. */
export const describeSources = (provenance: Provenance): string | undefined =>
  Object.keys(provenance).length > 0
    ? Object.entries(provenance)
        .map(([field, p]) => `${field}=${p.source}`)
        .join('; ')
    : undefined;

const enrichmentFields = (s: EnrichedSignup): SObjectFields => ({
  ICP_Score__c: s.score?.score,
  ICP_Tier__c: s.score?.tier,
  ICP_Status__c: s.score?.status,
  Enrichment_Status__c: s.status,
  Enriched_At__c: s.enrichedAt,
  Enrichment_Sources__c: describeSources(s.provenance),
});

/** Where each company ICP field lives on the Account (the re-enrichment selects and writes the same fields). */
export const ACCOUNT_FIELD_OF = {
  companyName: 'Name',
  employees: 'NumberOfEmployees',
  industry: 'Industry',
  country: 'BillingCountry',
  employeeRange: 'Employee_Range__c',
  industryTags: 'Industry_Tags__c',
  totalFundingUsd: 'Total_Funding_USD__c',
  fundingStage: 'Funding_Stage__c',
  foundedYear: 'Founded_Year__c',
  companyType: 'Company_Type__c',
} as const satisfies Partial<Record<IcpField, string>>;

/** The company's ICP fields as Account fields (undefined where unknown). */
export function firmographics(f: IcpFields): SObjectFields {
  return {
    [ACCOUNT_FIELD_OF.companyName]: f.companyName,
    [ACCOUNT_FIELD_OF.industry]: f.industry,
    [ACCOUNT_FIELD_OF.employees]: f.employees,
    [ACCOUNT_FIELD_OF.country]: f.country,
    [ACCOUNT_FIELD_OF.employeeRange]: f.employeeRange,
    [ACCOUNT_FIELD_OF.industryTags]: f.industryTags?.join('; '),
    [ACCOUNT_FIELD_OF.totalFundingUsd]: f.totalFundingUsd,
    [ACCOUNT_FIELD_OF.fundingStage]: f.fundingStage,
    [ACCOUNT_FIELD_OF.foundedYear]: f.foundedYear,
    [ACCOUNT_FIELD_OF.companyType]: f.companyType,
  };
}

/** The Account of a work-email signup's company, keyed by its domain. */
export function accountFields(s: EnrichedSignup): SObjectFields {
  return {
    ...firmographics(s.fields),
    Name: s.fields.companyName ?? s.organizationName ?? s.domain,
    Website: s.domain ? `https://${s.domain}` : undefined,
    ...enrichmentFields(s),
  };
}

/** The person: a Contact (linked to the Account) or, for personal-email signups under the `lead` policy, a Lead. */
export function personFields(s: EnrichedSignup, kind: 'Contact' | 'Lead'): SObjectFields {
  const name = splitName(s.name, s.email);
  return {
    FirstName: name.first,
    LastName: name.last,
    Email: s.email,
    Title: s.fields.personTitle,
    LeadSource: 'Product Signup',
    ...(kind === 'Lead' ? { Company: s.organizationName ?? '[not provided]' } : {}),
    Role__c: s.fields.role,
    Seniority__c: s.fields.seniority,
    Signed_Up_At__c: s.signedUpAt,
    ...enrichmentFields(s),
  };
}
