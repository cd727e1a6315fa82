import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EnrichedSignup, WriteOutcome } from '../../src/domain/fan-out';
import { createDestinationClients } from '../../src/composition';
import { pathSegment, UnsafePathSegmentError } from '../../src/integrations/http';
import { testConfig } from '../support/config';
import { type Inspection, type RunningSandbox, salesforceRep, startSandbox } from '../support/sandbox';
import { enrichedSignup, icpScore } from '../support/signups';

type Records = NonNullable<Inspection['records']>;

// Ids from input (a company domain, an organization id, a distinct id) written through the real clients over real
// HTTP to the sandbox: each must reach exactly the record it names, and nothing else may change.
describe('ids from input in destination writes', () => {
  let sandbox: RunningSandbox;
  let clients: ReturnType<typeof createDestinationClients>;

  const signup = (id: string, score: number, tier: string): EnrichedSignup =>
    enrichedSignup({
      signupId: `signup-${score}-${id}`,
      personKey: id,
      distinctId: id,
      domain: id,
      organizationId: id,
      organizationName: `Org ${score}`,
      fields: { companyName: `Company ${score}`, personTitle: 'CTO' },
      score: icpScore(score, tier),
    });

  const writeAll = async (s: EnrichedSignup): Promise<Record<string, WriteOutcome>> => ({
    salesforce: await clients.salesforce!.writeEnrichment(s),
    vitally: await clients.vitally!.writeEnrichment(s),
    posthog: await clients.posthog!.writeEnrichment(s, `key-${s.signupId}`),
  });

  const records = async (system: string): Promise<Records> => (await sandbox.inspect<Inspection>(system)).records ?? {};
  const snapshot = async () => ({
    salesforce: await records('salesforce'),
    vitally: await records('vitally'),
    posthog: await records('posthog'),
  });
  const byKey = (rs: Records, type: string, key: string) => (rs[type] ?? []).filter((r) => r.key === key);

  beforeAll(async () => {
    // Salesforce's duplicate rules match an Account by its Website's domain: off here, so that every write reaches the
    // upsert by external id; the last test turns them back on.
    sandbox = await startSandbox({ salesforce: { duplicateRules: false } });
    const config = testConfig({ SANDBOX_URL: sandbox.url, DESTINATIONS: 'posthog,salesforce,vitally' });
    clients = createDestinationClients(config);
    // The victim: victim.com's Account, Contact, Vitally account and PostHog group, scored 90/A.
    const victim = await writeAll(signup('victim.com', 90, 'A'));
    expect(Object.values(victim).map((o) => o.kind)).toEqual(['written', 'written', 'written']);
  });

  afterAll(async () => {
    await sandbox?.close();
  });

  const hostile = [
    'victim.com?x=1',
    'victim.com#x',
    'victim.com/x',
    'x/../victim.com',
    'victim.com/..',
    'victim.com%3Fx=1',
    '100%',
    '%2e%2e',
    '..victim.com',
    'victim.com/.',
    // Longer than Fastify's default limit of a path parameter (100); within PostHog's 200 for a distinct id.
    `${'x'.repeat(130)}.com?x=1`,
  ];

  it.each(hostile)('writes %j to exactly its own records', async (id) => {
    const before = await snapshot();
    const outcomes = await writeAll(signup(id, 2, 'D'));
    expect(Object.values(outcomes).map((o) => o.kind)).toEqual(['written', 'written', 'written']);
    const after = await snapshot();

    // Salesforce: an Account and a Contact keyed by the id, linked together, scored 2/D.
    const [account] = byKey(after.salesforce, 'Account', id);
    expect(account?.fields).toMatchObject({ Company_Domain__c: id, ICP_Score__c: 2, ICP_Tier__c: 'D' });
    expect(byKey(after.salesforce, 'Contact', id)[0]?.fields).toMatchObject({ AccountId: account?.id });
    // Vitally: the account and the user keyed by the id, the user in that account.
    const [vitallyAccount] = byKey(after.vitally, 'account', id);
    expect(vitallyAccount?.fields).toMatchObject({ externalId: id, traits: { enrichment_icp_score: 2 } });
    expect(byKey(after.vitally, 'user', id)[0]?.fields).toMatchObject({ accountIds: [vitallyAccount?.id] });
    // PostHog: the organization group and the person keyed by the id.
    expect(byKey(after.posthog, 'group', `organization:${id}`)[0]?.fields).toMatchObject({
      group_key: id,
      properties: { enrichment_icp_score: 2 },
    });
    expect(byKey(after.posthog, 'person', id)).toHaveLength(1);

    // Every record that existed before the write is unchanged, the victim's 90/A included.
    for (const system of ['salesforce', 'vitally', 'posthog'] as const) {
      for (const [type, list] of Object.entries(before[system])) {
        for (const r of list) expect(byKey(after[system], type, r.key)[0]).toEqual(r);
      }
    }
    expect(byKey(after.salesforce, 'Account', 'victim.com')[0]?.fields).toMatchObject({
      ICP_Score__c: 90,
      ICP_Tier__c: 'A',
    });
  });

  it.each(['..', '.'])('refuses %j as a Salesforce external id and changes nothing there', async (id) => {
    const before = await records('salesforce');
    const outcome = await clients.salesforce!.writeEnrichment(signup(id, 3, 'D'));
    expect(outcome.kind).toBe('rejected');
    expect(outcome.detail).toMatch(/cannot name a record in a URL path/);
    expect(await records('salesforce')).toEqual(before);
  });

  it('never adopts a record that carries another external id when a duplicate rule matches', async () => {
    await sandbox.control('salesforce', { duplicateRules: true });
    const before = await records('salesforce');
    // https://victim.com?x=2 is victim.com's Website to the rule: the new Account is refused as a duplicate of the
    // victim's, which already has its own external id and must not be re-keyed to this signup.
    const outcome = await clients.salesforce!.writeEnrichment(signup('victim.com?x=2', 4, 'D'));
    expect(outcome.kind).toBe('rejected');
    expect(outcome.detail).toMatch(/DUPLICATES_DETECTED/);
    expect(await records('salesforce')).toEqual(before);
  });

  it('still adopts a record a rep created by hand (no external id) when a duplicate rule matches', async () => {
    await sandbox.control('salesforce', { duplicateRules: true });
    const rep = await salesforceRep(sandbox);
    const id = await rep.create('Account', { Name: 'Repco (by hand)', Website: 'https://www.repco.io' });

    const outcome = await clients.salesforce!.writeEnrichment(signup('repco.io', 70, 'B'));
    expect(outcome.kind).toBe('written');
    expect(outcome.detail).toMatch(/adopted/);
    const accounts = (await records('salesforce')).Account ?? [];
    expect(accounts.filter((r) => r.id === id)[0]?.fields).toMatchObject({
      Company_Domain__c: 'repco.io',
      ICP_Score__c: 70,
    });
    expect(accounts.filter((r) => r.fields.Company_Domain__c === 'repco.io')).toHaveLength(1);
  });

  it('encodes every character that would leave a path segment, and refuses dot segments', () => {
    expect(pathSegment('a/b?c#d%e f')).toBe('a%2Fb%3Fc%23d%25e%20f');
    expect(pathSegment('..a')).toBe('..a');
    for (const bad of ['', '.', '..']) expect(() => pathSegment(bad)).toThrow(UnsafePathSegmentError);
  });
});
