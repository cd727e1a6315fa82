import { randomUUID } from 'node:crypto';
import Long from 'long';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
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
};

describe('enrich doctor', () => {
  const stops: (() => Promise<unknown>)[] = [];
  let sandbox: RunningSandbox;
  let env: Record<string, string>;

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
      DESTINATIONS: 'posthog,salesforce,vitally,slack',
      SALESFORCE_PERSONAL_EMAIL_POLICY: 'lead',
      LOG_LEVEL: 'silent',
    };
  }, 120_000);

  afterAll(async () => {
    for (const stop of stops.reverse()) await stop();
  });

  beforeEach(async () => {
    await sandbox.control('salesforce', { missingFields: [] });
  });

  const doctor = (extra: Record<string, string> = {}) => runEnrich({ ...env, ...extra }, ['doctor']);

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
        'database',
        'harmonic',
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
      /^temporal\s+schedules\s+OK\s+enrichment-health-daily, salesforce-weekend-reenrichment/m,
    );
    expectNoSecret(run);
    // Nothing written: no Clay row, no Salesforce record, no Slack message.
    const clay = await sandbox.inspect<{ rows?: Record<string, number> }>('clay');
    expect(Object.values(clay.rows ?? {}).reduce((a, b) => a + b, 0)).toBe(0);
    const salesforce = await sandbox.inspect<{ records?: Record<string, unknown[]> }>('salesforce');
    expect(Object.values(salesforce.records ?? {}).flat()).toEqual([]);
    const slack = await sandbox.inspect<{ records?: Record<string, unknown[]> }>('slack');
    expect(Object.values(slack.records ?? {}).flat()).toEqual([]);
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

  it('reports a database without migrations and a namespace without schedules', async () => {
    const bare = await privateDatabaseUrl();
    const run = await doctor({ DATABASE_URL: bare, TEMPORAL_NAMESPACE: 'default-missing-doctor' });
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^database\s.*FAIL\s+no migrations applied/m);
    expect(run.stdout).toMatch(/^temporal\s.*FAIL\s+namespace default-missing-doctor not found/m);
  }, 60_000);
});
