import { z } from 'zod';
import type { DeletionOutcome } from '../../domain/erasure';
import type { CapturedEvent } from '../../domain/ports';
import type { EnrichedSignup, WriteOutcome } from '../../domain/fan-out';
import { sha256 } from '../../hash';
import { writeOutcome, type DestinationWording } from '../destination-status';
import { bodyMessage, destinationCall, pathSegment, retryAfterMs, type Fetch, type HttpAnswer } from '../http';
import { enrichedEventProperties, enrichmentProperties } from './properties';

export interface PosthogClientOptions {
  /** Capture host (live: https://us.i.posthog.com, or eu.i.posthog.com). */
  captureBaseUrl: string;
  /** App host of the query API (live: https://us.posthog.com). */
  apiBaseUrl: string;
  /** The project API key (`phc_...`): write-only, for capture. */
  projectApiKey: string;
  /** A personal API key with query read access, for the query API. */
  personalApiKey: string;
  projectId: string;
  /** The index PostHog gave the `organization` group type (the first group type created is 0). */
  organizationGroupIndex?: number;
  timeoutMs?: number;
  fetch?: Fetch;
}

export const ENRICHED_EVENT = 'organization_enriched';
const GROUP_TYPE = 'organization';

/**
 * A UUID derived from the idempotency key: PostHog deduplicates events by uuid, so a retried or re-run batch
 * leaves one event.
 */
export function eventUuid(key: string, index: number): string {
  const h = sha256(`${key}#${index}`);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${((parseInt(h[16]!, 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

const POSTHOG: DestinationWording = {
  system: 'PostHog',
  refused: () => 'the request',
  message: (body) => bodyMessage(body) || (typeof body === 'object' ? JSON.stringify(body).slice(0, 200) : ''),
  retryAfterMs: (headers) => retryAfterMs(headers, 5_000),
};

const outcomeOf = (a: HttpAnswer | { kind: 'transient'; detail: string }, what: string): WriteOutcome =>
  writeOutcome(a, what, POSTHOG);

const queryResponseSchema = z.object({
  columns: z.array(z.string()).optional(),
  results: z.array(z.array(z.unknown())),
});

const personsSchema = z.object({ results: z.array(z.object({ id: z.union([z.string(), z.number()]) })) });

export class PosthogQueryError extends Error {
  override name = 'PosthogQueryError';
  constructor(readonly outcome: Exclude<WriteOutcome, { kind: 'written' }>) {
    super(outcome.detail);
  }
}

/** A property bag as HogQL answers it: a JSON string (an object when a proxy already decoded it); else empty. */
function jsonObject(v: unknown): Record<string, unknown> {
  let value = v;
  if (typeof v === 'string') {
    try {
      value = JSON.parse(v) as unknown;
    } catch {
      return {};
    }
  }
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

/** HogQL datetime literal (UTC): `toDateTime('2026-11-01 00:00:00')`. */
const hogqlTime = (iso: string) => `toDateTime('${iso.slice(0, 19).replace('T', ' ')}')`;
const hogqlString = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

/**
 * PostHog: the capture API for writes (the organization group through `$groupidentify`, the person through `$set`,
 * and an `organization_enriched` event), and the query API (HogQL) for the health check.
 */
export function createPosthogClient(o: PosthogClientOptions) {
  const capture = (batch: Record<string, unknown>[]) =>
    destinationCall(`${o.captureBaseUrl}/batch/`, {
      method: 'POST',
      body: { api_key: o.projectApiKey, batch },
      timeoutMs: o.timeoutMs,
      fetch: o.fetch,
    });

  const query = async (hogql: string): Promise<{ columns: string[]; results: unknown[][] }> => {
    const a = await destinationCall(`${o.apiBaseUrl}/api/projects/${encodeURIComponent(o.projectId)}/query/`, {
      method: 'POST',
      headers: { authorization: `Bearer ${o.personalApiKey}` },
      body: { query: { kind: 'HogQLQuery', query: hogql } },
      timeoutMs: o.timeoutMs,
      fetch: o.fetch,
    });
    const outcome = outcomeOf(a, 'query');
    if (outcome.kind !== 'written') throw new PosthogQueryError(outcome);
    const parsed = queryResponseSchema.safeParse((a as HttpAnswer).body);
    if (!parsed.success) throw new PosthogQueryError({ kind: 'transient', detail: 'unexpected query response' });
    return { columns: parsed.data.columns ?? [], results: parsed.data.results };
  };

  /** `$groupidentify`: the organization group's name and enrichment properties. */
  const groupIdentify = (
    s: EnrichedSignup,
    organizationId: string,
    distinctId: string,
    timestamp: string,
    uuid: string,
  ): Record<string, unknown> => ({
    event: '$groupidentify',
    distinct_id: distinctId,
    timestamp,
    uuid,
    properties: {
      $group_type: GROUP_TYPE,
      $group_key: organizationId,
      $group_set: {
        ...(s.organizationName ? { name: s.organizationName } : {}),
        ...enrichmentProperties(s, 'organization'),
      },
    },
  });

  return {
    /**
     * The organization group and the person, with the enrichment as properties, and the `organization_enriched`
     * event — one batch, with event uuids derived from `idempotencyKey`.
     */
    async writeEnrichment(s: EnrichedSignup, idempotencyKey: string): Promise<WriteOutcome> {
      const timestamp = s.enrichedAt ?? new Date().toISOString();
      const distinctId = s.distinctId ?? (s.organizationId ? `organization:${s.organizationId}` : undefined);
      if (!distinctId)
        return { kind: 'rejected', detail: 'no PostHog identity: neither a distinct id nor an organization' };
      const groups = s.organizationId ? { [GROUP_TYPE]: s.organizationId } : undefined;
      const batch: Record<string, unknown>[] = [];
      if (s.organizationId)
        batch.push(groupIdentify(s, s.organizationId, distinctId, timestamp, eventUuid(idempotencyKey, 0)));
      const personProperties = s.distinctId ? { $set: enrichmentProperties(s, 'person') } : {};
      batch.push({
        event: ENRICHED_EVENT,
        distinct_id: distinctId,
        timestamp,
        uuid: eventUuid(idempotencyKey, batch.length),
        properties: { ...enrichedEventProperties(s), ...personProperties, ...(groups ? { $groups: groups } : {}) },
      });
      const what = [s.organizationId ? 'organization group' : undefined, s.distinctId ? 'person' : undefined, 'event']
        .filter(Boolean)
        .join(', ');
      return outcomeOf(await capture(batch), what);
    },

    /**
     * Only the organization group's properties (`$groupidentify`), e.g. after a re-enrichment of its company; the
     * event uuid comes from `idempotencyKey`, so a retry is deduplicated.
     */
    async writeOrganization(s: EnrichedSignup, idempotencyKey: string): Promise<WriteOutcome> {
      if (!s.organizationId) return { kind: 'rejected', detail: 'no organization id' };
      const distinctId = s.distinctId ?? `organization:${s.organizationId}`;
      const timestamp = s.enrichedAt ?? new Date().toISOString();
      const batch = [groupIdentify(s, s.organizationId, distinctId, timestamp, eventUuid(idempotencyKey, 0))];
      return outcomeOf(await capture(batch), 'organization group');
    },

    /** Runs a HogQL query; a refused or failed query throws PosthogQueryError with the typed outcome. */
    query,

    /**
     * Deletes the person with this distinct id, and their events (erasure): the persons API lists the persons holding
     * the distinct id, then each is deleted by its id with `delete_events=true` (PostHog's "How to delete data").
     */
    async deletePerson(distinctId: string): Promise<DeletionOutcome> {
      const project = `${o.apiBaseUrl}/api/projects/${encodeURIComponent(o.projectId)}`;
      const call = (url: string, method: string) =>
        destinationCall(url, {
          method,
          headers: { authorization: `Bearer ${o.personalApiKey}` },
          timeoutMs: o.timeoutMs,
          fetch: o.fetch,
        });
      const refused = (a: HttpAnswer) => ({
        kind: 'failed' as const,
        detail: `PostHog answered ${a.status}${bodyMessage(a.body) ? `: ${bodyMessage(a.body)}` : ''}`,
      });
      const list = await call(`${project}/persons/?distinct_id=${encodeURIComponent(distinctId)}`, 'GET');
      if ('kind' in list) return { kind: 'failed', detail: list.detail };
      if (list.status !== 200) return refused(list);
      const parsed = personsSchema.safeParse(list.body);
      if (!parsed.success) return { kind: 'failed', detail: 'PostHog answered the persons list in an unknown shape' };
      const ids = parsed.data.results.map((p) => String(p.id));
      if (ids.length === 0) return { kind: 'not_found', detail: 'no PostHog person with that distinct id' };
      for (const id of ids) {
        const a = await call(`${project}/persons/${pathSegment(id)}/?delete_events=true`, 'DELETE');
        if ('kind' in a) return { kind: 'failed', detail: a.detail };
        if (a.status !== 404 && (a.status < 200 || a.status >= 300)) return refused(a);
      }
      return { kind: 'deleted', detail: `${ids.length} PostHog person(s) and their events deleted` };
    },

    /** Events per UTC day and event name in [from, to): for the health check's comparison with the ledger. */
    async dailyEventCounts(
      events: string[],
      from: string,
      to: string,
    ): Promise<{ day: string; event: string; count: number }[]> {
      const { results } = await query(
        `SELECT toDate(timestamp) AS day, event, count() AS n FROM events ` +
          `WHERE event IN (${events.map(hogqlString).join(', ')}) AND timestamp >= ${hogqlTime(from)} ` +
          `AND timestamp < ${hogqlTime(to)} GROUP BY day, event ORDER BY day, event`,
      );
      return results.map((r) => ({ day: String(r[0]).slice(0, 10), event: String(r[1]), count: Number(r[2]) }));
    },

    /**
     * Events named `events` in [from, to), oldest first (then by uuid, so pages do not overlap), with the properties
     * of their person: the backfill's source of signups the webhook destination never delivered.
     */
    async capturedEvents(
      events: string[],
      from: string,
      to: string,
      page: { limit: number; offset: number },
    ): Promise<CapturedEvent[]> {
      const { results } = await query(
        `SELECT uuid, event, distinct_id, timestamp, properties, person.properties FROM events ` +
          `WHERE event IN (${events.map(hogqlString).join(', ')}) AND timestamp >= ${hogqlTime(from)} ` +
          `AND timestamp < ${hogqlTime(to)} ORDER BY timestamp, uuid ` +
          `LIMIT ${Math.max(1, Math.floor(page.limit))} OFFSET ${Math.max(0, Math.floor(page.offset))}`,
      );
      return results.map((r) => ({
        uuid: String(r[0]),
        event: String(r[1]),
        distinctId: String(r[2]),
        timestamp: String(r[3]),
        properties: jsonObject(r[4]),
        personProperties: jsonObject(r[5]),
      }));
    },

    /** Organizations created in [from, to) that have no enrichment status (never reached us, or never enriched). */
    async organizationsWithoutEnrichment(
      from: string,
      to: string,
      limit = 1000,
    ): Promise<{ key: string; createdAt: string }[]> {
      const { results } = await query(
        `SELECT key, created_at FROM groups WHERE index = ${o.organizationGroupIndex ?? 0} AND created_at >= ${hogqlTime(from)} ` +
          `AND created_at < ${hogqlTime(to)} AND isNull(properties.enrichment_status) ` +
          `ORDER BY created_at LIMIT ${Math.max(1, Math.floor(limit))}`,
      );
      return results.map((r) => ({ key: String(r[0]), createdAt: String(r[1]) }));
    },
  };
}

export type PosthogClient = ReturnType<typeof createPosthogClient>;
