import { describe, expect, it } from 'vitest';
import {
  addDays,
  assessDay,
  daysBetween,
  isDay,
  likelyCause,
  type Controls,
  type DayCounts,
  type DayEvidence,
  type HealthRules,
} from '../../src/domain/health';

const rules: HealthRules = { minWrites: 250, minWriteRatio: 0.5, trafficDropRatio: 0.5, trailingDays: 7 };
const none: DayEvidence = { creditsExhausted: {}, silent: {}, unfinished: 0, failedWrites: {} };
const running: Controls = { paused: false, pauseReason: undefined, snoozedUntil: undefined };
const day = (d: string, signups: number, writes: number, eligible = signups): DayCounts => ({
  day: d,
  signups,
  eligible,
  writes,
});
// A week of the handbook's company: ~320 signups and ~300 writes a day.
const week = ['2026-11-13', '2026-11-14', '2026-11-15', '2026-11-16', '2026-11-17', '2026-11-18', '2026-11-19'].map(
  (d, i) => day(d, 310 + i * 3, 295 + i * 2),
);

describe('assessDay', () => {
  it('is healthy when writes keep up with signups', () => {
    const a = assessDay(day('2026-11-20', 320, 301), week, none, running, rules);
    expect(a).toMatchObject({ classification: 'healthy', baseline: 319, cause: undefined });
    expect(a.rate).toBeCloseTo(301 / 320);
  });

  it("fires the handbook's absolute rule: fewer than 250 writes while signups are normal", () => {
    const a = assessDay(day('2026-11-20', 320, 240), week, none, running, rules);
    expect(a).toMatchObject({ classification: 'enrichment_incident', reason: '240 writes < 250 a day' });
  });

  it('applies the absolute rule only when that many signups came in; the ratio covers smaller days', () => {
    const small = [day('2026-11-18', 40, 38), day('2026-11-19', 42, 40)];
    expect(assessDay(day('2026-11-20', 41, 39), small, none, running, rules).classification).toBe('healthy');
    const bad = assessDay(day('2026-11-20', 41, 10), small, none, running, rules);
    expect(bad).toMatchObject({ classification: 'enrichment_incident', reason: 'write rate 24% < 50%' });
  });

  it('calls a drop in signups traffic, not an enrichment incident', () => {
    const a = assessDay(day('2026-11-20', 90, 80), week, none, running, rules);
    expect(a.classification).toBe('traffic_drop');
    expect(a.reason).toContain('traffic, not enrichment');
  });

  it('expects nothing while enrichment is paused on purpose', () => {
    const paused = { ...running, paused: true, pauseReason: 'switching providers' };
    const a = assessDay(day('2026-11-20', 320, 0), week, none, paused, rules);
    expect(a).toMatchObject({ classification: 'paused', reason: 'enrichment paused: switching providers' });
  });

  it('keeps an incident but marks it snoozed up to and including the snooze day', () => {
    const snoozed = { ...running, snoozedUntil: '2026-11-21' };
    expect(assessDay(day('2026-11-21', 320, 0), week, none, snoozed, rules)).toMatchObject({
      classification: 'enrichment_incident',
      snoozedUntil: '2026-11-21',
    });
    expect(assessDay(day('2026-11-22', 320, 0), week, none, snoozed, rules).snoozedUntil).toBeUndefined();
  });

  it("tells a disabled webhook destination from a traffic drop with PostHog's own count", () => {
    const a = assessDay(day('2026-11-20', 12, 11), week, { ...none, posthogSignups: 318 }, running, rules);
    expect(a).toMatchObject({
      classification: 'enrichment_incident',
      cause: { kind: 'destination', system: 'posthog' },
    });
  });

  it('has nothing to say about a day without signups and no history', () => {
    expect(assessDay(day('2026-11-20', 0, 0), [], none, running, rules).classification).toBe('no_signups');
  });

  it('names the likely cause from the evidence', () => {
    const a = assessDay(
      day('2026-11-20', 320, 12),
      week,
      { ...none, creditsExhausted: { clearbit: 280 } },
      running,
      rules,
    );
    expect(a.cause).toEqual({
      kind: 'credits',
      system: 'clearbit',
      summary: 'clearbit is out of credits (280 answers "credits exhausted")',
    });
  });
});

describe('likelyCause', () => {
  it('puts credits first, then a silent table, then failing destinations', () => {
    const all = {
      creditsExhausted: { harmonic: 3, clearbit: 9 },
      silent: { clay: 40 },
      unfinished: 5,
      failedWrites: { salesforce: 7 },
    };
    expect(likelyCause(all)).toMatchObject({ kind: 'credits', system: 'clearbit' });
    expect(likelyCause({ ...all, creditsExhausted: {} })).toMatchObject({ kind: 'row_limit', system: 'clay' });
    expect(likelyCause({ ...all, creditsExhausted: {}, silent: {} })).toMatchObject({
      kind: 'destination',
      system: 'salesforce',
    });
    expect(likelyCause(none)).toMatchObject({ kind: 'unknown', system: undefined });
  });

  it('names a provider that was down (lookups that fell through) after credits, before a silent table', () => {
    const evidence = {
      creditsExhausted: {},
      silent: { clay: 40 },
      outages: { clearbit: 2, harmonic: 12 },
      unfinished: 0,
      failedWrites: {},
    };
    expect(likelyCause(evidence)).toMatchObject({
      kind: 'provider_outage',
      system: 'harmonic',
      summary: expect.stringContaining('12 lookups skipped') as string,
    });
    expect(likelyCause({ ...evidence, creditsExhausted: { clearbit: 1 } })).toMatchObject({ kind: 'credits' });
    expect(likelyCause({ ...evidence, outages: {} })).toMatchObject({ kind: 'row_limit' });
  });

  it('names a provider refusing every lookup (a deleted Clay table, an API change), not a few odd inputs', () => {
    const quiet = { creditsExhausted: {}, silent: {}, unfinished: 0, failedWrites: {} };
    // Clay's table is gone: every row refused, nothing silent, nothing else wrong.
    expect(likelyCause({ ...quiet, rejected: { clay: 280, clearbit: 2 } })).toEqual({
      kind: 'provider_rejecting',
      system: 'clay',
      summary:
        "clay refused 280 lookups (an unmodelled 4xx): a configuration or API change? See provider_responses with outcome 'rejected'",
    });
    // Two odd emails refused while Clay is silent for 40 rows, or Salesforce fails 30 writes: those are the cause.
    expect(likelyCause({ ...quiet, rejected: { clearbit: 2 }, silent: { clay: 40 } })).toMatchObject({
      kind: 'row_limit',
    });
    expect(likelyCause({ ...quiet, rejected: { clearbit: 2 }, failedWrites: { salesforce: 30 } })).toMatchObject({
      kind: 'destination',
    });
    // Credits and outages stay stronger evidence.
    expect(likelyCause({ ...quiet, rejected: { clay: 280 }, outages: { harmonic: 1 } })).toMatchObject({
      kind: 'provider_outage',
    });
  });

  it('names a provider refusing our key or configuration (the signups failed) right after credits', () => {
    const evidence = {
      creditsExhausted: {},
      silent: {},
      outages: { harmonic: 5 },
      rejected: { clearbit: 9 },
      authFailed: { clay: 120 },
      unfinished: 0,
      failedWrites: {},
    };
    expect(likelyCause(evidence)).toMatchObject({
      kind: 'provider_auth',
      system: 'clay',
      summary: expect.stringContaining('clay refused our API key or configuration 120 times') as string,
    });
    expect(likelyCause({ ...evidence, creditsExhausted: { clearbit: 3 } })).toMatchObject({ kind: 'credits' });
  });
});

describe('days', () => {
  it('validates and counts UTC days', () => {
    expect(isDay('2026-11-24')).toBe(true);
    expect(isDay('2026-02-30')).toBe(false);
    expect(isDay('2026-11-40')).toBe(false);
    expect(isDay('24.11.2026')).toBe(false);
    expect(addDays('2026-12-31', 1)).toBe('2027-01-01');
    expect(daysBetween('2026-11-29', '2026-12-02')).toEqual(['2026-11-29', '2026-11-30', '2026-12-01', '2026-12-02']);
  });
});
