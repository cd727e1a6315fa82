import type { z } from 'zod';
import type { ProviderName, ProviderOutcome } from '../domain/provider-outcome';
import type { HttpAnswer } from './http';

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

/**
 * A lookup's answer read as its payload, in the order every provider client checks it: the call's own outcome (network
 * failure, timeout), then the outcome the status means (`statusOutcome` answers undefined for a payload), then the
 * body against `schema`. A body that does not match is `transient`, like an answer the client does not model: retried,
 * bounded by the fall-through window, never taken for "not found".
 */
export function readPayload<T>(
  provider: ProviderName,
  answer: HttpAnswer | ProviderOutcome,
  statusOutcome: (a: HttpAnswer) => ProviderOutcome | undefined,
  schema: z.ZodType<T>,
  what: string,
): { ok: true; data: T; body: unknown } | { ok: false; outcome: ProviderOutcome } {
  if ('kind' in answer) return { ok: false, outcome: answer };
  const outcome = statusOutcome(answer);
  if (outcome) return { ok: false, outcome };
  const parsed = schema.safeParse(answer.body);
  if (!parsed.success) {
    return { ok: false, outcome: { kind: 'transient', provider, status: 200, detail: `unexpected ${what} payload` } };
  }
  return { ok: true, data: parsed.data, body: answer.body };
}
