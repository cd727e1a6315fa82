import { createHash } from 'node:crypto';

/** The SHA-256 of `text` in hex: content hashes in idempotency keys, hashed ids, the ICP score's input hash. */
export const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');
