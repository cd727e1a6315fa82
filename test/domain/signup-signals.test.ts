import { describe, expect, it } from 'vitest';
import { isLikelyDeveloper, NO_SIGNALS, signupSignals } from '../../src/domain/signup-signals';

describe('signupSignals', () => {
  it('reads the event properties first, then $set / $set_once, then the person properties', () => {
    const signals = signupSignals({
      event: {
        properties: {
          signup_method: 'GitHub',
          $set: { newsletter_opt_in: 'true', $anon_distinct_id: 'from-set' },
          $set_once: { $initial_referring_domain: 'WWW.GitHub.com' },
        },
      },
      person: { properties: { $anon_distinct_id: 'from-person', newsletter_opt_in: false } },
    });
    expect(signals).toEqual({
      anonDistinctId: 'from-set',
      signupMethod: 'github',
      initialReferringDomain: 'www.github.com',
      newsletterOptIn: true,
    });
  });

  it('finds nothing in a payload that is not a PostHog delivery, or that was purged', () => {
    expect(signupSignals({ email: 'a@b.io' })).toEqual(NO_SIGNALS);
    expect(signupSignals({})).toEqual(NO_SIGNALS);
    expect(signupSignals(null)).toEqual(NO_SIGNALS);
    expect(signupSignals({ event: { properties: { newsletter_opt_in: 'yes', signup_method: '  ' } } })).toEqual(
      NO_SIGNALS,
    );
  });
});

describe('isLikelyDeveloper', () => {
  it('is true for the engineering role, whatever the title', () => {
    expect(isLikelyDeveloper({ role: 'engineering' }, NO_SIGNALS)).toBe(true);
  });

  it.each([
    'Senior Software Engineer',
    'Staff Developer',
    'DevOps Lead',
    'SRE',
    'Data Engineer',
    'CTO & co-founder',
    'Chief Technology Officer',
    'Full-stack dev',
    'Principal Architect',
  ])('is true for the title %s', (title) => {
    expect(isLikelyDeveloper({ personTitle: title, role: 'other' }, NO_SIGNALS)).toBe(true);
  });

  it.each([
    'Head of Marketing',
    'Account Executive',
    'VP Sales',
    'Product Manager',
    'Developmental Editor',
    'Redevelopment lead',
    'Business Dev Manager',
    'Software Sales Executive',
  ])('is false for the title %s (whole words only)', (title) => {
    expect(isLikelyDeveloper({ personTitle: title, role: 'marketing' }, NO_SIGNALS)).toBe(false);
  });

  it('is true for a developer-platform sign-in or first referrer', () => {
    expect(isLikelyDeveloper({}, { ...NO_SIGNALS, signupMethod: 'github' })).toBe(true);
    expect(isLikelyDeveloper({}, { ...NO_SIGNALS, signupMethod: 'gitlab_oauth' })).toBe(true);
    expect(isLikelyDeveloper({}, { ...NO_SIGNALS, initialReferringDomain: 'github.com' })).toBe(true);
    expect(isLikelyDeveloper({}, { ...NO_SIGNALS, initialReferringDomain: 'www.stackoverflow.com' })).toBe(true);
    expect(isLikelyDeveloper({}, { ...NO_SIGNALS, initialReferringDomain: 'docs.gitlab.com' })).toBe(true);
  });

  it('is false when nothing points to a developer, or nothing is known', () => {
    expect(isLikelyDeveloper({}, NO_SIGNALS)).toBe(false);
    expect(
      isLikelyDeveloper({}, { ...NO_SIGNALS, signupMethod: 'google', initialReferringDomain: 'notgithub.com' }),
    ).toBe(false);
    expect(
      isLikelyDeveloper({ role: 'sales', personTitle: 'Sales Director' }, { ...NO_SIGNALS, signupMethod: 'email' }),
    ).toBe(false);
  });
});
