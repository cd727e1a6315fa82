import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { canonicalJson } from '../../src/sandbox/slack';
import { control, inspect, testSandbox } from '../support/sandbox';

const HOOK = '/slack/services/T0001/B0001/XXXXsecret';
let app: FastifyInstance;

beforeEach(() => {
  app = testSandbox();
});
afterEach(() => app.close());

const postJson = (payload: unknown, url = HOOK) => app.inject({ method: 'POST', url, payload: payload as object });
const postRaw = (payload: string, contentType: string, url = HOOK) =>
  app.inject({ method: 'POST', url, payload, headers: { 'content-type': contentType } });

describe('Slack incoming webhook simulator', () => {
  it('answers 200 text/plain "ok" and stores the message', async () => {
    const blocks = [{ type: 'section', text: { type: 'mrkdwn', text: '*Acme* signed up' } }];
    const res = await postJson({ text: 'New signup: Acme', blocks });
    expect(res.statusCode).toBe(200);
    expect(res.body).toBe('ok');
    expect(res.headers['content-type']).toMatch(/^text\/plain/);

    const seen = await inspect(app, 'slack');
    expect(seen.records?.message).toHaveLength(1);
    expect(seen.records?.message?.[0]).toMatchObject({
      fields: { channel: 'T0001/B0001/XXXXsecret', text: 'New signup: Acme', blocks },
      writes: 1,
    });
    expect(seen.calls[0]).toMatchObject({ key: 'T0001/B0001/XXXXsecret', status: 200 });
  });

  it('keys messages by sha256 of the path and the canonical body: a repeat is the same record, writes 2', async () => {
    const payload = { text: 'hello', blocks: [{ type: 'divider' }] };
    expect((await postJson(payload)).statusCode).toBe(200);
    // Same content, keys in another order: the canonical JSON is the same.
    expect((await postRaw('{"blocks":[{"type":"divider"}],"text":"hello"}', 'application/json')).statusCode).toBe(200);
    // Same body to another webhook: another record.
    expect((await postJson(payload, '/slack/services/T0001/B0002/other')).statusCode).toBe(200);

    const messages = (await inspect(app, 'slack')).records?.message ?? [];
    expect(messages.map((m) => m.writes)).toEqual([2, 1]);
    const expectedKey = createHash('sha256')
      .update('/services/T0001/B0001/XXXXsecret' + canonicalJson(payload))
      .digest('hex');
    expect(messages[0]?.key).toBe(expectedKey);
  });

  it('accepts blocks or attachments without text, and the form-encoded payload= body', async () => {
    expect((await postJson({ blocks: [{ type: 'divider' }] })).body).toBe('ok');
    expect((await postJson({ attachments: [{ fallback: 'f', text: 'a' }] })).body).toBe('ok');
    const form = await postRaw(
      `payload=${encodeURIComponent(JSON.stringify({ text: 'from a form' }))}`,
      'application/x-www-form-urlencoded',
    );
    expect(form.statusCode).toBe(200);
    const texts = (await inspect(app, 'slack')).records?.message?.map((m) => m.fields.text);
    expect(texts).toEqual([null, null, 'from a form']);
  });

  it('answers Slack plain-text errors for bad payloads, storing nothing', async () => {
    const cases: [() => ReturnType<typeof postJson>, number, string][] = [
      [() => postRaw('{"text": ', 'application/json'), 400, 'invalid_payload'],
      [() => postRaw('not json at all', 'text/plain'), 400, 'invalid_payload'],
      [() => postJson(['text']), 400, 'invalid_payload'],
      [() => postJson({ text: 42 }), 400, 'invalid_payload'],
      [() => postJson({}), 400, 'no_text'],
      [() => postJson({ text: '   ' }), 400, 'no_text'],
      [() => postJson({ text: 'x', blocks: 'nope' }), 400, 'invalid_blocks'],
      [
        () => postJson({ attachments: Array.from({ length: 101 }, () => ({ text: 'a' })) }),
        400,
        'too_many_attachments',
      ],
    ];
    for (const [send, status, body] of cases) {
      const res = await send();
      expect([res.statusCode, res.body]).toEqual([status, body]);
      expect(res.headers['content-type']).toMatch(/^text\/plain/);
    }
    const seen = await inspect(app, 'slack');
    expect(seen.records).toEqual({});
    expect(seen.counts.byStatus).toEqual({ '400': cases.length });
  });

  it('answers invalid_token, no_service and channel_is_archived by the URL', async () => {
    const cases: [string, number, string][] = [
      ['/slack/services/T1/B1/bad-key', 403, 'invalid_token'],
      ['/slack/services/T1/B1/revoked', 404, 'no_service'],
      ['/slack/services/T1/B1/archived', 410, 'channel_is_archived'],
      ['/slack/services/T1/B1', 404, 'no_service'],
    ];
    for (const [url, status, body] of cases) {
      const res = await postJson({ text: 'hi' }, url);
      expect([res.statusCode, res.body]).toEqual([status, body]);
    }
    // The token is checked before the payload; the archived channel after it.
    expect((await postJson({}, '/slack/services/T1/B1/bad-key')).body).toBe('invalid_token');
    expect((await postJson({}, '/slack/services/T1/B1/archived')).body).toBe('no_text');
    expect((await inspect(app, 'slack')).records).toEqual({});
  });

  it('answers 429 rate_limited with Retry-After over the per-second limit', async () => {
    await control(app, 'slack', { rateLimitPerSecond: 1 });
    const first = await postJson({ text: 'one' });
    const second = await postJson({ text: 'two' });
    expect(first.statusCode).toBe(200);
    expect(second.statusCode).toBe(429);
    expect(second.body).toBe('rate_limited');
    expect(Number(second.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    const seen = await inspect(app, 'slack');
    expect(seen.records?.message?.map((m) => m.fields.text)).toEqual(['one']);
  });

  it('fails with 500 rollup_error at the configured failure rate', async () => {
    await control(app, 'slack', { failureRate: 1 });
    const res = await postJson({ text: 'hi' });
    expect([res.statusCode, res.body]).toEqual([500, 'rollup_error']);
    expect((await inspect(app, 'slack')).records).toEqual({});
  });
});
