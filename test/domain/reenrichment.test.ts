import { describe, expect, it } from 'vitest';
import { accountDomain, exclusionOf } from '../../src/domain/account-domain';
import { countOutcomes, describeSummary, emptySummary, withRefusals } from '../../src/domain/reenrichment';
import { accountUpdate, selectionSoql } from '../../src/integrations/salesforce/reenrichment';
import { parseSoql } from '../../src/sandbox/salesforce';

describe('re-enrichment selection and write-back', () => {
  it("takes an Account's domain from its external id, else from its website", () => {
    expect(accountDomain('Acme.io', 'https://other.com')).toBe('acme.io');
    expect(accountDomain(null, 'https://www.Acme.io/about')).toBe('acme.io');
    expect(accountDomain(undefined, 'acme.io')).toBe('acme.io');
    expect(accountDomain('', 'http://sub.acme.co.uk')).toBe('sub.acme.co.uk');
    expect(accountDomain(null, 'not a website')).toBeUndefined();
    expect(accountDomain(null, null)).toBeUndefined();
  });

  it('never pays for personal, disposable or excluded domains', () => {
    expect(exclusionOf('gmail.com', [])).toBe('personal email domain');
    expect(exclusionOf('mailinator.com', [])).toBe('disposable email domain');
    expect(exclusionOf('partner.io', ['partner.io'])).toBe('excluded domain');
    expect(exclusionOf('eu.partner.io', ['partner.io'])).toBe('excluded domain');
    expect(exclusionOf('acme.io', ['partner.io'])).toBeUndefined();
  });

  it('selects stale or incomplete accounts with a website, most valuable first, as SOQL the sandbox parses', () => {
    const soql = selectionSoql({
      externalIdField: 'Company_Domain__c',
      requiredFields: ['companyName', 'employees', 'industry', 'country', 'role'],
      staleBefore: '2026-08-30T02:00:00.000Z',
      incompleteBefore: '2026-11-22T02:00:00.000Z',
      orderBy: 'Open_Opportunities__c DESC NULLS LAST, Id',
      extraWhere: "Type != 'Partner'",
    });
    expect(soql).toContain(
      'WHERE Website != null AND (Enriched_At__c = null OR Enriched_At__c < 2026-08-30T02:00:00Z OR ' +
        '((Name = null OR NumberOfEmployees = null OR Industry = null OR BillingCountry = null) AND ' +
        "Enriched_At__c < 2026-11-22T02:00:00Z)) AND (Type != 'Partner') ORDER BY Open_Opportunities__c DESC NULLS LAST, Id",
    );
    expect(() => parseSoql(soql)).not.toThrow();
  });

  it('writes fill-only fields only where the Account is empty, and reports what changed', () => {
    const { update, changed } = accountUpdate(
      '001SB0000000001AAA',
      { Name: 'Acme (rep)', NumberOfEmployees: 40, Industry: null, Employee_Range__c: '11-50' },
      { companyName: 'Acme', employees: 55, industry: 'Software', employeeRange: '51-200', country: 'DE' },
      { employees: { source: 'clearbit', at: '2026-11-28T02:01:00.000Z' } },
      { policy: {}, complete: true, runId: 'run-1', at: '2026-11-28T02:01:00.000Z' },
    );
    // Name and NumberOfEmployees are a rep's (fill_empty by default); the enrichment's own fields are overwritten.
    expect(update).toEqual({
      Id: '001SB0000000001AAA',
      Industry: 'Software',
      Employee_Range__c: '51-200',
      BillingCountry: 'DE',
      Enriched_At__c: '2026-11-28T02:01:00.000Z',
      Enrichment_Sources__c: 'employees=clearbit',
      Enrichment_Status__c: 'enriched',
      Enrichment_Run_Id__c: 'run-1',
    });
    expect(changed.sort()).toEqual(['BillingCountry', 'Employee_Range__c', 'Industry']);
    const overwrite = accountUpdate(
      'x',
      { NumberOfEmployees: 40 },
      { employees: 55 },
      {},
      { policy: { NumberOfEmployees: 'overwrite' }, complete: false, runId: 'r', at: 't' },
    );
    expect(overwrite.changed).toEqual(['NumberOfEmployees']);
    expect(overwrite.update.Enrichment_Status__c).toBe('partial');
    const same = accountUpdate(
      'x',
      { Industry: 'Software' },
      { industry: 'Software' },
      {},
      { policy: { Industry: 'overwrite' }, complete: true, runId: 'r', at: 't' },
    );
    expect(same.changed).toEqual([]);
  });

  it('counts outcomes into the summary and describes it', () => {
    const s = emptySummary(false, 100, '2026-11-28T02:00:00.000Z');
    countOutcomes(s, [
      { accountId: 'a', domain: 'a.io', kind: 'refreshed', changed: ['Industry'], update: {}, fromCache: true },
      { accountId: 'b', domain: 'b.io', kind: 'unchanged', changed: [], update: {}, fromCache: false },
      { accountId: 'c', domain: 'c.io', kind: 'not_found', reason: 'no provider knows the domain' },
      { accountId: 'd', domain: 'gmail.com', kind: 'skipped', reason: 'personal email domain' },
      { accountId: 'e', domain: 'e.io', kind: 'failed', reason: 'ENTITY_IS_LOCKED: locked' },
    ]);
    expect(s).toMatchObject({
      processed: 4,
      reEnriched: 1,
      unchanged: 1,
      fromCache: 1,
      notFound: 1,
      skipped: { 'personal email domain': 1 },
      failed: { count: 1, examples: [{ accountId: 'e', domain: 'e.io', reason: 'ENTITY_IS_LOCKED: locked' }] },
    });
    s.creditsSpent = { clearbit: 3 };
    expect(describeSummary(s, 'run-1')).toContain('credits 3 of 100 (clearbit 3)');
    expect(describeSummary(s, 'run-1')).toContain('failed 1: e.io (ENTITY_IS_LOCKED: locked)');
  });

  it('turns an account whose update Salesforce refused into a failure, matching 15- and 18-character ids', () => {
    const refreshed = {
      accountId: '001000000000001AAA',
      domain: 'acme.io',
      kind: 'refreshed' as const,
      changed: ['Industry'],
      update: { Id: '001000000000001AAA' },
      fromCache: true,
    };
    const untouched = { ...refreshed, accountId: '001000000000002AAA', domain: 'beta.io' };
    const outcomes = withRefusals(
      [refreshed, untouched],
      [{ accountId: '001000000000001', error: 'ENTITY_IS_LOCKED: locked by an approval process' }],
    );
    expect(outcomes).toEqual([
      {
        accountId: '001000000000001AAA',
        domain: 'acme.io',
        kind: 'failed',
        reason: 'ENTITY_IS_LOCKED: locked by an approval process',
      },
      untouched,
    ]);
    const summary = emptySummary(false, 100, '2026-11-28T02:00:00.000Z');
    countOutcomes(summary, outcomes);
    expect(summary).toMatchObject({ processed: 2, reEnriched: 1, fromCache: 1, failed: { count: 1 } });
  });
});
