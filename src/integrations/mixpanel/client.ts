import type { DeletionOutcome } from '../../domain/erasure';
import type { EnrichedSignup, WriteOutcome } from '../../domain/fan-out';
import type { SignupSignals } from '../../domain/signup-signals';
import { writeOutcome, type DestinationWording } from '../destination-status';
import { bodyMessage, compact, destinationCall, retryAfterMs, type Fetch, type HttpAnswer } from '../http';
import { enrichmentProperties } from '../posthog/properties';

export interface MixpanelClientOptions {
  /** The ingestion host: https://api.mixpanel.com (EU residency: https://api-eu.mixpanel.com). */
  apiUrl: string;
  /** The project token: the `$token` of profile and group updates. */
  projectToken: string;
  /** The project's API secret: Basic auth of `/import`, the only endpoint that accepts `$merge`. */
  apiSecret: string;
  timeoutMs?: number;
  fetch?: Fetch;
}

/** The group key of the company group profile (set up in the project's Group Analytics as `company`). */
export const MIXPANEL_GROUP_KEY = 'company';

const MIXPANEL: DestinationWording = {
  system: 'Mixpanel',
  refused: (what) => what,
  message: bodyMessage,
  retryAfterMs: (headers) => retryAfterMs(headers, 10_000),
};

type Answer = HttpAnswer | { kind: 'transient'; detail: string };

/**
 * `/engage` and `/groups` answer 200 for a refused update too: with `verbose=1` the body is `{ status: 0, error }`.
 * That is a refusal of what was sent, except a token Mixpanel does not know, which an operator must fix.
 */
function updateOutcome(a: Answer, what: string): WriteOutcome {
  if (!('kind' in a) && a.status === 200) {
    const body = a.body as { status?: unknown; error?: unknown } | number | undefined;
    const status = typeof body === 'object' ? body.status : body;
    if (status !== 1) {
      const error = typeof body === 'object' && typeof body.error === 'string' ? body.error.slice(0, 200) : '';
      return /token/i.test(error)
        ? { kind: 'auth_failed', detail: `Mixpanel rejected the project token${error ? `: ${error}` : ''}` }
        : { kind: 'rejected', detail: `Mixpanel refused ${what}${error ? `: ${error}` : ''}` };
    }
  }
  return writeOutcome(a, what, MIXPANEL);
}

/** The company group profile's id: the work-email domain, else the organization id. */
export const companyGroupId = (s: EnrichedSignup): string | undefined => s.domain ?? s.organizationId;

/**
 * Mixpanel: the person's profile (`/engage#profile-set`, `$distinct_id` = our person key) with the enrichment and the
 * company group key; the company's group profile (`/groups#group-set`); and the pre-signup anonymous id merged into
 * the identified one with a `$merge` event sent to `/import` (Mixpanel accepts `$merge` nowhere else).
 */
export function createMixpanelClient(o: MixpanelClientOptions) {
  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    destinationCall(`${o.apiUrl}${path}`, { method: 'POST', headers, body, timeoutMs: o.timeoutMs, fetch: o.fetch });

  return {
    async writeEnrichment(s: EnrichedSignup, signals: SignupSignals): Promise<WriteOutcome> {
      const groupId = companyGroupId(s);
      const profile = updateOutcome(
        await post('/engage?verbose=1', [
          {
            $token: o.projectToken,
            $distinct_id: s.personKey,
            $set: compact({
              ...enrichmentProperties(s, 'person'),
              $email: s.email,
              $name: s.name,
              $created: s.signedUpAt,
              [MIXPANEL_GROUP_KEY]: groupId === undefined ? undefined : [groupId],
            }),
          },
        ]),
        'the profile',
      );
      if (profile.kind !== 'written') return profile;
      const written = ['profile'];

      if (groupId !== undefined) {
        const group = updateOutcome(
          await post('/groups?verbose=1', [
            {
              $token: o.projectToken,
              $group_key: MIXPANEL_GROUP_KEY,
              $group_id: groupId,
              $set: compact({
                ...enrichmentProperties(s, 'organization'),
                $name: s.fields.companyName ?? s.organizationName,
                organization_id: s.organizationId,
              }),
            },
          ]),
          'the company group profile',
        );
        if (group.kind !== 'written') return group;
        written.push('company group');
      }

      const anon = signals.anonDistinctId;
      if (anon !== undefined && anon !== s.personKey) {
        const merge = writeOutcome(
          await post('/import?strict=1', [{ event: '$merge', properties: { $distinct_ids: [anon, s.personKey] } }], {
            authorization: `Basic ${Buffer.from(`${o.apiSecret}:`).toString('base64')}`,
          }),
          'the $merge of the anonymous id',
          MIXPANEL,
        );
        if (merge.kind !== 'written') return merge;
        written.push('anonymous id merged');
      }
      return { kind: 'written', detail: written.join(', ') };
    },

    /** The profile (`/engage#profile-delete`); the events stay, for Mixpanel's GDPR deletion requests. */
    async deletePerson(personKey: string): Promise<DeletionOutcome> {
      const outcome = updateOutcome(
        await post('/engage?verbose=1', [
          { $token: o.projectToken, $distinct_id: personKey, $delete: null, $ignore_alias: false },
        ]),
        'the profile deletion',
      );
      return outcome.kind === 'written'
        ? { kind: 'deleted', detail: 'Mixpanel profile deleted' }
        : { kind: 'failed', detail: outcome.detail };
    },
  };
}

export type MixpanelClient = ReturnType<typeof createMixpanelClient>;
