import type { ProviderName, ProviderOutcome } from '../domain/provider-outcome';

/** What the provider clients need from an HTTP answer: status, headers and the body parsed when it is JSON. */
export interface HttpAnswer {
  status: number;
  headers: Headers;
  body: unknown;
}

export type Fetch = typeof fetch;

class NetworkError extends Error {
  override name = 'NetworkError';
}

/**
 * One HTTP call with a deadline. Network failures and timeouts become NetworkError (callers map them to
 * `transient`); every HTTP status is returned, never thrown, so each client maps its provider's codes itself.
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
  let res: Response;
  try {
    res = await doFetch(url, {
      method: init.method ?? 'GET',
      headers: {
        accept: 'application/json',
        ...(init.body === undefined && init.rawBody === undefined ? {} : { 'content-type': 'application/json' }),
        ...init.headers,
      },
      body: init.rawBody ?? (init.body === undefined ? undefined : JSON.stringify(init.body)),
      signal: AbortSignal.timeout(init.timeoutMs ?? 10_000),
    });
  } catch (err) {
    // The message names the host, never the query (it may carry an email) nor the credentials.
    const host = new URL(url).host;
    throw new NetworkError(
      `${host}: ${err instanceof Error ? err.name : 'error'} ${(err as Error).message ?? ''}`.trim(),
    );
  }
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: parseBody(text) };
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
