import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { control, inspect, testSandbox } from '../support/sandbox';

const fixture = () =>
  JSON.parse(readFileSync(path.join(__dirname, '../fixtures/posthog/user-signed-up.json'), 'utf8')) as Record<
    string,
    Record<string, unknown>
  >;
let app: FastifyInstance;

beforeEach(() => {
  app = testSandbox();
});
afterEach(() => app.close());

const post = (payload: unknown, headers: Record<string, string> = {}) =>
  app.inject({
    method: 'POST',
    url: '/humanic/webhook',
    payload: JSON.stringify(payload),
    headers: { 'content-type': 'application/json', ...headers },
  });

describe('Humanic receiver (a PostHog webhook destination consumer)', () => {
  it("takes PostHog's own webhook payload and keeps it by event uuid; a repeat is the same record", async () => {
    const body = fixture();
    const first = await post(body, { 'x-enrichment-delivery': 'd-1' });
    expect(first.statusCode).toBe(200);
    expect(first.json()).toEqual({ received: true, duplicate: false });
    expect((await post(body, { 'x-enrichment-delivery': 'd-1' })).json()).toEqual({ received: true, duplicate: true });
    const seen = await inspect(app, 'humanic');
    expect(seen.records?.event).toHaveLength(1);
    expect(seen.records?.event?.[0]).toMatchObject({
      key: body.event!.uuid,
      writes: 2,
      fields: { hook: 'webhook', event: 'user signed up', deliveryId: 'd-1' },
    });
  });

  it('answers 400 naming every field that does not match the schema, and stores nothing', async () => {
    const body = fixture();
    delete body.event!.elements_chain;
    body.event!.uuid = 'not-a-uuid';
    body.person = { id: 'p', properties: {}, name: 'x' };
    (body.groups!.organization as Record<string, unknown>).type = 'company';
    const res = await post(body);
    expect(res.statusCode).toBe(400);
    const paths = res.json<{ issues: { path: string }[] }>().issues.map((i) => i.path);
    expect(paths).toEqual(expect.arrayContaining(['event.uuid', 'event.elements_chain', 'person.url']));
    // Our generic envelope is not PostHog's shape either.
    const envelope = await post({ event: 'signup.enriched', deliveryId: 'x', signup: {} });
    expect(envelope.statusCode).toBe(400);
    const mismatched = fixture();
    (mismatched.groups!.organization as Record<string, unknown>).type = 'company';
    expect((await post(mismatched)).json<{ issues: { path: string }[] }>().issues).toEqual([
      { path: 'groups.organization.type', message: 'must be the group type "organization"' },
    ]);
    expect((await inspect(app, 'humanic')).records?.event ?? []).toHaveLength(0);
  });

  it("takes the webhook template's default body `{ event, person }`; groups and project are optional, checked when sent", async () => {
    const { event, person } = fixture();
    expect((await post({ event, person })).statusCode).toBe(200);
    // A person-less event (PostHog's `person` may be null or left out of a custom body): only `event` is required.
    const other = { ...event, uuid: '0190c0d2-7a6b-7c3e-9f10-5b2a3c4d5e6f' };
    expect((await post({ event: other })).statusCode).toBe(200);
    expect(
      (await post({ event: { ...other, uuid: '0190c0d2-7a6b-7c3e-9f10-5b2a3c4d5e70' }, person: null })).statusCode,
    ).toBe(200);
    const missing = await post({ person });
    expect(missing.statusCode).toBe(400);
    expect(missing.json<{ issues: { path: string }[] }>().issues.map((i) => i.path)).toEqual(['event']);
    const badExtras = await post({ event, person, groups: { organization: { id: 'o' } }, project: { id: 'x' } });
    expect(badExtras.statusCode).toBe(400);
    const paths = badExtras.json<{ issues: { path: string }[] }>().issues.map((i) => i.path);
    expect(paths).toEqual(
      expect.arrayContaining(['groups.organization.type', 'groups.organization.index', 'project.id', 'project.name']),
    );
    expect((await inspect(app, 'humanic')).records?.event).toHaveLength(3);
  });

  it('refuses a wrong bearer token when one is required, and not-JSON with 415', async () => {
    await control(app, 'humanic', { bearerToken: 'tok-1' });
    expect((await post(fixture())).statusCode).toBe(401);
    expect((await post(fixture(), { authorization: 'Bearer tok-2' })).statusCode).toBe(401);
    expect((await post(fixture(), { authorization: 'Bearer tok-1' })).statusCode).toBe(200);
    const text = await app.inject({
      method: 'POST',
      url: '/humanic/webhook',
      payload: 'hello',
      headers: { 'content-type': 'text/plain', authorization: 'Bearer tok-1' },
    });
    expect(text.statusCode).toBe(415);
  });
});
