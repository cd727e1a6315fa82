import type { EnrichedSignup } from '../../domain/fan-out';
import { sha256 } from '../../hash';
import { enrichmentProperties } from '../posthog/properties';

/** The PostHog project the payload names (`project` of PostHog's webhook payload) and links into. */
export interface PosthogProjectRef {
  id: number;
  name: string;
  /** `https://us.posthog.com/project/<id>`: the event, person and group links are below it. */
  url: string;
}

/**
 * PostHog's webhook destination payload (the globals its destinations are given): what Humanic, and any consumer of a
 * PostHog webhook destination, reads.
 */
export interface PosthogWebhookPayload {
  event: {
    uuid: string;
    event: string;
    distinct_id: string;
    properties: Record<string, unknown>;
    elements_chain: string;
    timestamp: string;
    url: string;
  };
  person: { id: string; properties: Record<string, unknown>; name: string; url: string } | null;
  groups: Record<string, { id: string; type: string; index: number; url: string; properties: Record<string, unknown> }>;
  project: { id: number; name: string; url: string };
}

/** The event name of a signup that did not come from PostHog (the first of PostHog's own signup events). */
export const SYNTHESIZED_EVENT = 'user_signed_up';

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** A uuid-shaped id derived from a string: the same signup gives the same `event.uuid` on every retry and re-run. */
export function stableUuid(seed: string): string {
  const h = sha256(seed);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/**
 * The signup as PostHog's webhook destination would have sent it, enriched: the original event when the signup came
 * from PostHog and its payload is still kept (`original`), else one synthesized from the ledger (`user_signed_up`,
 * `event.uuid` derived from the signup id); `person.properties` and `groups.organization.properties` carry the
 * enrichment properties (`enrichment_*`, as written to PostHog) over what PostHog had.
 */
export function posthogShapedPayload(
  s: EnrichedSignup,
  original: unknown,
  project: PosthogProjectRef,
  organizationGroupIndex: number,
): PosthogWebhookPayload {
  const o = isObject(original) ? original : {};
  const event = isObject(o.event) && str(o.event.uuid) && str(o.event.event) ? o.event : undefined;
  const person = isObject(o.person) ? o.person : undefined;
  const groups = isObject(o.groups) ? o.groups : {};
  const distinctId = event ? String(event.distinct_id) : s.personKey;
  const uuid = event ? String(event.uuid) : stableUuid(`humanic:${s.signupId}`);
  const eventProperties: Json = event && isObject(event.properties) ? { ...event.properties } : {};
  if (!event) {
    Object.assign(eventProperties, s.email ? { email: s.email } : {}, s.name ? { name: s.name } : {});
    if (s.organizationId) eventProperties.$groups = { organization: s.organizationId };
  }
  const personProperties: Json = {
    ...(person && isObject(person.properties) ? person.properties : {}),
    ...(s.email && !(person && isObject(person.properties) && person.properties.email) ? { email: s.email } : {}),
    ...(s.name && !(person && isObject(person.properties) && person.properties.name) ? { name: s.name } : {}),
    ...enrichmentProperties(s, 'person'),
  };
  const outGroups: PosthogWebhookPayload['groups'] = {};
  for (const [type, g] of Object.entries(groups)) {
    const id = isObject(g) && (typeof g.id === 'string' || typeof g.id === 'number') ? String(g.id) : undefined;
    if (type === 'organization' || !isObject(g) || !id) continue;
    const index = typeof g.index === 'number' ? g.index : 0;
    outGroups[type] = {
      id,
      type,
      index,
      url: str(g.url) ?? `${project.url}/groups/${index}/${encodeURIComponent(id)}`,
      properties: isObject(g.properties) ? g.properties : {},
    };
  }
  if (s.organizationId) {
    const g = isObject(groups.organization) ? groups.organization : {};
    outGroups.organization = {
      id: s.organizationId,
      type: 'organization',
      index: organizationGroupIndex,
      url: str(g.url) ?? `${project.url}/groups/${organizationGroupIndex}/${encodeURIComponent(s.organizationId)}`,
      properties: {
        ...(isObject(g.properties) ? g.properties : {}),
        ...(s.organizationName && !(isObject(g.properties) && g.properties.name) ? { name: s.organizationName } : {}),
        ...enrichmentProperties(s, 'organization'),
      },
    };
  }
  const projectIn = isObject(o.project) ? o.project : undefined;
  return {
    event: {
      uuid,
      event: event ? String(event.event) : SYNTHESIZED_EVENT,
      distinct_id: distinctId,
      properties: eventProperties,
      elements_chain: (event && str(event.elements_chain)) ?? '',
      timestamp: (event && str(event.timestamp)) ?? s.signedUpAt,
      url: (event && str(event.url)) ?? `${project.url}/events/${encodeURIComponent(uuid)}`,
    },
    person: {
      id: (person && str(person.id)) ?? distinctId,
      properties: personProperties,
      name: (person && str(person.name)) ?? s.name ?? distinctId,
      url: (person && str(person.url)) ?? `${project.url}/person/${encodeURIComponent(distinctId)}`,
    },
    groups: outGroups,
    project:
      projectIn && Number.isInteger(Number(projectIn.id)) && projectIn.id !== null && projectIn.id !== ''
        ? {
            id: Number(projectIn.id),
            name: str(projectIn.name) ?? project.name,
            url: str(projectIn.url) ?? project.url,
          }
        : project,
  };
}
