import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DESTINATIONS } from '../../src/domain/fan-out';
import type { Inspection } from '../support/sandbox';
import { posthogSignup } from '../support/signups';
import { useFanOutStack } from '../support/stack';

// Every destination at once (the original five and the four added since), end to end through the real worker: two
// people of one company are written everywhere, then each signup is run again as a backfill would run it, and no
// destination receives a single request more.
describe('fan-out to every destination', () => {
  const stack = useFanOutStack({ env: { DESTINATIONS: DESTINATIONS.join(','), SLACK_HIGH_VALUE_TIERS: 'A,B,C,D' } });

  /** Per destination: the requests it answered, and its records and writes by type. */
  const snapshot = async () =>
    Object.fromEntries(
      await Promise.all(
        DESTINATIONS.map(async (d) => {
          const inspection = await stack.sandbox.inspect<Inspection & { counts: { requests: number } }>(d);
          return [d, inspection.counts] as const;
        }),
      ),
    );

  it('writes two people of one company to all nine destinations, and a backfill of both sends nothing anywhere', async () => {
    const p = await stack.pipeline();
    const ada = posthogSignup({ email: 'ada.quillon@quorvalis.com' });
    ada.event.properties.$anon_distinct_id = `anon-${randomUUID()}`;
    const ben = posthogSignup({ email: `ben.${randomUUID().slice(0, 8)}@quorvalis.com` });
    const posted = await Promise.all([p.post(ada), p.post(ben)]);
    const statuses = await Promise.all(posted.map((x) => stack.settled(x.workflowId, 120_000)));
    for (const status of statuses) {
      const writes = status.signups[0]?.writes ?? {};
      expect(Object.keys(writes).sort()).toEqual([...DESTINATIONS].sort());
      for (const d of DESTINATIONS) expect(writes[d]?.state, d).toBe('done');
    }
    // One Close lead for the company, with both people on it.
    const close = await stack.records('close');
    const leads = (close.lead ?? []).filter((l) => l.fields.url === 'https://quorvalis.com');
    expect(leads).toHaveLength(1);
    expect((close.contact ?? []).filter((c) => c.fields.lead_id === leads[0]!.id)).toHaveLength(2);

    const before = await snapshot();
    for (const d of DESTINATIONS) expect(before[d]?.requests, d).toBeGreaterThan(0);
    for (const { signupId } of posted) {
      const rerun = await p.rerun(signupId);
      const writes = rerun.signups[0]?.writes ?? {};
      for (const d of DESTINATIONS) {
        expect(writes[d]?.state, d).toBe('done');
        expect(writes[d]?.detail, d).toMatch(/^already (written|notified)/);
      }
    }
    expect(await snapshot()).toEqual(before);
  });
});
