import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { seedPosthogEvents, type PosthogEventInput } from '../../src/sandbox/posthog';
import { eventually } from '../support/eventually';
import { control, inspect, testSandbox } from '../support/sandbox';

const API_KEY = 'phc_sandbox';
const PERSONAL = { authorization: 'Bearer phx_sandbox' };
const UUID_A = '0190b5a2-1111-7000-8000-000000000001';
const UUID_B = '0190b5a2-1111-7000-8000-000000000002';
const UUID_C = '0190b5a2-1111-7000-8000-000000000003';

let app: FastifyInstance;

beforeEach(async () => {
  app = testSandbox();
  await app.ready();
});
afterEach(() => app.close());

const post = (url: string, payload: unknown, headers: Record<string, string> = {}) =>
  app.inject({ method: 'POST', url: `/posthog${url}`, payload: payload as object, headers });
const batch = (events: unknown[], extra: Record<string, unknown> = {}) =>
  post('/batch/', { api_key: API_KEY, batch: events, ...extra });
const hogql = (sql: string, headers: Record<string, string> = PERSONAL, url = '/api/projects/12345/query/') =>
  post(url, { query: { kind: 'HogQLQuery', query: sql }, name: 'sandbox test' }, headers);

async function records(type: string) {
  return (await inspect(app, 'posthog')).records?.[type] ?? [];
}
async function record(type: string, key: string) {
  return (await records(type)).find((r) => r.key === key);
}

describe('PostHog simulator: capture', () => {
  it('stores the group, the person and the events of one batch, and answers 200 { status: "Ok" }', async () => {
    const res = await batch([
      {
        event: '$groupidentify',
        distinct_id: 'user-1',
        uuid: UUID_A,
        timestamp: '2026-11-03T10:00:00Z',
        properties: {
          $group_type: 'organization',
          $group_key: 'org-1',
          $group_set: { name: 'Quorvalis', industry: 'Software' },
        },
      },
      {
        event: 'organization_enriched',
        distinct_id: 'user-1',
        uuid: UUID_B,
        timestamp: '2026-11-03T10:00:01Z',
        properties: { source: 'clearbit', $set: { title: 'CTO' }, $groups: { organization: 'org-1' } },
      },
      { event: 'user signed up', distinct_id: 'user-2', properties: { plan: 'free' } },
    ]);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'Ok' });

    const seen = await inspect(app, 'posthog');
    expect(seen.records?.group).toEqual([
      expect.objectContaining({
        key: 'organization:org-1',
        writes: 1,
        fields: {
          group_type: 'organization',
          group_key: 'org-1',
          group_type_index: 0,
          properties: { name: 'Quorvalis', industry: 'Software' },
          created_at: '2026-11-03T10:00:00.000Z',
        },
      }),
    ]);
    expect(seen.records?.person).toEqual([
      expect.objectContaining({
        key: 'user-1',
        writes: 1,
        fields: { distinct_id: 'user-1', properties: { title: 'CTO' }, created_at: '2026-11-03T10:00:01.000Z' },
      }),
    ]);
    const events = seen.records?.event ?? [];
    expect(events.map((e) => e.fields.event)).toEqual(['$groupidentify', 'organization_enriched', 'user signed up']);
    expect(events[1]).toMatchObject({
      key: UUID_B,
      fields: { distinct_id: 'user-1', timestamp: '2026-11-03T10:00:01.000Z', groups: { organization: 'org-1' } },
    });
    // No uuid sent: the sandbox gives the event one; no $set: no person for user-2.
    expect(events[2]!.key).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(events[2]!.fields.groups).toBeUndefined();
    expect(await record('person', 'user-2')).toBeUndefined();
    expect(seen.calls).toEqual([
      expect.objectContaining({ method: 'POST', path: '/posthog/batch/', key: '3', status: 200, creditsCharged: 0 }),
    ]);
  });

  it('deduplicates events by uuid: the same uuid twice is one record written twice', async () => {
    const event = {
      event: 'organization_enriched',
      distinct_id: 'user-1',
      uuid: UUID_A.toUpperCase(),
      timestamp: '2026-11-03T10:00:00Z',
    };
    expect((await batch([event])).statusCode).toBe(200);
    expect((await batch([{ ...event, uuid: UUID_A }])).statusCode).toBe(200);
    const events = await records('event');
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ key: UUID_A, writes: 2 });
    const count = await hogql("SELECT count() FROM events WHERE event = 'organization_enriched'");
    expect(count.json<{ results: unknown[][] }>().results).toEqual([[1]]);
  });

  it('merges $set into the person, and $set_once only fills missing properties', async () => {
    await batch([
      { event: '$identify', distinct_id: 'ada', properties: { $set: { email: 'ada@quorvalis.com', plan: 'free' } } },
      {
        event: 'plan changed',
        distinct_id: 'ada',
        properties: { $set: { plan: 'pro' }, $set_once: { first_plan: 'free', email: 'other@example.com' } },
      },
    ]);
    await post('/capture/', {
      api_key: API_KEY,
      event: 'seen',
      distinct_id: 'ada',
      properties: { $set_once: { first_plan: 'enterprise', first_seen: '2026-11-01' }, $unset: ['plan'] },
    });
    expect(await record('person', 'ada')).toMatchObject({
      writes: 3,
      fields: {
        distinct_id: 'ada',
        properties: { email: 'ada@quorvalis.com', first_plan: 'free', first_seen: '2026-11-01' },
      },
    });
    // `$identify` alone makes a person; `$process_person_profile: false` keeps the person untouched.
    await batch([
      { event: '$identify', distinct_id: 'bruno' },
      { event: 'x', distinct_id: 'ada', properties: { $process_person_profile: false, $set: { plan: 'x' } } },
    ]);
    expect(await record('person', 'bruno')).toMatchObject({ writes: 1, fields: { properties: {} } });
    expect(await record('person', 'ada')).toMatchObject({ writes: 3 });
  });

  it('merges $group_set on every $groupidentify, keeps the first created_at, and numbers group types', async () => {
    const identify = (type: string, key: string, set: Record<string, unknown>, timestamp: string) => ({
      event: '$groupidentify',
      distinct_id: 'setup',
      timestamp,
      properties: { $group_type: type, $group_key: key, $group_set: set },
    });
    await batch([
      identify('organization', 'org-1', { name: 'Quorvalis', employees: 10 }, '2026-11-03T10:00:00Z'),
      identify('project', 'p-1', { name: 'Main' }, '2026-11-03T11:00:00Z'),
      identify('organization', 'org-1', { employees: 12, enrichment_status: 'enriched' }, '2026-11-04T09:00:00Z'),
    ]);
    expect(await record('group', 'organization:org-1')).toMatchObject({
      writes: 2,
      fields: {
        group_type_index: 0,
        properties: { name: 'Quorvalis', employees: 12, enrichment_status: 'enriched' },
        created_at: '2026-11-03T10:00:00.000Z',
      },
    });
    expect(await record('group', 'project:p-1')).toMatchObject({ fields: { group_type_index: 1 } });
  });

  it('takes one event on /capture/, /e, /i/v0/e/ (distinct_id also from properties), and arrays of events', async () => {
    const one = (event: string) => ({ api_key: API_KEY, event, properties: { distinct_id: 'u-1' } });
    for (const url of ['/capture/', '/capture', '/e', '/e/', '/i/v0/e/', '/i/v0/e', '/batch']) {
      const res = await post(url, one(`via ${url}`));
      expect(res.statusCode, url).toBe(200);
      expect(res.json()).toEqual({ status: 'Ok' });
    }
    expect((await post('/e/', [{ ...one('array 1') }, { ...one('array 2') }])).statusCode).toBe(200);
    // JSON sent as text/plain (browser beacons) is read as JSON too.
    const beacon = await app.inject({
      method: 'POST',
      url: '/posthog/i/v0/e/',
      headers: { 'content-type': 'text/plain' },
      payload: JSON.stringify(one('beacon')),
    });
    expect(beacon.statusCode).toBe(200);
    const events = await records('event');
    expect(events).toHaveLength(10);
    expect(events.every((e) => e.fields.distinct_id === 'u-1')).toBe(true);
    expect((await inspect(app, 'posthog')).calls.map((c) => c.key)).toEqual([
      ...['1', '1', '1', '1', '1', '1', '1'],
      '2',
      '1',
    ]);
  });

  it('refuses a missing key (missing_api_key) and bad-key (invalid_api_key) with 401, storing nothing', async () => {
    const event = { event: 'x', distinct_id: 'u' };
    const missing = await post('/batch/', { batch: [event] });
    expect(missing.statusCode).toBe(401);
    expect(missing.json()).toEqual({
      type: 'authentication_error',
      code: 'missing_api_key',
      detail: 'API key not provided. You can find your project API key in PostHog project settings.',
      attr: null,
    });
    const bad = await post('/capture/', { api_key: 'bad-key', ...event });
    expect(bad.statusCode).toBe(401);
    expect(bad.json()).toMatchObject({ type: 'authentication_error', code: 'invalid_api_key' });
    const noBody = await app.inject({ method: 'POST', url: '/posthog/i/v0/e/' });
    expect(noBody.statusCode).toBe(401);
    const seen = await inspect(app, 'posthog');
    expect(seen.records).toEqual({});
    expect(seen.counts.byStatus).toEqual({ '401': 3 });
  });

  it('refuses invalid payloads with 400 invalid_payload, storing nothing of the request', async () => {
    const cases: [unknown, string][] = [
      [{ api_key: API_KEY, batch: [{ event: 'ok', distinct_id: 'u' }, { distinct_id: 'u' }] }, 'empty event name'],
      [{ api_key: API_KEY, batch: { event: 'x', distinct_id: 'u' } }, 'batch must be an array'],
      [{ api_key: API_KEY, batch: [] }, 'request holds no event'],
      [{ api_key: API_KEY, batch: [{ event: 'x' }] }, 'without a distinct_id'],
      [{ api_key: API_KEY, batch: [{ event: 'x', distinct_id: '  ' }] }, 'empty distinct_id'],
      [{ api_key: API_KEY, batch: [{ event: 'x', distinct_id: 'u', uuid: 'not-a-uuid' }] }, 'invalid uuid'],
      [{ api_key: API_KEY, batch: [{ event: 'x', distinct_id: 'u', properties: 'p' }] }, 'properties'],
    ];
    for (const [payload, detail] of cases) {
      const res = await post('/batch/', payload);
      expect(res.statusCode, detail).toBe(400);
      const body = res.json<{ type: string; code: string; detail: string }>();
      expect(body).toMatchObject({ type: 'validation_error', code: 'invalid_payload' });
      expect(body.detail).toContain(detail);
    }
    const malformed = await app.inject({
      method: 'POST',
      url: '/posthog/batch/',
      headers: { 'content-type': 'application/json' },
      payload: '{"api_key": "phc_sandbox", "batch": [',
    });
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json()).toMatchObject({ type: 'validation_error', code: 'invalid_payload' });
    const seen = await inspect(app, 'posthog');
    expect(seen.records).toEqual({});
    expect(seen.counts.byStatus).toEqual({ '400': cases.length + 1 });
  });

  it('answers 429 over the rate limit and 503 on an injected failure, storing nothing', async () => {
    await control(app, 'posthog', { rateLimitPerSecond: 1 });
    const event = { event: 'x', distinct_id: 'u', uuid: UUID_A };
    expect((await batch([event])).statusCode).toBe(200);
    const limited = await batch([{ ...event, uuid: UUID_B }]);
    expect(limited.statusCode).toBe(429);
    expect(limited.json()).toMatchObject({ type: 'throttled_error', code: 'rate_limited' });

    await control(app, 'posthog', { rateLimitPerSecond: null, failureRate: 1 });
    const failed = await batch([{ ...event, uuid: UUID_C }]);
    expect(failed.statusCode).toBe(503);
    expect(failed.json()).toMatchObject({ type: 'server_error' });
    expect((await records('event')).map((e) => e.key)).toEqual([UUID_A]);
  });

  it('forgets everything on /_reset, group type numbering included', async () => {
    await batch([
      {
        event: '$groupidentify',
        distinct_id: 'setup',
        properties: { $group_type: 'project', $group_key: 'p-1', $group_set: {} },
      },
      { event: '$identify', distinct_id: 'ada', properties: { $set: { a: 1 } } },
    ]);
    expect((await inspect(app, 'posthog')).counts).toMatchObject({
      records: { event: { records: 2 }, group: { records: 1 }, person: { records: 1 } },
    });
    expect((await app.inject({ method: 'POST', url: '/_reset' })).statusCode).toBe(200);
    const after = await inspect(app, 'posthog');
    expect(after.records).toEqual({});
    expect(after.calls).toEqual([]);
    await batch([
      {
        event: '$groupidentify',
        distinct_id: 'setup',
        properties: { $group_type: 'organization', $group_key: 'org-1', $group_set: {} },
      },
    ]);
    expect(await record('group', 'organization:org-1')).toMatchObject({ fields: { group_type_index: 0 } });
  });
});

describe('PostHog simulator: query API', () => {
  /** 'user signed up' and 'organization_enriched' on several days, plus noise outside the window and other events. */
  function seedDays(): void {
    const events: PosthogEventInput[] = [];
    const add = (event: string, timestamp: string, n: number) => {
      for (let i = 0; i < n; i++) events.push({ event, distinct_id: `u-${events.length}`, timestamp });
    };
    add('user signed up', '2026-10-31T23:59:59Z', 4); // before the window
    add('user signed up', '2026-11-01T00:00:00Z', 5);
    add('user signed up', '2026-11-01T23:30:00+00:00', 7); // 12 on Nov 1
    add('organization_enriched', '2026-11-01T12:00:00Z', 3);
    add('user signed up', '2026-11-03T09:00:00.250Z', 2);
    add('organization_enriched', '2026-11-03 18:00:00', 6); // no offset: UTC
    add('user signed up', '2026-11-04T02:00:00+05:00', 1); // 2026-11-03T21:00Z
    add('$pageview', '2026-11-03T10:00:00Z', 9); // another event
    add('user signed up', '2026-11-08T00:00:00Z', 3); // the window's end is excluded
    seedPosthogEvents(app, events);
  }

  const DAILY =
    "SELECT toDate(timestamp) AS day, event, count() AS n FROM events WHERE event IN ('user signed up', " +
    "'organization_enriched') AND timestamp >= toDateTime('2026-11-01 00:00:00') AND timestamp < " +
    "toDateTime('2026-11-08 00:00:00') GROUP BY day, event ORDER BY day, event";

  it('counts events per UTC day and event name (query a)', async () => {
    seedDays();
    const res = await hogql(DAILY);
    expect(res.statusCode).toBe(200);
    const body = res.json<Record<string, unknown>>();
    expect(body).toMatchObject({
      columns: ['day', 'event', 'n'],
      types: [
        ['day', 'Date'],
        ['event', 'String'],
        ['n', 'UInt64'],
      ],
      results: [
        ['2026-11-01', 'organization_enriched', 3],
        ['2026-11-01', 'user signed up', 12],
        ['2026-11-03', 'organization_enriched', 6],
        ['2026-11-03', 'user signed up', 3],
      ],
      hasMore: false,
      limit: 100,
      offset: 0,
      is_cached: false,
      hogql: DAILY,
    });
    const call = (await inspect(app, 'posthog')).calls.at(-1);
    expect(call).toMatchObject({ path: '/posthog/api/projects/12345/query/', status: 200, creditsCharged: 0 });
    expect(call?.key).toBe(DAILY.slice(0, 200));
  });

  it('is tolerant of whitespace, case of keywords, and the path without trailing slash', async () => {
    seedDays();
    const sql = `select   TODATE(timestamp) as day ,event,COUNT() as n
      from events
      where event in ('user signed up','organization_enriched')
        and timestamp >= toDateTime('2026-11-03 00:00:00') and timestamp < toDateTime('2026-11-04 00:00:00')
      group by day, event order by n desc, event;`;
    const res = await hogql(sql, PERSONAL, '/api/projects/any-project/query');
    expect(res.statusCode).toBe(200);
    expect(res.json<{ results: unknown[][] }>().results).toEqual([
      ['2026-11-03', 'organization_enriched', 6],
      ['2026-11-03', 'user signed up', 3],
    ]);
    // An alias may shadow the column it is computed from.
    const shadow = await hogql(
      "SELECT toDate(timestamp) AS timestamp, count() FROM events WHERE event = 'organization_enriched' " +
        'GROUP BY timestamp ORDER BY timestamp',
    );
    expect(shadow.json()).toMatchObject({
      columns: ['timestamp', 'count()'],
      results: [
        ['2026-11-01', 3],
        ['2026-11-03', 6],
      ],
    });
  });

  it('counts one event name in a window (query c)', async () => {
    seedDays();
    const count = async (event: string, from: string, to: string) => {
      const res = await hogql(
        `SELECT count() FROM events WHERE event = '${event}' AND timestamp >= toDateTime('${from}') ` +
          `AND timestamp < toDateTime('${to}')`,
      );
      expect(res.statusCode).toBe(200);
      const body = res.json<{ columns: string[]; results: unknown[][] }>();
      expect(body.columns).toEqual(['count()']);
      return body.results;
    };
    expect(await count('user signed up', '2026-11-01 00:00:00', '2026-11-08 00:00:00')).toEqual([[15]]);
    expect(await count('user signed up', '2026-10-01 00:00:00', '2026-12-01 00:00:00')).toEqual([[22]]);
    expect(await count('organization_enriched', '2026-11-02 00:00:00', '2026-11-03 00:00:00')).toEqual([[0]]);
  });

  it('lists organizations created in a window without (or with) a property (query b)', async () => {
    const identify = (type: string, key: string, set: Record<string, unknown>, timestamp: string) => ({
      event: '$groupidentify',
      distinct_id: 'setup',
      timestamp,
      properties: { $group_type: type, $group_key: key, $group_set: set },
    });
    seedPosthogEvents(app, [
      identify('organization', 'org-early', {}, '2026-10-30T10:00:00Z'),
      identify('organization', 'org-b', { name: 'B' }, '2026-11-05T08:00:00Z'),
      identify('organization', 'org-a', { name: 'A' }, '2026-11-03T10:00:00Z'),
      identify('organization', 'org-done', { enrichment_status: 'enriched' }, '2026-11-04T10:00:00.250Z'),
      identify('organization', 'org-null', { enrichment_status: null }, '2026-11-06T10:00:00Z'),
      identify('project', 'p-1', {}, '2026-11-03T11:00:00Z'), // group type index 1
      // A later $groupidentify keeps the group's created_at.
      identify('organization', 'org-b', { plan: 'pro' }, '2026-11-07T00:00:00Z'),
    ]);
    const window = "created_at >= toDateTime('2026-11-01 00:00:00') AND created_at < toDateTime('2026-11-08 00:00:00')";
    const missing = await hogql(
      `SELECT key, created_at FROM groups WHERE index = 0 AND ${window} AND isNull(properties.enrichment_status) ` +
        'ORDER BY created_at LIMIT 1000',
    );
    expect(missing.statusCode).toBe(200);
    expect(missing.json()).toMatchObject({
      columns: ['key', 'created_at'],
      types: [
        ['key', 'String'],
        ['created_at', "DateTime64(6, 'UTC')"],
      ],
      results: [
        ['org-a', '2026-11-03T10:00:00Z'],
        ['org-b', '2026-11-05T08:00:00Z'],
        ['org-null', '2026-11-06T10:00:00Z'],
      ],
      hasMore: false,
      limit: 1000,
    });
    const present = await hogql(
      `SELECT key, created_at, properties.enrichment_status FROM groups WHERE index = 0 AND ${window} ` +
        'AND isNotNull(properties.enrichment_status) ORDER BY created_at',
    );
    expect(present.json<{ results: unknown[][] }>().results).toEqual([
      ['org-done', '2026-11-04T10:00:00.250Z', 'enriched'],
    ]);
    const limited = await hogql(
      `SELECT key FROM groups WHERE index = 0 AND ${window} AND isNull(properties.enrichment_status) ` +
        'ORDER BY created_at DESC LIMIT 2',
    );
    expect(limited.json()).toMatchObject({ results: [['org-null'], ['org-b']], hasMore: true, limit: 2 });
  });

  it('returns at most 100 rows without a LIMIT, saying hasMore', async () => {
    seedPosthogEvents(
      app,
      Array.from({ length: 105 }, (_, i) => ({
        event: 'tick',
        distinct_id: 'u',
        timestamp: new Date(Date.UTC(2026, 10, 1, 0, i)).toISOString(),
      })),
    );
    const res = await hogql('SELECT event, timestamp FROM events ORDER BY timestamp');
    const body = res.json<{ results: unknown[][]; hasMore: boolean; limit: number }>();
    expect(body.results).toHaveLength(100);
    expect(body.results[0]).toEqual(['tick', '2026-11-01T00:00:00Z']);
    expect(body).toMatchObject({ hasMore: true, limit: 100 });
  });

  it('answers 400 query_error to queries outside the simulated subset', async () => {
    for (const sql of [
      'SELECT * FROM events',
      'SELECT event FROM persons',
      'SELECT uniq(distinct_id) FROM events',
      'SELECT e.event FROM events e JOIN persons p ON e.person_id = p.id',
      "SELECT event FROM events WHERE event = 'x' HAVING count() > 1",
      'SELECT event FROM events WHERE timestamp > now() - INTERVAL 7 DAY',
      "SELECT event FROM events WHERE event = 'unterminated",
      'SELECT event, count() FROM events',
      'SELECT nope FROM events',
      "SELECT count() FROM events WHERE timestamp >= toDateTime('yesterday')",
      'DELETE FROM events',
    ]) {
      const res = await hogql(sql);
      expect(res.statusCode, sql).toBe(400);
      const body = res.json<{ type: string; code: string; detail: string }>();
      expect(body, sql).toMatchObject({ type: 'validation_error', code: 'query_error' });
      expect(body.detail, sql).toMatch(/unsupported query in the sandbox: |Cannot parse DateTime/);
    }
    const otherKind = await post('/api/projects/1/query/', { query: { kind: 'EventsQuery', select: ['*'] } }, PERSONAL);
    expect(otherKind.statusCode).toBe(400);
    expect(otherKind.json()).toMatchObject({ code: 'query_error' });
    const noQuery = await post('/api/projects/1/query/', {}, PERSONAL);
    expect(noQuery.statusCode).toBe(400);
    expect(noQuery.json()).toMatchObject({ type: 'validation_error', attr: 'query' });
  });

  it('refuses a missing personal API key and bad-key with 401', async () => {
    const missing = await hogql('SELECT count() FROM events', {});
    expect(missing.statusCode).toBe(401);
    expect(missing.headers['www-authenticate']).toBe('Bearer');
    expect(missing.json()).toEqual({
      type: 'authentication_error',
      code: 'not_authenticated',
      detail: 'Authentication credentials were not provided.',
      attr: null,
    });
    const bad = await hogql('SELECT count() FROM events', { authorization: 'Bearer bad-key' });
    expect(bad.statusCode).toBe(401);
    expect(bad.json()).toMatchObject({ type: 'authentication_error', code: 'authentication_failed' });
    // The project API key on the capture side does not matter here; the personal key may be in the body.
    const inBody = await post('/api/projects/1/query/', {
      personal_api_key: 'phx_x',
      query: { kind: 'HogQLQuery', query: 'SELECT count() FROM events' },
    });
    expect(inBody.statusCode).toBe(200);
    expect(inBody.json()).toMatchObject({ results: [[0]] });
  });

  it('answers 429 with Retry-After over the rate limit, and 503 on an injected failure', async () => {
    await control(app, 'posthog', { rateLimitPerSecond: 1 });
    expect((await hogql('SELECT count() FROM events')).statusCode).toBe(200);
    const limited = await hogql('SELECT count() FROM events');
    expect(limited.statusCode).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(limited.json()).toMatchObject({ type: 'throttled_error', code: 'throttled' });
    await control(app, 'posthog', { rateLimitPerSecond: null, failureRate: 1 });
    const failed = await hogql('SELECT count() FROM events');
    expect(failed.statusCode).toBe(503);
    expect(failed.json()).toMatchObject({ type: 'server_error' });
  });

  it('seedPosthogEvents refuses events the capture API would refuse, and stores nothing of them', () => {
    expect(() =>
      seedPosthogEvents(app, [
        { event: 'ok', distinct_id: 'u' },
        { event: '', distinct_id: 'u' },
      ]),
    ).toThrow(/empty event name/);
    expect(seedPosthogEvents(app, [{ event: 'ok', distinct_id: 'u', uuid: UUID_A }])).toEqual([UUID_A]);
  });
});

describe('PostHog simulator: the project', () => {
  it('answers the project to a personal API key, 401 without one, 404 for an id that is not a number', async () => {
    const read = (url: string, headers: Record<string, string> = PERSONAL) =>
      app.inject({ method: 'GET', url: `/posthog${url}`, headers });
    const ok = await read('/api/projects/12345/');
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toMatchObject({ id: 12345, name: 'Sandbox project', api_token: expect.any(String) as unknown });
    expect((await read('/api/projects/12345')).statusCode).toBe(200);
    const bad = await read('/api/projects/12345/', { authorization: 'Bearer bad-key' });
    expect(bad.statusCode).toBe(401);
    expect(bad.json()).toMatchObject({ type: 'authentication_error', code: 'authentication_failed' });
    expect((await read('/api/projects/12345/', {})).statusCode).toBe(401);
    expect((await read('/api/projects/abc/')).json()).toMatchObject({ code: 'not_found' });
  });
});

describe('PostHog simulator: persons API (erasure)', () => {
  const persons = (query: string, headers: Record<string, string> = PERSONAL) =>
    app.inject({ method: 'GET', url: `/posthog/api/projects/12345/persons/${query}`, headers });
  const remove = (id: string, query = '', headers: Record<string, string> = PERSONAL) =>
    app.inject({ method: 'DELETE', url: `/posthog/api/projects/12345/persons/${id}/${query}`, headers });

  it('lists a person by distinct id and deletes them (and their events with delete_events=true), once', async () => {
    const set = (distinct_id: string, uuid: string) => ({
      event: 'user signed up',
      distinct_id,
      uuid,
      properties: { $set: { email: `${distinct_id}@acme.com` } },
    });
    expect((await batch([set('ana', UUID_A), set('bo', UUID_B)])).statusCode).toBe(200);

    const listed = await persons('?distinct_id=ana');
    expect(listed.statusCode).toBe(200);
    const body = listed.json<{ next: null; results: { id: string; uuid: string; distinct_ids: string[] }[] }>();
    expect(body.next).toBeNull();
    expect(body.results).toHaveLength(1);
    expect(body.results[0]).toMatchObject({ distinct_ids: ['ana'], properties: { email: 'ana@acme.com' } });
    const id = body.results[0]!.id;
    expect(body.results[0]!.uuid).toBe(id);

    const deleted = await remove(id, '?delete_events=true');
    expect(deleted.statusCode).toBe(204);
    expect(await record('person', 'ana')).toBeUndefined();
    expect(await record('event', UUID_A)).toBeUndefined();
    expect(await record('person', 'bo')).toBeDefined();
    expect(await record('event', UUID_B)).toBeDefined();
    expect((await inspect(app, 'posthog')).deleted?.map((d) => d.type).sort()).toEqual(['event', 'person']);
    expect((await persons('?distinct_id=ana')).json<{ results: unknown[] }>().results).toEqual([]);

    const again = await remove(id);
    expect(again.statusCode).toBe(404);
    expect(again.json()).toMatchObject({ code: 'not_found' });
  });

  it('keeps events without delete_events, and refuses a missing or bad personal API key', async () => {
    await batch([{ event: 'x', distinct_id: 'cy', uuid: UUID_C, properties: { $set: { plan: 'a' } } }]);
    const id = (await persons('?distinct_id=cy')).json<{ results: { id: string }[] }>().results[0]!.id;
    expect((await remove(id, '', {})).statusCode).toBe(401);
    expect((await remove(id, '', { authorization: 'Bearer bad-key' })).statusCode).toBe(401);
    expect((await persons('?distinct_id=cy', {})).statusCode).toBe(401);
    expect((await remove(id)).statusCode).toBe(204);
    expect(await record('event', UUID_C)).toBeDefined();
  });
});

describe('PostHog simulator: webhook destination and person properties', () => {
  /** A receiver on a port of its own: what the destination POSTs to it. */
  async function receiver(status = 202) {
    const received: { headers: Record<string, unknown>; body: Record<string, unknown> }[] = [];
    const { default: Fastify } = await import('fastify');
    const server = Fastify();
    server.post('/hook', async (request, reply) => {
      received.push({ headers: request.headers, body: request.body as Record<string, unknown> });
      return reply.code(status).send({ status: 'accepted' });
    });
    const url = await server.listen({ host: '127.0.0.1', port: 0 });
    return { url: `${url}/hook`, received, close: () => server.close() };
  }

  const signup = (uuid: string, distinctId: string, email: string) => ({
    event: 'user signed up',
    distinct_id: distinctId,
    uuid,
    timestamp: '2026-11-05T10:00:00Z',
    properties: { $set: { email }, $groups: { organization: 'org-1' } },
  });

  it('delivers the events its filter lets through, with person and groups, and nothing while disabled', async () => {
    const hook = await receiver();
    try {
      await control(app, 'posthog', {
        destinationUrl: hook.url,
        destinationAuth: 'hook-secret',
        destinationEvents: ['user signed up'],
      });
      await batch([
        {
          event: '$groupidentify',
          distinct_id: 'u-1',
          properties: { $group_type: 'organization', $group_key: 'org-1', $group_set: { name: 'Acme' } },
        },
        signup(UUID_A, 'u-1', 'ada@acme.example'),
      ]);
      const first = await eventually(async () => hook.received[0]);
      expect(first.headers.authorization).toBe('Bearer hook-secret');
      expect(first.body).toMatchObject({
        event: { uuid: UUID_A, event: 'user signed up', distinct_id: 'u-1', timestamp: '2026-11-05T10:00:00.000Z' },
        person: { id: 'u-1', properties: { email: 'ada@acme.example' } },
        groups: { organization: { id: 'org-1', type: 'organization', index: 0, properties: { name: 'Acme' } } },
        project: { id: 1 },
      });
      expect(hook.received).toHaveLength(1); // $groupidentify is filtered out

      // Disabled: still captured and queryable, not delivered.
      await control(app, 'posthog', { destinationEnabled: false });
      expect((await batch([signup(UUID_B, 'u-2', 'bo@acme.example')])).statusCode).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(hook.received).toHaveLength(1);
      expect(await record('event', UUID_B)).toBeDefined();
      const calls = (await inspect(app, 'posthog')).calls.filter((c) => c.kind === 'callback');
      expect(calls).toMatchObject([{ key: UUID_A, status: 202, note: 'destination delivered' }]);
    } finally {
      await hook.close();
    }
  });

  it("answers person.properties.<name> on events with the person's properties", async () => {
    await batch([signup(UUID_A, 'u-1', 'ada@acme.example'), signup(UUID_B, 'u-2', 'bo@acme.example')]);
    await batch([{ event: 'user signed up', distinct_id: 'u-3', uuid: UUID_C, timestamp: '2026-11-05T11:00:00Z' }]);
    const res = await hogql(
      "SELECT uuid, person.properties.email, person.properties FROM events WHERE event IN ('user signed up') " +
        'ORDER BY timestamp, uuid LIMIT 2 OFFSET 1',
    );
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      results: [
        [UUID_B, 'bo@acme.example', JSON.stringify({ email: 'bo@acme.example' })],
        [UUID_C, null, '{}'],
      ],
    });
    expect((await hogql('SELECT person.id FROM events')).statusCode).toBe(400);
    expect((await hogql('SELECT person.properties.email FROM groups')).statusCode).toBe(400);
  });
});
