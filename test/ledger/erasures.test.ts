import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyedHash, sha256 } from '../../src/hash';
import { openLedger, type Ledger } from '../../src/ledger/ledger';
import type { NewSignup } from '../../src/ledger/signups';
import { forgetPerson, ForgetInputError } from '../../src/privacy/forget';
import { privateDatabaseUrl } from '../support/config';

const KEY = 'test-pii-hash-key';

const signup = (email: string, overrides: Partial<NewSignup> = {}): NewSignup => ({
  source: 'posthog',
  eventUuid: randomUUID(),
  dedupeKey: randomUUID(),
  workflowId: `signup-${randomUUID()}`,
  email,
  emailDomain: email.split('@')[1],
  distinctId: randomUUID(),
  personId: undefined,
  name: 'Priya Raman',
  organizationId: randomUUID(),
  organizationName: 'Lumenforge',
  signedUpAt: '2026-11-23T14:05:11.482Z',
  status: 'received',
  statusReason: undefined,
  payload: { person: { properties: { email } } },
  ...overrides,
});

// The ledger side of an erasure on both engines (the embedded default and PostgreSQL), no destination configured.
describe.each([
  ['PGlite', () => openLedger({ databaseUrl: undefined })],
  ['PostgreSQL', async () => openLedger({ databaseUrl: await privateDatabaseUrl() })],
])('erasure in the ledger on %s', (_engine, open) => {
  let ledger: Ledger;
  beforeAll(async () => {
    ledger = await open();
  });
  afterAll(async () => {
    await ledger.close();
  });

  it('scrubs the person everywhere, keeps others, records the erasure by keyed hash, and is idempotent', async () => {
    const email = 'priya.raman@lumenforge.io';
    const { signup: subject } = await ledger.signups.recordSignup(
      signup(email, { distinctId: 'Priya.Raman@Lumenforge.io', statusReason: `bounced: ${email}` }),
    );
    await ledger.signups.recordEnrichment(subject.id, {
      status: 'enriched',
      reason: undefined,
      fields: { companyName: 'Lumenforge', personTitle: 'CTO', seniority: 'executive' },
      provenance: { companyName: { source: 'clearbit', at: '2026-11-23T14:05:12.000Z' } },
      score: undefined,
      creditsSpent: {},
    });
    // Another person whose payload names the subject (an invitation): that mention goes, their own data stays.
    const { signup: other } = await ledger.signups.recordSignup(
      signup('tomas.berg@lumenforge.io', { payload: { invited_by: email.toUpperCase() } }),
    );
    await ledger.providerArchive.archiveProviderResponse({
      provider: 'clearbit',
      lookup: 'person',
      lookupKey: sha256(email),
      signupId: subject.id,
      outcome: 'found',
      httpStatus: 200,
      body: { email, title: 'CTO' },
    });
    await ledger.providerArchive.archiveProviderResponse({
      provider: 'clearbit',
      lookup: 'company',
      lookupKey: 'lumenforge.io',
      signupId: subject.id,
      outcome: 'found',
      httpStatus: 200,
      body: { domain: 'lumenforge.io' },
    });
    await ledger.destinationWrites.finishDestinationWrite(
      'webhooks',
      `${subject.id}:webhooks:x`,
      subject.id,
      'failed',
      `refused ${encodeURIComponent(email)}`,
    );

    await expect(forgetPerson({ ledger, clients: { slack: false }, piiHashKey: KEY }, 'priya')).rejects.toThrow(
      ForgetInputError,
    );
    const report = await forgetPerson({ ledger, clients: { slack: false }, piiHashKey: KEY }, ` ${email} `);
    expect(report).toMatchObject({
      subjectHash: keyedHash(KEY, email),
      repeated: false,
      signupsErased: 1,
      complete: true,
      systems: { posthog: { state: 'not_configured' }, slack: { state: 'not_configured' } },
    });
    expect(report.cellsMasked).toBeGreaterThanOrEqual(2);

    const after = await ledger.signups.getSignup(subject.id);
    expect(after).toMatchObject({ email: null, name: null, distinctId: null, emailDomain: 'lumenforge.io' });
    expect(after!.icpFields).toEqual({ companyName: 'Lumenforge' });
    expect((await ledger.signups.recordingState(subject.id))?.erased).toBe(true);
    expect((await ledger.signups.recordingState(other.id))?.erased).toBe(false);
    expect((await ledger.providerArchive.listProviderResponses(subject.id)).map((r) => r.lookup)).toEqual(['company']);
    const kept = await ledger.signups.getSignup(other.id);
    expect(kept).toMatchObject({ email: 'tomas.berg@lumenforge.io', name: 'Priya Raman' });
    expect(JSON.stringify(await ledger.signups.listSignupsByWorkflowId(kept!.workflowId!))).not.toMatch(
      /priya\.raman/i,
    );
    const write = await ledger.destinationWrites.getDestinationWrite('webhooks', `${subject.id}:webhooks:x`);
    expect(write?.detail).toBe('refused [erased]');

    const erasure = await ledger.erasures.getErasure(keyedHash(KEY, email));
    expect(erasure).toMatchObject({ runs: 1, signupsErased: 1, signupIds: [subject.id] });
    expect(erasure!.completedAt).not.toBeNull();
    expect(JSON.stringify(erasure)).not.toMatch(/priya|lumenforge/i);

    const again = await forgetPerson({ ledger, clients: { slack: false }, piiHashKey: KEY }, email);
    expect(again).toMatchObject({ repeated: true, signupsErased: 0, cellsMasked: 0, complete: true });
    expect((await ledger.erasures.getErasure(keyedHash(KEY, email)))?.runs).toBe(2);
    expect(await ledger.signups.getSignup(subject.id)).toEqual(after);
  });
});
