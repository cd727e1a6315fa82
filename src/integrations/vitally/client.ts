import type { EnrichedSignup, WriteOutcome } from '../../domain/fan-out';
import { enrichmentProperties } from '../posthog/properties';
import { bodyMessage, destinationCall, type Fetch, type HttpAnswer } from '../http';

export interface VitallyClientOptions {
  /** REST host: live https://rest.vitally.io (EU: https://rest.vitally-eu.io). */
  baseUrl: string;
  apiKey: string;
  timeoutMs?: number;
  fetch?: Fetch;
}

/**
 * When Vitally's rate limit allows the next call: `RateLimit-Reset` (seconds until the window resets), else
 * `Retry-After`, else a minute.
 */
export function vitallyResetMs(headers: Headers): number {
  for (const name of ['ratelimit-reset', 'x-ratelimit-reset', 'retry-after']) {
    const value = Number(headers.get(name));
    if (headers.get(name) !== null && Number.isFinite(value)) {
      // Some APIs send an epoch timestamp instead of seconds: anything past a year is one.
      const ms = value > 31_536_000 ? value * 1000 - Date.now() : value * 1000;
      return Math.max(1000, ms);
    }
  }
  return 60_000;
}

function outcomeOf(a: HttpAnswer | { kind: 'transient'; detail: string }, what: string): WriteOutcome {
  if ('kind' in a) return a;
  const message = bodyMessage(a.body);
  if (a.status >= 200 && a.status < 300) return { kind: 'written', detail: what };
  if (a.status === 401 || a.status === 403) {
    return {
      kind: 'auth_failed',
      detail: `Vitally rejected the API key (HTTP ${a.status}${message ? `: ${message}` : ''})`,
    };
  }
  if (a.status === 429) {
    return { kind: 'rate_limited', retryAfterMs: vitallyResetMs(a.headers), detail: 'Vitally rate limit (429)' };
  }
  if (a.status >= 400 && a.status < 500) {
    return { kind: 'rejected', detail: `Vitally refused ${what} (HTTP ${a.status}${message ? `: ${message}` : ''})` };
  }
  return { kind: 'transient', detail: `Vitally unavailable (HTTP ${a.status})` };
}

/**
 * Vitally REST: the organization as an account (externalId = organization id) and the person as a user
 * (externalId = person key) linked to it, ICP fields as traits. Creating with an existing externalId updates it.
 */
export function createVitallyClient(o: VitallyClientOptions) {
  const post = (path: string, body: unknown) =>
    destinationCall(`${o.baseUrl}${path}`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${o.apiKey}:`).toString('base64')}` },
      body,
      timeoutMs: o.timeoutMs,
      fetch: o.fetch,
    });

  /** Only the organization's account traits (also after a re-enrichment of its company). */
  const writeAccount = async (s: EnrichedSignup): Promise<WriteOutcome> => {
    if (!s.organizationId) return { kind: 'written', detail: 'no organization: nothing to write to Vitally' };
    return outcomeOf(
      await post('/resources/accounts', {
        externalId: s.organizationId,
        name: s.organizationName ?? s.fields.companyName ?? s.organizationId,
        traits: enrichmentProperties(s, 'organization'),
      }),
      'the account',
    );
  };

  return {
    writeAccount,

    async writeEnrichment(s: EnrichedSignup): Promise<WriteOutcome> {
      const account = await writeAccount(s);
      if (!s.organizationId || account.kind !== 'written') return account;
      const user = outcomeOf(
        await post('/resources/users', {
          externalId: s.personKey,
          accountIds: [s.organizationId],
          ...(s.name ? { name: s.name } : {}),
          ...(s.email ? { email: s.email } : {}),
          traits: enrichmentProperties(s, 'person'),
        }),
        'the user',
      );
      return user.kind === 'written' ? { kind: 'written', detail: 'account and user' } : user;
    },
  };
}

export type VitallyClient = ReturnType<typeof createVitallyClient>;
