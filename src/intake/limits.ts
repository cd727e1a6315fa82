import { CONTROL_CHARACTERS } from '../domain/email';

/**
 * The intake's limits, each stated once: docs/http-api.md, "Intake limits", lists them with what a sender gets.
 * A body outside them can never succeed, so it gets a 4xx at once — never a 5xx, which PostHog would retry until it
 * disables the destination.
 */
export const INTAKE_LIMITS = {
  /** An email as sent to `/signups`, before it is checked (an unusable one is recorded `skipped`): 400 above. */
  maxRawEmailLength: 1024,
  /** Whole body (413 above). */
  maxBodyBytes: 1024 * 1024,
  /** Objects and arrays nested in one another; PostHog's own payloads stay under 10. */
  maxJsonDepth: 32,
  /** Event uuid, event name, distinct id, person id, organization id (PostHog caps distinct ids at 200 too). */
  maxIdLength: 200,
  /** A person's or an organization's name. */
  maxNameLength: 256,
  maxSourceLength: 64,
  /** Signup times before this are not plausible for a product signup. */
  earliestSignupAt: '2000-01-01T00:00:00Z',
  /** Signup times may run ahead of our clock by this much (senders' clock skew), no more. */
  maxClockSkewMs: 24 * 60 * 60 * 1000,
} as const;

export interface Issue {
  path: string;
  message: string;
}

// A UTF-16 surrogate without its pair: JSON allows the escape, UTF-8 and PostgreSQL's jsonb cannot hold it.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * What no part of a body may hold, wherever it is: nesting deeper than the limit, a NUL character or a lone
 * surrogate (PostgreSQL cannot store either), and `__proto__` keys. Stops at the first problem of each kind.
 */
export function checkJsonLimits(body: unknown): Issue[] {
  const issues: Issue[] = [];
  const found = new Set<string>();
  const report = (kind: string, path: (string | number)[], message: string) => {
    if (found.has(kind)) return;
    found.add(kind);
    issues.push({ path: describePath(path), message });
  };
  const checkString = (s: string, path: (string | number)[], what: string) => {
    if (s.includes('\u0000')) report('nul', path, `${what} contains a NUL character`);
    if (LONE_SURROGATE.test(s)) report('surrogate', path, `${what} contains an unpaired UTF-16 surrogate`);
  };
  // Iterative, so that a body nested thousands deep cannot exhaust the stack before it is refused.
  const stack: { value: unknown; path: (string | number)[]; depth: number }[] = [{ value: body, path: [], depth: 0 }];
  while (stack.length > 0) {
    const { value, path, depth } = stack.pop()!;
    if (typeof value === 'string') {
      checkString(value, path, 'a string');
      continue;
    }
    if (value === null || typeof value !== 'object') continue;
    if (depth >= INTAKE_LIMITS.maxJsonDepth) {
      report('depth', path, `nested deeper than ${INTAKE_LIMITS.maxJsonDepth} levels`);
      continue;
    }
    if (Array.isArray(value)) {
      value.forEach((v, i) => stack.push({ value: v, path: [...path, i], depth: depth + 1 }));
      continue;
    }
    for (const [key, v] of Object.entries(value)) {
      const at = [...path, key];
      if (key === '__proto__') report('proto', at, 'the key "__proto__" is not allowed');
      checkString(key, at, 'a key');
      stack.push({ value: v, path: at, depth: depth + 1 });
    }
  }
  return issues;
}

/** Problems of one text field we read and store: control characters and length. */
export function checkText(value: string, max: number): string | undefined {
  if (CONTROL_CHARACTERS.test(value)) return 'contains control characters';
  if (value.length > max) return `is longer than ${max} characters`;
  return undefined;
}

const EARLIEST_SIGNUP_MS = Date.parse(INTAKE_LIMITS.earliestSignupAt);
// Fatal: invalid bytes throw instead of becoming U+FFFD. Without `stream`, decode() keeps no state between calls.
const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** A signup time within the plausible range, as an ISO string; or why it is not one. */
export function checkSignupTime(value: string, now: Date): { iso: string } | { problem: string } {
  const t = Date.parse(value);
  if (Number.isNaN(t)) return { problem: 'is not an ISO 8601 date-time' };
  const latest = now.getTime() + INTAKE_LIMITS.maxClockSkewMs;
  if (t < EARLIEST_SIGNUP_MS || t > latest) {
    return { problem: `is outside the plausible range (${INTAKE_LIMITS.earliestSignupAt} to 1 day from now)` };
  }
  return { iso: new Date(t).toISOString() };
}

export function describePath(path: readonly PropertyKey[]): string {
  return path.length > 0 ? path.map(String).join('.') : '(body)';
}

/** Media types a body may be sent as; all of them must hold JSON in UTF-8. */
const JSON_MEDIA_TYPE = /^(application\/(?:[\w.+-]+\+)?json|text\/plain)$/;

/** A request body that can never be read: answered with its status (400 or 415) and the issues. */
export class UnreadableBodyError extends Error {
  constructor(
    readonly statusCode: 400 | 415,
    readonly issues: Issue[],
  ) {
    super(issues.map((i) => i.message).join('; '));
    this.name = 'UnreadableBodyError';
  }
}

/**
 * Reads a body as JSON within the limits: a JSON (or `text/plain`) media type in UTF-8, valid UTF-8 bytes, valid JSON,
 * then `checkJsonLimits`. A missing Content-Type is read as JSON (curl without `-H` sends none… or a form type).
 */
export function readJsonBody(contentType: string | undefined, raw: Buffer): unknown {
  const [mediaType = '', ...params] = (contentType ?? 'application/json').split(';').map((p) => p.trim());
  if (!JSON_MEDIA_TYPE.test(mediaType.toLowerCase())) {
    throw new UnreadableBodyError(415, [
      {
        path: '(content-type)',
        message: `content type ${mediaType || '(empty)'} is not supported: send application/json`,
      },
    ]);
  }
  const charset = params.find((p) => p.toLowerCase().startsWith('charset='))?.slice('charset='.length);
  if (charset !== undefined && !/^"?utf-?8"?$/i.test(charset)) {
    throw new UnreadableBodyError(415, [
      { path: '(content-type)', message: `charset ${charset} is not supported: send UTF-8` },
    ]);
  }
  let text: string;
  try {
    text = UTF8.decode(raw);
  } catch {
    throw new UnreadableBodyError(400, [{ path: '(body)', message: 'body is not valid UTF-8' }]);
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    throw new UnreadableBodyError(400, [
      { path: '(body)', message: `body is not valid JSON: ${(err as Error).message}` },
    ]);
  }
  const issues = checkJsonLimits(body);
  if (issues.length > 0) throw new UnreadableBodyError(400, issues);
  return body;
}
