import { describe, expect, it } from 'vitest';
import {
  dedupeKeyFor,
  fromDirect,
  fromPosthog,
  InvalidSignupError,
  NO_EMAIL_REASON,
  workflowIdFor,
} from '../../src/intake/normalize';
import { posthogWebhookSchema } from '../../src/intake/schemas';
import { keyedHash, sha256 } from '../../src/hash';
import { posthogSignup } from '../support/signups';

const now = new Date('2026-11-24T00:00:00Z');
const parse = (body: unknown) => fromPosthog(posthogWebhookSchema.parse(body), now);

describe('fromPosthog', () => {
  it('reads email, person, organization and time from the recorded payload', () => {
    const s = parse(posthogSignup({ orgId: 'org-1' }));
    expect(s).toMatchObject({
      source: 'posthog',
      email: 'priya.raman@lumenforge.io',
      name: 'Priya Raman',
      organizationId: 'org-1',
      organizationName: 'Lumenforge',
      signedUpAt: '2026-11-23T14:05:11.482Z',
    });
  });

  it('falls back to event.properties.email and $groups.organization', () => {
    const body = posthogSignup({ email: null, orgId: null }) as { event: { properties: Record<string, unknown> } };
    body.event.properties.email = 'Ana@Initech-Labs.com';
    body.event.properties.$groups = { organization: 4242 };
    const s = parse(body);
    expect(s.email).toBe('ana@initech-labs.com');
    expect(s.organizationId).toBe('4242');
  });

  it('reports a missing or invalid email instead of guessing', () => {
    expect(parse(posthogSignup({ email: null })).emailProblem).toBe(NO_EMAIL_REASON);
    expect(parse(posthogSignup({ email: 'not-an-email' })).emailProblem).toBe(
      'the email address must contain exactly one @',
    );
    expect(parse(posthogSignup({ email: 'a@b@lumenforge.io' })).emailProblem).toMatch(/exactly one @/);
    expect(parse(posthogSignup({ email: 'x@lumenforge.io?x=1' })).emailProblem).toMatch(/not a valid hostname/);
  });

  it('gives one company domain whatever form the email came in', () => {
    const forms = ['ana@bücher.de', 'Ana@XN--BCHER-KVA.DE', 'ana@BÜCHER.de.'];
    for (const email of forms) {
      expect(parse(posthogSignup({ email })).email).toBe('ana@xn--bcher-kva.de');
    }
    expect(parse(posthogSignup({ email: 'ana@b\u200Bücher.de' })).emailProblem).toMatch(/invisible/);
  });

  it('refuses a field outside the limits, naming its path', () => {
    const tooLate = posthogSignup();
    tooLate.event.timestamp = '+275760-09-13T00:00:00Z';
    expect(() => parse(tooLate)).toThrow(InvalidSignupError);
    const named = posthogSignup() as { person: { properties: Record<string, unknown> } };
    named.person.properties.name = 'Ada\u0007';
    const groups = posthogSignup({ orgId: null }) as { event: { properties: Record<string, unknown> } };
    groups.event.properties.$groups = { organization: 'o'.repeat(5000) };
    for (const [body, path] of [
      [tooLate, 'event.timestamp'],
      [named, 'person.properties.name'],
      [groups, 'event.properties.$groups.organization'],
    ] as const) {
      try {
        parse(body);
        expect.unreachable();
      } catch (err) {
        expect((err as InvalidSignupError).issues.map((i) => i.path)).toEqual([path]);
      }
    }
  });
});

describe('workflowIdFor', () => {
  const KEY = 'normalize-test-pii-hash-key';

  it('uses the organization id', () => {
    expect(workflowIdFor(parse(posthogSignup({ orgId: 'org-77' })), KEY)).toBe('signup-org-77');
  });

  it('hashes the distinct id when there is no organization, and never contains the email', () => {
    const body = posthogSignup({ orgId: null, email: 'priya.raman@lumenforge.io' });
    const id = workflowIdFor(parse(body), KEY);
    expect(id).toMatch(/^signup-p[0-9a-f]{24}$/);
    expect(id).not.toContain('priya');
    const direct = workflowIdFor(fromDirect({ email: 'priya.raman@lumenforge.io' }, now), KEY);
    expect(direct).toMatch(/^signup-p[0-9a-f]{24}$/);
  });

  it('keys the hash of a person with PII_HASH_KEY: no plain hash of the email to test a guess against', () => {
    const email = 'priya.raman@lumenforge.io';
    const signup = fromDirect({ email }, now);
    const id = workflowIdFor(signup, KEY);
    expect(id).toBe(`signup-p${keyedHash(KEY, `person:${email}`).slice(0, 24)}`);
    expect(id).not.toBe(`signup-p${sha256(`person:${email}`).slice(0, 24)}`);
    // The same person under another key: another id (changing PII_HASH_KEY renames person-only workflows).
    expect(workflowIdFor(signup, 'another-pii-hash-key')).not.toBe(id);
    expect(workflowIdFor(fromDirect({ email }, now), KEY)).toBe(id);
  });

  it('does not key organization ids: they are not personal data and stay readable', () => {
    const signup = parse(posthogSignup({ orgId: 'org-77' }));
    expect(workflowIdFor(signup, 'another-pii-hash-key')).toBe(workflowIdFor(signup, KEY));
  });

  it('hashes an organization id too long for a readable workflow id', () => {
    const long = '株'.repeat(86);
    const id = workflowIdFor(parse(posthogSignup({ orgId: long })), KEY);
    expect(id).toMatch(/^signup-o[0-9a-f]{24}$/);
    expect(workflowIdFor(parse(posthogSignup({ orgId: '株'.repeat(85) })), KEY)).toBe(`signup-${'株'.repeat(85)}`);
    // An organization id shaped like a hashed id is hashed too: it can never take another signup's workflow.
    expect(workflowIdFor(parse(posthogSignup({ orgId: `p${'0'.repeat(24)}` })), KEY)).toMatch(/^signup-o[0-9a-f]{24}$/);
  });
});

describe('dedupeKeyFor', () => {
  it('is the same for the same organization and person, whatever the event uuid', () => {
    const a = parse(posthogSignup({ orgId: 'org-1' }));
    const b = parse(posthogSignup({ orgId: 'org-1' }));
    expect(a.eventUuid).not.toBe(b.eventUuid);
    expect(dedupeKeyFor(a)).toBe(dedupeKeyFor(b));
    expect(dedupeKeyFor(parse(posthogSignup({ orgId: 'org-2' })))).not.toBe(dedupeKeyFor(a));
  });
});
