import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { DataConverter, Payload, PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';

/**
 * Payload encryption (PAYLOAD_CODEC_KEYS, docs/personal-data.md): every payload the worker, the starter, the CLI and
 * the schedules hand to Temporal is the AES-256-GCM encryption of the original Payload proto, so the server's histories
 * hold no company or person field. The key id travels in the metadata so that keys can rotate: the first key
 * encrypts, every listed key decrypts.
 */

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA = 'encryption-key-id';
/** AES-256: keys are exactly this many bytes. */
export const CODEC_KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** What a key id may hold: it is written in plain text into every payload's metadata. */
export const KEY_ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

export interface CodecKey {
  id: string;
  /** 32 bytes. Never logged, never in a message. */
  key: Buffer;
}

/** A payload that cannot be decrypted; the message names the key id, never a key. */
export class PayloadCodecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PayloadCodecError';
  }
}

const utf8 = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array | null | undefined) => (b ? Buffer.from(b).toString('utf8') : undefined);

export class EncryptionCodec implements PayloadCodec {
  private readonly byId: Map<string, Buffer>;
  private readonly current: CodecKey;

  /** `keys[0]` encrypts; each of `keys` decrypts what was encrypted under its id. */
  constructor(keys: readonly CodecKey[]) {
    const [first] = keys;
    if (!first) throw new PayloadCodecError('the payload codec needs at least one key');
    this.current = first;
    this.byId = new Map(keys.map((k) => [k.id, k.key]));
  }

  /** The id new payloads are encrypted under. */
  get keyId(): string {
    return this.current.id;
  }

  // eslint-disable-next-line @typescript-eslint/require-await -- the interface is async; a throw must reject
  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((p) => this.encrypt(p));
  }

  // eslint-disable-next-line @typescript-eslint/require-await -- the interface is async; a throw must reject
  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((p) => this.decrypt(p));
  }

  private encrypt(payload: Payload): Payload {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.current.key, iv);
    // The key id is authenticated too: a payload relabelled with another id does not decrypt.
    cipher.setAAD(Buffer.from(this.current.id, 'utf8'));
    const plain = temporal.api.common.v1.Payload.encode(payload).finish();
    const data = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
    return {
      metadata: { encoding: utf8(ENCRYPTED_ENCODING), [KEY_ID_METADATA]: utf8(this.current.id) },
      data: new Uint8Array(data),
    };
  }

  private decrypt(payload: Payload): Payload {
    // Payloads written before the codec was on (recorded histories, older executions) pass through unchanged.
    if (text(payload.metadata?.encoding) !== ENCRYPTED_ENCODING) return payload;
    const keyId = text(payload.metadata?.[KEY_ID_METADATA]);
    if (keyId === undefined) throw new PayloadCodecError(`an encrypted payload carries no ${KEY_ID_METADATA}`);
    const key = this.byId.get(keyId);
    if (!key) {
      throw new PayloadCodecError(
        `a payload is encrypted with key id "${keyId}", which PAYLOAD_CODEC_KEYS does not list (it lists ${[...this.byId.keys()].map((id) => `"${id}"`).join(', ')})`,
      );
    }
    const data = Buffer.from(payload.data ?? new Uint8Array());
    if (data.length < IV_BYTES + TAG_BYTES) {
      throw new PayloadCodecError(`a payload encrypted with key id "${keyId}" is truncated`);
    }
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, IV_BYTES));
      decipher.setAAD(Buffer.from(keyId, 'utf8'));
      decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
      const plain = Buffer.concat([
        decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)),
        decipher.final(),
      ]);
      return temporal.api.common.v1.Payload.decode(plain);
    } catch {
      throw new PayloadCodecError(
        `a payload encrypted with key id "${keyId}" fails authentication: it was altered, or "${keyId}" is not the key it was encrypted with`,
      );
    }
  }
}

/**
 * PAYLOAD_CODEC_KEYS: `<keyId>:<base64 of 32 bytes>[,<keyId>:<key>…]`. Problems are pushed, naming the entry by its
 * position and id, never its key.
 */
export function parseCodecKeys(value: string, problems: string[]): CodecKey[] {
  const keys: CodecKey[] = [];
  const entries = value.split(',').map((e) => e.trim());
  entries.forEach((entry, i) => {
    const where = `PAYLOAD_CODEC_KEYS entry ${i + 1}`;
    const colon = entry.indexOf(':');
    if (colon < 0) {
      problems.push(`${where} is not <keyId>:<base64 key>`);
      return;
    }
    const id = entry.slice(0, colon).trim();
    const encoded = entry.slice(colon + 1).trim();
    if (!KEY_ID_PATTERN.test(id)) {
      problems.push(`${where}: the key id must be 1 to 64 of A-Z a-z 0-9 . _ -`);
      return;
    }
    const key = Buffer.from(encoded, 'base64');
    // Buffer.from ignores what is not base64: the round trip tells a real base64 text from a lenient decode.
    const canonical = /^[A-Za-z0-9+/]+={0,2}$/.test(encoded) && key.toString('base64') === encoded;
    if (!canonical || key.length !== CODEC_KEY_BYTES) {
      problems.push(
        `${where} (key id "${id}"): the key must be the base64 of exactly ${CODEC_KEY_BYTES} bytes (openssl rand -base64 32)`,
      );
      return;
    }
    if (keys.some((k) => k.id === id)) {
      problems.push(`${where}: key id "${id}" is listed twice`);
      return;
    }
    keys.push({ id, key });
  });
  return keys;
}

type CodecConfig = { payloadCodec: { keys: readonly CodecKey[] } | undefined };

/** The deployment's codec (PAYLOAD_CODEC_KEYS), or undefined when payloads are not encrypted. */
export const payloadCodec = (config: CodecConfig): EncryptionCodec | undefined =>
  config.payloadCodec ? new EncryptionCodec(config.payloadCodec.keys) : undefined;

/**
 * The data converter of every Temporal client and worker of this application: the encryption codec when
 * PAYLOAD_CODEC_KEYS is set, else the SDK's default.
 */
export function dataConverter(config: CodecConfig): DataConverter {
  const codec = payloadCodec(config);
  return codec ? { payloadCodecs: [codec] } : {};
}
