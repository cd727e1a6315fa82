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
  /**
   * VITALLY_ACCOUNTS=salesforce_sync: Vitally's Salesforce integration owns the accounts (created from Salesforce
   * Accounts): we never create or update one, and link users to the account the sync made from the company's
   * Salesforce Account, looked up by the externalId the sync gave it (`accountKey`, VITALLY_SYNC_ACCOUNT_KEY).
   * `salesforceAccountId` (found by the company domain) is only read for `salesforce_id`.
   */
  salesforceSync?: {
    accountKey: VitallySyncAccountKey;
    salesforceAccountId: (domain: string) => Promise<{ id: string | undefined } | WriteOutcome>;
  };
}

/**
 * VITALLY_SYNC_ACCOUNT_KEY: which Salesforce Account field the admin picked as the account's primary id when setting
 * up Vitally's Salesforce account sync — what the synced account's externalId holds. `domain`: our Account external
 * id field (SALESFORCE_ACCOUNT_EXTERNAL_ID_FIELD, the company domain); `salesforce_id`: the Account's own `Id`;
 * `organization_id`: a field holding the product's organization id (filled by the team, not by our writes).
 */
export type VitallySyncAccountKey = 'domain' | 'salesforce_id' | 'organization_id';

/** The value a synced account's externalId has for this signup under `key`, if the signup has one. */
export function syncAccountKeyValue(key: VitallySyncAccountKey, s: EnrichedSignup): string | undefined {
  return key === 'organization_id' ? s.organizationId : s.domain;
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

/** What `writeAccount` says in VITALLY_ACCOUNTS=salesforce_sync mode. */
export const SYNCED_ACCOUNTS =
  'Vitally accounts come from its Salesforce sync (VITALLY_ACCOUNTS=salesforce_sync): none written';

/**
 * Vitally REST: the organization as an account (externalId = organization id) and the person as a user
 * (externalId = person key) linked to it, ICP fields as traits. Creating with an existing externalId updates it.
 */
export function createVitallyClient(o: VitallyClientOptions) {
  const authorization = `Basic ${Buffer.from(`${o.apiKey}:`).toString('base64')}`;
  const post = (path: string, body: unknown) =>
    destinationCall(`${o.baseUrl}${path}`, {
      method: 'POST',
      headers: { authorization },
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
    if (o.salesforceSync) return { kind: 'written', detail: SYNCED_ACCOUNTS };
    if (!s.organizationId) return { kind: 'written', detail: 'no organization: nothing to write to Vitally' };
    return (await upsertAccount(s, s.organizationId)).outcome;
  };

  const upsertUser = async (s: EnrichedSignup, vitallyAccountId: string): Promise<WriteOutcome> =>
    outcomeOf(
      await post('/resources/users', {
        externalId: s.personKey,
        accountIds: [vitallyAccountId],
        ...(s.name ? { name: s.name } : {}),
        ...(s.email ? { email: s.email } : {}),
        traits: enrichmentProperties(s, 'person'),
      }),
      'the user',
    );

  /**
   * The user alone, in the account Vitally's Salesforce sync made from the company's Account, found by the externalId
   * the sync gave it (`GET /resources/accounts/:id` takes an externalId). Until the sync has brought the account over
   * (our Salesforce write runs beside this one), the write is retried (transient): creating the account ourselves would
   * be the second account per company this mode prevents.
   */
  const writeSyncedUser = async (
    s: EnrichedSignup,
    sync: NonNullable<VitallyClientOptions['salesforceSync']>,
  ): Promise<WriteOutcome> => {
    const value = syncAccountKeyValue(sync.accountKey, s);
    if (!value) {
      const missing = sync.accountKey === 'organization_id' ? 'no organization id' : 'no company domain';
      return { kind: 'written', detail: `${missing}: no synced account to join (${SYNCED_ACCOUNTS})` };
    }
    let externalId = value;
    let what = sync.accountKey === 'organization_id' ? `organization ${value}` : value;
    if (sync.accountKey === 'salesforce_id') {
      const sf = await sync.salesforceAccountId(value);
      if ('kind' in sf) return sf;
      if (!sf.id) {
        return {
          kind: 'transient',
          detail: `no Salesforce Account for ${value} yet: Vitally's sync has nothing to bring`,
        };
      }
      externalId = sf.id;
      what = `Salesforce Account ${sf.id}`;
    }
    const a = await destinationCall(`${o.baseUrl}/resources/accounts/${pathSegment(externalId)}`, {
      method: 'GET',
      headers: { authorization },
      timeoutMs: o.timeoutMs,
      fetch: o.fetch,
    });
    if (!('kind' in a) && a.status === 404) {
      return {
        kind: 'transient',
        detail: `Vitally has no account for ${what} yet: waiting for the Salesforce → Vitally sync`,
      };
    }
    const found = outcomeOf(a, 'the account lookup');
    if (found.kind !== 'written') return found;
    const id = 'kind' in a ? undefined : (a.body as { id?: unknown } | undefined)?.id;
    if (typeof id !== 'string') return { kind: 'transient', detail: 'Vitally answered the account without its id' };
    const user = await upsertUser(s, id);
    return user.kind === 'written' ? { kind: 'written', detail: `user, in the account synced for ${what}` } : user;
  };

  return {
    writeAccount,
    accounts: o.salesforceSync ? ('salesforce_sync' as const) : ('direct' as const),
    syncAccountKey: o.salesforceSync?.accountKey,

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
      if (o.salesforceSync) return writeSyncedUser(s, o.salesforceSync);
      if (!s.organizationId) return writeAccount(s);
      const account = await upsertAccount(s, s.organizationId);
      if (account.outcome.kind !== 'written') return account.outcome;
      // The user joins the account by the id Vitally gave it ("Account IDs assigned by Vitally"), never by an
      // organization id from input, which could equal another account's Vitally id.
      if (!account.vitallyId) return { kind: 'transient', detail: 'Vitally answered the account without its id' };
      const user = await upsertUser(s, account.vitallyId);
      return user.kind === 'written' ? { kind: 'written', detail: 'account and user' } : user;
    },
  };
}

export type VitallyClient = ReturnType<typeof createVitallyClient>;
