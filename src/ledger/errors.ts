/**
 * Tells a database that cannot be reached (or is restarting, or overloaded) from a value it refuses: the first is
 * worth a retry (the intake answers 503 + Retry-After), the second never is (400).
 */
export type LedgerErrorKind = 'unavailable' | 'refused_value' | 'other';

// SQLSTATE classes: 08 connection exception, 53 insufficient resources, 57 operator intervention (admin shutdown,
// cannot connect now, statement timeout), 58 system error, 40 transaction rollback (serialization, deadlock).
const UNAVAILABLE_CLASSES = new Set(['08', '53', '57', '58', '40']);
// 22 data exception (bad encoding, out-of-range value), 54 program limit exceeded (too deep, too long).
const REFUSED_VALUE_CLASSES = new Set(['22', '54']);
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
]);
// What `pg` and PGlite say when there is no connection to run the query on.
const UNAVAILABLE_MESSAGES =
  /connection terminated|timeout exceeded when trying to connect|not queryable|cannot use a pool after calling end|connection (?:refused|reset)|pglite is closed|database is closed|the database system is (?:starting up|shutting down)|query read timeout/i;

export function classifyLedgerError(err: unknown): LedgerErrorKind {
  const e = err as { code?: unknown; message?: unknown; cause?: unknown } | undefined;
  if (!e || typeof e !== 'object') return 'other';
  const code = typeof e.code === 'string' ? e.code : undefined;
  if (code !== undefined && NETWORK_CODES.has(code)) return 'unavailable';
  if (code !== undefined && /^[0-9A-Z]{5}$/.test(code)) {
    const cls = code.slice(0, 2);
    if (UNAVAILABLE_CLASSES.has(cls)) return 'unavailable';
    if (REFUSED_VALUE_CLASSES.has(cls)) return 'refused_value';
  }
  if (typeof e.message === 'string' && UNAVAILABLE_MESSAGES.test(e.message)) return 'unavailable';
  if (e.cause !== undefined && e.cause !== err) return classifyLedgerError(e.cause);
  if (err instanceof AggregateError) {
    return err.errors.some((x) => classifyLedgerError(x) === 'unavailable') ? 'unavailable' : 'other';
  }
  return 'other';
}
