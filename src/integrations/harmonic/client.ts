import type { ProviderOutcome } from '../../domain/provider-outcome';
import { bodyMessage, providerCall, retryAfterMs, type Fetch, type HttpAnswer } from '../http';
import { readPayload, unmodelledStatus } from '../provider-status';
import { companyFields, personFields } from './mapping';
import {
  harmonicCodedErrorSchema,
  harmonicCompanySchema,
  harmonicEnrichmentStatusSchema,
  harmonicEnrichmentUrnSchema,
  harmonicPersonSchema,
  harmonicValidationErrorSchema,
} from './schemas';

export interface HarmonicClientOptions {
  baseUrl: string;
  apiKey: string;
  timeoutMs?: number;
  fetch?: Fetch;
}

export type EnrichmentState = 'pending' | 'complete' | 'not_found';

const provider = 'harmonic' as const;

/** When a 201 without entity or urn is asked once more: Harmonic says to "check back in few hours". */
export const HARMONIC_REASK_AFTER_MS = 3 * 60 * 60 * 1000;

/**
 * Harmonic REST API. 200 found; 404 with an `enrichment_urn` = not known yet, enrichment scheduled (poll
 * `GET /enrichment_status`); 404 without one = not found; 402 over the plan's quota; 429 over 10 requests/s — except
 * a `MONTHLY_QUOTA_INSUFFICIENT` body, which is a quota problem, not a throttle; 401/403 bad key. Any other 4xx
 * (400 missing identifier, 422 validation error, ...) rejects the lookup for good; 5xx and timeouts are transient.
 * 201 ("enrichment triggered" for an entity it knows) is found when the entity came with it, else queued: polled by
 * its enrichment urn if the body has one, else asked once more after HARMONIC_REASK_AFTER_MS.
 */
export function createHarmonicClient(o: HarmonicClientOptions) {
  const call = (method: string, path: string) =>
    providerCall(provider, `${o.baseUrl}${path}`, {
      method,
      headers: { apikey: o.apiKey },
      timeoutMs: o.timeoutMs,
      fetch: o.fetch,
    });

  const common = (a: HttpAnswer): ProviderOutcome | undefined => {
    if (a.status === 200) return undefined;
    // "201 Enrichment Triggered": Harmonic knows the entity and refreshes it ("check back in few hours"). With the
    // entity in the body it is data; with an enrichment urn, polled like a 404's; with neither (its docs show no
    // body), nothing to poll: asked once more after a few hours, then not found — never re-POSTed every follow-up.
    if (a.status === 201) {
      if (entityBody(a.body)) return undefined;
      const urn = harmonicEnrichmentUrnSchema.safeParse(a.body);
      return urn.success
        ? { kind: 'queued', provider, pollToken: urn.data, retryAfterMs: undefined }
        : { kind: 'queued', provider, pollToken: undefined, retryAfterMs: HARMONIC_REASK_AFTER_MS, reaskOnce: true };
    }
    if (a.status === 404) {
      const scheduled = harmonicEnrichmentUrnSchema.safeParse(a.body);
      return scheduled.success
        ? { kind: 'queued', provider, pollToken: scheduled.data, retryAfterMs: undefined }
        : { kind: 'not_found', provider };
    }
    if (a.status === 402) {
      return { kind: 'credits_exhausted', provider, detail: bodyMessage(a.body) || 'plan quota exhausted (402)' };
    }
    if (a.status === 429) {
      return JSON.stringify(a.body ?? '').includes('MONTHLY_QUOTA_INSUFFICIENT')
        ? { kind: 'credits_exhausted', provider, detail: 'MONTHLY_QUOTA_INSUFFICIENT' }
        : { kind: 'rate_limited', provider, retryAfterMs: retryAfterMs(a.headers, 1_000) };
    }
    if (a.status === 401 || a.status === 403) {
      return { kind: 'auth_failed', provider, status: a.status, detail: bodyMessage(a.body) || 'API key rejected' };
    }
    return unmodelledStatus(provider, a.status, harmonicError(a.body));
  };

  return {
    async enrichCompany(domain: string): Promise<ProviderOutcome> {
      const a = await call('POST', `/companies?website_domain=${encodeURIComponent(domain)}`);
      const read = readPayload(provider, a, common, harmonicCompanySchema, 'company');
      if (!read.ok) return read.outcome;
      return { kind: 'found', provider, fields: companyFields(read.data), raw: read.body };
    },

    async enrichPerson(email: string): Promise<ProviderOutcome> {
      const a = await call('POST', `/persons?email=${encodeURIComponent(email)}`);
      const read = readPayload(provider, a, common, harmonicPersonSchema, 'person');
      if (!read.ok) return read.outcome;
      return { kind: 'found', provider, fields: personFields(read.data), raw: read.body };
    },

    /** Where scheduled enrichments stand; an error outcome when the status call itself fails. */
    async enrichmentStatus(urns: string[]): Promise<Record<string, EnrichmentState> | ProviderOutcome> {
      const a = await call('GET', `/enrichment_status?${urns.map((u) => `urns=${encodeURIComponent(u)}`).join('&')}`);
      const read = readPayload(provider, a, common, harmonicEnrichmentStatusSchema, 'enrichment status');
      if (!read.ok) return read.outcome;
      return Object.fromEntries(
        read.data.map((s) => {
          const status = s.status.toUpperCase();
          const state: EnrichmentState =
            status === 'COMPLETE' || status === 'COMPLETED' || status === 'ENRICHED'
              ? 'complete'
              : status === 'NOT_FOUND' || status === 'FAILED'
                ? 'not_found'
                : 'pending';
          return [(s.entity_urn ?? s.urn) as string, state];
        }),
      );
    },
  };
}

export type HarmonicClient = ReturnType<typeof createHarmonicClient>;

/** The error type and message of a Harmonic error body: a FastAPI validation list, a coded error, or a `detail`. */
function harmonicError(body: unknown): { type: string | undefined; detail: string } {
  const validation = harmonicValidationErrorSchema.safeParse(body);
  if (validation.success) {
    const first = validation.data.detail[0]!;
    const where = first.loc?.join('.');
    return { type: first.type, detail: [where, first.msg].filter(Boolean).join(': ') };
  }
  const coded = harmonicCodedErrorSchema.safeParse(body);
  return { type: coded.success ? coded.data.error : undefined, detail: bodyMessage(body) };
}

/** Whether a body is an entity (a company or person object with its urn), not an error or an acknowledgement. */
function entityBody(body: unknown): boolean {
  return typeof body === 'object' && body !== null && typeof (body as { entity_urn?: unknown }).entity_urn === 'string';
}
