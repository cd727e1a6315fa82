import { randomUUID } from 'node:crypto';
import { createServer, type AddressInfo } from 'node:net';
import Long from 'long';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { fieldProblems } from '../../src/doctor/salesforce';
import type { DescribedField } from '../../src/integrations/salesforce/client';
import type { WrittenField } from '../../src/integrations/salesforce/written-fields';
import { openLedger } from '../../src/ledger/ledger';
import { addSearchAttributes } from '../../src/temporal/search-attributes';
import { applySchedules } from '../../src/temporal/schedules';
import { runEnrich, type CliRun } from '../support/cli';
import { privateDatabaseUrl, testConfig } from '../support/config';
import { eventually } from '../support/eventually';
import { startSandbox, type RunningSandbox } from '../support/sandbox';

/**
 * `enrich doctor` as an operator runs it (a process), against the sandbox, the run's Temporal server (a namespace of
 * its own, so the schedules it checks are not another test's) and a private, migrated database.
 */

/** Credentials the sandbox accepts, distinctive enough to spot in any output. */
const SECRETS = {
  CLEARBIT_API_KEY: 'doctor-secret-clearbit-7f3a91',
  HARMONIC_API_KEY: 'doctor-secret-harmonic-c21d0e',
  POSTHOG_PERSONAL_API_KEY: 'doctor-secret-posthog-personal-5b8e22',
  POSTHOG_PROJECT_API_KEY: 'doctor-secret-posthog-project-9a0c13',
  SALESFORCE_CLIENT_ID: 'doctor-secret-sf-client-id-44e1aa',
  SALESFORCE_CLIENT_SECRET: 'doctor-secret-sf-client-secret-e90b7c',
  VITALLY_API_KEY: 'doctor-secret-vitally-0d6f58',
  CLAY_WEBHOOK_AUTH: 'doctor-secret-clay-a17b3f',
  CLOSE_API_KEY: 'doctor-secret-close-2c9e40',
  CUSTOMERIO_SITE_ID: 'doctor-secret-cio-site-8b1f07',
  CUSTOMERIO_API_KEY: 'doctor-secret-cio-key-d3a5e9',
  MIXPANEL_PROJECT_TOKEN: 'doctor-secret-mixpanel-token-61c0b2',
  MIXPANEL_API_SECRET: 'doctor-secret-mixpanel-secret-f47a18',
  HUMANIC_API_KEY: 'doctor-secret-humanic-9d2e6c',
};

/** A local port nothing listens on (bound by the OS, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('enrich doctor', () => {
  const stops: (() => Promise<unknown>)[] = [];
  let sandbox: RunningSandbox;
  let env: Record<string, string>;
  const bareNamespace = `doctor-bare-${randomUUID()}`;

  beforeAll(async () => {
    sandbox = await startSandbox();
    stops.push(() => sandbox.close());
    const databaseUrl = await privateDatabaseUrl();
    // Opening the ledger migrates it, as the worker does at start-up.
    const ledger = await openLedger({ databaseUrl });
    await ledger.close();

    const namespace = `doctor-${randomUUID()}`;
    const address = inject('temporalAddress');
    const connection = await Connection.connect({ address });
    stops.push(() => connection.close());
    await connection.workflowService.registerNamespace({
      namespace,
      workflowExecutionRetentionPeriod: { seconds: Long.fromNumber(86_400) },
    });
    // A namespace as a new Temporal Cloud one is: no search attributes of ours, no schedules.
    await connection.workflowService.registerNamespace({
      namespace: bareNamespace,
      workflowExecutionRetentionPeriod: { seconds: Long.fromNumber(86_400) },
    });
    await eventually(() =>
      connection.operatorService
        .listSearchAttributes({ namespace: bareNamespace })
        .then(() => true)
        .catch(() => undefined),
    );
    const client = new Client({ connection, namespace });
    const config = testConfig({ TEMPORAL_NAMESPACE: namespace, SANDBOX_URL: sandbox.url });
    // A new namespace takes a moment to reach every service of the server.
    await eventually(() =>
      addSearchAttributes(connection, namespace)
        .then(() => true)
        .catch(() => undefined),
    );
    await eventually(() =>
      applySchedules(client, config)
        .then(() => true)
        .catch(() => undefined),
    );

    env = {
      ...SECRETS,
      SANDBOX_URL: sandbox.url,
      TEMPORAL_ADDRESS: address,
      TEMPORAL_NAMESPACE: namespace,
      TEMPORAL_TASK_QUEUE: config.temporal.taskQueue,
      DATABASE_URL: databaseUrl,
      ENRICHMENT_PROVIDERS: 'clearbit,harmonic,clay',
      DESTINATIONS: 'posthog,salesforce,vitally,slack,close,customerio,mixpanel,humanic',
      SALESFORCE_PERSONAL_EMAIL_POLICY: 'lead',
      LOG_LEVEL: 'silent',
    };
  }, 120_000);

  afterAll(async () => {
    for (const stop of stops.reverse()) await stop();
  });

  beforeEach(async () => {
    await sandbox.control('salesforce', { missingFields: [] });
    await sandbox.control('clearbit', { latencyMs: 0 });
  });

  const doctor = (extra: Record<string, string> = {}, args: string[] = []) =>
    runEnrich({ ...env, ...extra }, ['doctor', ...args]);

  /** The table's rows as [system, check, status, detail]. */
  const rows = (run: CliRun) =>
    run.stdout
      .trim()
      .split('\n')
      .slice(1)
      .map((line) => {
        const [system, rest] = [line.slice(0, line.indexOf(' ')), line.slice(line.indexOf(' ')).trim()];
        const status = /\s(OK|FAIL|SKIP)(\s|$)/.exec(rest)?.[1];
        return { system, line, status };
      });

  const expectNoSecret = (run: CliRun) => {
    for (const secret of Object.values(SECRETS)) {
      expect(run.stdout).not.toContain(secret);
      expect(run.stderr).not.toContain(secret);
    }
  };

  it('reports every configured system OK and exits 0', async () => {
    const run = await doctor();
    expect(run.stdout).not.toMatch(/\s(FAIL|SKIP)\s/);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const table = rows(run);
    expect(table.map((r) => r.system).sort()).toEqual(
      [
        'clay',
        'clearbit',
        'close',
        'customerio',
        'database',
        'harmonic',
        'humanic',
        'mixpanel',
        'posthog',
        'posthog',
        'salesforce',
        'salesforce',
        'salesforce',
        'salesforce',
        'slack',
        'temporal',
        'temporal',
        'temporal',
        'vitally',
      ].sort(),
    );
    expect(table.filter((r) => r.status !== 'OK')).toEqual([]);
    expect(run.stdout).toMatch(/^salesforce\s+Lead fields we write \(describe\)\s+OK/m);
    expect(run.stdout).toMatch(
      /^temporal\s+schedules\s+OK\s+enrichment-health-daily, salesforce-weekend-reenrichment, raw-data-retention-daily, enrichment-health-hourly/m,
    );
    expectNoSecret(run);
    // Nothing written: no Clay row, no Salesforce record, no Slack message.
    const clay = await sandbox.inspect<{ rows?: Record<string, number> }>('clay');
    expect(Object.values(clay.rows ?? {}).reduce((a, b) => a + b, 0)).toBe(0);
    const salesforce = await sandbox.inspect<{ records?: Record<string, unknown[]> }>('salesforce');
    expect(Object.values(salesforce.records ?? {}).flat()).toEqual([]);
    const slack = await sandbox.inspect<{ records?: Record<string, unknown[]> }>('slack');
    expect(Object.values(slack.records ?? {}).flat()).toEqual([]);
    // The four destinations of #17: each answered its read, and holds nothing.
    expect(run.stdout).toMatch(
      /^close\s+API key \(GET \/me\/\)\s+OK\s+key accepted: its user belongs to 1 organization\(s\) \("Sandbox Sales"\)$/m,
    );
    expect(run.stdout).toMatch(
      /^customerio\s+Track API credentials and region \(GET \/accounts\/region\)\s+OK\s+credentials accepted; the workspace's region us matches CUSTOMERIO_REGION$/m,
    );
    expect(run.stdout).toMatch(
      /^mixpanel\s+configuration, ingestion host reachable\s+OK\s+\/import authentication: the project API secret \(legacy; Mixpanel recommends a service account: MIXPANEL_SERVICE_ACCOUNT_\*\), MIXPANEL_PROJECT_TOKEN and MIXPANEL_API_SECRET set, http:\/\/127\.0\.0\.1:\d+ answers \(HTTP 404\); neither verified/m,
    );
    expect(run.stdout).toMatch(
      /^humanic\s+webhook URL \(https, HEAD: nothing sent\)\s+OK\s+http:\/\/127\.0\.0\.1:\d+ accepts connections \(HEAD answered HTTP \d+, nothing sent\)/m,
    );
    expect(run.stdout).not.toContain('/humanic/webhook');
    for (const system of ['close', 'customerio', 'mixpanel', 'humanic']) {
      const inspected = await sandbox.inspect<{ records?: Record<string, unknown[]> }>(system);
      expect(Object.values(inspected.records ?? {}).flat()).toEqual([]);
    }
    const closeCalls = await sandbox.inspect<{ calls: { method: string; path: string }[] }>('close');
    expect(closeCalls.calls.map((c) => `${c.method} ${c.path}`)).toEqual(['GET /close/api/v1/me/']);
    const cioCalls = await sandbox.inspect<{ calls: { method: string; path: string }[] }>('customerio');
    expect(cioCalls.calls.map((c) => `${c.method} ${c.path}`)).toEqual(['GET /customerio/api/v1/accounts/region']);
  }, 60_000);

  it('fails each #17 destination on a refused key, a wrong region or an unreachable host, naming what to fix', async () => {
    const port = await closedPort();
    const run = await doctor({
      CLOSE_API_KEY: 'bad-key',
      CUSTOMERIO_REGION: 'eu',
      MIXPANEL_API_URL: `http://127.0.0.1:${port}`,
      HUMANIC_WEBHOOK_URL: `http://127.0.0.1:${port}/hooks/doctor-secret-humanic-path-0a1b2c`,
    });
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^close\s.*FAIL\s+CLOSE_API_KEY rejected \(401\)/m);
    expect(run.stdout).toMatch(
      /^customerio\s.*FAIL\s+credentials accepted, but the workspace is in region us and CUSTOMERIO_REGION is eu: set CUSTOMERIO_REGION=us$/m,
    );
    expect(run.stdout).toMatch(
      new RegExp(`^mixpanel\\s.*FAIL\\s+cannot reach Mixpanel at http://127\\.0\\.0\\.1:${port}: `, 'm'),
    );
    expect(run.stdout).toMatch(
      new RegExp(`^humanic\\s.*FAIL\\s+cannot reach the Humanic webhook at http://127\\.0\\.0\\.1:${port}: `, 'm'),
    );
    expect(run.stdout + run.stderr).not.toContain('doctor-secret-humanic-path');
    expectNoSecret(run);

    const refused = await doctor({ CUSTOMERIO_API_KEY: 'bad-key', DESTINATIONS: 'posthog,customerio' });
    expect(refused.code).toBe(1);
    expect(refused.stdout).toMatch(/^customerio\s.*FAIL\s+CUSTOMERIO_SITE_ID \/ CUSTOMERIO_API_KEY rejected \(401\)/m);
    // Destinations not named in DESTINATIONS are skipped, not checked.
    for (const system of ['close', 'mixpanel', 'humanic'])
      expect(refused.stdout).toMatch(new RegExp(`^${system}\\s+destination\\s+SKIP\\s+not in DESTINATIONS$`, 'm'));
    expectNoSecret(refused);
  }, 60_000);

  it("verifies a Mixpanel service account with Mixpanel's read-only GET /api/app/me, and fails a refused one", async () => {
    const account = {
      MIXPANEL_SERVICE_ACCOUNT_USERNAME: 'doctor.5c7e.mp-service-account',
      MIXPANEL_SERVICE_ACCOUNT_SECRET: 'doctor-secret-mixpanel-sa-8e2f41',
      MIXPANEL_PROJECT_ID: '2195193',
    };
    await fetch(`${sandbox.url}/_reset`, { method: 'POST' });
    const run = await doctor({ ...account, DESTINATIONS: 'posthog,mixpanel' });
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(
      /^mixpanel\s+service account \(GET \/api\/app\/me\), ingestion host reachable\s+OK\s+\/import authentication: service account, accepted by http:\/\/127\.0\.0\.1:\d+ \(GET \/api\/app\/me\); MIXPANEL_PROJECT_ID 2195193 and the account's role \(Owner or Admin\) are checked by \/import only, and MIXPANEL_PROJECT_TOKEN by the first write \(no read-only check of them\); http:\/\/127\.0\.0\.1:\d+ answers \(HTTP 404\)$/m,
    );
    const calls = await sandbox.inspect<{ calls: { method: string; path: string; status: number }[] }>('mixpanel');
    expect(calls.calls.filter((c) => c.method !== 'HEAD').map((c) => `${c.method} ${c.path} ${c.status}`)).toEqual([
      'GET /mixpanel/api/app/me 200',
    ]);
    const inspected = await sandbox.inspect<{ records?: Record<string, unknown[]> }>('mixpanel');
    expect(Object.values(inspected.records ?? {}).flat()).toEqual([]);

    const refused = await doctor({
      ...account,
      MIXPANEL_SERVICE_ACCOUNT_SECRET: 'bad-key',
      DESTINATIONS: 'posthog,mixpanel',
    });
    expect(refused.code).toBe(1);
    expect(refused.stdout).toMatch(
      /^mixpanel\s.*FAIL\s+MIXPANEL_SERVICE_ACCOUNT_USERNAME \/ MIXPANEL_SERVICE_ACCOUNT_SECRET rejected \(401\): set the user name and secret of a service account/m,
    );
    for (const out of [run, refused]) {
      expect(out.stdout + out.stderr).not.toContain(account.MIXPANEL_SERVICE_ACCOUNT_SECRET);
      expectNoSecret(out);
    }
  }, 60_000);

  it('names the object and field the org lacks, and exits non-zero', async () => {
    await sandbox.control('salesforce', { missingFields: ['Account.ICP_Score__c', 'Contact.Signed_Up_At__c'] });
    const run = await doctor();
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(
      /^salesforce\s+Account fields we write \(describe\)\s+FAIL\s+Account lacks ICP_Score__c /m,
    );
    expect(run.stdout).toMatch(
      /^salesforce\s+Contact fields we write \(describe\)\s+FAIL\s+Contact lacks Signed_Up_At__c /m,
    );
    expect(run.stdout).toMatch(/^salesforce\s+Lead fields we write \(describe\)\s+OK/m);
    expect(run.stderr).toContain('2 check(s) failed');
    expectNoSecret(run);
  }, 60_000);

  it('says which key to fix when a vendor refuses it, without printing it', async () => {
    const run = await doctor({ CLEARBIT_API_KEY: 'bad-key', SALESFORCE_CLIENT_ID: 'bad-key' });
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^clearbit\s.*FAIL\s+key refused \(HTTP 401\): set CLEARBIT_API_KEY/m);
    expect(run.stdout).toMatch(
      /^salesforce\s.*FAIL\s+Salesforce rejected the credentials \(invalid_client_id.*SALESFORCE_CLIENT_ID/m,
    );
    expect(run.stdout).toMatch(/^harmonic\s.*OK/m);
    expectNoSecret(run);
  }, 60_000);

  it('fails a check that does not answer within --timeout, and posts to Slack only when asked', async () => {
    await sandbox.control('clearbit', { latencyMs: 3000 });
    const run = await doctor({}, ['--timeout', '1', '--post-test-message']);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^clearbit\s.*FAIL\s+no answer within 1 s$/m);
    expect(run.stdout).toMatch(/^slack\s+webhook URLs, test message posted\s+OK/m);
    const slack = await sandbox.inspect<{ records?: Record<string, unknown[]> }>('slack');
    expect(Object.values(slack.records ?? {}).flat()).toHaveLength(1);
    expectNoSecret(run);
  }, 60_000);

  it("in live mode, checks that the PostHog project key is the project's, and keeps the secrets out", async () => {
    const base = (system: string) => `${sandbox.url}/${system}`;
    const live = {
      ENRICHMENT_MODE: 'live',
      CLEARBIT_BASE_URL: base('clearbit'),
      CLEARBIT_PERSON_BASE_URL: base('clearbit'),
      HARMONIC_BASE_URL: base('harmonic'),
      CLAY_BASE_URL: base('clay'),
      CLAY_WEBHOOK_URL: `${base('clay')}/v3/sources/webhook/pull-in-data-from-a-webhook-doctor`,
      POSTHOG_BASE_URL: base('posthog'),
      POSTHOG_API_BASE_URL: base('posthog'),
      POSTHOG_PROJECT_ID: '1',
      SALESFORCE_BASE_URL: base('salesforce'),
      VITALLY_BASE_URL: base('vitally'),
      // Slack's URL must be hooks.slack.com in live mode: left out here.
      DESTINATIONS: 'posthog,salesforce,vitally',
      WEBHOOK_SECRET: 'doctor-live-webhook-secret-0123456789',
      ADMIN_TOKEN: 'doctor-live-admin-token-0123456789ab',
      CLAY_CALLBACK_SECRET: 'doctor-live-clay-callback-0123456789',
      PII_HASH_KEY: 'doctor-live-pii-hash-key-0123456789',
      PAYLOAD_CODEC_KEYS: `doctor:${Buffer.alloc(32, 3).toString('base64')}`,
    };
    const right = await doctor({ ...live, POSTHOG_PROJECT_API_KEY: 'phc_sandbox' });
    expect(right.stderr).toBe('');
    expect(right.stdout).toMatch(
      /^posthog\s+project 1 .*OK\s+project "Sandbox project" readable, POSTHOG_PROJECT_API_KEY is its key$/m,
    );
    expect(right.code).toBe(0);

    // The wrong project key, and a Humanic webhook that is not https.
    const wrong = await doctor({
      ...live,
      DESTINATIONS: 'posthog,salesforce,vitally,humanic',
      HUMANIC_WEBHOOK_URL: `${base('humanic')}/webhook`,
    });
    expect(wrong.code).toBe(1);
    expect(wrong.stdout).toMatch(/^humanic\s.*FAIL\s+HUMANIC_WEBHOOK_URL must be https in live mode$/m);
    expect(wrong.stdout).toMatch(
      /^posthog\s+project 1 .*FAIL\s+POSTHOG_PROJECT_API_KEY is not the API key of project 1/m,
    );
    for (const run of [right, wrong]) {
      expectNoSecret(run);
      for (const secret of [live.WEBHOOK_SECRET, live.ADMIN_TOKEN, live.CLAY_CALLBACK_SECRET])
        expect(run.stdout + run.stderr).not.toContain(secret);
    }
  }, 60_000);

  it('reports a database without migrations and a namespace without our search attributes and schedules', async () => {
    const run = await doctor({ DATABASE_URL: await privateDatabaseUrl(), TEMPORAL_NAMESPACE: bareNamespace });
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^database\s.*FAIL\s+no migrations applied/m);
    expect(run.stdout).toMatch(
      /^temporal\s+search attributes\s+FAIL\s+missing EnrichmentStatus, IcpScore, IcpTier, CompanyDomain, SignupAt: /m,
    );
    expect(run.stdout).toMatch(
      /^temporal\s+schedules\s+FAIL\s+missing enrichment-health-daily, salesforce-weekend-reenrichment, raw-data-retention-daily, enrichment-health-hourly: enrich schedules apply/m,
    );
    const unknown = await doctor({ TEMPORAL_NAMESPACE: `doctor-unknown-${randomUUID()}` });
    expect(unknown.code).toBe(1);
    expect(unknown.stdout).toMatch(
      /^temporal\s.*FAIL\s+.*namespace doctor-unknown-\S+ does not exist there \(TEMPORAL_NAMESPACE\)/m,
    );
  }, 60_000);
});

describe('the Salesforce field check', () => {
  const field = (over: Partial<DescribedField> & { name: string }): DescribedField => ({
    type: 'string',
    externalId: false,
    unique: false,
    createable: true,
    updateable: true,
    ...over,
  });
  const written: WrittenField[] = [
    { object: 'Account', name: 'Company_Domain__c', kind: 'text', externalId: true },
    { object: 'Account', name: 'ICP_Score__c', kind: 'number', externalId: false },
    { object: 'Account', name: 'Enriched_At__c', kind: 'datetime', externalId: false },
    { object: 'Contact', name: 'Role__c', kind: 'text', externalId: false },
  ];

  it('passes compatible fields, names case-insensitively', () => {
    expect(
      fieldProblems('Account', written, [
        field({ name: 'company_domain__c', externalId: true, unique: true }),
        field({ name: 'ICP_Score__c', type: 'double' }),
        field({ name: 'Enriched_At__c', type: 'datetime' }),
      ]),
    ).toEqual([]);
  });

  it('names missing fields, incompatible types, read-only fields and external ids that are not unique', () => {
    expect(
      fieldProblems('Account', written, [
        field({ name: 'Company_Domain__c', externalId: true }),
        field({ name: 'ICP_Score__c', type: 'picklist' }),
      ]),
    ).toEqual([
      'Account lacks Enriched_At__c',
      'Account.Company_Domain__c must be an External ID and Unique (we upsert by it)',
      'Account.ICP_Score__c is picklist, we write number',
    ]);
    expect(fieldProblems('Contact', written, [field({ name: 'Role__c', updateable: false })])).toEqual([
      'Contact.Role__c is not writable by the run-as user',
    ]);
  });
});
