import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDestinationClients } from '../../src/composition';
import type { EnrichedSignup } from '../../src/domain/fan-out';
import { testConfig } from '../support/config';
import {
  type Inspection,
  type RunningSandbox,
  salesforceRep,
  type SalesforceRep,
  startSandbox,
} from '../support/sandbox';
import { enrichedSignup, icpScore } from '../support/signups';

type StoredRecord = NonNullable<Inspection['records']>[string][number];

// The Salesforce client (jsforce) over real HTTP against the sandbox's org, with its duplicate rules on: the field
// policy (fill_empty / overwrite) on records someone else filled first, and the adoption of the record a duplicate
// rule matches. What the org holds is read back through /_inspect.
describe('Salesforce writes: field policy and duplicate rules', () => {
  let sandbox: RunningSandbox;
  let rep: SalesforceRep;

  beforeAll(async () => {
    sandbox = await startSandbox({ salesforce: { duplicateRules: true } });
    rep = await salesforceRep(sandbox);
  });

  afterAll(async () => {
    await sandbox?.close();
  });

  const salesforce = (env: Record<string, string> = {}) =>
    createDestinationClients(testConfig({ SANDBOX_URL: sandbox.url, DESTINATIONS: 'salesforce', ...env })).salesforce!;

  const records = async (type: string): Promise<StoredRecord[]> =>
    ((await sandbox.inspect<Inspection>('salesforce')).records ?? {})[type] ?? [];
  /** The one record of `type` whose `field` is `value` (fails if there are none, or more). */
  const theOne = async (type: string, field: string, value: unknown): Promise<StoredRecord> => {
    const found = (await records(type)).filter((r) => r.fields[field] === value);
    expect(found, `${type} with ${field} = ${String(value)}`).toHaveLength(1);
    return found[0]!;
  };

  /** A fresh company and person, scored 80/A, everything the enrichment knows filled. */
  const signup = (overrides: Partial<EnrichedSignup> = {}): EnrichedSignup => {
    const id = randomUUID().slice(0, 8);
    const domain = `acct-${id}.example`;
    return enrichedSignup({
      signupId: `signup-${id}`,
      personKey: `person-${id}`,
      distinctId: `person-${id}`,
      email: `ada.quillon@${domain}`,
      domain,
      organizationId: `org-${id}`,
      organizationName: 'Org from PostHog',
      fields: {
        companyName: 'Enriched Name',
        industry: 'Software',
        employees: 120,
        country: 'DE',
        totalFundingUsd: 5_000_000,
        personTitle: 'CTO',
      },
      score: icpScore(80, 'A'),
      ...overrides,
    });
  };
  const rescored = (s: EnrichedSignup, score: number, tier: string, fields: EnrichedSignup['fields']) => ({
    ...s,
    fields: { ...s.fields, ...fields },
    score: icpScore(score, tier),
  });

  describe('fill_empty', () => {
    it("fills the empty standard fields of existing records, keeps the filled ones, overwrites the enrichment's own", async () => {
      const s = signup();
      const accountId = await rep.create('Account', {
        Company_Domain__c: s.domain,
        Name: 'Name the rep chose',
        Industry: 'Industry the rep chose',
        NumberOfEmployees: null,
        BillingCountry: '',
        ICP_Score__c: 1,
        ICP_Tier__c: 'D',
      });
      const contactId = await rep.create('Contact', {
        Signup_Person_Id__c: s.personKey,
        LastName: 'Quillon-Rep',
        FirstName: '',
        Title: 'Title the rep chose',
        ICP_Score__c: 1,
      });

      const outcome = await salesforce().writeEnrichment(s);
      expect(outcome).toMatchObject({ kind: 'written' });
      expect(outcome.detail).toContain(`Account ${accountId} updated`);
      expect(outcome.detail).toContain(`Contact ${contactId} updated`);

      const account = await theOne('Account', 'Company_Domain__c', s.domain);
      expect(account.id).toBe(accountId);
      expect(account.fields).toMatchObject({
        // Filled by the rep: kept.
        Name: 'Name the rep chose',
        Industry: 'Industry the rep chose',
        // Empty (null, '' or never set): filled.
        NumberOfEmployees: 120,
        BillingCountry: 'DE',
        Website: `https://${s.domain}`,
        // The enrichment's own: overwritten.
        ICP_Score__c: 80,
        ICP_Tier__c: 'A',
        Total_Funding_USD__c: 5_000_000,
      });
      const contact = await theOne('Contact', 'Signup_Person_Id__c', s.personKey);
      expect(contact.id).toBe(contactId);
      expect(contact.fields).toMatchObject({
        LastName: 'Quillon-Rep',
        Title: 'Title the rep chose',
        FirstName: 'Ada',
        Email: s.email,
        LeadSource: 'Product Signup',
        AccountId: accountId,
        ICP_Score__c: 80,
      });

      // A follow-up with other values: what the first write filled is now filled, and stays; the score moves.
      const again = await salesforce().writeEnrichment(
        rescored(s, 55, 'B', { companyName: 'Renamed', employees: 999, country: 'FR', personTitle: 'CEO' }),
      );
      expect(again).toMatchObject({ kind: 'written' });
      expect((await theOne('Account', 'Company_Domain__c', s.domain)).fields).toMatchObject({
        Name: 'Name the rep chose',
        NumberOfEmployees: 120,
        BillingCountry: 'DE',
        ICP_Score__c: 55,
        ICP_Tier__c: 'B',
      });
      expect((await theOne('Contact', 'Signup_Person_Id__c', s.personKey)).fields).toMatchObject({
        Title: 'Title the rep chose',
        FirstName: 'Ada',
        ICP_Score__c: 55,
      });
    });

    it('follows SALESFORCE_FIELD_POLICY where it overrides the default, field by field', async () => {
      const s = signup();
      await rep.create('Account', {
        Company_Domain__c: s.domain,
        Name: 'Name the rep chose',
        NumberOfEmployees: 7,
        ICP_Tier__c: 'Tier the rep chose',
        ICP_Score__c: 1,
      });

      const outcome = await salesforce({
        SALESFORCE_FIELD_POLICY: 'NumberOfEmployees=overwrite,ICP_Tier__c=fill_empty',
      }).writeEnrichment(s);
      expect(outcome).toMatchObject({ kind: 'written' });

      expect((await theOne('Account', 'Company_Domain__c', s.domain)).fields).toMatchObject({
        NumberOfEmployees: 120, // overwrite, by the override
        ICP_Tier__c: 'Tier the rep chose', // fill_empty, by the override
        Name: 'Name the rep chose', // fill_empty, the default
        ICP_Score__c: 80, // overwrite, the default
      });
    });

    it("keeps a Lead's Company and fills its empty name under the lead policy", async () => {
      const s = signup({ emailKind: 'free_mail', domain: undefined, email: `ada.${randomUUID()}@gmail.com` });
      const leadId = await rep.create('Lead', {
        Signup_Person_Id__c: s.personKey,
        LastName: 'Quillon-Rep',
        Company: 'Company the rep chose',
      });

      const outcome = await salesforce({ SALESFORCE_PERSONAL_EMAIL_POLICY: 'lead' }).writeEnrichment(s);
      expect(outcome).toMatchObject({ kind: 'written', detail: `Lead ${leadId} updated` });
      expect((await theOne('Lead', 'Signup_Person_Id__c', s.personKey)).fields).toMatchObject({
        Company: 'Company the rep chose',
        LastName: 'Quillon-Rep',
        FirstName: 'Ada',
        Email: s.email,
        ICP_Score__c: 80,
      });
    });
  });

  describe('duplicate rules', () => {
    it("adopts the rep's Account and Contact the rules match: no second record, the whole write lands on them", async () => {
      const s = signup();
      // Made by hand, without our external ids: the Account matches by its Website's domain, the Contact by Email.
      const accountId = await rep.create('Account', {
        Name: 'Name the rep chose',
        Website: `https://www.${s.domain}/about`,
      });
      const contactId = await rep.create('Contact', { LastName: 'Quillon-Rep', Email: s.email, Title: 'Rep title' });
      const accountsBefore = (await records('Account')).length;
      const contactsBefore = (await records('Contact')).length;

      const outcome = await salesforce().writeEnrichment(s);
      expect(outcome).toMatchObject({ kind: 'written' });
      expect(outcome.detail).toContain(`Account ${accountId} adopted`);
      expect(outcome.detail).toContain(`Contact ${contactId} adopted`);

      expect(await records('Account')).toHaveLength(accountsBefore);
      expect(await records('Contact')).toHaveLength(contactsBefore);
      const account = (await records('Account')).find((r) => r.id === accountId);
      expect(account?.fields).toMatchObject({
        Company_Domain__c: s.domain,
        Name: 'Name the rep chose',
        Website: `https://www.${s.domain}/about`,
        Industry: 'Software',
        NumberOfEmployees: 120,
        ICP_Score__c: 80,
        ICP_Tier__c: 'A',
        Enrichment_Status__c: 'enriched',
      });
      const contact = (await records('Contact')).find((r) => r.id === contactId);
      expect(contact?.fields).toMatchObject({
        Signup_Person_Id__c: s.personKey,
        LastName: 'Quillon-Rep',
        Title: 'Rep title',
        FirstName: 'Ada',
        AccountId: accountId,
        ICP_Score__c: 80,
      });

      // The next write finds them by our external ids: updated, still no second record.
      const again = await salesforce().writeEnrichment(rescored(s, 60, 'B', {}));
      expect(again).toMatchObject({ kind: 'written' });
      expect(again.detail).toContain(`Account ${accountId} updated`);
      expect(again.detail).toContain(`Contact ${contactId} updated`);
      expect(await records('Account')).toHaveLength(accountsBefore);
      expect(await records('Contact')).toHaveLength(contactsBefore);
      expect((await records('Account')).find((r) => r.id === accountId)?.fields).toMatchObject({ ICP_Score__c: 60 });
      expect((await records('Contact')).find((r) => r.id === contactId)?.fields).toMatchObject({ ICP_Score__c: 60 });
    });

    it('under SALESFORCE_ON_DUPLICATE=fail refuses the write with the matched record, and writes nothing', async () => {
      const s = signup();
      const accountId = await rep.create('Account', { Name: 'Name the rep chose', Website: `https://${s.domain}` });
      const before = await sandbox.inspect<Inspection>('salesforce');

      const outcome = await salesforce({ SALESFORCE_ON_DUPLICATE: 'fail' }).writeEnrichment(s);
      expect(outcome.kind).toBe('rejected');
      expect(outcome.detail).toMatch(/DUPLICATES_DETECTED/);
      expect(outcome.detail).toContain(accountId);
      expect((await sandbox.inspect<Inspection>('salesforce')).records).toEqual(before.records);
    });
  });
});
