import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { openLedger, type Ledger } from '../../src/ledger/ledger';
import { MIGRATIONS, migrate } from '../../src/ledger/migrations';
import type { NewSignup } from '../../src/ledger/signups';
import { openPostgres } from '../../src/ledger/sql';

const signup = (overrides: Partial<NewSignup> = {}): NewSignup => ({
  source: 'posthog',
  eventUuid: randomUUID(),
  dedupeKey: randomUUID(),
  workflowId: `signup-${randomUUID()}`,
  email: 'priya.raman@lumenforge.io',
  emailDomain: 'lumenforge.io',
  distinctId: randomUUID(),
  personId: undefined,
  name: 'Priya Raman',
  organizationId: randomUUID(),
  organizationName: 'Lumenforge',
  signedUpAt: '2026-11-23T14:05:11.482Z',
  status: 'received',
  statusReason: undefined,
  payload: { event: { uuid: 'x' } },
  ...overrides,
});

// The same suite on both engines: the embedded default and a real PostgreSQL server.
describe.each([
  ['PGlite', () => openLedger({ databaseUrl: undefined })],
  ['PostgreSQL', () => openLedger({ databaseUrl: inject('postgresUrl') })],
])('ledger on %s', (_engine, open) => {
  let ledger: Ledger;
  beforeAll(async () => {
    ledger = await open();
  });
  afterAll(async () => {
    await ledger.close();
  });

  it('records a signup with its fields and puts it in the outbox', async () => {
    const { duplicate, signup: row } = await ledger.signups.recordSignup(signup());
    expect(duplicate).toBe(false);
    expect(row).toMatchObject({
      email: 'priya.raman@lumenforge.io',
      status: 'received',
      signedUpAt: '2026-11-23T14:05:11.482Z',
      workflowStartedAt: null,
    });
    expect(await ledger.signups.getSignup(row.id)).toEqual(row);
  });

  it('is idempotent on the event uuid', async () => {
    const first = signup();
    const a = await ledger.signups.recordSignup(first);
    const b = await ledger.signups.recordSignup({ ...first, dedupeKey: randomUUID() });
    expect(b).toEqual({ duplicate: true, signup: a.signup });
  });

  it('is idempotent on organization + person (the dedupe key) across event uuids', async () => {
    const first = signup();
    const a = await ledger.signups.recordSignup(first);
    const b = await ledger.signups.recordSignup({ ...first, eventUuid: randomUUID() });
    expect(b.duplicate).toBe(true);
    expect(b.signup.id).toBe(a.signup.id);
  });

  it('keeps a skipped signup (no workflow) out of the outbox', async () => {
    const { signup: row } = await ledger.signups.recordSignup(
      signup({ workflowId: undefined, email: undefined, status: 'skipped', statusReason: 'no email' }),
    );
    expect(row).toMatchObject({ status: 'skipped', statusReason: 'no email', workflowId: null });
    const claimed = await ledger.outbox.claimPendingStarts(1000, 60_000);
    expect(claimed.map((c) => c.id)).not.toContain(row.id);
  });

  it('leases pending starts so a second claim does not return them, and retries failures later', async () => {
    const { signup: row } = await ledger.signups.recordSignup(signup());
    const first = await ledger.outbox.claimPendingStarts(1000, 60_000);
    expect(first.map((c) => c.id)).toContain(row.id);
    expect((await ledger.outbox.claimPendingStarts(1000, 60_000)).map((c) => c.id)).not.toContain(row.id);

    await ledger.outbox.markStartFailed(row.id, 'UNAVAILABLE: connection refused', 0);
    const again = await ledger.outbox.claimPendingStarts(1000, 60_000);
    expect(again.find((c) => c.id === row.id)).toMatchObject({ attempts: 1 });
    expect((await ledger.signups.getSignup(row.id))?.lastStartError).toBe('UNAVAILABLE: connection refused');

    await ledger.outbox.markWorkflowStarted(row.id);
    const started = await ledger.signups.getSignup(row.id);
    expect(started?.workflowStartedAt).not.toBeNull();
    expect(started?.lastStartError).toBeNull();
    await ledger.outbox.markStartFailed(row.id, 'late failure', 0);
    expect((await ledger.outbox.claimPendingStarts(1000, 60_000)).map((c) => c.id)).not.toContain(row.id);
  });

  it('serves a cached company only while it is fresh', async () => {
    const domain = `${randomUUID()}.example`;
    expect(await ledger.companyCache.getCachedCompany(domain, '2026-01-01T00:00:00.000Z')).toBeUndefined();
    const provenance = { companyName: { source: 'clearbit', at: '2026-11-20T00:00:00.000Z' } };
    await ledger.companyCache.putCachedCompany(domain, { companyName: 'Old' }, provenance, '2026-11-20T00:00:00.000Z');
    await ledger.companyCache.putCachedCompany(domain, { companyName: 'New' }, provenance, '2026-11-21T00:00:00.000Z');
    expect(await ledger.companyCache.getCachedCompany(domain, '2026-11-21T00:00:00.000Z')).toEqual({
      fields: { companyName: 'New' },
      provenance,
      enrichedAt: '2026-11-21T00:00:00.000Z',
    });
    expect(await ledger.companyCache.getCachedCompany(domain, '2026-11-22T00:00:00.000Z')).toBeUndefined();
  });

  it("lists one provider's answers for a signup, oldest first, with when each came", async () => {
    const { signup: row } = await ledger.signups.recordSignup(signup());
    const archive = (provider: string, outcome: string, receivedAt?: string) =>
      ledger.providerArchive.archiveProviderResponse({
        provider,
        lookup: 'company',
        lookupKey: 'lumenforge.io',
        signupId: row.id,
        outcome,
        httpStatus: undefined,
        body: { outcome },
        receivedAt,
      });
    // Received now (the database's clock), then two answers with the server time of their activity attempt.
    await archive('clay', 'found');
    await archive('clay', 'queued', '2026-11-20T10:00:00.000Z');
    await archive('clearbit', 'not_found', '2026-11-20T09:00:00.000Z');
    const answers = await ledger.providerArchive.providerAnswers(row.id, 'clay');
    expect(answers.map((a) => [a.outcome, a.body])).toEqual([
      ['queued', { outcome: 'queued' }],
      ['found', { outcome: 'found' }],
    ]);
    expect(answers[0]?.receivedAt).toBe('2026-11-20T10:00:00.000Z');
    expect(Date.parse(answers[1]!.receivedAt)).toBeGreaterThan(Date.parse('2026-11-21T00:00:00.000Z'));
  });

  it('archives provider responses and records the enrichment on the signup', async () => {
    const { signup: row } = await ledger.signups.recordSignup(signup());
    await ledger.providerArchive.archiveProviderResponse({
      provider: 'clearbit',
      lookup: 'company',
      lookupKey: 'lumenforge.io',
      signupId: row.id,
      outcome: 'found',
      httpStatus: 200,
      body: { name: 'Lumenforge', metrics: { employees: 85 } },
    });
    expect(await ledger.providerArchive.listProviderResponses(row.id)).toEqual([
      {
        provider: 'clearbit',
        lookup: 'company',
        outcome: 'found',
        body: { name: 'Lumenforge', metrics: { employees: 85 } },
      },
    ]);
    await ledger.signups.recordEnrichment(row.id, {
      status: 'enriched',
      reason: undefined,
      fields: { companyName: 'Lumenforge', employees: 85 },
      provenance: {},
      score: {
        status: 'scored',
        score: 64,
        tier: 'B',
        points: {},
        missingFields: [],
        reason: undefined,
        configVersion: 'v',
        inputHash: 'h',
      },
      creditsSpent: { clearbit: 2 },
    });
    const counts = await ledger.signups.statusCounts();
    expect(counts.byStatus.enriched).toBeGreaterThanOrEqual(1);
    expect(counts.enrichmentWrites).toBeGreaterThanOrEqual(1);
    expect(counts.enrichmentWrites).toBeLessThanOrEqual(Object.values(counts.byStatus).reduce((a, b) => a + b, 0));
    expect(await ledger.signups.getSignup(row.id)).toMatchObject({
      status: 'enriched',
      icpFields: { companyName: 'Lumenforge', employees: 85 },
      icpScore: 64,
      icpTier: 'B',
      creditsSpent: { clearbit: 2 },
    });
  });

  it('records a screening outcome', async () => {
    const { signup: row } = await ledger.signups.recordSignup(
      signup({ email: 'x@gmail.com', emailDomain: 'gmail.com' }),
    );
    await ledger.signups.recordScreening(row.id, { emailKind: 'free_mail', status: 'skipped', reason: 'free_mail' });
    expect(await ledger.signups.getSignup(row.id)).toMatchObject({
      emailKind: 'free_mail',
      status: 'skipped',
      statusReason: 'free_mail',
    });
  });

  it('remembers destination writes by idempotency key, and tells a claim what came before', async () => {
    const { signup: row } = await ledger.signups.recordSignup(signup());
    const key = `${row.id}:slack`;
    expect(await ledger.destinationWrites.getDestinationWrite('slack', key)).toBeUndefined();
    expect(await ledger.destinationWrites.claimDestinationWrite('slack', key, row.id)).toBeUndefined();
    // A second claim without an outcome: the first attempt may or may not have posted.
    expect(await ledger.destinationWrites.claimDestinationWrite('slack', key, row.id)).toBe('sending');
    await ledger.destinationWrites.finishDestinationWrite('slack', key, row.id, 'failed', 'HTTP 500');
    expect(await ledger.destinationWrites.claimDestinationWrite('slack', key, row.id)).toBe('failed');
    await ledger.destinationWrites.finishDestinationWrite('slack', key, row.id, 'done', 'message posted');
    // Done stays done: a later claim neither reopens it nor counts an attempt.
    expect(await ledger.destinationWrites.claimDestinationWrite('slack', key, row.id)).toBe('done');
    expect(await ledger.destinationWrites.getDestinationWrite('slack', key)).toEqual({
      state: 'done',
      attempts: 3,
      detail: 'message posted',
    });
  });
});

describe('migrations on PostgreSQL', () => {
  it('apply once, even when two processes start together', async () => {
    const schema = `m_${randomUUID().replaceAll('-', '')}`;
    const admin = await openPostgres(inject('postgresUrl'));
    await admin.query(`CREATE SCHEMA ${schema}`);
    const url = new URL(inject('postgresUrl'));
    url.searchParams.set('options', `-c search_path=${schema}`);
    const [a, b] = await Promise.all([openPostgres(url.toString()), openPostgres(url.toString())]);
    try {
      const [appliedA, appliedB] = await Promise.all([migrate(a), migrate(b)]);
      expect([...appliedA, ...appliedB].sort()).toEqual(MIGRATIONS.map((m) => m.id));
      expect(await migrate(a)).toEqual([]);
      const tables = await a.query<{ table_name: string }>(
        'SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name',
        [schema],
      );
      expect(tables.map((t) => t.table_name)).toEqual([
        'company_cache',
        'destination_links',
        'destination_writes',
        'erasures',
        'health_checks',
        'incidents',
        'pipeline_controls',
        'provider_responses',
        'schema_migrations',
        'signups',
      ]);
    } finally {
      await Promise.all([a.close(), b.close()]);
      await admin.query(`DROP SCHEMA ${schema} CASCADE`);
      await admin.close();
    }
  });

  it('concurrent claims never hand the same signup to two starters', async () => {
    const ledgers = await Promise.all([1, 2, 3].map(() => openLedger({ databaseUrl: inject('postgresUrl') })));
    try {
      const [first] = ledgers as [Ledger];
      await Promise.all(Array.from({ length: 30 }, () => first.signups.recordSignup(signup())));
      const claims = await Promise.all(ledgers.map((l) => l.outbox.claimPendingStarts(1000, 60_000)));
      const ids = claims.flat().map((c) => c.id);
      expect(new Set(ids).size).toBe(ids.length);
    } finally {
      await Promise.all(ledgers.map((l) => l.close()));
    }
  });
});
