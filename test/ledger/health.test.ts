import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { openLedger, type Ledger } from '../../src/ledger/ledger';

// The health queries on both engines. The PostgreSQL database is shared with the other test files, so every day
// here lies in a year nobody else uses.
describe.each([
  ['PGlite', () => openLedger({ databaseUrl: undefined })],
  ['PostgreSQL', () => openLedger({ databaseUrl: inject('postgresUrl') })],
])('health ledger on %s', (engine, open) => {
  let ledger: Ledger;
  const year = engine === 'PGlite' ? 2031 : 2032;
  const day = (n: number) => `${year}-03-${String(n).padStart(2, '0')}`;

  beforeAll(async () => {
    ledger = await open();
  });
  afterAll(async () => {
    await ledger.close();
  });

  async function signup(d: string, o: { emailKind?: 'work' | 'free_mail'; workflow?: boolean } = {}) {
    const key = randomUUID();
    const { signup: row } = await ledger.signups.recordSignup({
      source: 'api',
      eventUuid: undefined,
      dedupeKey: key,
      workflowId: o.workflow === false ? undefined : `signup-${key}`,
      email: `a@${key.slice(0, 8)}.example`,
      emailDomain: `${key.slice(0, 8)}.example`,
      distinctId: key,
      personId: undefined,
      name: undefined,
      organizationId: undefined,
      organizationName: undefined,
      signedUpAt: `${d}T23:30:00.000Z`,
      status: o.workflow === false ? 'skipped' : 'received',
      statusReason: undefined,
      payload: {},
    });
    if (o.emailKind) {
      await ledger.signups.recordScreening(row.id, {
        emailKind: o.emailKind,
        status: o.emailKind === 'work' ? 'enriching' : 'skipped',
        reason: undefined,
      });
    }
    return row.id;
  }
  const record = (id: string, at: string, status: 'enriched' | 'partial' | 'not_found', unavailable: string[] = []) =>
    ledger.signups.recordEnrichment(id, {
      status,
      reason: unavailable.length ? `missing industry (${unavailable[0]} out of credits)` : undefined,
      fields: {},
      provenance: {},
      score: undefined,
      creditsSpent: {},
      unavailableProviders: unavailable,
      at,
    });

  it('counts signups by signup day and writes by write day, in UTC', async () => {
    const a = await signup(day(2), { emailKind: 'work' });
    const b = await signup(day(2), { emailKind: 'work' });
    await signup(day(2), { emailKind: 'free_mail' });
    await signup(day(2), { workflow: false });
    // A work email whose domain cannot receive mail: screened out, never eligible for company data.
    const undeliverable = await signup(day(2));
    await ledger.signups.recordScreening(undeliverable, { emailKind: 'work', status: 'undeliverable', reason: 'x' });
    await signup(day(3));
    // Written the next day (after midnight UTC), and one recorded without company data: not a write.
    await record(a, `${day(3)}T00:10:00.000Z`, 'enriched');
    await record(b, `${day(3)}T00:20:00.000Z`, 'not_found', ['clearbit']);
    expect(await ledger.health.dayCounts(day(1), day(3))).toEqual([
      { day: day(1), signups: 0, eligible: 0, writes: 0 },
      { day: day(2), signups: 5, eligible: 2, writes: 0 },
      { day: day(3), signups: 1, eligible: 1, writes: 1 },
    ]);
  });

  it('gathers the evidence of a day', async () => {
    const id = await signup(day(5), { emailKind: 'work' });
    const at = `${day(5)}T23:40:00.000Z`;
    for (const provider of ['clearbit', 'clearbit', 'harmonic']) {
      await ledger.providerArchive.archiveProviderResponse({
        provider,
        lookup: 'company',
        lookupKey: 'x.example',
        signupId: id,
        outcome: 'credits_exhausted',
        httpStatus: undefined,
        body: undefined,
        receivedAt: at,
      });
    }
    await ledger.providerArchive.archiveProviderResponse({
      provider: 'clay',
      lookup: 'company',
      lookupKey: 'x.example',
      signupId: id,
      outcome: 'silent',
      httpStatus: undefined,
      body: undefined,
      receivedAt: at,
    });
    for (const [provider, outcome] of [
      ['clay', 'rejected'],
      ['clay', 'rejected'],
      ['clearbit', 'rejected'],
      ['clay', 'auth_failed'],
      ['harmonic', 'outage'],
      ['clearbit', 'found'],
    ] as const) {
      await ledger.providerArchive.archiveProviderResponse({
        provider,
        lookup: 'company',
        lookupKey: 'x.example',
        signupId: id,
        outcome,
        httpStatus: undefined,
        body: undefined,
        receivedAt: at,
      });
    }
    expect(await ledger.health.dayEvidence(day(5))).toMatchObject({
      creditsExhausted: { clearbit: 2, harmonic: 1 },
      silent: { clay: 1 },
      outages: { harmonic: 1 },
      rejected: { clay: 2, clearbit: 1 },
      authFailed: { clay: 1 },
      unfinished: 1,
    });
  });

  it('counts a rolling window and gathers its evidence', async () => {
    const a = await signup(day(25), { emailKind: 'work' });
    await signup(day(25), { emailKind: 'free_mail' });
    const at = (d: number, hour: number) => `${day(d)}T${String(hour).padStart(2, '0')}:00:00.000Z`;
    // Signed up at 23:30: in the hour to midnight, not in the hour before.
    expect(await ledger.health.windowCounts(at(25, 22), at(25, 23))).toEqual({ signups: 0, eligible: 0, writes: 0 });
    expect(await ledger.health.windowCounts(at(25, 23), at(26, 0))).toEqual({ signups: 2, eligible: 1, writes: 0 });
    expect(await ledger.health.windowEvidence(at(25, 23), at(26, 0))).toMatchObject({ unfinished: 1 });
    await record(a, `${day(26)}T00:10:00.000Z`, 'enriched');
    expect(await ledger.health.windowCounts(at(26, 0), at(26, 1))).toEqual({ signups: 0, eligible: 0, writes: 1 });
    expect(await ledger.health.windowEvidence(at(25, 23), at(26, 0))).toMatchObject({ unfinished: 0 });
  });

  it("counts the latest interval by its own signups: written, settled or held by a provider's problem, in flight", async () => {
    // All signed up at 23:30 of day 27.
    const written = await signup(day(27), { emailKind: 'work' });
    const notFound = await signup(day(27), { emailKind: 'work' });
    const waiting = await signup(day(27), { emailKind: 'work' });
    await signup(day(27), { emailKind: 'work' });
    await signup(day(27), { emailKind: 'free_mail' });
    const older = await signup(day(26), { emailKind: 'work' });
    await record(written, `${day(27)}T23:31:00.000Z`, 'partial');
    await record(notFound, `${day(27)}T23:32:00.000Z`, 'not_found');
    // The backlog of an earlier signup written in the interval: a write, not one of the interval's signups.
    await record(older, `${day(27)}T23:40:00.000Z`, 'enriched');
    await ledger.providerArchive.archiveProviderResponse({
      provider: 'clearbit',
      lookup: 'company',
      lookupKey: 'x.example',
      signupId: waiting,
      outcome: 'credits_exhausted',
      httpStatus: undefined,
      body: undefined,
      receivedAt: `${day(27)}T23:30:01.000Z`,
    });
    const from = `${day(27)}T23:00:00.000Z`;
    const to = `${day(28)}T00:00:00.000Z`;
    // The one still enriching with no problem answer is in flight; the one Clearbit refused for credits is not.
    expect(await ledger.health.intervalCounts(from, to)).toEqual({
      signups: 5,
      eligible: 4,
      written: 1,
      pending: 1,
      writes: 2,
    });
    expect(await ledger.health.intervalCounts(to, `${day(28)}T01:00:00.000Z`)).toEqual({
      signups: 0,
      eligible: 0,
      written: 0,
      pending: 0,
      writes: 0,
    });
  });

  it('finds backfill candidates once: a re-run that every provider answered is not a candidate again', async () => {
    const waitedOn = await signup(day(8), { emailKind: 'work' });
    const unfinished = await signup(day(8), { emailKind: 'work' });
    const enriched = await signup(day(8), { emailKind: 'work' });
    await signup(day(8), { emailKind: 'free_mail' });
    await record(waitedOn, `${day(9)}T08:00:00.000Z`, 'not_found', ['clearbit']);
    await record(enriched, `${day(8)}T23:50:00.000Z`, 'enriched');

    const page1 = await ledger.health.backfillCandidates(day(8), day(8), undefined, 1);
    const page2 = await ledger.health.backfillCandidates(day(8), day(8), page1[0]!.id, 10);
    const ids = [...page1, ...page2].map((c) => c.id);
    expect(ids.sort()).toEqual([waitedOn, unfinished].sort());

    const since = `${day(10)}T09:00:00.000Z`;
    await ledger.health.markBackfilled(ids, 'backfill-test', since);
    expect((await ledger.health.backfillStates(ids, since)).every((s) => !s.recorded)).toBe(true);
    // Re-run: one is enriched now, the other still not found although every provider answered.
    await record(waitedOn, `${day(10)}T09:05:00.000Z`, 'enriched');
    await record(unfinished, `${day(10)}T09:06:00.000Z`, 'not_found');
    const states = await ledger.health.backfillStates(ids, since);
    expect(states.find((s) => s.id === waitedOn)).toMatchObject({ status: 'enriched', recorded: true });
    expect(states.find((s) => s.id === unfinished)).toMatchObject({ status: 'not_found', recorded: true });
    expect(await ledger.health.backfillCandidates(day(8), day(8), undefined, 10)).toEqual([]);
  });
});

// Incidents and the pause flag on a ledger of its own: every worker on the shared database reads the flag.
describe('incidents and controls', () => {
  let ledger: Ledger;
  const day = (n: number) => `2031-04-${String(n).padStart(2, '0')}`;
  beforeAll(async () => {
    ledger = await openLedger({ databaseUrl: undefined });
  });
  afterAll(async () => {
    await ledger.close();
  });

  it('opens an incident once per day, extends it, resolves it and awaits its recovery check', async () => {
    const cause = { kind: 'credits' as const, system: 'clearbit', summary: 'clearbit is out of credits' };
    const opened = await ledger.health.recordIncidentDay(day(12), cause);
    expect(opened).toMatchObject({ opened: true, incident: { firstDay: day(12), lastDay: day(12), cause } });
    expect((await ledger.health.recordIncidentDay(day(12), cause)).opened).toBe(false);
    const extended = await ledger.health.recordIncidentDay(day(13), undefined);
    expect(extended.incident).toMatchObject({ id: opened.incident.id, lastDay: day(13), cause });
    await ledger.health.resolveIncident(opened.incident.id, day(14), 'started backfill-x');
    expect(await ledger.health.openIncident()).toBeUndefined();
    expect(await ledger.health.incidentsAwaitingRecovery(day(14))).toEqual([]);
    expect((await ledger.health.incidentsAwaitingRecovery(day(15))).map((i) => i.id)).toEqual([opened.incident.id]);
    await ledger.health.setRecovery(opened.incident.id, 'Recovered');
    expect(await ledger.health.incidentsAwaitingRecovery(day(15))).toEqual([]);
    expect(await ledger.health.incidents(day(13), day(13))).toMatchObject([
      { state: 'resolved', resolvedDay: day(14) },
    ]);
  });

  it("opens the rolling check's incidents by the hour, and does not reopen a day a resolution covers", async () => {
    const cause = { kind: 'credits' as const, system: 'harmonic', summary: 'harmonic is out of credits' };
    const opened = await ledger.health.recordIncidentAt(`${day(22)}T07:00:00.000Z`, cause);
    expect(opened).toMatchObject({ opened: true, incident: { id: `incident-${day(22)}`, firstDay: day(22) } });
    const extended = await ledger.health.recordIncidentAt(`${day(23)}T08:00:00.000Z`, undefined);
    expect(extended).toMatchObject({ opened: false, incident: { id: opened.incident.id, lastDay: day(23), cause } });
    // Resolved by the rolling check on day 23; the daily check then reports the complete days 22 and 23.
    await ledger.health.resolveIncident(opened.incident.id, day(23), 'proposed');
    for (const d of [day(22), day(23)]) {
      expect(await ledger.health.recordIncidentDay(d, cause)).toMatchObject({
        opened: false,
        incident: { id: opened.incident.id, state: 'resolved' },
      });
    }
    expect(await ledger.health.openIncident()).toBeUndefined();
    // A new outage later on day 23: a new incident, named by its hour.
    const again = await ledger.health.recordIncidentAt(`${day(23)}T15:00:00.000Z`, cause);
    expect(again).toMatchObject({ opened: true, incident: { id: `incident-${day(23)}`, state: 'open' } });
    await ledger.health.resolveIncident(again.incident.id, day(23), 'proposed');
    const third = await ledger.health.recordIncidentAt(`${day(23)}T18:00:00.000Z`, cause);
    expect(third).toMatchObject({ opened: true, incident: { id: `incident-${day(23)}T18h`, state: 'open' } });
    await ledger.health.resolveIncident(third.incident.id, day(23), 'proposed');
  });

  it('keeps the pause flag and the snooze', async () => {
    await ledger.health.setPaused(true, 'vendor switch');
    await ledger.health.setSnooze(day(20), 'known outage');
    expect(await ledger.health.controls()).toEqual({
      paused: true,
      pauseReason: 'vendor switch',
      snoozedUntil: day(20),
    });
    await ledger.health.setPaused(false, undefined);
    await ledger.health.setSnooze(undefined, undefined);
    expect(await ledger.health.controls()).toEqual({ paused: false, pauseReason: undefined, snoozedUntil: undefined });
  });
});
