import { randomBytes } from 'node:crypto';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { ConfigError, LIVE_CREDENTIALS, loadConfig } from '../../src/config';
import {
  dataConverter,
  ENCRYPTED_ENCODING,
  EncryptionCodec,
  KEY_ID_METADATA,
  parseCodecKeys,
  PayloadCodecError,
  type CodecKey,
} from '../../src/temporal/codec';

const key = (id: string): CodecKey => ({ id, key: randomBytes(32) });
const env = (...keys: CodecKey[]) => keys.map((k) => `${k.id}:${k.key.toString('base64')}`).join(',');
const text = (b: Uint8Array | null | undefined) => Buffer.from(b ?? new Uint8Array()).toString('utf8');

const company = { name: 'Quorvalis Systems', domain: 'quorvalis.com', title: 'VP Engineering' };
const plain = (): Payload => defaultPayloadConverter.toPayload(company);

/** Live mode with every credential and secret it needs but the payload keys. */
const LIVE: Record<string, string> = {
  ...Object.fromEntries(
    Object.values(LIVE_CREDENTIALS)
      .flat()
      .map((name) => [name, 'x']),
  ),
  WEBHOOK_SECRET: 'whsec-0123456789abcdef0123456789',
  ADMIN_TOKEN: 'admin-0123456789abcdef0123456789',
  CLAY_CALLBACK_SECRET: 'clay-0123456789abcdef01234567890',
  PII_HASH_KEY: 'pii-0123456789abcdef0123456789ab',
  ENRICHMENT_MODE: 'live',
};

function configError(vars: Record<string, string>): string {
  try {
    loadConfig(vars);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('loadConfig accepted the configuration');
}

describe('payload codec (AES-256-GCM)', () => {
  it('encrypts the whole payload under the first key, labelled with its id, and decodes it back', async () => {
    const k1 = key('k1');
    const codec = new EncryptionCodec([k1]);
    const [encoded] = await codec.encode([plain()]);
    expect(text(encoded!.metadata!.encoding)).toBe(ENCRYPTED_ENCODING);
    expect(text(encoded!.metadata![KEY_ID_METADATA])).toBe('k1');
    // Neither the data nor the original metadata (json/plain) stays readable.
    expect(Object.keys(encoded!.metadata!).sort()).toEqual(['encoding', KEY_ID_METADATA]);
    for (const value of Object.values(company)) expect(text(encoded!.data)).not.toContain(value);
    expect(text(encoded!.data)).not.toContain('json/plain');

    const [decoded] = await codec.decode([encoded!]);
    expect(defaultPayloadConverter.fromPayload(decoded!)).toEqual(company);
    expect(text(decoded!.metadata!.encoding)).toBe('json/plain');
  });

  it('uses a fresh IV for every payload', async () => {
    const codec = new EncryptionCodec([key('k1')]);
    const [a, b] = await codec.encode([plain(), plain()]);
    expect(Buffer.from(a!.data!).equals(Buffer.from(b!.data!))).toBe(false);
  });

  it('passes payloads written before encryption through unchanged', async () => {
    const codec = new EncryptionCodec([key('k1')]);
    const old = plain();
    const [decoded] = await codec.decode([old]);
    expect(decoded).toBe(old);
  });

  it('refuses a tampered payload or one relabelled with another key id, naming the key id and never a key', async () => {
    const k1 = key('k1');
    const k2 = key('k2');
    const codec = new EncryptionCodec([k1, k2]);
    const [encoded] = await codec.encode([plain()]);
    const flipped = Buffer.from(encoded!.data!);
    flipped[20] = flipped[20]! ^ 1;
    const tampered = { ...encoded!, data: new Uint8Array(flipped) };
    const error = await codec.decode([tampered]).catch((err: unknown) => err as Error);
    expect(error).toBeInstanceOf(PayloadCodecError);
    expect((error as Error).message).toMatch(/key id "k1" fails authentication/);

    const relabelled = { ...encoded!, metadata: { ...encoded!.metadata, [KEY_ID_METADATA]: Buffer.from('k2') } };
    await expect(codec.decode([relabelled])).rejects.toThrow(/key id "k2" fails authentication/);

    const truncated = { ...encoded!, data: encoded!.data!.subarray(0, 10) };
    await expect(codec.decode([truncated])).rejects.toThrow(/key id "k1" is truncated/);

    for (const err of [error as Error]) {
      for (const k of [k1, k2]) {
        expect(err.message).not.toContain(k.key.toString('base64'));
        expect(err.message).not.toContain(k.key.toString('hex'));
      }
    }
  });

  it('names an unknown key id, and the ones it has', async () => {
    const [encoded] = await new EncryptionCodec([key('old')]).encode([plain()]);
    const newOnly = key('new');
    const error = await new EncryptionCodec([newOnly]).decode([encoded!]).catch((err: unknown) => err as Error);
    expect(error).toBeInstanceOf(PayloadCodecError);
    expect((error as Error).message).toBe(
      'a payload is encrypted with key id "old", which PAYLOAD_CODEC_KEYS does not list (it lists "new")',
    );
    expect((error as Error).message).not.toContain(newOnly.key.toString('base64'));
  });

  it('rotates: payloads under the old key decode with "new,old", and new payloads carry the new key', async () => {
    const k1 = key('2026-01');
    const k2 = key('2026-06');
    const [before] = await new EncryptionCodec([k1]).encode([plain()]);

    const rotated = new EncryptionCodec([k2, k1]);
    expect(rotated.keyId).toBe('2026-06');
    const [old] = await rotated.decode([before!]);
    expect(defaultPayloadConverter.fromPayload(old!)).toEqual(company);
    const [after] = await rotated.encode([plain()]);
    expect(text(after!.metadata![KEY_ID_METADATA])).toBe('2026-06');
    // Encrypted under the new key indeed: the new key alone opens it, the old alone does not.
    const [fresh] = await new EncryptionCodec([k2]).decode([after!]);
    expect(defaultPayloadConverter.fromPayload(fresh!)).toEqual(company);
    await expect(new EncryptionCodec([k1]).decode([after!])).rejects.toThrow(/key id "2026-06"/);
    // Once the old key is dropped, its payloads no longer decode: keep it while histories hold them.
    await expect(new EncryptionCodec([k2]).decode([before!])).rejects.toThrow(/key id "2026-01"/);
  });
});

describe('PAYLOAD_CODEC_KEYS and CODEC_CORS_ORIGINS', () => {
  it('parses every key in order, the first one encrypting', () => {
    const k1 = key('k1');
    const k2 = key('k_2.old-1');
    const problems: string[] = [];
    const keys = parseCodecKeys(` ${env(k1)} , ${env(k2)} `, problems);
    expect(problems).toEqual([]);
    expect(keys.map((k) => k.id)).toEqual(['k1', 'k_2.old-1']);
    expect(keys[0]!.key.equals(k1.key)).toBe(true);
  });

  it('names each malformed entry by position and id, never showing a key', () => {
    const short = randomBytes(16).toString('base64');
    const good = key('ok');
    const value = [
      'no-colon-here',
      `bad id:${good.key.toString('base64')}`,
      `short:${short}`,
      'notb64:!!!!not-base64-at-all!!!!!!!!!!!!!!!!!!!!!',
      env(good),
      env(good),
    ].join(',');
    const message = configError({ PAYLOAD_CODEC_KEYS: value });
    expect(message).toContain('PAYLOAD_CODEC_KEYS entry 1 is not <keyId>:<base64 key>');
    expect(message).toContain('PAYLOAD_CODEC_KEYS entry 2: the key id must be 1 to 64 of A-Z a-z 0-9 . _ -');
    expect(message).toContain(
      'PAYLOAD_CODEC_KEYS entry 3 (key id "short"): the key must be the base64 of exactly 32 bytes',
    );
    expect(message).toContain('PAYLOAD_CODEC_KEYS entry 4 (key id "notb64")');
    expect(message).toContain('PAYLOAD_CODEC_KEYS entry 6: key id "ok" is listed twice');
    for (const secret of [short, good.key.toString('base64'), 'not-base64-at-all']) {
      expect(message).not.toContain(secret);
    }
  });

  it('is required in live mode (start-up names it), optional in sandbox mode', () => {
    expect(configError(LIVE)).toBe(
      'Invalid configuration:\n  - ENRICHMENT_MODE=live needs PAYLOAD_CODEC_KEYS (<keyId>:<base64 of 32 bytes>; a key: openssl rand -base64 32)',
    );
    expect(loadConfig({ ...LIVE, PAYLOAD_CODEC_KEYS: env(key('k1')) }).payloadCodec?.keys).toHaveLength(1);

    const off = loadConfig({});
    expect(off.payloadCodec).toBeUndefined();
    expect(dataConverter(off)).toEqual({});
    const on = loadConfig({ PAYLOAD_CODEC_KEYS: env(key('k1'), key('k0')) });
    expect(on.payloadCodec?.keys.map((k) => k.id)).toEqual(['k1', 'k0']);
    const codecs = dataConverter(on).payloadCodecs;
    expect(codecs).toHaveLength(1);
    expect((codecs![0] as EncryptionCodec).keyId).toBe('k1');
  });

  it("allows the dev server's Web UI by default in sandbox mode, no origin live, and the configured ones", () => {
    expect(loadConfig({ TEMPORAL_DEV_UI_PORT: '8299' }).codecCorsOrigins).toEqual([
      'http://127.0.0.1:8299',
      'http://localhost:8299',
    ]);
    expect(loadConfig({ ...LIVE, PAYLOAD_CODEC_KEYS: env(key('k1')) }).codecCorsOrigins).toEqual([]);
    expect(
      loadConfig({ CODEC_CORS_ORIGINS: 'https://temporal.example.com/, http://127.0.0.1:8080' }).codecCorsOrigins,
    ).toEqual(['https://temporal.example.com', 'http://127.0.0.1:8080']);
    expect(configError({ CODEC_CORS_ORIGINS: 'temporal.example.com' })).toContain('CODEC_CORS_ORIGINS');
  });
});
