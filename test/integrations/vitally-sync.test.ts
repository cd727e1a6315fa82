import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDestinationClients } from '../../src/composition';
import type { WriteOutcome } from '../../src/domain/fan-out';
import { testConfig } from '../support/config';
import { type RunningSandbox, startSandbox } from '../support/sandbox';
import { enrichedSignup } from '../support/signups';

interface Stored {
  key: string;
  id: string;
  fields: Record<string, unknown>;
  writes: number;
}
type Records = Record<string, Stored[] | undefined>;

// VITALLY_ACCOUNTS=salesforce_sync with each VITALLY_SYNC_ACCOUNT_KEY: the real Salesforce and Vitally clients against
// the sandbox. The Salesforce → Vitally sync is played by a POST of the account, keyed as the admin's choice of
// Salesforce field would key it; the client finds it by that key and never creates an account itself.
describe('Vitally users in the accounts of the Salesforce → Vitally sync, by VITALLY_SYNC_ACCOUNT_KEY', () => {
  let sandbox: RunningSandbox;
  beforeAll(async () => {
    sandbox = await startSandbox({ salesforce: { duplicateRules: false } });
  });
  afterAll(async () => {
    await sandbox?.close();
  });

  const records = async (system: string) => (await sandbox.inspect<{ records?: Records }>(system)).records ?? {};
  const clients = (key?: string) =>
    createDestinationClients(
      testConfig({
        SANDBOX_URL: sandbox.url,
        DESTINATIONS: 'salesforce,vitally',
        VITALLY_ACCOUNTS: 'salesforce_sync',
        ...(key ? { VITALLY_SYNC_ACCOUNT_KEY: key } : {}),
      }),
    );
  /** What Vitally's Salesforce sync does once it has seen the Account: an account keyed by the chosen field. */
  const sync = async (externalId: string, name: string) => {
    const res = await fetch(`${sandbox.url}/vitally/resources/accounts`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Basic ${Buffer.from('sandbox-key:').toString('base64')}`,
      },
      body: JSON.stringify({ externalId, name }),
    });
    expect(res.status).toBe(200);
    return ((await res.json()) as { id: string }).id;
  };
  const userOf = async (personKey: string) => (await records('vitally')).user?.find((u) => u.key === personKey);
  const accountKeys = async () => ((await records('vitally')).account ?? []).map((a) => a.key).sort();

  it.each([
    ['(default) domain', undefined],
    ['salesforce_id', 'salesforce_id'],
    ['organization_id', 'organization_id'],
  ])('%s: waits for the synced account, then joins it; no account is written by us', async (label, key) => {
    const tag = label.replace(/\W+/g, '-').replace(/^-|-$/g, '');
    const s = enrichedSignup({
      signupId: `signup-${tag}`,
      personKey: `person-${tag}`,
      email: `ada@${tag}.example`,
      domain: `${tag}.example`,
      organizationId: `org-${tag}`,
      organizationName: `Org ${tag}`,
      fields: { companyName: `Company ${tag}` },
    });
    const c = clients(key);
    expect(c.vitally?.syncAccountKey).toBe(key ?? 'domain');
    const before = await accountKeys();

    // Our Salesforce write of the company's Account (beside the Vitally write in the fan-out).
    expect((await c.salesforce!.writeEnrichment(s)).kind).toBe('written');
    const sfAccount = (await records('salesforce')).Account?.find((a) => a.key === s.domain);
    expect(sfAccount).toBeDefined();

    const waiting: WriteOutcome = await c.vitally!.writeEnrichment(s);
    expect(waiting.kind).toBe('transient');
    expect(waiting.detail).toMatch(/waiting for the Salesforce → Vitally sync/);
    expect(await accountKeys()).toEqual(before);

    const externalId =
      key === 'salesforce_id' ? sfAccount!.id : key === 'organization_id' ? s.organizationId! : s.domain!;
    const vitallyId = await sync(externalId, `Company ${tag}`);
    const written = await c.vitally!.writeEnrichment(s);
    expect(written).toMatchObject({
      kind: 'written',
      detail: expect.stringMatching(/^user, in the account synced for /) as unknown,
    });
    expect((await userOf(s.personKey))?.fields.accountIds).toEqual([vitallyId]);
    // Again (a retry or backfill): the same user, the sync's account untouched.
    expect((await c.vitally!.writeEnrichment(s)).kind).toBe('written');
    expect(await c.vitally!.writeAccount(s)).toMatchObject({ kind: 'written', detail: /none written/ });
    const accounts = ((await records('vitally')).account ?? []).filter((a) => !before.includes(a.key));
    expect(accounts.map((a) => [a.key, a.writes])).toEqual([[externalId, 1]]);
  });

  it('organization_id with no organization id, or domain with no domain: nothing to join, nothing written', async () => {
    const noOrg = enrichedSignup({ personKey: 'person-no-org', domain: 'no-org.example' });
    expect(await clients('organization_id').vitally!.writeEnrichment(noOrg)).toMatchObject({
      kind: 'written',
      detail: /^no organization id: no synced account to join/,
    });
    const noDomain = enrichedSignup({ personKey: 'person-no-domain', organizationId: 'org-x' });
    expect(await clients().vitally!.writeEnrichment(noDomain)).toMatchObject({
      kind: 'written',
      detail: /^no company domain: no synced account to join/,
    });
    expect(await userOf('person-no-org')).toBeUndefined();
    expect(await userOf('person-no-domain')).toBeUndefined();
  });
});
