import { postCallback } from '../callback';
import type { SandboxState, StoredRecord } from '../state';
import { isObject, type Json } from './events';

/**
 * The project's "HTTP Webhook" destination (posthog.com/docs/cdp/destinations, the webhook destination's template):
 * for every ingested event that passes the destination's event filter, a POST of the destination's payload to its
 * URL with its headers — `{ event: { uuid, event, distinct_id, properties, elements_chain, timestamp, url }, person:
 * { id, properties, name, url } | null, groups: { <type>: { id, type, index, url, properties } }, project: { id, name,
 * url } }`, the globals PostHog's destinations are given. Controls: `destinationUrl` (null: no destination),
 * `destinationAuth` (sent as `Authorization: Bearer ...`), `destinationEvents` (the filter; null: every event) and
 * `destinationEnabled`. A disabled destination (PostHog disables one that keeps failing, or an operator does) sends
 * nothing: the events are still ingested and queryable, only the deliveries stop — the outage a backfill from
 * PostHog's query API recovers. Each delivery is sent once, not retried, and logged as a `callback` call
 * (`note`: `destination delivered` or why not).
 */
export function deliverToDestination(state: SandboxState, eventKey: string): void {
  const sys = state.system('posthog');
  const { destinationUrl, destinationAuth, destinationEvents, destinationEnabled } = sys.control;
  if (destinationUrl === null || !destinationEnabled) return;
  const store = state.records.posthog;
  const event = store.get('event', eventKey);
  if (!event) return;
  if (destinationEvents !== null && !destinationEvents.includes(String(event.fields.event))) return;
  const body = payloadOf(state, event);
  state.schedule(0, async () => {
    await postCallback(
      sys,
      { url: destinationUrl, auth: destinationAuth, key: eventKey, notePrefix: 'destination ' },
      body,
    );
  });
}

const PROJECT = { id: 1, name: 'Sandbox project', url: 'http://127.0.0.1/project/1' };

function payloadOf(state: SandboxState, event: StoredRecord): Json {
  const store = state.records.posthog;
  const properties = isObject(event.fields.properties) ? event.fields.properties : {};
  const distinctId = String(event.fields.distinct_id);
  const person = store.get('person', distinctId);
  const groups: Json = {};
  const eventGroups = isObject(properties.$groups) ? properties.$groups : {};
  for (const [type, key] of Object.entries(eventGroups)) {
    const group = store.get('group', `${type}:${String(key)}`);
    groups[type] = {
      id: String(key),
      type,
      index: group?.fields.group_type_index ?? state.posthogProject.groupTypes.indexOf(type),
      url: `${PROJECT.url}/groups/${encodeURIComponent(type)}/${encodeURIComponent(String(key))}`,
      properties: isObject(group?.fields.properties) ? group.fields.properties : {},
    };
  }
  return {
    event: {
      uuid: event.fields.uuid,
      event: event.fields.event,
      distinct_id: distinctId,
      properties,
      elements_chain: '',
      timestamp: event.fields.timestamp,
      url: `${PROJECT.url}/events/${String(event.fields.uuid)}`,
    },
    person: person
      ? {
          id: distinctId,
          properties: isObject(person.fields.properties) ? person.fields.properties : {},
          name: distinctId,
          url: `${PROJECT.url}/person/${encodeURIComponent(distinctId)}`,
        }
      : null,
    groups,
    project: PROJECT,
  };
}
