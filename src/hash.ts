import { createHash, createHmac } from 'node:crypto';

/** The SHA-256 of `text` in hex: content hashes in idempotency keys, hashed ids, the ICP score's input hash. */
export const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

/**
 * The HMAC-SHA256 of `text` under `key`, in hex: what stands for a person (an email) where the email must not appear.
 * Unlike {@link sha256}, nobody without the key can test a guessed email against it.
 */
export const keyedHash = (key: string, text: string): string => createHmac('sha256', key).update(text).digest('hex');
