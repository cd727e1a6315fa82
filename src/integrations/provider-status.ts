import type { ProviderName, ProviderOutcome } from '../domain/provider-outcome';

/**
 * An HTTP status the provider's client does not model. A 4xx means the provider refuses this request, and asking
 * again sends the same one: `rejected`, permanent for the lookup, so the waterfall moves on instead of retrying it
 * forever. 408 (the provider's own request timeout) and 5xx are outages: `transient`, retried within the fall-through
 * window. Anything else (a 2xx or 3xx we do not expect) is transient too: retried, and bounded by the same window.
 */
export function unmodelledStatus(
  provider: ProviderName,
  status: number,
  error: { type: string | undefined; detail: string },
): ProviderOutcome {
  const detail = error.detail || `HTTP ${status}`;
  if (status >= 400 && status < 500 && status !== 408) {
    return { kind: 'rejected', provider, status, errorType: error.type, detail };
  }
  return { kind: 'transient', provider, status, detail };
}
