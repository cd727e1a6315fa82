import { describe, expect, it } from 'vitest';
import { canonicalEmail } from '../../src/domain/email';
import { decideDeliverability, screenEmail } from '../../src/domain/screening';

describe('screenEmail', () => {
  it.each([
    ['priya@lumenforge.io', 'work', 'lumenforge.io'],
    ['ops@eng.lumenforge.io', 'work', 'eng.lumenforge.io'],
    ['someone@gmail.com', 'free_mail', 'gmail.com'],
    ['someone@proton.me', 'free_mail', 'proton.me'],
    ['someone@web.de', 'free_mail', 'web.de'],
    ['someone@mailinator.com', 'disposable', 'mailinator.com'],
    ['someone@guerrillamail.com', 'disposable', 'guerrillamail.com'],
  ])('%s is %s', (email, kind, domain) => {
    expect(screenEmail(email)).toEqual({ kind, domain });
  });

  it('treats a sub-domain of a free-mail host as free-mail', () => {
    expect(screenEmail('x@mx.gmail.com').kind).toBe('free_mail');
  });
});

describe('canonicalEmail', () => {
  it('lower-cases and trims', () => {
    expect(canonicalEmail('  Priya.Raman@LumenForge.IO ')).toEqual({
      email: 'priya.raman@lumenforge.io',
      domain: 'lumenforge.io',
    });
  });

  it.each(['', 'no-at-sign', '@lumenforge.io', 'priya@', 'priya@localhost', 'pri ya@lumenforge.io'])(
    'rejects %j',
    (raw) => {
      expect(canonicalEmail(raw)).toHaveProperty('problem');
    },
  );
});

describe('decideDeliverability (RFC 5321 §5.1, RFC 7505)', () => {
  it.each([
    [{ mx: 'found' }, { deliverable: true }],
    [{ mx: 'nxdomain' }, { deliverable: false, reason: 'no_such_domain' }],
    [{ mx: 'null_mx' }, { deliverable: false, reason: 'null_mx' }],
    [{ mx: 'none', address: ['found', 'none'] }, { deliverable: true }],
    [{ mx: 'none', address: ['none', 'found'] }, { deliverable: true }],
    [
      { mx: 'none', address: ['none', 'none'] },
      { deliverable: false, reason: 'no_mail_records' },
    ],
    [
      { mx: 'none', address: ['nxdomain', 'nxdomain'] },
      { deliverable: false, reason: 'no_such_domain' },
    ],
    // A DNS failure at any step never rejects a signup.
    [{ mx: 'failed' }, { deliverable: true, note: 'dns_failed' }],
    [
      { mx: 'none', address: ['none', 'failed'] },
      { deliverable: true, note: 'dns_failed' },
    ],
    [
      { mx: 'none', address: ['failed', 'failed'] },
      { deliverable: true, note: 'dns_failed' },
    ],
  ] as const)('%j is %j', (lookups, expected) => {
    expect(decideDeliverability(lookups)).toEqual(expected);
  });
});
