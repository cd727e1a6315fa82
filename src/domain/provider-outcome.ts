import type { IcpFields } from './icp/fields';

export const COMPANY_PROVIDERS = ['clearbit', 'harmonic', 'clay'] as const;
export type ProviderName = (typeof COMPANY_PROVIDERS)[number];

/**
 * What a provider call means, whatever its wire format (DESIGN.md 2, principle 3). Not-found is data, not an error;
 * a quota problem is never recorded as "no data".
 */
export type ProviderOutcome =
  | { kind: 'found'; provider: ProviderName; fields: IcpFields; raw: unknown }
  | { kind: 'not_found'; provider: ProviderName }
  /**
   * The provider is computing it; `pollToken` (Harmonic's enrichment urn) asks for it later. `reaskOnce`: no token and
   * nothing to poll (Harmonic's 201 without the entity) — asked once more after `retryAfterMs`, then not found.
   */
  | {
      kind: 'queued';
      provider: ProviderName;
      pollToken: string | undefined;
      retryAfterMs: number | undefined;
      reaskOnce?: true;
    }
  | { kind: 'rate_limited'; provider: ProviderName; retryAfterMs: number }
  | { kind: 'credits_exhausted'; provider: ProviderName; detail: string }
  | { kind: 'auth_failed'; provider: ProviderName; status: number; detail: string }
  /**
   * A 4xx we do not model (400, 410, 422, ...): the provider refuses this lookup, and asking again sends the same
   * request. Permanent for the lookup: the waterfall moves on. `errorType` is the provider's own (Clearbit
   * `email_invalid`, a FastAPI validation `type` from Harmonic), when its body names one.
   */
  | { kind: 'rejected'; provider: ProviderName; status: number; errorType: string | undefined; detail: string }
  | { kind: 'transient'; provider: ProviderName; status: number | undefined; detail: string };
