import type { DeletionOutcome } from '../../domain/erasure';
import type { EnrichedSignup, WriteOutcome } from '../../domain/fan-out';
import type { SignupSignals } from '../../domain/signup-signals';
import { sha256 } from '../../hash';
import { writeOutcome, type DestinationWording } from '../destination-status';
import { bodyMessage, compact, destinationCall, retryAfterMs, type Fetch, type HttpAnswer } from '../http';
import { enrichmentProperties } from '../posthog/properties';

/**
 * A service account of the project (Mixpanel's recommended authentication): `/import` wants an Owner or Admin one,
 * its user name and secret as Basic auth and the project's id as the `project_id` query parameter.
 */
export interface MixpanelServiceAccount {
  username: string;
  secret: string;
  projectId: string;
}

/** How `/import` (the identifying event, or `$merge`) is authenticated: a service account, else the API secret. */
export type MixpanelImportAuth =
  { serviceAccount: MixpanelServiceAccount; apiSecret?: undefined } | { serviceAccount?: undefined; apiSecret: string };

export type MixpanelClientOptions = MixpanelImportAuth & {
  /** The ingestion host: https://api.mixpanel.com (EU residency: https://api-eu.mixpanel.com). */
  apiUrl: string;
  /** The project token: the `$token` of profile and group updates. */
  projectToken: string;
  /**
   * MIXPANEL_ID_MERGE, the project's ID management version: `simplified` (an event carrying both `$device_id` and
   * `$user_id`) or `original` (a `$merge` event, which does nothing in any other version).
   */
  idMerge: MixpanelIdMerge;
  timeoutMs?: number;
  fetch?: Fetch;
};

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

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

/**
 * The path and Basic auth of `/import`: with a service account, `project_id` and `user:secret` ("If you do not specify
 * project_id, we will use secret auth"); else the API secret as user name and an empty password.
 */
export function importRequest(auth: MixpanelImportAuth): { path: string; authorization: string } {
  if (auth.serviceAccount) {
    const { username, secret, projectId } = auth.serviceAccount;
    return {
      path: `/import?strict=1&project_id=${encodeURIComponent(projectId)}`,
      authorization: basic(username, secret),
    };
  }
  return { path: '/import?strict=1', authorization: basic(auth.apiSecret, '') };
}

/**
 * Mixpanel's application API (`/api/app`, where a service account's `GET /api/app/me` reads who it is) for an
 * ingestion host: api.mixpanel.com → mixpanel.com, api-eu → eu.mixpanel.com, api-in → in.mixpanel.com. Any other host
 * (the sandbox, a proxy) serves both under the same base.
 */
export function appApiUrl(apiUrl: string): string {
  const url = new URL(apiUrl);
  const region = /^api(?:-(eu|in))?\.mixpanel\.com$/.exec(url.hostname);
  if (!region) return `${apiUrl.replace(/\/+$/, '')}/api/app`;
  return `${url.protocol}//${region[1] ? `${region[1]}.` : ''}mixpanel.com/api/app`;
}

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
  const imports = importRequest(o);
  /**
   * `/import` answers a refused credential with 401 (never 403): with a service account that is also a wrong or
   * missing project id, or a role below Admin. The detail names the variables to check, never their values.
   */
  const importOutcome = (a: Answer, what: string): WriteOutcome => {
    const outcome = writeOutcome(a, what, MIXPANEL);
    if (outcome.kind !== 'auth_failed' || 'kind' in a) return outcome;
    const said = bodyMessage(a.body);
    const because = `HTTP ${a.status}${said ? `: ${said}` : ''}`;
    return {
      kind: 'auth_failed',
      detail: o.serviceAccount
        ? `Mixpanel rejected the service account for project ${o.serviceAccount.projectId} (${because}): check ` +
          'MIXPANEL_SERVICE_ACCOUNT_USERNAME, MIXPANEL_SERVICE_ACCOUNT_SECRET, MIXPANEL_PROJECT_ID and that the ' +
          'account is an Owner or Admin of the project'
        : `Mixpanel rejected the API secret (${because}): check MIXPANEL_API_SECRET`,
    };
  };

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
        const linked = importOutcome(
          await post(imports.path, [identityEvent(s, anon, o.idMerge, o.projectToken)], {
            authorization: imports.authorization,
          }),
          original ? 'the $merge of the anonymous id' : `the ${IDENTIFY_EVENT} event linking the anonymous id`,
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
