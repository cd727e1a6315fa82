import { describe, expect, it } from 'vitest';
import {
  addDays,
  assessDay,
  assessRecent,
  combineRolling,
  daysBetween,
  isDay,
  likelyCause,
  type Controls,
  type DayCounts,
  type DayEvidence,
  type HealthRules,
  type IntervalCounts,
  type RecentAssessment,
  type WindowAssessment,
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

describe('the rolling check: the latest interval beside the 24 h window', () => {
  const recentRules = { minutes: 60, minSignups: 10, minWriteRatio: 0.5 };
  const span = { from: '2026-11-20T18:00:00.000Z', to: '2026-11-20T19:00:00.000Z' };
  const hour = (c: Partial<IntervalCounts>): IntervalCounts => ({
    signups: 0,
    eligible: 0,
    written: 0,
    pending: 0,
    writes: 0,
    ...c,
  });
  const outOfCredits = { ...none, creditsExhausted: { clearbit: 12 } };
  // The 24 h to 19:00: 200 of 240 written, healthy by the daily rules — an hour of outage does not move it.
  const day24 = (extra: Partial<WindowAssessment> = {}): WindowAssessment => ({
    ...assessDay(day('2026-11-20', 240, 200), [], none, running, { ...rules, minWrites: 0 }),
    from: '2026-11-19T19:00:00.000Z',
    to: span.to,
    hours: 24,
    ...extra,
  });
  const recent = (c: Partial<IntervalCounts>, evidence: DayEvidence = outOfCredits): RecentAssessment =>
    assessRecent(hour(c), evidence, recentRules, span);

  it('fails an interval whose settled signups were not written for a reported reason', () => {
    const r = recent({ signups: 14, eligible: 12, written: 0, writes: 1 });
    expect(r).toMatchObject({
      verdict: 'failing',
      judged: 12,
      rate: 0,
      cause: { kind: 'credits', system: 'clearbit' },
    });
    expect(r.reason).toBe('0 of 12 settled signups with a work email written (rate 0% < 50%)');
    const a = combineRolling(day24(), r, running, false);
    expect(a).toMatchObject({
      classification: 'enrichment_incident',
      cause: { kind: 'credits', system: 'clearbit' },
      reason: 'last 60 min: 0 of 12 settled signups with a work email written (rate 0% < 50%)',
      // The window's own numbers stay: the alert shows both.
      eligible: 240,
      writes: 200,
      hours: 24,
      snoozedUntil: undefined,
      recent: { verdict: 'failing' },
    });
  });

  it('keeps a quiet hour quiet: fewer settled signups than HEALTH_RECENT_MIN_SIGNUPS is no incident', () => {
    const r = recent({ signups: 9, eligible: 9, written: 0 });
    expect(r).toMatchObject({ verdict: 'inconclusive', judged: 9 });
    expect(r.reason).toContain('fewer than 10, too few to call');
    const a = combineRolling(day24(), r, running, false);
    expect(a.classification).toBe('healthy');
    expect(a.reason).toMatch(/^last 24 h: 200 writes, rate 83%; last 60 min: 0 of 9 settled/);
  });

  it('does not judge signups still in flight: a burst at the end of the interval is not an outage', () => {
    // 20 arrived, 3 written, 15 still enriching with no problem reported: 3 of 5 judged.
    const r = recent({ signups: 20, eligible: 20, written: 3, pending: 15, writes: 3 });
    expect(r).toMatchObject({ verdict: 'recovered', judged: 5, rate: 0.6 });
    expect(r.reason).toContain('15 in flight');
    expect(combineRolling(day24(), r, running, false).classification).toBe('healthy');
  });

  it('keeps a slow hour without any reported failure quiet', () => {
    const r = recent({ signups: 20, eligible: 20, written: 4 }, none);
    expect(r).toMatchObject({ verdict: 'inconclusive', cause: { kind: 'unknown' } });
    expect(r.reason).toContain('no provider or destination reported a problem');
    expect(combineRolling(day24(), r, running, false).classification).toBe('healthy');
  });

  it('fires for any named cause: a provider down, our key refused, a destination failing', () => {
    const counts = { signups: 12, eligible: 12, written: 2 };
    for (const [evidence, kind] of [
      [{ ...none, outages: { harmonic: 10 } }, 'provider_outage'],
      [{ ...none, authFailed: { clay: 10 } }, 'provider_auth'],
      [{ ...none, failedWrites: { salesforce: 10 } }, 'destination'],
      [{ ...none, silent: { clay: 10 } }, 'row_limit'],
    ] as const) {
      expect(recent(counts, evidence)).toMatchObject({ verdict: 'failing', cause: { kind } });
    }
  });

  it('keeps the window deciding when the interval is fine, and says which span fired', () => {
    const window = day24({
      ...assessDay(day('2026-11-20', 240, 20), [], outOfCredits, running, { ...rules, minWrites: 0 }),
    });
    const a = combineRolling(window, recent({ signups: 3, eligible: 3, written: 3, writes: 3 }), running, true);
    expect(a).toMatchObject({
      classification: 'enrichment_incident',
      reason: 'last 24 h: write rate 8% < 50%',
      cause: { kind: 'credits' },
    });
  });

  it('respects a pause and a snooze', () => {
    const failing = recent({ signups: 12, eligible: 12, written: 0 });
    const paused = { ...running, paused: true, pauseReason: 'switching providers' };
    const windowPaused = day24({
      ...assessDay(day('2026-11-20', 240, 0), [], none, paused, rules),
    });
    expect(combineRolling(windowPaused, failing, paused, false)).toMatchObject({
      classification: 'paused',
      reason: 'last 24 h: enrichment paused: switching providers',
    });
    const snoozed = { ...running, snoozedUntil: '2026-11-20' };
    expect(combineRolling(day24(), failing, snoozed, false)).toMatchObject({
      classification: 'enrichment_incident',
      snoozedUntil: '2026-11-20',
    });
    expect(combineRolling(day24({ day: '2026-11-21' }), failing, snoozed, false).snoozedUntil).toBeUndefined();
  });

  it('fires on an hour of unwritten signups even when the 24 h window calls it a traffic drop', () => {
    const drop = day24({ classification: 'traffic_drop', reason: '90 signups < 50% of the usual 240' });
    expect(combineRolling(drop, recent({ signups: 12, eligible: 12 }), running, false).classification).toBe(
      'enrichment_incident',
    );
    expect(combineRolling(drop, recent({ signups: 1, eligible: 1 }), running, false).classification).toBe(
      'traffic_drop',
    );
  });

  it('resolves an open incident only once the interval shows writes back', () => {
    // Credits restored: the waiting signups of earlier hours are written now, nobody new arrived.
    const backlog = recent({ writes: 12 });
    expect(backlog.verdict).toBe('recovered');
    expect(combineRolling(day24(), backlog, running, true).classification).toBe('healthy');
    // A quiet hour during the outage: nothing written, nothing settled — the incident stays open, quietly.
    const quiet = combineRolling(day24(), recent({}), running, true);
    expect(quiet.classification).toBe('awaiting_recovery');
    expect(quiet.reason).toContain('the open incident stays open until writes are back');
    // The same failure on fewer signups than open an incident: it goes on (and is not resolved).
    expect(combineRolling(day24(), recent({ signups: 3, eligible: 3 }), running, true)).toMatchObject({
      classification: 'enrichment_incident',
      cause: { kind: 'credits' },
    });
    // Without an open incident those hours are simply healthy.
    expect(combineRolling(day24(), recent({}), running, false).classification).toBe('healthy');
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
