import { asyncLocalStorage as activityContext } from '@temporalio/activity';
import type { ProviderName, ProviderOutcome } from '../domain/provider-outcome';

/**
 * The most a provider or destination answer may hold. Their real answers are a few KB (a company, a save result, a
 * page of HogQL rows); anything larger is not an answer to our call (a misrouted base URL, a proxy's error page, a
 * runaway response) and is cut off rather than buffered in the worker. Salesforce's answers go through jsforce, which
 * reads them whole: only its call deadline (DESTINATION_TIMEOUT_MS) bounds them.
 */
export const MAX_RESPONSE_BYTES = 4 * 1024 * 1024;

/** The deadline of one HTTP call when its client sets none (clients pass PROVIDER_ / DESTINATION_TIMEOUT_MS). */
const DEFAULT_HTTP_TIMEOUT_MS = 10_000;

/** What the provider clients need from an HTTP answer: status, headers and the body parsed when it is JSON. */
export interface HttpAnswer {
  status: number;
  headers: Headers;
  body: unknown;
}

export type Fetch = typeof fetch;

/** The call did not complete: connection refused or reset, DNS, the deadline, or an answer over MAX_RESPONSE_BYTES. */
class NetworkError extends Error {
  override name = 'NetworkError';
}

/** A value that cannot be one URL path segment, whatever the encoding: empty, `.` or `..`. */
export class UnsafePathSegmentError extends Error {
  override name = 'UnsafePathSegmentError';
}

/**
 * One URL path segment from a value we do not control (an external id, a record id): percent-encoded, so `/`, `?`,
 * `#` and `%` stay inside the segment. `.` and `..` are refused, not encoded: URL parsers (WHATWG's, used by fetch and
 * node-fetch) collapse them even as `%2e%2e`, so no encoding keeps them in place. The error names no value (it may be
 * an email).
 */
export function pathSegment(value: string): string {
  if (value === '' || value === '.' || value === '..') {
    throw new UnsafePathSegmentError(`an id that is empty, "." or ".." cannot name a record in a URL path`);
  }
  return encodeURIComponent(value);
}

/**
 * The cancellation of the activity this call runs in, if any: every client call made from an activity is aborted
 * when the activity is cancelled (or its worker shuts down) without a signal threaded through every client method.
 */
function activityCancellation(): AbortSignal | undefined {
  return activityContext.getStore()?.cancellationSignal;
}

/** The body as text, refused past `maxBytes` (by Content-Length up front, else while it streams in). */
async function readCapped(res: Response, maxBytes: number): Promise<string> {
  const declared = Number(res.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > maxBytes) {
    await res.body?.cancel().catch(() => undefined);
    throw new NetworkError(`answer of ${declared} bytes is over the ${maxBytes}-byte limit`);
  }
  if (!res.body) return '';
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw new NetworkError(`answer over the ${maxBytes}-byte limit`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * One HTTP call with a deadline (covering the body too) and a size limit on the answer. Network failures, timeouts
 * and oversized answers become NetworkError (callers map them to `transient`); the activity's cancellation is
 * rethrown as it is, so a cancelled activity ends cancelled. Every HTTP status is returned, never thrown, so each
 * client maps its provider's codes itself.
 */
async function httpCall(
  url: string,
  init: {
    method?: string;
    headers?: Record<string, string>;
    body?: unknown;
    /** The body exactly as sent (a signed payload); `body` is JSON-encoded otherwise. */
    rawBody?: string;
    timeoutMs?: number;
    fetch?: Fetch;
  },
): Promise<HttpAnswer> {
  const doFetch = init.fetch ?? fetch;
  const cancellation = activityCancellation();
  const deadline = AbortSignal.timeout(init.timeoutMs ?? DEFAULT_HTTP_TIMEOUT_MS);
  const signal = cancellation ? AbortSignal.any([deadline, cancellation]) : deadline;
  try {
    const res = await doFetch(url, {
      method: init.method ?? 'GET',
      headers: {
        accept: 'application/json',
        ...(init.body === undefined && init.rawBody === undefined ? {} : { 'content-type': 'application/json' }),
        ...init.headers,
      },
      body: init.rawBody ?? (init.body === undefined ? undefined : JSON.stringify(init.body)),
      signal,
    });
    const text = await readCapped(res, MAX_RESPONSE_BYTES);
    return { status: res.status, headers: res.headers, body: parseBody(text) };
  } catch (err) {
    if (cancellation?.aborted) throw cancellation.reason;
    // The message names the host, never the query (it may carry an email) nor the credentials.
    const host = new URL(url).host;
    const reason = err instanceof NetworkError ? '' : `${err instanceof Error ? err.name : 'error'} `;
    throw new NetworkError(`${host}: ${reason}${(err as Error).message ?? ''}`.trim());
  }
}

function parseBody(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** `Retry-After` in seconds or as an HTTP date, else `fallbackMs`. */
export function retryAfterMs(headers: Headers, fallbackMs: number, now: () => number = Date.now): number {
  const value = headers.get('retry-after');
  if (value === null) return fallbackMs;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? fallbackMs : Math.max(0, date - now());
}

/** A short description of a body for error details: the provider's message, never the whole payload. */
export function bodyMessage(body: unknown): string {
  if (typeof body === 'string') return body.slice(0, 200);
  if (body && typeof body === 'object') {
    const b = body as Record<string, unknown>;
    const error = b.error as Record<string, unknown> | string | undefined;
    const detail = b.detail as Record<string, unknown> | string | undefined;
    const candidates = [
      typeof error === 'object' ? error?.message : error,
      b.message,
      typeof detail === 'object' ? detail?.message : detail,
      typeof error === 'object' ? error?.type : undefined,
    ];
    const found = candidates.find((c) => typeof c === 'string');
    if (typeof found === 'string') return found.slice(0, 200);
  }
  return '';
}

/** `httpCall` for a provider client: a network failure or timeout is the provider's `transient` outcome. */
export async function providerCall(
  provider: ProviderName,
  url: string,
  init: Parameters<typeof httpCall>[1],
): Promise<HttpAnswer | ProviderOutcome> {
  try {
    return await httpCall(url, init);
  } catch (err) {
    if (err instanceof NetworkError) return { kind: 'transient', provider, status: undefined, detail: err.message };
    throw err;
  }
}

/** `httpCall` for a destination client: a network failure or timeout is a `transient` write outcome. */
export async function destinationCall(
  url: string,
  init: Parameters<typeof httpCall>[1],
): Promise<HttpAnswer | { kind: 'transient'; detail: string }> {
  try {
    return await httpCall(url, init);
  } catch (err) {
    if (err instanceof NetworkError) return { kind: 'transient', detail: err.message };
    throw err;
  }
}

/** The object without its undefined, null and empty-string values: a field a provider does not know stays absent. */
export function compact<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== null && v !== '')) as T;
}
