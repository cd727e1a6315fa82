import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildIntakeApp } from '../../src/intake/app';
import { CODEC_LIMITS } from '../../src/intake/codec';
import { newOperatorSession, OPERATOR_SESSION } from '../../src/intake/session';
import { createIntakeMetrics } from '../../src/intake/metrics';
import { openLedger, type Ledger } from '../../src/ledger/ledger';
import { EncryptionCodec, type CodecKey } from '../../src/temporal/codec';
import { ADMIN_TOKEN, CLAY_SECRET, SECRET } from '../support/config';

const UI = 'http://127.0.0.1:8233';
const k1: CodecKey = { id: 'k1', key: randomBytes(32) };
const b64 = (s: string) => Buffer.from(s).toString('base64');
const unb64 = (s: string | undefined) => Buffer.from(s ?? '', 'base64').toString('utf8');

/** A payload as the protocol carries it: json/plain metadata and data, base64. */
const jsonPayload = (value: unknown) => ({
  metadata: { encoding: b64('json/plain') },
  data: b64(JSON.stringify(value)),
});
type Payloads = { payloads: { metadata?: Record<string, string>; data?: string }[] };

// The codec endpoint over real HTTP, on the intake app the starter serves.
describe('codec endpoint', () => {
  let ledger: Ledger;
  const apps: FastifyInstance[] = [];
  let base: string;
  let off: string;

  const start = async (codec: EncryptionCodec | undefined) => {
    const app = buildIntakeApp({
      ledger,
      webhookSecret: SECRET,
      adminToken: ADMIN_TOKEN,
      clayCallbackSecret: CLAY_SECRET,
      piiHashKey: 'test-pii-hash-key',
      signupEvents: ['user signed up'],
      metrics: createIntakeMetrics(ledger.outbox),
      onRecorded: () => undefined,
      deliverClayResult: () => Promise.resolve(false),
      temporalReady: () => Promise.resolve(),
      codec: { codec, corsOrigins: [UI] },
    });
    apps.push(app);
    return app.listen({ host: '127.0.0.1', port: 0 });
  };

  beforeAll(async () => {
    ledger = await openLedger({ databaseUrl: undefined });
    base = await start(new EncryptionCodec([k1]));
    off = await start(undefined);
  });

  afterAll(async () => {
    for (const app of apps) await app.close();
    await ledger?.close();
  });

  const post = async (path: string, body: unknown, headers: Record<string, string> = {}, at = base) => {
    const res = await fetch(`${at}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}`, ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
  };

  it('encodes and decodes the protocol body, as the Web UI and the temporal CLI send it', async () => {
    const value = { company: 'Quorvalis Systems', domain: 'quorvalis.com' };
    const encoded = await post('/codec/encode', { payloads: [jsonPayload(value), { metadata: {} }] });
    expect(encoded.status).toBe(200);
    const [enc, empty] = (encoded.body as Payloads).payloads;
    expect(unb64(enc!.metadata!.encoding)).toBe('binary/encrypted');
    expect(unb64(enc!.metadata!['encryption-key-id'])).toBe('k1');
    expect(unb64(enc!.data)).not.toContain('quorvalis');
    expect(empty!.metadata!['encryption-key-id']).toBeDefined();

    const decoded = await post('/codec/decode', encoded.body, { 'x-namespace': 'default' });
    expect(decoded.status).toBe(200);
    const [dec, emptyAgain] = (decoded.body as Payloads).payloads;
    expect(unb64(dec!.metadata!.encoding)).toBe('json/plain');
    expect(JSON.parse(unb64(dec!.data))).toEqual(value);
    // As protojson writes it: empty fields are left out.
    expect(emptyAgain).toEqual({});

    // Payloads from before encryption come back as they are.
    const plain = jsonPayload({ old: true });
    expect((await post('/codec/decode', { payloads: [plain] })).body).toEqual({ payloads: [plain] });
  });

  it('answers 400 naming the problem: a bad body, a tampered payload, an unknown key id', async () => {
    const missing = await post('/codec/decode', { payload: [] });
    expect(missing.status).toBe(400);
    expect(JSON.stringify(missing.body)).toContain('payloads');

    const notBase64 = await post('/codec/decode', { payloads: [{ data: 'not base64!' }] });
    expect(notBase64.status).toBe(400);
    expect(notBase64.body.issues).toEqual([{ path: 'payloads.0.data', message: 'not base64' }]);

    const notJson = await post('/codec/decode', '{"payloads": [');
    expect(notJson.status).toBe(400);
    expect(notJson.body.error).toBe('the body cannot be read');

    const { body } = await post('/codec/encode', { payloads: [jsonPayload('x')] });
    const [enc] = (body as Payloads).payloads;
    const bytes = Buffer.from(enc!.data!, 'base64');
    bytes[15] = bytes[15]! ^ 0xff;
    const tampered = await post('/codec/decode', { payloads: [{ ...enc, data: bytes.toString('base64') }] });
    expect(tampered.status).toBe(400);
    expect(tampered.body.error).toMatch(/key id "k1" fails authentication/);

    const unknown = await post('/codec/decode', {
      payloads: [{ ...enc, metadata: { ...enc!.metadata, 'encryption-key-id': b64('k9') } }],
    });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error).toMatch(/key id "k9", which PAYLOAD_CODEC_KEYS does not list/);
    for (const answer of [tampered, unknown])
      expect(JSON.stringify(answer.body)).not.toContain(k1.key.toString('base64'));
  });

  it('refuses a body over its limit with 413, and more payloads than a request may carry with 400', async () => {
    const big = await post('/codec/decode', { payloads: [{ data: 'A'.repeat(CODEC_LIMITS.maxBodyBytes) }] });
    expect(big.status).toBe(413);
    expect(big.body.error).toBe(`body larger than ${CODEC_LIMITS.maxBodyBytes} bytes`);
    // Above the intake's own 1 MiB, below the codec's limit: a large history event still decodes.
    const { body } = await post('/codec/encode', { payloads: [jsonPayload('x'.repeat(2 * 1024 * 1024))] });
    expect((await post('/codec/decode', body)).status).toBe(200);
    const many = await post('/codec/decode', {
      payloads: Array.from({ length: CODEC_LIMITS.maxPayloads + 1 }, () => ({})),
    });
    expect(many.status).toBe(400);
    expect(JSON.stringify(many.body)).toContain(`at most ${CODEC_LIMITS.maxPayloads} payloads per request`);
  });

  it('answers 401 without ADMIN_TOKEN (the webhook secret does not open it)', async () => {
    for (const authorization of ['', `Bearer ${SECRET}`, 'Bearer wrong']) {
      const res = await post('/codec/decode', { payloads: [] }, { authorization });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer');
    }
  });

  it('says the codec is off when PAYLOAD_CODEC_KEYS is unset', async () => {
    const res = await post('/codec/decode', { payloads: [] }, {}, off);
    expect(res.status).toBe(404);
    expect(res.body.error).toMatch(/PAYLOAD_CODEC_KEYS is not set/);
  });

  it('answers the Web UI origin with CORS, preflight included, and no other origin', async () => {
    const preflight = await fetch(`${base}/codec/decode`, {
      method: 'OPTIONS',
      headers: {
        origin: UI,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type,x-namespace,authorization',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe(UI);
    expect(preflight.headers.get('access-control-allow-credentials')).toBe('true');
    expect(preflight.headers.get('access-control-allow-methods')).toContain('POST');
    expect(preflight.headers.get('access-control-allow-headers')?.toLowerCase().split(', ')).toEqual(
      expect.arrayContaining(['content-type', 'x-namespace', 'authorization']),
    );

    const foreign = await fetch(`${base}/codec/decode`, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    });
    expect(foreign.status).toBe(403);
    expect(foreign.headers.get('access-control-allow-origin')).toBeNull();
    expect(((await foreign.json()) as { error: string }).error).toContain(
      'https://evil.example is not in CODEC_CORS_ORIGINS',
    );

    const fromUi = await post('/codec/decode', { payloads: [] }, { origin: UI });
    expect(fromUi.headers.get('access-control-allow-origin')).toBe(UI);
    // A refusal carries the header too, so the Web UI can read why.
    const refused = await post('/codec/decode', { payloads: [] }, { origin: UI, authorization: '' });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('access-control-allow-origin')).toBe(UI);
    const fromElsewhere = await post('/codec/decode', { payloads: [] }, { origin: 'https://evil.example' });
    expect(fromElsewhere.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('signs a browser in with ADMIN_TOKEN as the Basic password: a cookie the Web UI sends with credentials', async () => {
    const prompt = await fetch(`${base}/codec/login`);
    expect(prompt.status).toBe(401);
    expect(prompt.headers.get('www-authenticate')).toMatch(/^Basic realm=/);
    const wrong = await fetch(`${base}/codec/login`, { headers: { authorization: `Basic ${b64('ops:nope')}` } });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('set-cookie')).toBeNull();

    const login = await fetch(`${base}/codec/login`, {
      headers: { authorization: `Basic ${b64(`ops:${ADMIN_TOKEN}`)}` },
    });
    expect(login.status).toBe(200);
    const setCookie = login.headers.get('set-cookie') ?? '';
    expect(setCookie).toMatch(/^operator_session=[^;]+; Path=\/; Max-Age=43200; HttpOnly; SameSite=Strict$/);
    expect(setCookie).not.toContain(ADMIN_TOKEN);
    const session = setCookie.split(';')[0]!;

    const withCookie = await post(
      '/codec/decode',
      { payloads: [] },
      { authorization: '', origin: UI, cookie: session },
    );
    expect(withCookie.status).toBe(200);
    expect(withCookie.headers.get('access-control-allow-origin')).toBe(UI);
    // The cookie is honoured only from an allowed origin (or none), and only as the server made it.
    const foreign = await post(
      '/codec/decode',
      { payloads: [] },
      { authorization: '', origin: 'https://evil.example', cookie: session },
    );
    expect(foreign.status).toBe(401);
    const forged = `${OPERATOR_SESSION.cookie}=${session.split('=')[1]!.replace(/^\d+/, '99999999999')}`;
    expect((await post('/codec/decode', { payloads: [] }, { authorization: '', cookie: forged })).status).toBe(401);
    const expired = `${OPERATOR_SESSION.cookie}=${newOperatorSession(ADMIN_TOKEN, Date.now() - 13 * 3600_000)}`;
    expect((await post('/codec/decode', { payloads: [] }, { authorization: '', cookie: expired })).status).toBe(401);
    const otherToken = `${OPERATOR_SESSION.cookie}=${newOperatorSession('another-admin-token', Date.now())}`;
    expect((await post('/codec/decode', { payloads: [] }, { authorization: '', cookie: otherToken })).status).toBe(401);
  });
});
