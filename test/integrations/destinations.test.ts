import { describe, expect, it } from 'vitest';
import { isHighValue, splitName } from '../../src/domain/fan-out';
import { eventUuid } from '../../src/integrations/posthog/client';
import { enrichmentProperties, propertyName } from '../../src/integrations/posthog/properties';
import { outcomeOfError } from '../../src/integrations/salesforce/client';
import { accountFields, personFields, policyOf } from '../../src/integrations/salesforce/mapping';
import { signupMessage } from '../../src/integrations/slack/client';
import { vitallyResetMs } from '../../src/integrations/vitally/client';
import { signatureHeader, verifySignature } from '../../src/integrations/webhooks/client';
import { enrichedSignupFixture } from '../support/enriched';

const signup = enrichedSignupFixture({
  fields: {
    companyName: 'Quorvalis',
    employees: 640,
    industry: 'Software',
    country: 'US',
    totalFundingUsd: 42_000_000,
    personTitle: 'CTO',
    role: 'engineering',
    seniority: 'executive',
  },
  provenance: {
    companyName: { source: 'clearbit', at: '2026-11-24T08:00:01.000Z' },
    personTitle: { source: 'clearbit', at: '2026-11-24T08:00:01.000Z' },
  },
  points: { employees: 30, industry: 25, seniority: 20, country: 11 },
});

describe('PostHog properties', () => {
  it('puts every field under the enrichment_ prefix, company fields only on the organization', () => {
    expect(propertyName('employeeRange')).toBe('enrichment_employee_range');
    const org = enrichmentProperties(signup, 'organization');
    const person = enrichmentProperties(signup, 'person');
    expect(org).toMatchObject({
      enrichment_company_name: 'Quorvalis',
      enrichment_employees: 640,
      enrichment_icp_score: 86,
      enrichment_icp_tier: 'A',
      enrichment_status: 'enriched',
      enrichment_sources: { companyName: 'clearbit' },
      enrichment_enriched_at: '2026-11-24T08:00:02.000Z',
    });
    expect(org).not.toHaveProperty('enrichment_person_title');
    expect(person).toMatchObject({ enrichment_person_title: 'CTO', enrichment_seniority: 'executive' });
    expect(Object.keys(person).every((k) => k.startsWith('enrichment_'))).toBe(true);
  });

  it('derives stable, well-formed event uuids from the idempotency key', () => {
    const a = eventUuid('key-1', 0);
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(eventUuid('key-1', 0)).toBe(a);
    expect(eventUuid('key-1', 1)).not.toBe(a);
    expect(eventUuid('key-2', 0)).not.toBe(a);
  });
});

describe('Salesforce mapping and errors', () => {
  it('maps the Account and the Contact, standard fields fill-only by default', () => {
    expect(accountFields(signup)).toMatchObject({
      Name: 'Quorvalis',
      Website: 'https://quorvalis.com',
      NumberOfEmployees: 640,
      ICP_Score__c: 86,
      ICP_Tier__c: 'A',
      Enrichment_Status__c: 'enriched',
    });
    expect(personFields(signup, 'Contact')).toMatchObject({ FirstName: 'Ada', LastName: 'Quillon', Title: 'CTO' });
    expect(personFields({ ...signup, emailKind: 'free_mail' }, 'Lead')).toMatchObject({ Company: 'Quorvalis' });
    expect(policyOf('Name', {})).toBe('fill_empty');
    expect(policyOf('ICP_Score__c', {})).toBe('overwrite');
    expect(policyOf('Name', { Name: 'overwrite' })).toBe('overwrite');
  });

  it('maps what jsforce throws to outcomes an operator can act on', () => {
    const oauth = Object.assign(new Error('invalid client credentials'), { name: 'invalid_client' });
    expect(outcomeOfError(oauth, 1000)).toEqual({
      kind: 'auth_failed',
      detail: 'Salesforce rejected the credentials (invalid_client: invalid client credentials)',
    });
    const limit = Object.assign(new Error('TotalRequests Limit exceeded.'), { errorCode: 'REQUEST_LIMIT_EXCEEDED' });
    expect(outcomeOfError(limit, 3_600_000)).toEqual({
      kind: 'quota_exceeded',
      waitMs: 3_600_000,
      detail: 'Salesforce API request limit exceeded (TotalRequests Limit exceeded.)',
    });
    const field = Object.assign(new Error('Required fields are missing: [Name]'), {
      errorCode: 'REQUIRED_FIELD_MISSING',
    });
    expect(outcomeOfError(field, 1000)).toEqual({
      kind: 'rejected',
      detail: 'Salesforce refused the record (REQUIRED_FIELD_MISSING: Required fields are missing: [Name])',
    });
    expect(outcomeOfError(Object.assign(new Error('connect ECONNREFUSED'), { name: 'FetchError' }), 1000).kind).toBe(
      'transient',
    );
    const down = Object.assign(new Error('Server is temporarily unavailable'), { errorCode: 'SERVER_UNAVAILABLE' });
    expect(outcomeOfError(down, 1000).kind).toBe('transient');
  });

  it('splits names for systems that need a last name', () => {
    expect(splitName('Ada Lovelace King', undefined)).toEqual({ first: 'Ada Lovelace', last: 'King' });
    expect(splitName(undefined, 'ada@x.io')).toEqual({ last: 'ada' });
    expect(splitName('  ', undefined)).toEqual({ last: '[not provided]' });
  });
});

describe('Slack', () => {
  it('calls tier A or a well-funded company high value, never a disqualified one', () => {
    const rule = { tiers: ['A'], minFundingUsd: 20_000_000 };
    expect(isHighValue(signup, rule)).toBe(true);
    const tierC = { ...signup, score: { ...signup.score!, tier: 'C', score: 40 } };
    expect(isHighValue(tierC, rule)).toBe(true); // raised 42M
    expect(isHighValue({ ...tierC, fields: { ...tierC.fields, totalFundingUsd: 1_000_000 } }, rule)).toBe(false);
    expect(isHighValue({ ...signup, score: { ...signup.score!, status: 'disqualified' } }, rule)).toBe(false);
  });

  it('says who, which company, the score and why it scored', () => {
    const m = signupMessage(signup, true);
    expect(m.text).toBe(':rotating_light: High-value signup: Ada Quillon, CTO at Quorvalis (ICP 86/100, tier A)');
    expect(JSON.stringify(m.blocks)).toContain('Why: employees +30, industry +25, seniority +20, country +11');
    expect(JSON.stringify(m.blocks)).toContain('raised $42M');
  });
});

describe('signed webhooks', () => {
  it('signs timestamp and body so that only the same secret, body and a fresh timestamp verify', () => {
    const body = JSON.stringify({ event: 'signup.enriched', signup: { signupId: 's-1' } });
    const now = 1_795_000_000;
    const header = signatureHeader('s3cret', body, now);
    expect(header).toMatch(/^t=1795000000,v1=[0-9a-f]{64}$/);
    expect(verifySignature('s3cret', body, header, now + 10)).toBe(true);
    expect(verifySignature('other', body, header, now)).toBe(false);
    expect(verifySignature('s3cret', `${body} `, header, now)).toBe(false);
    expect(verifySignature('s3cret', body, header, now + 301)).toBe(false);
    expect(verifySignature('s3cret', body, undefined, now)).toBe(false);
  });
});

describe('Vitally', () => {
  it('waits for the rate-limit window its headers announce', () => {
    expect(vitallyResetMs(new Headers({ 'ratelimit-reset': '12' }))).toBe(12_000);
    expect(vitallyResetMs(new Headers({ 'retry-after': '3' }))).toBe(3_000);
    expect(vitallyResetMs(new Headers())).toBe(60_000);
  });
});
