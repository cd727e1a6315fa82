import { randomUUID } from 'node:crypto';
import { Client, ScheduleOverlapPolicy } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRetentionActivities } from '../../src/activities/retention';
import { DAY_MS } from '../../src/domain/time';
import type { PurgeInput, PurgeResult } from '../../src/domain/retention';
import type { EnrichmentStatus } from '../../src/domain/status';
import { openLedger, type Ledger } from '../../src/ledger/ledger';
import { openPostgres, type Sql } from '../../src/ledger/sql';
import { RETENTION_SCHEDULE_ID, scheduleDefinitions } from '../../src/temporal/schedules';
import { PurgeExpiredRawDataWorkflow } from '../../src/workflows';
import { WorkflowType } from '../../src/workflows/messages';
import { privateDatabaseUrl, testConfig } from '../support/config';
import { failureOf, timeSkippingServer, withMockedActivities } from '../support/workflows';

type Row = Record<string, unknown>;
/** Every row of every table of the ledger's schema, as PostgreSQL renders it (`to_jsonb`), by table and key. */
type Snapshot = Record<string, Record<string, Row>>;

const keyOf = (row: Row): string =>
  ['id', 'domain', 'day', 'destination', 'idempotency_key']
    .filter((k) => k in row)
    .map((k) => {
      const v = row[k];
      return typeof v === 'string' ? v : JSON.stringify(v);
    })
    .join('/');

async function snapshot(sql: Sql): Promise<Snapshot> {
  const tables = await sql.query<{ name: string }>(
    `SELECT table_name AS name FROM information_schema.tables
     WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name`,
  );
  const all: Snapshot = {};
  for (const { name } of tables) {
    const rows = await sql.query<{ row: Row }>(`SELECT to_jsonb(t) AS row FROM "${name}" t`);
    all[name] = Object.fromEntries(rows.map(({ row }) => [keyOf(row), row]));
  }
  return all;
}

/**
 * The daily purge on the time-skipping server, with the real activities and a ledger on the run's PostgreSQL: what
 * has expired is purged, and every other column of every row of every table is the same afterwards, compared as a
 * whole. The cutoff follows the workflow's clock: days later, a row that was recent has expired.
 */
describe('PurgeExpiredRawDataWorkflow', () => {
  const env = timeSkippingServer();
  let ledger: Ledger;
  let sql: Sql;
  const days = (n: number) => new Date(Date.now() - n * DAY_MS).toISOString();
  const timeSkipping = () => {
    const service = env().connection.testService;
    if (!service) throw new Error('not a time-skipping server');
    return service;
  };
  /** The ids of the seeded rows, by what each stands for. */
  const ids: Record<string, string> = {};

  /** A signup received `age` days ago with `status`; enriched ones with their derived columns. */
  async function seedSignup(name: string, age: number, status: EnrichmentStatus): Promise<string> {
    const domain = `${name}.example`;
    const { signup } = await ledger.signups.recordSignup({
      source: 'posthog',
      eventUuid: randomUUID(),
      dedupeKey: randomUUID(),
      workflowId: status === 'skipped' ? undefined : `signup-${randomUUID()}`,
      email: status === 'skipped' ? undefined : `ada@${domain}`,
      emailDomain: status === 'skipped' ? undefined : domain,
      distinctId: randomUUID(),
      personId: undefined,
      name: 'Ada Lovelace',
      organizationId: randomUUID(),
      organizationName: name,
      signedUpAt: days(age),
      status,
      statusReason: status === 'skipped' ? 'no email' : undefined,
      payload: { event: { event: 'user signed up', properties: { email: `ada@${domain}`, plan: 'pro' } } },
    });
    if (status === 'enriched') {
      await ledger.signups.recordEnrichment(signup.id, {
        status,
        reason: undefined,
        fields: { companyName: name, employees: 120, industry: 'Software', country: 'US' },
        provenance: { companyName: { source: 'clearbit', at: days(age) } },
        score: undefined,
        creditsSpent: { clearbit: 1 },
        at: days(age),
      });
      await ledger.companyCache.putCachedCompany(
        domain,
        { companyName: name },
        { companyName: { source: 'clearbit', at: days(age) } },
        days(age),
      );
      await ledger.destinationWrites.finishDestinationWrite('posthog', `org:${signup.id}`, signup.id, 'done', 'ok');
    }
    await sql.query('UPDATE signups SET received_at = $2 WHERE id = $1', [signup.id, days(age)]);
    ids[name] = signup.id;
    return signup.id;
  }

  async function seedAnswer(name: string, age: number, signupId: string | undefined, body: unknown): Promise<void> {
    ids[name] = await ledger.providerArchive.archiveProviderResponse({
      provider: 'clearbit',
      lookup: 'company',
      lookupKey: `${name}.example`,
      signupId,
      outcome: body === undefined ? 'credits_exhausted' : 'found',
      httpStatus: 200,
      body,
      receivedAt: days(age),
    });
  }

  beforeAll(async () => {
    // Unlocked, the test server skips to its next timer whenever nothing runs (years ahead, during a purge, which
    // expires everything): locked, its clock moves only with env.sleep.
    await timeSkipping().lockTimeSkipping({});
    const url = await privateDatabaseUrl();
    ledger = await openLedger({ databaseUrl: url });
    sql = await openPostgres(url);
    // Old and settled: purged (an enriched signup, one recorded without a workflow, an answer of no signup).
    const oldEnriched = await seedSignup('old-enriched', 120, 'enriched');
    await seedAnswer('old-enriched-company', 120, oldEnriched, { name: 'Old Enriched', metrics: { employees: 120 } });
    await seedAnswer('old-enriched-person', 119, oldEnriched, { person: { title: 'CTO' } });
    await seedSignup('old-skipped', 200, 'skipped');
    await seedAnswer('old-orphan', 100, undefined, { name: 'Nobody' });
    // Old but without a body: nothing to purge.
    await seedAnswer('old-empty', 100, oldEnriched, undefined);
    // Old but still in flight: kept however old.
    for (const status of ['waiting_for_credits', 'paused', 'enriching', 'received'] as const) {
      const id = await seedSignup(`old-${status}`, 150, status);
      await seedAnswer(`old-${status}-answer`, 150, id, { error: { type: 'credits_exhausted' } });
    }
    // Recent: kept.
    const recent = await seedSignup('recent', 10, 'enriched');
    await seedAnswer('recent-answer', 10, recent, { name: 'Recent' });
    // Eighty days old: kept today, expired fifteen days later.
    const later = await seedSignup('later', 80, 'enriched');
    await seedAnswer('later-answer', 80, later, { name: 'Later' });
  });

  afterAll(async () => {
    await sql?.close();
    await ledger?.close();
  });

  // A plain client: the environment's own lets time run free while it awaits a result. Here the clock moves only with
  // env.sleep.
  const purge = (input: PurgeInput = {}): Promise<PurgeResult> =>
    withMockedActivities(env(), createRetentionActivities({ ledger, retention: { rawDataDays: 90 } }), (taskQueue) =>
      new Client({ connection: env().connection }).workflow.execute(PurgeExpiredRawDataWorkflow, {
        args: [input],
        taskQueue,
        workflowId: `raw-data-retention-${randomUUID()}`,
      }),
    );

  /** `before` with the purged rows as the purge leaves them (their stamps taken from `after`), nothing else. */
  function expectPurgedOnly(before: Snapshot, after: Snapshot, signups: string[], answers: string[], at: number) {
    const expected: Snapshot = structuredClone(before);
    for (const name of signups) {
      const stamp = after.signups![ids[name]!]!.payload_purged_at as string;
      expect(Math.abs(Date.parse(stamp) - at), `${name} stamped when the workflow ran`).toBeLessThan(DAY_MS);
      Object.assign(expected.signups![ids[name]!]!, { payload: {}, payload_purged_at: stamp });
    }
    for (const name of answers) {
      const stamp = after.provider_responses![ids[name]!]!.purged_at as string;
      expect(Math.abs(Date.parse(stamp) - at), `${name} stamped when the workflow ran`).toBeLessThan(DAY_MS);
      Object.assign(expected.provider_responses![ids[name]!]!, { body: null, purged_at: stamp });
    }
    expect(after).toEqual(expected);
  }

  it('purges the raw data of settled signups older than the window, in batches, and changes nothing else', async () => {
    const before = await snapshot(sql);
    expect(Object.keys(before)).toEqual(expect.arrayContaining(['signups', 'provider_responses', 'company_cache']));
    const result = await purge({ batchSize: 2 });
    expect(result).toMatchObject({ retentionDays: 90, signupPayloads: 2, providerBodies: 3, batches: 2 });
    // The cutoff is the workflow's time less 90 days: the test server's clock started with this test's.
    expect(Math.abs(Date.parse(result.cutoff) - (Date.now() - 90 * DAY_MS))).toBeLessThan(DAY_MS);
    const after = await snapshot(sql);
    expectPurgedOnly(
      before,
      after,
      ['old-enriched', 'old-skipped'],
      ['old-enriched-company', 'old-enriched-person', 'old-orphan'],
      Date.now(),
    );
    // The ledger's own reads see the purge: the archive answers without bodies, the signup keeps what was derived.
    const answers = await ledger.providerArchive.listProviderResponses(ids['old-enriched']!);
    expect(answers.map((a) => a.body)).toEqual([null, null, null]);
    expect((await ledger.signups.getSignup(ids['old-enriched']!))?.icpFields).toMatchObject({
      companyName: 'old-enriched',
    });

    // Idempotent: a second run finds nothing more.
    expect(await purge()).toMatchObject({ signupPayloads: 0, providerBodies: 0, batches: 1 });
    expect(await snapshot(sql)).toEqual(after);
  });

  it('moves the cutoff with the workflow clock: fifteen days later the 80-day-old signup has expired', async () => {
    const before = await snapshot(sql);
    // Skipped while no workflow runs: exactly fifteen days.
    await timeSkipping().unlockTimeSkipping({});
    await env().sleep(15 * DAY_MS);
    await timeSkipping().lockTimeSkipping({});
    const result = await purge();
    expect(result).toMatchObject({ signupPayloads: 1, providerBodies: 1, batches: 1 });
    expect(Date.parse(result.cutoff)).toBeGreaterThan(Date.now() - 90 * DAY_MS + 14 * DAY_MS);
    expectPurgedOnly(before, await snapshot(sql), ['later'], ['later-answer'], Date.now() + 15 * DAY_MS);
  });

  it('continues as new after its batches per run, the counts carried over', async () => {
    for (const n of [1, 2, 3]) {
      const id = await seedSignup(`carried-${n}`, 300, 'not_found');
      await seedAnswer(`carried-${n}-answer`, 300, id, { error: 'not found' });
    }
    const before = await snapshot(sql);
    // An explicit window overrides RAW_DATA_RETENTION_DAYS; one row per batch, two batches per run.
    const result = await purge({ retentionDays: 250, batchSize: 1, batchesPerRun: 2 });
    expect(result).toMatchObject({ retentionDays: 250, signupPayloads: 3, providerBodies: 3, batches: 4 });
    expectPurgedOnly(
      before,
      await snapshot(sql),
      ['carried-1', 'carried-2', 'carried-3'],
      ['carried-1-answer', 'carried-2-answer', 'carried-3-answer'],
      Date.now() + 15 * DAY_MS,
    );
  });

  it('refuses a window under one day, naming the input', async () => {
    const failure = await failureOf(purge({ retentionDays: 0 }));
    expect(failure?.message).toBe('retentionDays must be a whole number of days, at least 1 (got 0)');
    const batch = await failureOf(purge({ batchSize: 0 }));
    expect(batch?.message).toBe('batchSize must be a whole number from 1 to 10000 (got 0)');
  });
});

describe('the embedded ledger (PGlite)', () => {
  it('runs the same purge statements', async () => {
    const ledger = await openLedger({ databaseUrl: undefined });
    try {
      const { signup } = await ledger.signups.recordSignup({
        source: 'api',
        eventUuid: undefined,
        dedupeKey: randomUUID(),
        workflowId: undefined,
        email: undefined,
        emailDomain: undefined,
        distinctId: undefined,
        personId: undefined,
        name: undefined,
        organizationId: undefined,
        organizationName: undefined,
        signedUpAt: '2026-01-01T00:00:00.000Z',
        status: 'skipped',
        statusReason: 'no email',
        payload: { email: 'x@y.example' },
      });
      await ledger.providerArchive.archiveProviderResponse({
        provider: 'harmonic',
        lookup: 'company',
        lookupKey: 'y.example',
        signupId: signup.id,
        outcome: 'found',
        httpStatus: 200,
        body: { name: 'Y' },
        receivedAt: '2026-01-01T00:00:00.000Z',
      });
      const at = '2026-12-01T03:30:00.000Z';
      // Received now (the column's default): not before a cutoff of a month ago, so kept.
      expect(await ledger.retention.purgeSignupPayloads('2026-11-01T00:00:00.000Z', 10, at)).toBe(0);
      expect(await ledger.retention.purgeProviderBodies('2026-11-01T00:00:00.000Z', 10, at)).toBe(1);
      expect(await ledger.retention.purgeProviderBodies('2026-11-01T00:00:00.000Z', 10, at)).toBe(0);
      expect(await ledger.retention.purgeSignupPayloads('2100-01-01T00:00:00.000Z', 10, at)).toBe(1);
      expect(await ledger.providerArchive.listProviderResponses(signup.id)).toEqual([
        { provider: 'harmonic', lookup: 'company', outcome: 'found', body: null },
      ]);
    } finally {
      await ledger.close();
    }
  });
});

describe('the retention schedule', () => {
  it('starts the purge every day at 03:30 UTC, overlapping runs skipped', () => {
    const config = testConfig({ RAW_DATA_RETENTION_DAYS: '30' });
    const definition = scheduleDefinitions(config).find((s) => s.scheduleId === RETENTION_SCHEDULE_ID);
    expect(definition).toMatchObject({
      spec: { calendars: [{ hour: 3, minute: 30 }] },
      action: {
        type: 'startWorkflow',
        workflowType: WorkflowType.purgeExpiredRawData,
        workflowId: 'raw-data-retention',
        taskQueue: config.temporal.taskQueue,
        args: [{}],
      },
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 day' },
    });
    expect(definition?.memo?.description).toContain('older than 30 days');
    expect(config.retention).toEqual({ rawDataDays: 30 });
    expect(() => testConfig({ RAW_DATA_RETENTION_DAYS: '0' })).toThrow(/RAW_DATA_RETENTION_DAYS/);
    // A follow-up reads the answers it archived up to QUEUED_FOLLOW_UP_HOURS (48) later.
    expect(() => testConfig({ RAW_DATA_RETENTION_DAYS: '2' })).toThrow(
      'RAW_DATA_RETENTION_DAYS (2) must be longer than QUEUED_FOLLOW_UP_HOURS and CLAY_RESULT_TIMEOUT_MINUTES (48 hours)',
    );
    expect(testConfig({ RAW_DATA_RETENTION_DAYS: '1', QUEUED_FOLLOW_UP_HOURS: '12' }).retention.rawDataDays).toBe(1);
  });
});
