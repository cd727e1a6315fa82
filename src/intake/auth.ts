import { timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { sha256 } from '../hash';

const digest = (s: string): Buffer => Buffer.from(sha256(s));

/**
 * Checks `Authorization: Bearer <secret>` in constant time: both sides are hashed to equal-length digests first,
 * so neither the content nor the length of the secret leaks through timing. No secret (an endpoint not configured)
 * refuses everyone.
 */
export function isAuthorized(
  header: string | undefined,
  secret: string | undefined,
  secretDigest: Buffer = digest(secret ?? ''),
): boolean {
  const match = /^Bearer\s+(.+)$/i.exec(header?.trim() ?? '');
  const presented = match?.[1] ?? '';
  const equal = timingSafeEqual(digest(presented), secretDigest);
  return equal && presented.length > 0 && secret !== undefined;
}

/** An `onRequest` hook answering 401 unless the request carries `secret` as its bearer token. */
export function requireBearer(secret: string | undefined, onRefused?: (request: FastifyRequest) => void) {
  const secretDigest = digest(secret ?? '');
  return async (request: FastifyRequest, reply: FastifyReply) => {
    if (!isAuthorized(request.headers.authorization, secret, secretDigest)) {
      onRefused?.(request);
      return reply.code(401).header('www-authenticate', 'Bearer').send({ error: 'missing or wrong bearer token' });
    }
  };
}
