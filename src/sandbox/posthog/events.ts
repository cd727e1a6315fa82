import { uuidFrom } from '../dataset';
import type { RecordStore } from '../state';
import { parseDateTime } from './datetime';
import { groupTypeIndex, type ProjectState } from './project';

// Capture: reading a capture body, validating its events, and ingesting them (events, groups, persons).

export type Json = Record<string, unknown>;

/** An event as the capture API takes it (and as `seedPosthogEvents` takes it). */
export interface PosthogEventInput {
  event: string;
  distinct_id?: string | number;
  properties?: Record<string, unknown>;
  /** ISO 8601; without an offset it is UTC. Default: now. */
  timestamp?: string;
  uuid?: string;
  $set?: Record<string, unknown>;
  $set_once?: Record<string, unknown>;
}

export interface ValidEvent {
  event: string;
  distinctId: string;
  properties: Json;
  timestampMs: number | undefined;
  uuid: string | undefined;
  /** Person updates given at the top level of the event (the older form of `$identify`). */
  topSet: Json | undefined;
  topSetOnce: Json | undefined;
}

export const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const UUID_RE = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

/** The event, or the capture service's message for what is wrong with it. */
export function validateEvent(raw: unknown): ValidEvent | string {
  if (!isObject(raw)) return 'failed to parse request: an event is not a JSON object';
  if (typeof raw.event !== 'string' || raw.event.length === 0) return 'event submitted with an empty event name';
  if (raw.properties !== undefined && raw.properties !== null && !isObject(raw.properties))
    return 'failed to parse request: properties is not a JSON object';
  const properties: Json = isObject(raw.properties) ? { ...raw.properties } : {};
  const rawId = raw.distinct_id ?? properties.distinct_id ?? raw.$distinct_id;
  if (rawId === undefined || rawId === null) return 'event submitted without a distinct_id';
  if (typeof rawId !== 'string' && typeof rawId !== 'number') return 'failed to parse request: invalid distinct_id';
  const distinctId = String(rawId).trim().slice(0, 200);
  if (!distinctId) return 'event submitted with an empty distinct_id';
  let uuid: string | undefined;
  if (raw.uuid !== undefined && raw.uuid !== null) {
    if (typeof raw.uuid !== 'string' || !UUID_RE.test(raw.uuid)) return 'failed to parse request: invalid uuid';
    uuid = canonicalUuid(raw.uuid);
  }
  const timestampMs = typeof raw.timestamp === 'string' ? parseDateTime(raw.timestamp) : undefined;
  return {
    event: raw.event,
    distinctId,
    properties,
    timestampMs,
    uuid,
    topSet: isObject(raw.$set) ? raw.$set : undefined,
    topSetOnce: isObject(raw.$set_once) ? raw.$set_once : undefined,
  };
}

function canonicalUuid(text: string): string {
  const hex = text.replace(/-/g, '').toLowerCase();
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** Stores one valid event and applies its group and person effects; returns its uuid. */
export function ingest(store: RecordStore, project: ProjectState, e: ValidEvent, nowMs: number): string {
  const timestamp = new Date(e.timestampMs ?? nowMs).toISOString();
  const uuid = e.uuid ?? uuidFrom(`posthog:event:${++project.eventSequence}`);
  const props = e.properties;

  const groups = isObject(props.$groups) ? { ...props.$groups } : undefined;
  for (const type of Object.keys(groups ?? {})) groupTypeIndex(project, type);

  store.upsert('event', uuid, {
    uuid,
    event: e.event,
    distinct_id: e.distinctId,
    properties: props,
    timestamp,
    groups,
  });

  if (e.event === '$groupidentify') {
    const type = props.$group_type;
    const rawKey = props.$group_key;
    const groupKey = typeof rawKey === 'number' ? String(rawKey) : rawKey;
    const index = typeof type === 'string' && type ? groupTypeIndex(project, type) : undefined;
    if (index !== undefined && typeof type === 'string' && typeof groupKey === 'string' && groupKey) {
      const key = `${type}:${groupKey}`;
      const existing = store.get('group', key);
      const before = isObject(existing?.fields.properties) ? existing.fields.properties : {};
      const groupSet = isObject(props.$group_set) ? props.$group_set : {};
      store.upsert('group', key, {
        group_type: type,
        group_key: groupKey,
        group_type_index: index,
        properties: { ...before, ...groupSet },
        created_at: existing ? undefined : timestamp,
      });
    }
  }

  const set = { ...(e.topSet ?? {}), ...(isObject(props.$set) ? props.$set : {}) };
  const setOnce = { ...(e.topSetOnce ?? {}), ...(isObject(props.$set_once) ? props.$set_once : {}) };
  const unset = Array.isArray(props.$unset) ? props.$unset.filter((k): k is string => typeof k === 'string') : [];
  const touchesPerson =
    e.event === '$identify' ||
    Object.keys(set).length > 0 ||
    Object.keys(setOnce).length > 0 ||
    unset.length > 0 ||
    isObject(props.$set) ||
    isObject(props.$set_once);
  if (touchesPerson && props.$process_person_profile !== false) {
    const existing = store.get('person', e.distinctId);
    const properties: Json = isObject(existing?.fields.properties) ? { ...existing.fields.properties } : {};
    for (const [k, v] of Object.entries(setOnce)) if (!(k in properties)) properties[k] = v;
    Object.assign(properties, set);
    for (const k of unset) delete properties[k];
    store.upsert('person', e.distinctId, {
      distinct_id: e.distinctId,
      properties,
      created_at: existing ? undefined : timestamp,
    });
  }
  return uuid;
}

/**
 * Where the project API key and the events are in a capture body: a batch object `{ api_key, batch: [...] }`, one
 * event `{ api_key, event, ... }`, or a JSON array of events (each with its own `api_key` / `token`). `items` is
 * undefined when the body holds no list of events (not an object, or `batch` not an array).
 */
export function readCaptureBody(body: unknown): { token: string | undefined; items: unknown[] | undefined } {
  const tokenIn = (o: unknown): string | undefined => {
    if (!isObject(o)) return undefined;
    const candidates = [o.api_key, o.token, o.$token, isObject(o.properties) ? o.properties.token : undefined];
    return candidates.find((c): c is string => typeof c === 'string' && c.length > 0);
  };
  if (Array.isArray(body)) return { token: tokenIn(body[0]), items: body };
  if (!isObject(body)) return { token: undefined, items: undefined };
  if ('batch' in body) {
    const batch = Array.isArray(body.batch) ? (body.batch as unknown[]) : undefined;
    return { token: tokenIn(body) ?? tokenIn(batch?.[0]), items: batch };
  }
  return { token: tokenIn(body), items: [body] };
}
