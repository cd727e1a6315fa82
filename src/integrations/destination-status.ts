import type { WriteOutcome } from '../domain/fan-out';
import type { HttpAnswer } from './http';

/** How one REST destination names itself and reads its own answers, for `writeOutcome`. */
export interface DestinationWording {
  /** The destination as a sentence names it: `PostHog`, `Vitally`. */
  system: string;
  /** What a refused write refused, given what was written: `the request`, `the account`. */
  refused: (what: string) => string;
  /** The error message of a body, `''` when it has none. */
  message: (body: unknown) => string;
  /** How long its 429 asks us to wait. */
  retryAfterMs: (headers: Headers) => number;
}

/**
 * What an answer from a destination called with an API key means (PostHog, Vitally): 2xx written (`what`); 401/403
 * the key was refused; 429 throttled, retried after the advertised delay; any other 4xx a refusal of what was sent;
 * anything else unavailable, retried with backoff. The call's own failure (network, timeout) passes through.
 */
export function writeOutcome(
  a: HttpAnswer | { kind: 'transient'; detail: string },
  what: string,
  d: DestinationWording,
): WriteOutcome {
  if ('kind' in a) return a;
  const message = d.message(a.body);
  const said = message ? `: ${message}` : '';
  if (a.status >= 200 && a.status < 300) return { kind: 'written', detail: what };
  if (a.status === 401 || a.status === 403) {
    return { kind: 'auth_failed', detail: `${d.system} rejected the API key (HTTP ${a.status}${said})` };
  }
  if (a.status === 429) {
    return { kind: 'rate_limited', retryAfterMs: d.retryAfterMs(a.headers), detail: `${d.system} rate limit (429)` };
  }
  if (a.status >= 400 && a.status < 500) {
    return { kind: 'rejected', detail: `${d.system} refused ${d.refused(what)} (HTTP ${a.status}${said})` };
  }
  return { kind: 'transient', detail: `${d.system} unavailable (HTTP ${a.status})` };
}
