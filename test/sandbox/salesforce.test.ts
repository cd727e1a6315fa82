import type { FastifyInstance } from 'fastify';
import { Connection } from 'jsforce';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createDataset } from '../../src/sandbox/dataset';
import { accountTable, LOCKED, seedSalesforceAccounts, seedSalesforceRecords } from '../../src/sandbox/salesforce';
import { control, inspect, testSandbox } from '../support/sandbox';

/**
 * The Salesforce simulator driven by the real client library (jsforce 3.10.16) over real HTTP: OAuth token
 * endpoint, sObject rows, sObject Collections and query paging exactly as jsforce sends and parses them.
 */

const VERSION = '62.0';
const EXT = 'Company_Domain__c';
const PERSON = 'Signup_Person_Id__c';
const SF_DATE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+0000$/;

/** Asymmetric matchers typed `unknown` (vitest types them `any`). */
const matching = (pattern: RegExp): unknown => expect.stringMatching(pattern);
const containing = (shape: object): unknown => expect.objectContaining(shape);

let app: FastifyInstance;
/** `http://127.0.0.1:<port>/salesforce`: the login URL, and the instance URL the token endpoint answers. */
let loginUrl: string;

beforeEach(async () => {
  app = testSandbox();
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  loginUrl = `${address}/salesforce`;
});
afterEach(() => app.close());

function connection(oauth2: { clientId?: string; clientSecret?: string } = {}): Connection {
  return new Connection({
    oauth2: { loginUrl, clientId: 'sandbox-client', clientSecret: 'sandbox-secret', ...oauth2 },
    version: VERSION,
  });
}

async function authorized(): Promise<Connection> {
  const conn = connection();
  await conn.authorize({ grant_type: 'client_credentials' });
  return conn;
}

/** What jsforce throws: HttpApiError (`errorCode`, `data`) for REST, an Error named after `error` for OAuth. */
interface ThrownError {
  name: string;
  message: string;
  errorCode?: string;
  data?: unknown;
}

async function failure(promise: PromiseLike<unknown>): Promise<ThrownError> {
  try {
    await promise;
  } catch (err) {
    return err as ThrownError;
  }
  throw new Error('expected the call to fail');
}

async function storedRecords(type: string) {
  return (await inspect(app, 'salesforce')).records?.[type] ?? [];
}

const restCalls = async () => (await inspect(app, 'salesforce')).calls.filter((c) => c.path.includes('/data/'));

describe('Salesforce simulator: OAuth 2.0', () => {
  it('client credentials: answers instance_url at the sandbox itself, and the session works for REST calls', async () => {
    const conn = connection();
    const userInfo = await conn.authorize({ grant_type: 'client_credentials' });
    expect(userInfo.organizationId).toMatch(/^00D[A-Za-z0-9]{15}$/);
    expect(userInfo.id).toMatch(/^005[A-Za-z0-9]{15}$/);
    expect(userInfo.url).toBe(`${loginUrl}/id/${userInfo.organizationId}/${userInfo.id}`);
    expect(conn.instanceUrl).toBe(loginUrl);
    expect(conn.accessToken).toMatch(/^00D\w{12}!/);

    const count = await conn.query('SELECT COUNT() FROM Account');
    expect(count).toMatchObject({ totalSize: 0, done: true, records: [] });
    expect(conn.limitInfo.apiUsage).toEqual({ used: 1, limit: 100_000 });

    const seen = await inspect(app, 'salesforce');
    expect(seen.calls.map((c) => [c.method, c.path, c.key, c.status])).toEqual([
      ['POST', '/salesforce/services/oauth2/token', 'sandbox-client', 200],
      ['GET', `/salesforce/services/data/v${VERSION}/query`, 'SELECT COUNT() FROM Account', 200],
    ]);
  });

  it("username-password login (jsforce's OAuth 2.0 password flow when a client id and secret are set)", async () => {
    const conn = connection();
    const userInfo = await conn.login('integration@example.com', 'password+token');
    expect(userInfo.organizationId).toMatch(/^00D/);
    expect(conn.instanceUrl).toBe(loginUrl);
    expect((await conn.query('SELECT Id FROM Lead')).totalSize).toBe(0);

    const refused = await failure(connection().login('integration@example.com', 'bad-key'));
    expect(refused).toMatchObject({ name: 'invalid_grant', message: 'authentication failure' });
    const calls = (await inspect(app, 'salesforce')).calls;
    expect(calls.filter((c) => c.path.endsWith('/oauth2/token')).map((c) => [c.key, c.status])).toEqual([
      ['integration@example.com', 200],
      ['integration@example.com', 400],
    ]);
  });

  it('refuses a bad secret (invalid_client), a missing client id (invalid_client_id) and an unknown grant', async () => {
    const badSecret = await failure(
      connection({ clientSecret: 'bad-key' }).authorize({ grant_type: 'client_credentials' }),
    );
    expect(badSecret).toMatchObject({ name: 'invalid_client', message: 'invalid client credentials' });

    const noClient = new Connection({ oauth2: { loginUrl }, version: VERSION });
    const missingId = await failure(noClient.authorize({ grant_type: 'client_credentials' }));
    expect(missingId).toMatchObject({ name: 'invalid_client_id', message: 'client identifier invalid' });

    const grant = await failure(
      connection().authorize({ grant_type: 'urn:ietf:params:oauth:grant-type:saml2-bearer' }),
    );
    expect(grant).toMatchObject({ name: 'unsupported_grant_type' });

    const seen = await inspect(app, 'salesforce');
    expect(seen.counts.byStatus).toEqual({ '400': 3 });
  });

  it('answers 401 INVALID_SESSION_ID to a token it did not issue', async () => {
    const forged = new Connection({ instanceUrl: loginUrl, accessToken: 'forged-token', version: VERSION });
    const err = await failure(forged.query('SELECT Id FROM Account'));
    expect(err.errorCode).toBe('INVALID_SESSION_ID');
    expect(err.message).toBe('Session expired or invalid');

    // With a client id configured, jsforce tries to refresh on 401 and, without a refresh token (client credentials
    // issue none), fails with its own message instead of Salesforce's.
    const withClient = new Connection({
      oauth2: { loginUrl, clientId: 'sandbox-client', clientSecret: 'sandbox-secret' },
      instanceUrl: loginUrl,
      accessToken: 'forged-token',
      version: VERSION,
    });
    const refresh = await failure(withClient.query('SELECT Id FROM Account'));
    expect(refresh.message).toMatch(/Unable to refresh session due to: No refresh token found/);

    const seen = await inspect(app, 'salesforce');
    expect(seen.counts.byStatus).toEqual({ '401': 2 });
  });

  it('a reset forgets the records but not the sessions', async () => {
    const conn = await authorized();
    await conn.sobject('Account').upsert({ Name: 'Acme', [EXT]: 'acme.com' }, EXT);
    expect(await storedRecords('Account')).toHaveLength(1);
    expect((await app.inject({ method: 'POST', url: '/_reset' })).statusCode).toBe(200);
    expect(await storedRecords('Account')).toHaveLength(0);
    expect((await conn.query('SELECT Id FROM Account')).totalSize).toBe(0);
  });
});

describe('Salesforce simulator: writes', () => {
  it('upserts an Account by external id: created, then updated; one record written twice', async () => {
    const conn = await authorized();
    const first = await conn.sobject('Account').upsert({ Name: 'Acme', Industry: 'Software', [EXT]: 'acme.com' }, EXT);
    expect(first).toEqual({
      id: matching(/^001[A-Za-z0-9]{15}$/),
      success: true,
      errors: [],
      created: true,
    });
    const second = await conn.sobject('Account').upsert({ Name: 'Acme Corp', [EXT]: 'acme.com' }, EXT);
    expect(second).toEqual({ id: first.id, success: true, errors: [], created: false });

    const accounts = await storedRecords('Account');
    expect(accounts).toHaveLength(1);
    expect(accounts[0]).toMatchObject({
      type: 'Account',
      key: 'acme.com',
      id: first.id,
      writes: 2,
      fields: { Name: 'Acme Corp', Industry: 'Software', [EXT]: 'acme.com' },
    });
    const calls = await restCalls();
    expect(calls.map((c) => [c.method, c.path, c.key, c.status])).toEqual([
      ['PATCH', `/salesforce/services/data/v${VERSION}/sobjects/Account/${EXT}/acme.com`, 'acme.com', 201],
      ['PATCH', `/salesforce/services/data/v${VERSION}/sobjects/Account/${EXT}/acme.com`, 'acme.com', 200],
    ]);
  });

  it('a Contact referencing Account: { Company_Domain__c } gets its AccountId; three contacts, one Account', async () => {
    const conn = await authorized();
    const account = await conn.sobject('Account').upsert({ Name: 'Acme', [EXT]: 'acme.com' }, EXT);
    for (const [person, lastName] of [
      ['p-1', 'Lovelace'],
      ['p-2', 'Hopper'],
      ['p-3', 'Turing'],
    ] as const) {
      const result = await conn
        .sobject('Contact')
        .upsert(
          { LastName: lastName, Email: `${person}@acme.com`, [PERSON]: person, Account: { [EXT]: 'ACME.com' } },
          PERSON,
        );
      expect(result).toMatchObject({ success: true, created: true, id: matching(/^003/) });
    }

    const contacts = await storedRecords('Contact');
    expect(contacts.map((c) => c.key)).toEqual(['p-1', 'p-2', 'p-3']);
    expect(contacts.every((c) => c.fields.AccountId === account.id && !('Account' in c.fields))).toBe(true);
    expect(await storedRecords('Account')).toHaveLength(1);

    const result = await conn.query<{ LastName: string; Account: { Name: string } | null }>(
      `SELECT LastName, Account.Name, Account.${EXT} FROM Contact ORDER BY LastName DESC`,
    );
    expect(result.records.map((r) => r.LastName)).toEqual(['Turing', 'Lovelace', 'Hopper']);
    expect(result.records[0]?.Account).toEqual({
      attributes: { type: 'Account', url: `/services/data/v${VERSION}/sobjects/Account/${account.id}` },
      Name: 'Acme',
      [EXT]: 'acme.com',
    });
  });

  it('refuses a reference to an Account that does not exist: 400 INVALID_FIELD, nothing written', async () => {
    const conn = await authorized();
    const err = await failure(
      conn.sobject('Contact').upsert({ LastName: 'Nobody', [PERSON]: 'p-9', Account: { [EXT]: 'nowhere.io' } }, PERSON),
    );
    expect(err.errorCode).toBe('INVALID_FIELD');
    expect(err.message).toBe(`Foreign key external ID: nowhere.io not found for field ${EXT} in entity Account`);
    expect(await storedRecords('Contact')).toHaveLength(0);
  });

  it('refuses inserts without the required fields: 400 REQUIRED_FIELD_MISSING', async () => {
    const conn = await authorized();
    const account = await failure(conn.sobject('Account').upsert({ Website: 'acme.com', [EXT]: 'acme.com' }, EXT));
    expect(account).toMatchObject({
      errorCode: 'REQUIRED_FIELD_MISSING',
      message: 'Required fields are missing: [Name]',
      data: { fields: ['Name'] },
    });
    const lead = await failure(conn.sobject('Lead').create({ FirstName: 'Ada' }));
    expect(lead).toMatchObject({
      errorCode: 'REQUIRED_FIELD_MISSING',
      message: 'Required fields are missing: [LastName, Company]',
    });
    // An update may leave them out.
    await conn.sobject('Account').upsert({ Name: 'Acme', [EXT]: 'acme.com' }, EXT);
    expect(await conn.sobject('Account').upsert({ Phone: '+1 555', [EXT]: 'acme.com' }, EXT)).toMatchObject({
      created: false,
    });
  });

  it('an Account seeded without external id is found by its field value on upsert, then re-keyed', async () => {
    const [seededId] = seedSalesforceAccounts(app, [{ Name: 'Fenwaro', [EXT]: 'fenwaro.io' }]);
    expect((await storedRecords('Account'))[0]).toMatchObject({ key: seededId, writes: 1 });
    const conn = await authorized();
    const result = await conn.sobject('Account').upsert({ Name: 'Fenwaro Inc', [EXT]: 'fenwaro.io' }, EXT);
    expect(result).toEqual({ id: seededId, success: true, errors: [], created: false });
    expect((await storedRecords('Account'))[0]).toMatchObject({ key: 'fenwaro.io', id: seededId, writes: 2 });
  });

  it('create, update and retrieve by Id; sObject Collections create and update', async () => {
    const conn = await authorized();
    const created = await conn
      .sobject('Lead')
      .create({ LastName: 'Quillon', Company: 'Quorvalis', Email: 'ada@q.com' });
    expect(created).toEqual({ id: matching(/^00Q[A-Za-z0-9]{15}$/), success: true, errors: [] });
    const id = created.id as string;
    expect(await conn.sobject('Lead').update({ Id: id, Title: 'CTO' })).toEqual({ id, success: true, errors: [] });
    const lead = await conn.sobject('Lead').retrieve(id);
    expect(lead).toMatchObject({
      attributes: { type: 'Lead', url: `/services/data/v${VERSION}/sobjects/Lead/${id}` },
      Id: id,
      LastName: 'Quillon',
      Company: 'Quorvalis',
      Title: 'CTO',
      CreatedDate: matching(SF_DATE),
      LastModifiedDate: matching(SF_DATE),
    });
    // 15-character ids work as well.
    expect(await conn.sobject('Lead').retrieve(id.slice(0, 15))).toMatchObject({ Id: id });
    const missing = await failure(conn.sobject('Lead').retrieve('00QSB0000000999AAA'));
    expect(missing.errorCode).toBe('NOT_FOUND');

    const many = await conn
      .sobject('Lead')
      .create([{ LastName: 'Marchetti', Company: 'Quorvalis' }, { LastName: 'Okafor' }]);
    expect(many[0]).toMatchObject({ success: true, id: matching(/^00Q/) });
    expect(many[1]).toEqual({
      success: false,
      errors: [
        {
          statusCode: 'REQUIRED_FIELD_MISSING',
          message: 'Required fields are missing: [Company]',
          fields: ['Company'],
        },
      ],
    });
    const updated = await conn.sobject('Lead').update([
      { Id: id, Status: 'Working' },
      { Id: many[0]?.id as string, Status: 'Nurture' },
    ]);
    expect(updated.map((r) => r.success)).toEqual([true, true]);
    const rows = await conn.query<{ LastName: string; Status: string | null }>(
      'SELECT LastName, Status FROM Lead ORDER BY LastName',
    );
    expect(rows.records.map((r) => [r.LastName, r.Status])).toEqual([
      ['Marchetti', 'Nurture'],
      ['Quillon', 'Working'],
    ]);
    expect((await restCalls()).map((c) => `${c.method} ${c.path.replace(/^.*\/v62\.0/, '')} ${c.status}`)).toEqual([
      'POST /sobjects/Lead 201',
      `PATCH /sobjects/Lead/${id} 204`,
      `GET /sobjects/Lead/${id} 200`,
      `GET /sobjects/Lead/${id.slice(0, 15)} 200`,
      'GET /sobjects/Lead/00QSB0000000999AAA 404',
      'POST /composite/sobjects 200',
      'PATCH /composite/sobjects 200',
      'GET /query 200',
    ]);
  });

  it('composite upsert (allOrNone false): per-record results in order, one record refused', async () => {
    const conn = await authorized();
    const results = await conn.sobject('Account').upsert(
      [
        { Name: 'Acme', [EXT]: 'acme.com' },
        { Website: 'beta.io', [EXT]: 'beta.io' },
        { Name: 'Gamma', [EXT]: 'gamma.dev' },
      ],
      EXT,
      { allOrNone: false },
    );
    expect(results).toEqual([
      { id: matching(/^001/), success: true, errors: [], created: true },
      {
        success: false,
        errors: [
          { statusCode: 'REQUIRED_FIELD_MISSING', message: 'Required fields are missing: [Name]', fields: ['Name'] },
        ],
      },
      { id: matching(/^001/), success: true, errors: [], created: true },
    ]);
    expect((await storedRecords('Account')).map((r) => r.key)).toEqual(['acme.com', 'gamma.dev']);

    // jsforce sends an array through sObject Collections even when it holds one record.
    const single = await conn.sobject('Account').upsert([{ Name: 'Acme Corp', [EXT]: 'acme.com' }], EXT);
    expect(single).toEqual([{ id: results[0]?.id, success: true, errors: [], created: false }]);
    const calls = await restCalls();
    expect(calls.map((c) => [c.method, c.path, c.key, c.status])).toEqual([
      [
        'PATCH',
        `/salesforce/services/data/v${VERSION}/composite/sobjects/Account/${EXT}`,
        'acme.com,beta.io,gamma.dev',
        200,
      ],
      ['PATCH', `/salesforce/services/data/v${VERSION}/composite/sobjects/Account/${EXT}`, 'acme.com', 200],
    ]);
    expect(calls[0]?.note).toBe('3 records, 2 saved, 1 failed');
  });

  it('composite upsert with allOrNone: one bad record rolls back all, nothing written', async () => {
    const conn = await authorized();
    const results = await conn
      .sobject('Account')
      .upsert([{ Name: 'Acme', [EXT]: 'acme.com' }, { [EXT]: 'beta.io' }, { Name: 'Gamma', [EXT]: 'gamma.dev' }], EXT, {
        allOrNone: true,
      });
    expect(results.map((r) => (r.success ? 'ok' : (r.errors[0] as { statusCode?: string }).statusCode))).toEqual([
      'ALL_OR_NONE_OPERATION_ROLLED_BACK',
      'REQUIRED_FIELD_MISSING',
      'ALL_OR_NONE_OPERATION_ROLLED_BACK',
    ]);
    expect(await storedRecords('Account')).toHaveLength(0);
  });
});

describe('Salesforce simulator: duplicate rules', () => {
  it('refuses a second Account with the same Website domain (DUPLICATES_DETECTED); allowSave lets it through', async () => {
    const [existingId] = seedSalesforceAccounts(app, [
      { Name: 'Quorvalis Systems', Website: 'https://www.quorvalis.com' },
    ]);
    const conn = await authorized();
    const record = { Name: 'Quorvalis', Website: 'quorvalis.com/about', [EXT]: 'quorvalis.com' };

    const err = await failure(conn.sobject('Account').upsert(record, EXT));
    expect(err.errorCode).toBe('DUPLICATES_DETECTED');
    expect(err.message).toBe('Use one of these records?');
    expect(err.data).toMatchObject({
      fields: [],
      duplicateResult: {
        allowSave: true,
        duplicateRule: 'Standard_Account_Duplicate_Rule',
        duplicateRuleEntityType: 'Account',
        matchResults: [
          {
            entityType: 'Account',
            matchEngine: 'FuzzyMatchEngine',
            rule: 'Standard_Account_Match_Rule_v1_0',
            size: 1,
            success: true,
            matchRecords: [
              {
                matchConfidence: 100,
                record: {
                  attributes: { type: 'Account', url: `/services/data/v${VERSION}/sobjects/Account/${existingId}` },
                  Id: existingId,
                },
              },
            ],
          },
        ],
      },
    });
    expect(await storedRecords('Account')).toHaveLength(1);

    const saved = await conn.sobject('Account').upsert(record, EXT, {
      headers: { 'Sforce-Duplicate-Rule-Header': 'allowSave=true; includeRecordDetails=false' },
    });
    expect(saved).toMatchObject({ success: true, created: true });
    expect(await storedRecords('Account')).toHaveLength(2);

    await control(app, 'salesforce', { duplicateRules: false });
    const third = await conn
      .sobject('Account')
      .upsert({ Name: 'Quorvalis EU', Website: 'www.quorvalis.com', [EXT]: 'quorvalis.eu' }, EXT);
    expect(third).toMatchObject({ created: true });
  });

  it('refuses a second Contact with the same Email; updates are not checked; collections carry statusCode', async () => {
    const conn = await authorized();
    await conn.sobject('Contact').upsert({ LastName: 'Quillon', Email: 'ada@quorvalis.com', [PERSON]: 'p-1' }, PERSON);
    const err = await failure(
      conn.sobject('Contact').upsert({ LastName: 'Quillon', Email: 'ADA@quorvalis.com ', [PERSON]: 'p-2' }, PERSON),
    );
    expect(err.errorCode).toBe('DUPLICATES_DETECTED');
    expect(err.data).toMatchObject({ duplicateResult: { duplicateRule: 'Standard_Contact_Duplicate_Rule' } });
    expect(
      await conn.sobject('Contact').upsert({ Title: 'CTO', Email: 'ada@quorvalis.com', [PERSON]: 'p-1' }, PERSON),
    ).toMatchObject({ created: false });

    const batch = await conn
      .sobject('Contact')
      .upsert([{ LastName: 'Q', Email: 'ada@quorvalis.com', [PERSON]: 'p-3' }], PERSON);
    expect(batch).toEqual([
      {
        success: false,
        errors: [{ statusCode: 'DUPLICATES_DETECTED', message: 'Use one of these records?', fields: [] }],
      },
    ]);
    expect(await storedRecords('Contact')).toHaveLength(1);
  });
});

describe('Salesforce simulator: invalid email addresses', () => {
  it('refuses a Contact or Lead whose Email the invalidEmails control names, quoting it, as Salesforce does', async () => {
    await control(app, 'salesforce', { invalidEmails: ['Ada@Quorvalis.com'] });
    const conn = await authorized();
    const contact = await failure(
      conn.sobject('Contact').upsert({ LastName: 'Quillon', Email: 'ada@quorvalis.com', [PERSON]: 'p-1' }, PERSON),
    );
    expect(contact).toMatchObject({
      errorCode: 'INVALID_EMAIL_ADDRESS',
      message: 'Email: invalid email address: ada@quorvalis.com',
      data: { fields: ['Email'] },
    });
    const batch = await conn
      .sobject('Lead')
      .create([{ LastName: 'Quillon', Company: 'Quorvalis', Email: 'ADA@quorvalis.com' }]);
    expect(batch).toEqual([
      {
        success: false,
        errors: [
          {
            statusCode: 'INVALID_EMAIL_ADDRESS',
            message: 'Email: invalid email address: ADA@quorvalis.com',
            fields: ['Email'],
          },
        ],
      },
    ]);
    // Any other address goes through.
    await conn.sobject('Contact').upsert({ LastName: 'Other', Email: 'bo@quorvalis.com', [PERSON]: 'p-2' }, PERSON);
    expect(await storedRecords('Contact')).toHaveLength(1);
    expect(await storedRecords('Lead')).toHaveLength(0);
  });
});

describe('Salesforce simulator: limits and failures', () => {
  it('counts REST calls in Sforce-Limit-Info and answers 403 REQUEST_LIMIT_EXCEEDED at 0', async () => {
    const conn = await authorized();
    await control(app, 'salesforce', { apiRequestsRemaining: 2 });
    await conn.query('SELECT Id FROM Account');
    await conn.sobject('Account').upsert({ Name: 'Acme', [EXT]: 'acme.com' }, EXT);
    expect(conn.limitInfo.apiUsage).toEqual({ used: 2, limit: 2 });

    const err = await failure(conn.query('SELECT Id FROM Account'));
    expect(err).toMatchObject({ errorCode: 'REQUEST_LIMIT_EXCEEDED', message: 'TotalRequests Limit exceeded.' });
    // The token endpoint is not an API call.
    await conn.authorize({ grant_type: 'client_credentials' });

    const seen = await inspect(app, 'salesforce');
    expect(seen.control.apiRequestsRemaining).toBe(0);
    expect(seen.counts.byStatus).toEqual({ '200': 3, '201': 1, '403': 1 });
  });

  it('answers 503 SERVER_UNAVAILABLE on injected failures and over the rate limit (writes are not retried)', async () => {
    const conn = await authorized();
    await control(app, 'salesforce', { failureRate: 1 });
    const failed = await failure(conn.sobject('Account').upsert({ Name: 'Acme', [EXT]: 'acme.com' }, EXT));
    expect(failed).toMatchObject({ errorCode: 'SERVER_UNAVAILABLE', message: 'Server is temporarily unavailable' });

    await control(app, 'salesforce', { failureRate: 0, rateLimitPerSecond: 1 });
    await conn.sobject('Account').upsert({ Name: 'Acme', [EXT]: 'acme.com' }, EXT);
    const limited = await failure(conn.sobject('Account').upsert({ Name: 'Beta', [EXT]: 'beta.io' }, EXT));
    expect(limited.errorCode).toBe('SERVER_UNAVAILABLE');

    const calls = await restCalls();
    expect(calls.map((c) => [c.status, c.note])).toEqual([
      [503, 'injected failure'],
      [201, 'created'],
      [503, 'rate limited'],
    ]);
    expect((await storedRecords('Account')).map((r) => r.key)).toEqual(['acme.com']);
  });
});

describe('Salesforce simulator: describe', () => {
  it('describes the org as deploy/salesforce sets it up, without the fields the missingFields control names', async () => {
    const conn = await authorized();
    const account = await conn.describe('Account');
    expect(account).toMatchObject({ name: 'Account', keyPrefix: '001' });
    const field = (name: string) => account.fields.find((f) => f.name === name);
    expect(field(EXT)).toMatchObject({ type: 'string', length: 255, externalId: true, unique: true, custom: true });
    expect(field('ICP_Score__c')).toMatchObject({ type: 'double', precision: 5, scale: 2, externalId: false });
    expect(field('Enriched_At__c')).toMatchObject({ type: 'datetime', updateable: true });
    expect(field('NumberOfEmployees')).toMatchObject({ type: 'int', custom: false });
    expect(field('Id')).toMatchObject({ type: 'id', updateable: false });
    const contact = await conn.describe('Contact');
    expect(contact.fields.find((f) => f.name === PERSON)).toMatchObject({ caseSensitive: true, externalId: true });

    await control(app, 'salesforce', { missingFields: ['account.icp_score__c', 'Lead.Company'] });
    expect((await conn.describe('Account')).fields.map((f) => f.name)).not.toContain('ICP_Score__c');
    expect((await conn.describe('Lead')).fields.map((f) => f.name)).not.toContain('Company');
    expect((await conn.describe('Contact')).fields.map((f) => f.name)).toContain('Role__c');
    expect(await failure(conn.describe('Opportunity'))).toMatchObject({ errorCode: 'NOT_FOUND' });
  });
});

describe('Salesforce simulator: SOQL', () => {
  const seed = () =>
    seedSalesforceAccounts(app, [
      { Name: 'Acme', Industry: 'Software', NumberOfEmployees: 120, [EXT]: 'acme.com' },
      { Name: "O'Brien Ltd", Industry: 'Retail', NumberOfEmployees: 40 },
      { Name: 'Zeta', Industry: null, NumberOfEmployees: 900 },
      { Name: 'beta', Industry: 'software', NumberOfEmployees: null },
      { Name: 'Old Co', Industry: 'Retail', NumberOfEmployees: 5, CreatedDate: '2020-01-01T00:00:00Z' },
    ]);

  const names = async (conn: Connection, soql: string) =>
    (await conn.query<{ Name: string }>(soql)).records.map((r) => r.Name);

  it('filters with comparisons, IN, NOT IN, LIKE, null, AND/OR/NOT and parentheses', async () => {
    seed();
    const conn = await authorized();
    expect(await names(conn, "SELECT Name FROM Account WHERE Industry = 'SOFTWARE' ORDER BY Name")).toEqual([
      'Acme',
      'beta',
    ]);
    expect(
      await names(
        conn,
        "SELECT Name FROM Account WHERE NumberOfEmployees >= 100 AND (Industry IN ('Software') OR Industry = null) ORDER BY NumberOfEmployees DESC LIMIT 2",
      ),
    ).toEqual(['Zeta', 'Acme']);
    expect(await names(conn, "SELECT Name FROM Account WHERE Name = 'O\\'Brien Ltd'")).toEqual(["O'Brien Ltd"]);
    expect(
      await names(conn, "SELECT Name FROM Account WHERE Name LIKE 'a%' OR Name LIKE '%ltd' ORDER BY Name"),
    ).toEqual(['Acme', "O'Brien Ltd"]);
    // != matches nulls too, as in SOQL.
    expect(await names(conn, "SELECT Name FROM Account WHERE Industry != 'Software' ORDER BY Name")).toEqual([
      "O'Brien Ltd",
      'Old Co',
      'Zeta',
    ]);
    expect(
      await names(
        conn,
        "SELECT Name FROM Account WHERE NOT Name IN ('Acme', 'Zeta') AND Name NOT IN ('Old Co') ORDER BY Name",
      ),
    ).toEqual(['beta', "O'Brien Ltd"]);
    expect(await names(conn, 'SELECT Name FROM Account WHERE NumberOfEmployees < 100 ORDER BY Name')).toEqual([
      "O'Brien Ltd",
      'Old Co',
    ]);
  });

  it('orders with nulls first by default or last on demand, and pages with LIMIT and OFFSET', async () => {
    seed();
    const conn = await authorized();
    expect(await names(conn, 'SELECT Name FROM Account ORDER BY NumberOfEmployees')).toEqual([
      'beta',
      'Old Co',
      "O'Brien Ltd",
      'Acme',
      'Zeta',
    ]);
    expect(await names(conn, 'SELECT Name FROM Account ORDER BY NumberOfEmployees DESC NULLS LAST')).toEqual([
      'Zeta',
      'Acme',
      "O'Brien Ltd",
      'Old Co',
      'beta',
    ]);
    expect(await names(conn, 'SELECT Name FROM Account ORDER BY Industry DESC, Name ASC LIMIT 3 OFFSET 1')).toEqual([
      'Acme',
      'beta',
      "O'Brien Ltd",
    ]);
  });

  it('answers every selected field (null when unset) with attributes, system fields, dates and COUNT()', async () => {
    const [acmeId] = seed();
    const conn = await authorized();
    const result = await conn.query(
      `SELECT Id, Name, Phone, CreatedDate, SystemModstamp FROM Account WHERE ${EXT} = 'acme.com'`,
    );
    expect(result).toMatchObject({ totalSize: 1, done: true });
    expect(result.records[0]).toEqual({
      attributes: { type: 'Account', url: `/services/data/v${VERSION}/sobjects/Account/${acmeId}` },
      Id: acmeId,
      Name: 'Acme',
      Phone: null,
      CreatedDate: matching(SF_DATE),
      SystemModstamp: matching(SF_DATE),
    });
    expect(await names(conn, 'SELECT Name FROM Account WHERE CreatedDate = LAST_N_DAYS:7 ORDER BY Name')).toHaveLength(
      4,
    );
    expect(await names(conn, 'SELECT Name FROM Account WHERE CreatedDate < 2021-01-01T00:00:00Z')).toEqual(['Old Co']);
    expect(await names(conn, 'SELECT Name FROM Account WHERE CreatedDate = 2020-01-01')).toEqual(['Old Co']);
    const count = await conn.query("SELECT COUNT() FROM Account WHERE Industry = 'Retail'");
    expect(count).toMatchObject({ totalSize: 2, done: true, records: [] });
  });

  it('pages 2,500 Accounts by 500 (Sforce-Query-Options) through nextRecordsUrl, with autoFetch and by hand', async () => {
    seedSalesforceAccounts(
      app,
      Array.from({ length: 2500 }, (_, i) => ({ Name: `Company ${String(i).padStart(4, '0')}`, [EXT]: `c${i}.com` })),
      { externalIdField: EXT },
    );
    const conn = await authorized();
    const headers = { 'Sforce-Query-Options': 'batchSize=500' };
    const all = await conn.query<{ Id: string; Name: string }>('SELECT Id, Name FROM Account ORDER BY Name DESC', {
      autoFetch: true,
      maxFetch: 10_000,
      headers,
    });
    expect(all.totalSize).toBe(2500);
    expect(all.records).toHaveLength(2500);
    expect(all.records[0]?.Name).toBe('Company 2499');
    expect(all.records[2499]?.Name).toBe('Company 0000');
    expect(new Set(all.records.map((r) => r.Id)).size).toBe(2500);
    const paths = (await restCalls()).map((c) => c.path.replace(/^.*\/v62\.0/, ''));
    expect(paths).toHaveLength(5);
    expect(paths[0]).toBe('/query');
    expect(paths.slice(1).map((p) => p.replace(/01g\w+/, '01g…'))).toEqual([
      '/query/01g…-500',
      '/query/01g…-1000',
      '/query/01g…-1500',
      '/query/01g…-2000',
    ]);

    const first = await conn.query<{ Name: string }>('SELECT Name FROM Account', { headers });
    expect(first).toMatchObject({ totalSize: 2500, done: false });
    expect(first.records).toHaveLength(500);
    expect(first.nextRecordsUrl).toMatch(new RegExp(`/services/data/v${VERSION}/query/01g[A-Za-z0-9]{15}-500$`));
    const second = await conn.queryMore<{ Name: string }>(first.nextRecordsUrl as string);
    expect(second.records).toHaveLength(500);
    expect(second.records[0]?.Name).toBe('Company 0500');

    const defaultBatch = await conn.query('SELECT Name FROM Account');
    expect(defaultBatch.records).toHaveLength(2000);
    const gone = await failure(conn.queryMore('/services/data/v62.0/query/01gSB0000000999AAA-500'));
    expect(gone.errorCode).toBe('INVALID_QUERY_LOCATOR');
  });

  it('refuses what it cannot parse with MALFORMED_QUERY, unknown objects with INVALID_TYPE', async () => {
    const conn = await authorized();
    const malformed = async (soql: string) => {
      const err = await failure(conn.query(soql));
      expect(err.errorCode, soql).toBe('MALFORMED_QUERY');
      return err.message;
    };
    expect(await malformed('SELECT Name FROM Account WHERE')).toContain('unexpected token: <EOF>');
    expect(await malformed('SELECT Name FROM Account WHERE Name = 1 AND Phone = 2 OR Fax = 3')).toContain(
      "unexpected token: 'OR'",
    );
    expect(await malformed("SELECT Name FROM Account WHERE Name = 'unterminated")).toContain(
      'ERROR at Row:1:Column:39',
    );
    await malformed('SELECT Name, (SELECT Id FROM Contacts) FROM Account');
    await malformed('SELECT Name FROM Account GROUP BY Name');
    await malformed('SELECT Name, name FROM Account');
    await malformed('SELECT Name FROM Account LIMIT -1');

    const type = await failure(conn.query('SELECT Name FROM Widget__c'));
    expect(type.errorCode).toBe('INVALID_TYPE');
    const relationship = await failure(conn.query('SELECT Foo.Name FROM Contact'));
    expect(relationship.errorCode).toBe('INVALID_FIELD');
  });
});

describe('Salesforce simulator: seeding', () => {
  it('seeds records keyed by id or by an external id, with their timestamps, for the Contact side too', async () => {
    const [accountId] = seedSalesforceAccounts(app, [{ Name: 'Acme', [EXT]: 'acme.com' }], { externalIdField: EXT });
    const [contactId] = seedSalesforceRecords(app, 'Contact', [
      { LastName: 'Lovelace', AccountId: accountId, CreatedDate: '2025-01-02T03:04:05.000+0000' },
    ]);
    expect(accountId).toMatch(/^001SB\d{10}[A-Z0-5]{3}$/);
    expect(contactId).toMatch(/^003/);
    expect((await storedRecords('Account'))[0]).toMatchObject({ key: 'acme.com', writes: 1 });
    const conn = await authorized();
    const result = await conn.query('SELECT CreatedDate, Account.Name FROM Contact');
    expect(result.records[0]).toMatchObject({ CreatedDate: '2025-01-02T03:04:05.000+0000', Account: { Name: 'Acme' } });
    expect(conn.limitInfo.apiUsage?.used).toBe(1);
  });
});

describe('the Account table and approval locks', () => {
  it('refuses an update of a record locked by an approval process, per record in sObject Collections', async () => {
    const [locked, open] = seedSalesforceAccounts(app, [
      { Name: 'Locked', [EXT]: 'locked.io', [LOCKED]: true },
      { Name: 'Open', [EXT]: 'open.io' },
    ]) as [string, string];
    const conn = await authorized();
    const results = await conn.sobject('Account').update(
      [
        { Id: locked, Industry: 'Software' },
        { Id: open, Industry: 'Software' },
      ],
      { allOrNone: false },
    );
    expect(results).toEqual([
      containing({
        success: false,
        errors: [containing({ statusCode: 'ENTITY_IS_LOCKED', message: 'the entity is locked for editing' })],
      }),
      containing({ id: open, success: true }),
    ]);
    const err = await failure(conn.sobject('Account').update({ Id: locked, Industry: 'Software' }));
    expect(err.errorCode).toBe('ENTITY_IS_LOCKED');
    const accounts = (await inspect(app, 'salesforce')).records?.Account ?? [];
    expect(accounts.find((a) => a.id === locked)).toMatchObject({ writes: 1, fields: { Name: 'Locked' } });
    expect(accounts.find((a) => a.id === locked)?.fields).not.toHaveProperty(LOCKED);
  });

  it('builds a deterministic table of stale, fresh, incomplete, personal and bare accounts', () => {
    const now = Date.parse('2026-11-28T02:00:00Z');
    const table = accountTable(createDataset(), { count: 1000, now });
    expect(table).toEqual(accountTable(createDataset(), { count: 1000, now }));
    expect(table).toHaveLength(1000);
    const kinds = new Map<string, number>();
    for (const a of table) kinds.set(a.Sandbox_Kind__c as string, (kinds.get(a.Sandbox_Kind__c as string) ?? 0) + 1);
    for (const kind of ['stale', 'fresh', 'missing_fields', 'never_enriched', 'personal', 'no_website']) {
      expect(kinds.get(kind), kind).toBeGreaterThan(0);
    }
    const stale = table.filter((a) => a.Sandbox_Kind__c === 'stale');
    for (const a of stale) expect(now - Date.parse(a.Enriched_At__c as string)).toBeGreaterThan(99 * 86_400_000);
    expect(stale.some((a) => a[LOCKED] === true)).toBe(true);
    expect(new Set(table.map((a) => a.Name)).size).toBeGreaterThan(900);
  });
});

describe('Bulk API 2.0 ingest', () => {
  it('runs an update job: create, upload CSV, close, poll, successful and failed results', async () => {
    const [locked, open] = seedSalesforceAccounts(app, [
      { Name: 'Locked', [EXT]: 'locked.io', [LOCKED]: true },
      { Name: 'Open', [EXT]: 'open.io', Industry: 'Retail' },
    ]) as [string, string];
    const conn = await authorized();
    const job = await conn.request<{ id: string; state: string }>({
      method: 'POST',
      url: '/jobs/ingest',
      body: JSON.stringify({ object: 'Account', operation: 'update', contentType: 'CSV' }),
      headers: { 'content-type': 'application/json' },
    });
    expect(job).toMatchObject({ state: 'Open', object: 'Account', operation: 'update' });
    await conn.request({
      method: 'PUT',
      url: `/jobs/ingest/${job.id}/batches`,
      body: `Id,Industry,Description\n"${locked}","Software",\n"${open}","Software, B2B","#N/A"\n`,
      headers: { 'content-type': 'text/csv' },
    });
    const closed = await conn.request<{ state: string }>({
      method: 'PATCH',
      url: `/jobs/ingest/${job.id}`,
      body: JSON.stringify({ state: 'UploadComplete' }),
      headers: { 'content-type': 'application/json' },
    });
    expect(closed.state).toBe('UploadComplete');
    expect(await conn.request(`/jobs/ingest/${job.id}`)).toMatchObject({
      state: 'JobComplete',
      numberRecordsProcessed: 2,
      numberRecordsFailed: 1,
    });
    const ok = await conn.request<Record<string, string>[]>(`/jobs/ingest/${job.id}/successfulResults`);
    expect(ok).toEqual([
      { sf__Id: open, sf__Created: 'false', Id: open, Industry: 'Software, B2B', Description: '#N/A' },
    ]);
    const failed = await conn.request<Record<string, string>[]>(`/jobs/ingest/${job.id}/failedResults`);
    expect(failed).toEqual([
      containing({ Id: locked, sf__Error: 'ENTITY_IS_LOCKED:the entity is locked for editing:--' }),
    ]);
    const accounts = (await inspect(app, 'salesforce')).records?.Account ?? [];
    expect(accounts.find((a) => a.id === open)?.fields).toMatchObject({ Industry: 'Software, B2B', Description: null });
    expect(accounts.find((a) => a.id === locked)).toMatchObject({ writes: 1 });
    // A closed job takes no more data.
    const late = await failure(
      conn.request({
        method: 'PUT',
        url: `/jobs/ingest/${job.id}/batches`,
        body: 'Id\n',
        headers: { 'content-type': 'text/csv' },
      }),
    );
    expect(late.errorCode).toBe('INVALIDJOBSTATE');
  });
});

describe('Salesforce simulator: deleting records', () => {
  it('deletes a Contact by external id and by Id with 204, answers NOT_FOUND after, and keeps the Account', async () => {
    const conn = await authorized();
    await conn.sobject('Account').create({ Name: 'Acme', [EXT]: 'acme.com' });
    const a = await conn.request<{ id: string }>({
      method: 'PATCH',
      url: `/sobjects/Contact/${PERSON}/person-1`,
      body: JSON.stringify({ LastName: 'Quillon', Email: 'ana@acme.com' }),
      headers: { 'content-type': 'application/json' },
    });
    const b = await conn.sobject('Contact').create({ LastName: 'Vale', [PERSON]: 'person-2' });
    const del = (url: string) =>
      conn.request({ method: 'DELETE', url }, { noContentResponse: { success: true, errors: [] } });

    expect(await del(`/sobjects/Contact/${PERSON}/person-1`)).toEqual({ success: true, errors: [] });
    const gone = await del(`/sobjects/Contact/${PERSON}/person-1`).catch((e: unknown) => e as ThrownError);
    expect(gone).toMatchObject({ errorCode: 'NOT_FOUND' });
    expect(await del(`/sobjects/Contact/${(b as { id: string }).id}`)).toEqual({ success: true, errors: [] });
    const byId = await del(`/sobjects/Contact/${a.id}`).catch((e: unknown) => e as ThrownError);
    expect(byId).toMatchObject({ errorCode: 'NOT_FOUND' });

    const seen = await inspect(app, 'salesforce');
    expect(seen.records?.Contact ?? []).toEqual([]);
    expect(seen.records?.Account).toHaveLength(1);
    expect(seen.deleted?.map((d) => d.type)).toEqual(['Contact', 'Contact']);
    expect(seen.calls.filter((c) => c.method === 'DELETE').map((c) => c.status)).toEqual([204, 404, 204, 404]);
  });
});
