import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { control, inspect, testSandbox } from '../support/sandbox';

const basic = (key: string) => ({ authorization: `Basic ${Buffer.from(`${key}:`).toString('base64')}` });
const KEY = basic('vitally_test_key');
let app: FastifyInstance;

beforeEach(() => {
  app = testSandbox();
});
afterEach(() => app.close());

const post = (url: string, payload: unknown, headers: Record<string, string> = KEY) =>
  app.inject({ method: 'POST', url: `/vitally${url}`, payload: payload as object, headers });
const get = (url: string, headers: Record<string, string> = KEY) =>
  app.inject({ method: 'GET', url: `/vitally${url}`, headers });

describe('Vitally simulator', () => {
  it('upserts an account by externalId: one record, two writes, same Vitally id, traits merged', async () => {
    const first = await post('/resources/accounts', {
      externalId: 'org-1',
      name: 'Acme',
      traits: { plan: 'trial', seats: 3 },
    });
    expect(first.statusCode).toBe(200);
    const created = first.json<Record<string, unknown>>();
    expect(created).toMatchObject({
      externalId: 'org-1',
      name: 'Acme',
      traits: { plan: 'trial', seats: 3 },
      usersCount: 0,
      healthScore: null,
      segments: [],
    });
    expect(created.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-a[0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(typeof created.createdAt).toBe('string');

    const second = await post('/resources/accounts', {
      externalId: 'org-1',
      name: 'Acme Inc',
      traits: { plan: 'paid', seats: null, icp_score: 82 },
    });
    expect(second.statusCode).toBe(200);
    expect(second.json()).toMatchObject({
      id: created.id,
      name: 'Acme Inc',
      traits: { plan: 'paid', icp_score: 82 },
    });
    expect(second.json<{ traits: object }>().traits).not.toHaveProperty('seats');

    const seen = await inspect(app, 'vitally');
    expect(seen.records?.account).toHaveLength(1);
    expect(seen.records?.account?.[0]).toMatchObject({ key: 'org-1', id: created.id, writes: 2 });
    expect(seen.calls.map((c) => [c.key, c.status, c.note])).toEqual([
      ['org-1', 200, 'created'],
      ['org-1', 200, 'updated'],
    ]);
  });

  it('derives the same ids on every run (deterministic from the store sequence)', async () => {
    const idOf = async (sandbox: FastifyInstance) => {
      const res = await sandbox.inject({
        method: 'POST',
        url: '/vitally/resources/accounts',
        payload: { externalId: 'org-x', name: 'X' },
        headers: KEY,
      });
      return res.json<{ id: string }>().id;
    };
    const other = testSandbox();
    try {
      expect(await idOf(app)).toBe(await idOf(other));
    } finally {
      await other.close();
    }
  });

  it('links three users to one account, by externalId or Vitally id, and counts them', async () => {
    const account = (await post('/resources/accounts', { externalId: 'org-1', name: 'Acme' })).json<{ id: string }>();
    const refs = ['org-1', account.id, 'org-1'];
    for (const [i, ref] of refs.entries()) {
      const res = await post('/resources/users', {
        externalId: `user-${i}`,
        accountIds: [ref],
        name: `User ${i}`,
        email: `user${i}@acme.com`,
        traits: { role: 'admin' },
      });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({
        externalId: `user-${i}`,
        accountIds: [account.id],
        email: `user${i}@acme.com`,
        traits: { role: 'admin' },
      });
    }
    const seen = await inspect(app, 'vitally');
    expect(seen.records?.account).toHaveLength(1);
    expect(seen.records?.user).toHaveLength(3);
    for (const user of seen.records?.user ?? []) {
      expect(user.fields).toMatchObject({ accountIds: [account.id], accountExternalIds: ['org-1'] });
      expect(user.writes).toBe(1);
    }

    expect((await get('/resources/accounts/org-1')).json()).toMatchObject({ id: account.id, usersCount: 3 });
    const listed = await get(`/resources/accounts/${account.id}/users`);
    expect(listed.json<{ results: { externalId: string }[]; next: null }>()).toMatchObject({ next: null });
    expect(
      listed
        .json<{ results: { externalId: string }[] }>()
        .results.map((u) => u.externalId)
        .sort(),
    ).toEqual(['user-0', 'user-1', 'user-2']);
  });

  it('upserts a user by externalId, adding accounts rather than replacing them', async () => {
    const a = (await post('/resources/accounts', { externalId: 'org-a', name: 'A' })).json<{ id: string }>();
    const b = (await post('/resources/accounts', { externalId: 'org-b', name: 'B' })).json<{ id: string }>();
    await post('/resources/users', { externalId: 'u1', accountIds: ['org-a'], name: 'Ann' });
    const again = await post('/resources/users', { externalId: 'u1', accountIds: ['org-b'], traits: { x: 1 } });
    expect(again.statusCode).toBe(200);
    expect(again.json()).toMatchObject({ name: 'Ann', accountIds: [a.id, b.id], traits: { x: 1 } });
    const user = (await inspect(app, 'vitally')).records?.user?.[0];
    expect(user).toMatchObject({ key: 'u1', writes: 2 });

    const byVitallyId = await get(`/resources/users/${again.json<{ id: string }>().id}`);
    expect(byVitallyId.statusCode).toBe(200);
    expect(byVitallyId.json()).toMatchObject({ externalId: 'u1' });
    expect((await get('/resources/users/u1')).json()).toMatchObject({ name: 'Ann' });
  });

  it('refuses a user linked to an unknown account with 400, writing nothing', async () => {
    await post('/resources/accounts', { externalId: 'org-1', name: 'Acme' });
    const res = await post('/resources/users', { externalId: 'u1', accountIds: ['org-1', 'org-404'] });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ error: 'Bad Request', message: 'Account not found: org-404' });
    expect((await inspect(app, 'vitally')).records?.user).toBeUndefined();
  });

  it('answers 400 for invalid bodies', async () => {
    const cases: [string, unknown, string][] = [
      ['/resources/accounts', { name: 'No id' }, '"externalId" is required'],
      ['/resources/accounts', { externalId: 42, name: 'Numeric' }, '"externalId" is required'],
      ['/resources/accounts', { externalId: 'org-1', name: 'Acme', traits: 'vip' }, '"traits" must be an object'],
      ['/resources/accounts', { externalId: 'org-1', name: 'Acme', traits: ['vip'] }, '"traits" must be an object'],
      ['/resources/accounts', { externalId: 'org-1' }, '"name" is required'],
      ['/resources/accounts', [{ externalId: 'org-1' }], 'must be a JSON object'],
      ['/resources/users', { accountIds: ['org-1'] }, '"externalId" is required'],
      ['/resources/users', { externalId: 'u1' }, 'One of "accountIds" or "organizationIds" is required'],
      ['/resources/users', { externalId: 'u1', accountIds: 'org-1' }, '"accountIds" must be an array'],
    ];
    for (const [url, body, message] of cases) {
      const res = await post(url, body);
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
      expect(res.json<{ message: string }>().message).toContain(message);
    }
    const notJson = await app.inject({
      method: 'POST',
      url: '/vitally/resources/accounts',
      payload: '{"externalId":',
      headers: { ...KEY, 'content-type': 'application/json' },
    });
    expect(notJson.statusCode).toBe(400);
    expect(notJson.json()).toMatchObject({ error: 'Bad Request', message: 'Request body is not valid JSON' });
    expect((await inspect(app, 'vitally')).records).toEqual({});
  });

  it('gets and updates accounts by Vitally id or externalId; 404 for unknown ids', async () => {
    const { id } = (
      await post('/resources/accounts', { externalId: 'org-1', name: 'Acme', traits: { a: 1, b: 2 } })
    ).json<{ id: string }>();
    expect((await get(`/resources/accounts/${id}`)).json()).toMatchObject({ externalId: 'org-1', name: 'Acme' });

    const put = await app.inject({
      method: 'PUT',
      url: `/vitally/resources/accounts/${id}`,
      payload: { name: 'Acme Corp', traits: { b: null, c: 3 } },
      headers: KEY,
    });
    expect(put.statusCode).toBe(200);
    expect(put.json()).toMatchObject({ id, name: 'Acme Corp', traits: { a: 1, c: 3 } });
    expect(put.json<{ traits: object }>().traits).not.toHaveProperty('b');

    const renamed = await app.inject({
      method: 'PUT',
      url: '/vitally/resources/accounts/org-1',
      payload: { externalId: 'org-2' },
      headers: KEY,
    });
    expect(renamed.statusCode).toBe(400);

    const missing = await app.inject({
      method: 'PUT',
      url: '/vitally/resources/accounts/nope',
      payload: { name: 'X' },
      headers: KEY,
    });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({ error: 'Not Found' });
    expect((await get('/resources/users/nope')).statusCode).toBe(404);

    expect((await inspect(app, 'vitally')).records?.account?.[0]).toMatchObject({ key: 'org-1', writes: 2 });
  });

  it('refuses a missing key, another scheme and bad-key with 401, before reading the body', async () => {
    for (const headers of <Record<string, string>[]>[
      {},
      basic('bad-key'),
      basic(''),
      { authorization: 'Bearer vitally_test_key' },
    ]) {
      const res = await post('/resources/accounts', { externalId: 'org-1', name: 'Acme' }, headers);
      expect(res.statusCode).toBe(401);
      expect(res.json()).toMatchObject({ error: 'Unauthorized' });
    }
    const brokenBody = await app.inject({
      method: 'POST',
      url: '/vitally/resources/accounts',
      payload: 'not json',
      headers: { ...basic('bad-key'), 'content-type': 'application/json' },
    });
    expect(brokenBody.statusCode).toBe(401);
    const seen = await inspect(app, 'vitally');
    expect(seen.counts.byStatus).toEqual({ '401': 5 });
    expect(seen.records).toEqual({});
  });

  it('answers 429 with RateLimit-Limit / -Remaining / -Reset over the limit, and nothing is written', async () => {
    await control(app, 'vitally', { rateLimitPerSecond: 1 });
    const ok = await post('/resources/accounts', { externalId: 'org-1', name: 'Acme' });
    expect(ok.statusCode).toBe(200);
    expect(ok.headers['ratelimit-limit']).toBe('1, 1;window=1');
    expect(ok.headers['ratelimit-remaining']).toBe('0');

    const limited = await post('/resources/accounts', { externalId: 'org-2', name: 'Other' });
    expect(limited.statusCode).toBe(429);
    expect(limited.json()).toMatchObject({ error: 'Too Many Requests' });
    expect(limited.headers['ratelimit-limit']).toBe('1, 1;window=1');
    expect(limited.headers['ratelimit-remaining']).toBe('0');
    expect(Number(limited.headers['ratelimit-reset'])).toBeGreaterThanOrEqual(1);
    expect(limited.headers['retry-after']).toBeUndefined();

    const seen = await inspect(app, 'vitally');
    expect(seen.records?.account?.map((r) => r.key)).toEqual(['org-1']);
    expect(seen.counts.byStatus).toEqual({ '200': 1, '429': 1 });
  });

  it('sends no RateLimit headers while no limit is set', async () => {
    const res = await post('/resources/accounts', { externalId: 'org-1', name: 'Acme' });
    expect(res.headers['ratelimit-limit']).toBeUndefined();
  });

  it('fails with 500 at the configured failure rate, writing nothing', async () => {
    await control(app, 'vitally', { failureRate: 1 });
    const res = await post('/resources/accounts', { externalId: 'org-1', name: 'Acme' });
    expect(res.statusCode).toBe(500);
    expect(res.json()).toMatchObject({ error: 'Internal Server Error' });
    expect((await inspect(app, 'vitally')).records).toEqual({});
  });

  it('starts from an empty store after POST /_reset', async () => {
    await post('/resources/accounts', { externalId: 'org-1', name: 'Acme' });
    await app.inject({ method: 'POST', url: '/_reset' });
    expect((await get('/resources/accounts/org-1')).statusCode).toBe(404);
    const again = await post('/resources/accounts', { externalId: 'org-1', name: 'Acme' });
    expect(again.json()).toMatchObject({ externalId: 'org-1' });
    expect((await inspect(app, 'vitally')).records?.account?.[0]?.writes).toBe(1);
  });
});

describe('Vitally simulator: deleting a user', () => {
  const remove = (id: string, headers: Record<string, string> = KEY) =>
    app.inject({ method: 'DELETE', url: `/vitally/resources/users/${id}`, headers });

  it('deletes a user by externalId or Vitally id, keeps the account, and answers 404 the second time', async () => {
    await post('/resources/accounts', { externalId: 'org-1', name: 'Acme' });
    await post('/resources/users', { externalId: 'person-1', accountIds: ['org-1'], email: 'ana@acme.com' });
    const other = (await post('/resources/users', { externalId: 'person-2', accountIds: ['org-1'] })).json<{
      id: string;
    }>();

    expect((await remove('person-1', {})).statusCode).toBe(401);
    const deleted = await remove('person-1');
    expect(deleted.statusCode).toBe(200);
    expect(deleted.json()).toMatchObject({ externalId: 'person-1' });
    expect((await get('/resources/users/person-1')).statusCode).toBe(404);
    expect((await remove('person-1')).statusCode).toBe(404);
    expect((await remove(other.id)).statusCode).toBe(200);
    expect((await get('/resources/accounts/org-1')).statusCode).toBe(200);

    const seen = await inspect(app, 'vitally');
    expect(seen.records?.user ?? []).toEqual([]);
    expect(seen.deleted?.map((d) => d.type)).toEqual(['user', 'user']);
    expect(seen.calls.filter((c) => c.method === 'DELETE').map((c) => [c.status, c.note ?? null])).toEqual([
      [401, null],
      [200, 'deleted'],
      [404, null],
      [200, 'deleted'],
    ]);
  });

  it('refuses a scheduled deletion (deleteOn), which the sandbox does not simulate', async () => {
    await post('/resources/accounts', { externalId: 'org-1', name: 'Acme' });
    await post('/resources/users', { externalId: 'person-1', accountIds: ['org-1'] });
    const res = await app.inject({
      method: 'DELETE',
      url: '/vitally/resources/users/person-1?deleteOn=2027-01-01',
      headers: KEY,
    });
    expect(res.statusCode).toBe(400);
    expect((await get('/resources/users/person-1')).statusCode).toBe(200);
  });
});
