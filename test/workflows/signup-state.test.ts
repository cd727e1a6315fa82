import { describe, expect, it } from 'vitest';
import type { SignupProgress, TraceEntry } from '../../src/workflows/messages';
import { isNew, isRecorded, overallStatus, transition } from '../../src/workflows/signup-state';

// Every way a signup's status changes inside its workflow, one case each.
describe('transition', () => {
  const received = (): SignupProgress => ({ signupId: 's-1', status: 'received' });
  const score = { status: 'scored' as const, score: 80, tier: 'A' };
  const recorded = {
    status: 'partial' as const,
    reason: 'missing industry',
    fields: { companyName: 'Acme' },
    provenance: {},
    missingFields: ['industry'],
    creditsSpent: { clearbit: 1 },
    score,
  };

  it('takes a signup from received through screening and waiting to recorded', () => {
    const s = received();
    expect(isNew(s)).toBe(true);
    transition(s, { to: 'screened', emailKind: 'work', domain: 'acme.com' });
    expect(s).toMatchObject({ status: 'enriching', emailKind: 'work', domain: 'acme.com' });
    expect(isNew(s)).toBe(false);
    transition(s, { to: 'waiting_for_credits', reason: 'clearbit out of credits; missing industry' });
    expect(s).toMatchObject({ status: 'waiting_for_credits', reason: 'clearbit out of credits; missing industry' });
    transition(s, { to: 'enriching' });
    expect(s.status).toBe('enriching');
    expect(s.reason).toBeUndefined();
    const trace: TraceEntry[] = [{ source: 'clearbit', lookup: 'company', outcome: 'found', filled: ['companyName'] }];
    transition(s, { to: 'recorded', outcome: { ...recorded, trace } });
    expect(s).toMatchObject({ ...recorded, trace, emailKind: 'work' });
    expect(isRecorded(s.status)).toBe(true);
  });

  it('keeps the trace a follow-up extended itself when it records again', () => {
    const trace: TraceEntry[] = [
      { source: 'harmonic', lookup: 'company', outcome: 'follow-up found', filled: ['industry'] },
    ];
    const s: SignupProgress = { ...received(), ...recorded, trace };
    transition(s, { to: 'recorded', outcome: { ...recorded, status: 'enriched', reason: undefined } });
    expect(s).toMatchObject({ status: 'enriched', trace });
    expect(s.reason).toBeUndefined();
  });

  it('pauses and goes back to what a recorded signup was', () => {
    const s: SignupProgress = { ...received(), ...recorded };
    transition(s, { to: 'paused', reason: 'paused: by an operator' });
    expect(s).toMatchObject({ status: 'paused', reason: 'paused: by an operator' });
    expect(isRecorded(s.status)).toBe(false);
    transition(s, { to: 'resumed_recorded', status: 'partial', reason: 'missing industry' });
    expect(s).toMatchObject({ status: 'partial', reason: 'missing industry', fields: recorded.fields });
  });

  it('fails a signup with the reason, and notes a later problem without changing its status', () => {
    const s = received();
    transition(s, { to: 'failed', reason: 'gone' });
    expect(s).toMatchObject({ status: 'failed', reason: 'gone' });
    const r: SignupProgress = { ...received(), ...recorded };
    transition(r, { to: 'noted', reason: 'fan-out not planned: gone' });
    expect(r).toMatchObject({ status: 'partial', reason: 'fan-out not planned: gone' });
  });

  it('puts a signup a backfill re-runs back in the queue, to be screened again', () => {
    const s: SignupProgress = { ...received(), ...recorded, emailKind: 'work' };
    transition(s, { to: 'rerun' });
    expect(s.status).toBe('received');
    expect(s.emailKind).toBeUndefined();
    expect(s.reason).toBeUndefined();
    expect(isNew(s)).toBe(true);
  });
});

describe('overallStatus', () => {
  it('follows the work-email signup, else the active one, else failed or skipped', () => {
    const work: SignupProgress = { signupId: 'w', status: 'partial', emailKind: 'work' };
    const free: SignupProgress = { signupId: 'f', status: 'skipped', emailKind: 'free_mail' };
    const active: SignupProgress = { signupId: 'a', status: 'enriching', emailKind: 'free_mail' };
    const failed: SignupProgress = { signupId: 'x', status: 'failed' };
    expect(overallStatus([free, work])).toBe('partial');
    expect(overallStatus([free, active])).toBe('enriching');
    expect(overallStatus([free, failed])).toBe('failed');
    expect(overallStatus([free])).toBe('skipped');
    expect(overallStatus([{ signupId: 'r', status: 'received' }])).toBe('received');
  });
});
