import { describe, expect, it } from 'vitest';
import { dedupeKeyFor, fromDirect, fromPosthog, workflowIdFor } from '../../src/intake/normalize';
import { posthogWebhookSchema } from '../../src/intake/schemas';
import { posthogSignup } from '../helpers';

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
    expect(parse(posthogSignup({ email: null })).emailProblem).toBe('missing');
    expect(parse(posthogSignup({ email: 'not-an-email' })).emailProblem).toBe('invalid');
  });
});

describe('workflowIdFor', () => {
  it('uses the organization id', () => {
    expect(workflowIdFor(parse(posthogSignup({ orgId: 'org-77' })))).toBe('signup-org-77');
  });

  it('hashes the distinct id when there is no organization, and never contains the email', () => {
    const body = posthogSignup({ orgId: null, email: 'priya.raman@lumenforge.io' });
    const id = workflowIdFor(parse(body));
    expect(id).toMatch(/^signup-p[0-9a-f]{24}$/);
    expect(id).not.toContain('priya');
    const direct = workflowIdFor(fromDirect({ email: 'priya.raman@lumenforge.io' }, now));
    expect(direct).toMatch(/^signup-p[0-9a-f]{24}$/);
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
