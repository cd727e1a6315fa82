import type { DeletionOutcome } from '../../domain/erasure';
import type { EnrichedSignup, WriteOutcome } from '../../domain/fan-out';
import type { SignupSignals } from '../../domain/signup-signals';
import { sha256 } from '../../hash';
import { writeOutcome, type DestinationWording } from '../destination-status';
import { bodyMessage, compact, destinationCall, retryAfterMs, type Fetch, type HttpAnswer } from '../http';
import { enrichmentProperties } from '../posthog/properties';

export interface MixpanelClientOptions {
  /** The ingestion host: https://api.mixpanel.com (EU residency: https://api-eu.mixpanel.com). */
  apiUrl: string;
  /** The project token: the `$token` of profile and group updates. */
  projectToken: string;
  /** The project's API secret: Basic auth of `/import` (the identifying event, or `$merge`). */
  apiSecret: string;
  /**
   * MIXPANEL_ID_MERGE, the project's ID management version: `simplified` (an event carrying both `$device_id` and
   * `$user_id`) or `original` (a `$merge` event, which does nothing in any other version).
   */
  idMerge: MixpanelIdMerge;
  timeoutMs?: number;
  fetch?: Fetch;
}

export type MixpanelIdMerge = 'simplified' | 'original';

/** The event that identifies the signup's anonymous browsing under Simplified ID Merge. */
export const IDENTIFY_EVENT = 'signed_up';

/** `$insert_id` of a signup's identifying event: the same on every retry, so Mixpanel keeps one ("36 chars max"). */
export const insertId = (signupId: string) => sha256(`mixpanel:${signupId}`).slice(0, 32);

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
 * The `/import` event that links the pre-signup anonymous id to the person key, per the project's ID merge version:
 * Simplified — an event with `$device_id` (the anonymous id) and `$user_id` (the person key): "If Mixpanel receives an
 * event with both $device_id and $user_id set, it will merge the two IDs together"; Original — `$merge` with both ids
 * and the project token.
 */
export function identityEvent(
  s: EnrichedSignup,
  anon: string,
  idMerge: MixpanelIdMerge,
  token: string,
): { event: string; properties: Record<string, unknown> } {
  if (idMerge === 'original') return { event: '$merge', properties: { $distinct_ids: [anon, s.personKey], token } };
  return {
    event: IDENTIFY_EVENT,
    properties: {
      token,
      distinct_id: s.personKey,
      $device_id: anon,
      $user_id: s.personKey,
      time: Date.parse(s.signedUpAt),
      $insert_id: insertId(s.signupId),
    },
  };
}

/**
 * Mixpanel: the person's profile (`/engage#profile-set`, `$distinct_id` = our person key) with the enrichment and the
 * company group key; the company's group profile (`/groups#group-set`); and the pre-signup anonymous id linked to the
 * identified one by an `/import` event (`identityEvent`). `ip=0` on profile updates: a server-side call must not
 * geolocate the person from our worker's address.
 */
export function createMixpanelClient(o: MixpanelClientOptions) {
  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    destinationCall(`${o.apiUrl}${path}`, { method: 'POST', headers, body, timeoutMs: o.timeoutMs, fetch: o.fetch });

  return {
    async writeEnrichment(s: EnrichedSignup, signals: SignupSignals): Promise<WriteOutcome> {
      const groupId = companyGroupId(s);
      const profile = updateOutcome(
        await post('/engage?verbose=1&ip=0', [
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
          await post('/groups?verbose=1&ip=0', [
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
        const original = o.idMerge === 'original';
        const linked = writeOutcome(
          await post('/import?strict=1', [identityEvent(s, anon, o.idMerge, o.projectToken)], {
            authorization: `Basic ${Buffer.from(`${o.apiSecret}:`).toString('base64')}`,
          }),
          original ? 'the $merge of the anonymous id' : `the ${IDENTIFY_EVENT} event linking the anonymous id`,
          MIXPANEL,
        );
        if (linked.kind !== 'written') return linked;
        // Mixpanel answers an import, not a merge: say what was sent, not that the profiles are now one.
        written.push(
          original
            ? '$merge of the anonymous id sent (original ID merge)'
            : `${IDENTIFY_EVENT} sent with $device_id and $user_id (simplified ID merge)`,
        );
      }
      return { kind: 'written', detail: written.join(', ') };
    },

    /** The profile (`/engage#profile-delete`); the events stay, for Mixpanel's GDPR deletion requests. */
    async deletePerson(personKey: string): Promise<DeletionOutcome> {
      const outcome = updateOutcome(
        await post('/engage?verbose=1&ip=0', [
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
