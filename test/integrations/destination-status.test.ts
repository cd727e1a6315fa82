import { describe, expect, it } from 'vitest';
import { writeOutcome, type DestinationWording } from '../../src/integrations/destination-status';
import { bodyMessage } from '../../src/integrations/http';

const acme: DestinationWording = {
  system: 'Acme',
  refused: (what) => `the ${what}`,
  message: bodyMessage,
  retryAfterMs: (headers) => Number(headers.get('retry-after')) * 1000,
};
const answer = (status: number, body: unknown = undefined, headers: Record<string, string> = {}) =>
  writeOutcome({ status, headers: new Headers(headers), body }, 'record', acme);

describe('destination write outcomes', () => {
  it('reads each class of answer as an outcome with a defined end', () => {
    expect(answer(200)).toEqual({ kind: 'written', detail: 'record' });
    expect(answer(204)).toEqual({ kind: 'written', detail: 'record' });
    expect(answer(401, { message: 'bad key' })).toEqual({
      kind: 'auth_failed',
      detail: 'Acme rejected the API key (HTTP 401: bad key)',
    });
    expect(answer(403)).toEqual({ kind: 'auth_failed', detail: 'Acme rejected the API key (HTTP 403)' });
    expect(answer(429, undefined, { 'retry-after': '7' })).toEqual({
      kind: 'rate_limited',
      retryAfterMs: 7000,
      detail: 'Acme rate limit (429)',
    });
    expect(answer(422, { message: 'name is required' })).toEqual({
      kind: 'rejected',
      detail: 'Acme refused the record (HTTP 422: name is required)',
    });
    expect(answer(500, { message: 'boom' })).toEqual({ kind: 'transient', detail: 'Acme unavailable (HTTP 500)' });
    expect(answer(302)).toEqual({ kind: 'transient', detail: 'Acme unavailable (HTTP 302)' });
  });

  it('passes the call’s own failure through unchanged', () => {
    const timeout = { kind: 'transient', detail: 'timed out after 10000 ms' } as const;
    expect(writeOutcome(timeout, 'record', acme)).toBe(timeout);
  });
});
