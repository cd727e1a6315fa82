import type { ProviderOutcome } from '../../domain/provider-outcome';
import { bodyMessage, providerCall, retryAfterMs, type Fetch, type HttpAnswer } from '../http';
import { readPayload, unmodelledStatus } from '../provider-status';
import { companyFields, personFields } from './mapping';
import { clearbitCombinedSchema, clearbitCompanySchema, clearbitErrorSchema } from './schemas';

export interface ClearbitClientOptions {
  /** Company API host (live: https://company.clearbit.com). */
  companyBaseUrl: string;
  /** Person/Combined API host (live: https://person.clearbit.com). */
  personBaseUrl: string;
  apiKey: string;
  timeoutMs?: number;
  fetch?: Fetch;
}

const provider = 'clearbit' as const;

/**
 * Clearbit Enrichment API v2. Outcomes: 200 found, 202 queued (looked up in the background: ask again later),
 * 404 not found, 402 over quota, 429 throttled (600/min), 401 bad key; any other 4xx (422 `params_invalid` or
 * `email_invalid`, ...) rejects the lookup for good, with Clearbit's error type; 5xx and timeouts are transient.
 */
export function createClearbitClient(o: ClearbitClientOptions) {
  const call = (url: string) =>
    providerCall(provider, url, {
      headers: { authorization: `Bearer ${o.apiKey}` },
      timeoutMs: o.timeoutMs,
      fetch: o.fetch,
    });

  const common = (a: HttpAnswer): ProviderOutcome | undefined => {
    switch (a.status) {
      case 202:
        return { kind: 'queued', provider, pollToken: undefined, retryAfterMs: retryAfterMs(a.headers, 60_000) };
      case 404:
        return { kind: 'not_found', provider };
      case 402:
        return { kind: 'credits_exhausted', provider, detail: bodyMessage(a.body) || 'over quota (402)' };
      case 429:
        return { kind: 'rate_limited', provider, retryAfterMs: retryAfterMs(a.headers, 1_000) };
      case 401:
      case 403:
        return { kind: 'auth_failed', provider, status: a.status, detail: bodyMessage(a.body) || 'API key rejected' };
      default: {
        if (a.status === 200) return undefined;
        const error = clearbitErrorSchema.safeParse(a.body);
        return unmodelledStatus(provider, a.status, {
          type: error.success ? error.data.error.type : undefined,
          detail: bodyMessage(a.body),
        });
      }
    }
  };

  return {
    async findCompany(domain: string): Promise<ProviderOutcome> {
      const a = await call(`${o.companyBaseUrl}/v2/companies/find?domain=${encodeURIComponent(domain)}`);
      const read = readPayload(provider, a, common, clearbitCompanySchema, 'company');
      if (!read.ok) return read.outcome;
      return { kind: 'found', provider, fields: companyFields(read.data), raw: read.body };
    },

    /** Person and company by email in one call (Combined API). */
    async findPerson(email: string): Promise<ProviderOutcome> {
      const a = await call(`${o.personBaseUrl}/v2/combined/find?email=${encodeURIComponent(email)}`);
      const read = readPayload(provider, a, common, clearbitCombinedSchema, 'combined');
      if (!read.ok) return read.outcome;
      const { person, company } = read.data;
      if (!person && !company) return { kind: 'not_found', provider };
      const fields = { ...(company ? companyFields(company) : {}), ...(person ? personFields(person) : {}) };
      return { kind: 'found', provider, fields, raw: read.body };
    },
  };
}

export type ClearbitClient = ReturnType<typeof createClearbitClient>;
