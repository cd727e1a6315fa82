import type { DeletionOutcome } from '../../domain/erasure';
import type { EnrichedSignup, WriteOutcome } from '../../domain/fan-out';
import { enrichmentProperties } from '../posthog/properties';
import { writeOutcome, type DestinationWording } from '../destination-status';
import { bodyMessage, destinationCall, pathSegment, type Fetch, type HttpAnswer } from '../http';

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

const VITALLY: DestinationWording = {
  system: 'Vitally',
  refused: (what) => what,
  message: bodyMessage,
  retryAfterMs: vitallyResetMs,
};

const outcomeOf = (a: HttpAnswer | { kind: 'transient'; detail: string }, what: string): WriteOutcome =>
  writeOutcome(a, what, VITALLY);

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

  /** The organization's account (its traits) and Vitally's id for it, from the answer. */
  const upsertAccount = async (s: EnrichedSignup, organizationId: string) => {
    const answer = await post('/resources/accounts', {
      externalId: organizationId,
      name: s.organizationName ?? s.fields.companyName ?? organizationId,
      traits: enrichmentProperties(s, 'organization'),
    });
    const body = 'kind' in answer ? undefined : (answer.body as { id?: unknown } | undefined);
    return { outcome: outcomeOf(answer, 'the account'), vitallyId: typeof body?.id === 'string' ? body.id : undefined };
  };

  /** Only the organization's account traits (also after a re-enrichment of its company). */
  const writeAccount = async (s: EnrichedSignup): Promise<WriteOutcome> => {
    if (!s.organizationId) return { kind: 'written', detail: 'no organization: nothing to write to Vitally' };
    return (await upsertAccount(s, s.organizationId)).outcome;
  };

  return {
    writeAccount,

    /** Deletes the user with this externalId (erasure); the organization's account stays. */
    async deleteUser(externalId: string): Promise<DeletionOutcome> {
      const a = await destinationCall(`${o.baseUrl}/resources/users/${pathSegment(externalId)}`, {
        method: 'DELETE',
        headers: { authorization: `Basic ${Buffer.from(`${o.apiKey}:`).toString('base64')}` },
        timeoutMs: o.timeoutMs,
        fetch: o.fetch,
      });
      if ('kind' in a) return { kind: 'failed', detail: a.detail };
      if (a.status === 404) return { kind: 'not_found', detail: 'no Vitally user with that externalId' };
      if (a.status >= 200 && a.status < 300) return { kind: 'deleted', detail: 'Vitally user deleted' };
      const message = bodyMessage(a.body);
      return { kind: 'failed', detail: `Vitally answered ${a.status}${message ? `: ${message}` : ''}` };
    },

    async writeEnrichment(s: EnrichedSignup): Promise<WriteOutcome> {
      if (!s.organizationId) return writeAccount(s);
      const account = await upsertAccount(s, s.organizationId);
      if (account.outcome.kind !== 'written') return account.outcome;
      // The user joins the account by the id Vitally gave it ("Account IDs assigned by Vitally"), never by an
      // organization id from input, which could equal another account's Vitally id.
      if (!account.vitallyId) return { kind: 'transient', detail: 'Vitally answered the account without its id' };
      const user = outcomeOf(
        await post('/resources/users', {
          externalId: s.personKey,
          accountIds: [account.vitallyId],
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
