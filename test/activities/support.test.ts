import { describe, expect, it } from 'vitest';
import { DESTINATION_JITTER, PROVIDER_JITTER, retryDelayMs } from '../../src/activities/support';

// The one retry policy of provider and destination calls.
describe('retryDelayMs', () => {
  const between = (ms: number, low: number, high: number) => {
    expect(ms).toBeGreaterThanOrEqual(low);
    expect(ms).toBeLessThanOrEqual(high);
  };

  it("waits at least what a 429's Retry-After asked, and never less than 100 ms", () => {
    for (let i = 0; i < 50; i++) {
      between(retryDelayMs({ kind: 'rate_limited', retryAfterMs: 2000 }, 7, PROVIDER_JITTER), 2000, 3000);
      between(retryDelayMs({ kind: 'rate_limited', retryAfterMs: 0 }, 1, DESTINATION_JITTER), 100, 125);
    }
  });

  it('backs off from 1 s, doubling, to at most 10 s after an outage', () => {
    const bases = [1000, 2000, 4000, 8000, 10_000, 10_000, 10_000];
    bases.forEach((base, i) => {
      for (let n = 0; n < 20; n++) {
        between(retryDelayMs({ kind: 'transient' }, i + 1, DESTINATION_JITTER), base, base * 1.25);
      }
    });
  });

  it('spreads the waits of calls throttled at once', () => {
    const waits = new Set(Array.from({ length: 50 }, () => retryDelayMs({ kind: 'transient' }, 3, PROVIDER_JITTER)));
    expect(waits.size).toBeGreaterThan(10);
  });
});
