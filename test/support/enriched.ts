import type { EnrichedSignup } from '../../src/domain/fan-out';

/**
 * An enriched signup as the write activities hand it to a destination client: Ada Quillon of Quorvalis, scored tier A
 * (86). A test gives what it is about (`fields`, `provenance`, the score's `points`, an odd `personKey`) as overrides.
 */
export function enrichedSignupFixture(
  overrides: Partial<Omit<EnrichedSignup, 'score'>> & { points?: Record<string, number> } = {},
): EnrichedSignup {
  const { points = {}, ...rest } = overrides;
  return {
    signupId: '0b6f4a52-8a0e-4f0e-9b43-0d1f3f1c2a11',
    personKey: 'distinct-42',
    distinctId: 'distinct-42',
    email: 'ada.quillon@quorvalis.com',
    name: 'Ada Quillon',
    emailKind: 'work',
    domain: 'quorvalis.com',
    organizationId: 'org-7',
    organizationName: 'Quorvalis',
    signedUpAt: '2026-11-24T08:00:00.000Z',
    status: 'enriched',
    reason: undefined,
    fields: {},
    provenance: {},
    score: {
      status: 'scored',
      score: 86,
      tier: 'A',
      points,
      missingFields: [],
      reason: undefined,
      configVersion: '2026-11-01',
      inputHash: 'h',
    },
    enrichedAt: '2026-11-24T08:00:02.000Z',
    ...rest,
  };
}
