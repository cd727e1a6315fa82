import { splitName, type EnrichedSignup } from '../../domain/fan-out';

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

type SObjectFields = Record<string, string | number | boolean | null | undefined>;

const enrichmentFields = (s: EnrichedSignup): SObjectFields => ({
  ICP_Score__c: s.score?.score,
  ICP_Tier__c: s.score?.tier,
  ICP_Status__c: s.score?.status,
  Enrichment_Status__c: s.status,
  Enriched_At__c: s.enrichedAt,
  Enrichment_Sources__c:
    Object.keys(s.provenance).length > 0
      ? Object.entries(s.provenance)
          .map(([field, p]) => `${field}=${p.source}`)
          .join('; ')
      : undefined,
});

/** The Account of a work-email signup's company, keyed by its domain. */
export function accountFields(s: EnrichedSignup): SObjectFields {
  const f = s.fields;
  return {
    Name: f.companyName ?? s.organizationName ?? s.domain,
    Website: s.domain ? `https://${s.domain}` : undefined,
    Industry: f.industry,
    NumberOfEmployees: f.employees,
    BillingCountry: f.country,
    Employee_Range__c: f.employeeRange,
    Industry_Tags__c: f.industryTags?.join('; '),
    Total_Funding_USD__c: f.totalFundingUsd,
    Funding_Stage__c: f.fundingStage,
    Founded_Year__c: f.foundedYear,
    Company_Type__c: f.companyType,
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
