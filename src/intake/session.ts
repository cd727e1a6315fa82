import { createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { sha256 } from '../hash';

/**
 * The operator's browser session: what a browser shows instead of `Authorization: Bearer <ADMIN_TOKEN>`, which it
 * cannot send by itself. One sign-in (`GET /dashboard/login` or `GET /codec/login`: the browser's own Basic prompt,
 * any user name, ADMIN_TOKEN as the password) sets one cookie that opens both the dashboard and the codec endpoint.
 */
export const OPERATOR_SESSION = {
  cookie: 'operator_session',
  /** How long a session lasts. */
  seconds: 12 * 60 * 60,
} as const;

/**
 * `<expiry seconds>.<HMAC of it under ADMIN_TOKEN>`. Stateless (it survives restarts and any number of starters) and
 * ends with ADMIN_TOKEN: rotating the token ends every session. Holds no secret itself.
 */
const sessionMac = (adminToken: string, expires: number) =>
  createHmac('sha256', adminToken).update(`operator-session.${expires}`).digest('base64url');

export function newOperatorSession(adminToken: string, nowMs: number): string {
  const expires = Math.floor(nowMs / 1000) + OPERATOR_SESSION.seconds;
  return `${expires}.${sessionMac(adminToken, expires)}`;
}

export function validOperatorSession(adminToken: string, value: string | undefined, nowMs: number): boolean {
  const match = /^(\d{1,12})\.([A-Za-z0-9_-]{43})$/.exec(value ?? '');
  if (!match) return false;
  const expires = Number(match[1]);
  const expected = Buffer.from(sessionMac(adminToken, expires));
  return timingSafeEqual(Buffer.from(match[2]!), expected) && expires * 1000 > nowMs;
}

export function requestCookie(request: FastifyRequest, name: string): string | undefined {
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return v.join('=');
  }
  return undefined;
}

/** The session cookie of `request`, if it is one this ADMIN_TOKEN made and it has not expired. */
export const hasOperatorSession = (adminToken: string, request: FastifyRequest): boolean =>
  validOperatorSession(adminToken, requestCookie(request, OPERATOR_SESSION.cookie), Date.now());

/** ADMIN_TOKEN as `Bearer <token>` or as the password of HTTP Basic (the browser's prompt of a login route). */
export function presentedToken(header: string | undefined): string | undefined {
  const bearer = /^Bearer\s+(.+)$/i.exec(header?.trim() ?? '');
  if (bearer) return bearer[1];
  const basic = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(header?.trim() ?? '');
  if (!basic) return undefined;
  const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : decoded.slice(colon + 1);
}

/** A constant-time check of a presented token against ADMIN_TOKEN (both hashed first: the length does not leak). */
export function adminTokenMatcher(adminToken: string): (presented: string | undefined) => boolean {
  const tokenDigest = Buffer.from(sha256(adminToken));
  return (presented) =>
    timingSafeEqual(Buffer.from(sha256(presented ?? '')), tokenDigest) &&
    (presented ?? '').length > 0 &&
    adminToken.length > 0;
}

/**
 * A login route's work: with ADMIN_TOKEN as the Basic password (or bearer token), sets the session cookie and returns
 * true; otherwise answers 401 with the Basic challenge that makes the browser prompt, and returns false.
 */
export function signIn(adminToken: string, request: FastifyRequest, reply: FastifyReply, realm: string): boolean {
  if (!adminTokenMatcher(adminToken)(presentedToken(request.headers.authorization))) {
    void reply
      .code(401)
      .header('www-authenticate', `Basic realm="${realm} (password: ADMIN_TOKEN)", charset="UTF-8"`)
      .header('cache-control', 'no-store')
      .send({ error: 'sign in with any user name and ADMIN_TOKEN as the password' });
    return false;
  }
  const secure = request.protocol === 'https' ? '; Secure' : '';
  const session = newOperatorSession(adminToken, Date.now());
  void reply
    .header(
      'set-cookie',
      `${OPERATOR_SESSION.cookie}=${session}; Path=/; Max-Age=${OPERATOR_SESSION.seconds}; HttpOnly; SameSite=Strict${secure}`,
    )
    .header('cache-control', 'no-store');
  return true;
}
