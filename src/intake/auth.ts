import { createHash, timingSafeEqual } from 'node:crypto';

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/**
 * Checks `Authorization: Bearer <secret>` in constant time: both sides are hashed to equal-length digests first,
 * so neither the content nor the length of the secret leaks through timing.
 */
export function isAuthorized(header: string | undefined, secret: string): boolean {
  const match = /^Bearer\s+(.+)$/i.exec(header?.trim() ?? '');
  const presented = match?.[1] ?? '';
  return timingSafeEqual(digest(presented), digest(secret)) && presented.length > 0;
}
