import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config';
import { openLedger } from '../src/ledger/ledger';
import { rescoreAll } from '../src/icp/rescore';

describe('rescoreAll', () => {
  it('rescores from stored fields after a config change, and only what changed', async () => {
    const ledger = await openLedger({ databaseUrl: undefined });
    const scoring = loadConfig({}).scoring;
    try {
      const ids: string[] = [];
      for (const industry of ['Software', 'Media']) {
        const { signup } = await ledger.signups.recordSignup({
          source: 'api',
          eventUuid: undefined,
          dedupeKey: randomUUID(),
          workflowId: `signup-${randomUUID()}`,
          email: `x@${industry.toLowerCase()}.example`,
          emailDomain: `${industry.toLowerCase()}.example`,
          distinctId: undefined,
          personId: undefined,
          name: undefined,
          organizationId: undefined,
          organizationName: undefined,
          signedUpAt: '2026-11-23T00:00:00.000Z',
          status: 'received',
          statusReason: undefined,
          payload: {},
        });
        await ledger.signups.recordEnrichment(signup.id, {
          status: 'enriched',
          reason: undefined,
          fields: { companyName: industry, employees: 50, industry, country: 'US', role: 'engineering' },
          provenance: {},
          score: undefined,
          creditsSpent: {},
        });
        ids.push(signup.id);
      }
      expect(await rescoreAll(ledger, scoring)).toEqual({ examined: 2, changed: 2, outsideRetention: 0 });
      expect((await ledger.signups.getSignup(ids[0]!))?.icpScore).toBe(30 + 25 + 0 + 15 + 20);
      expect(await rescoreAll(ledger, scoring)).toEqual({ examined: 2, changed: 0, outsideRetention: 0 });

      // Media becomes a core industry: a new config version rescores both, Media's score rises.
      const next = {
        ...scoring,
        version: 'next',
        rules: scoring.rules.map((r) =>
          r.id === 'industry' && r.kind === 'match' ? { ...r, points: { ...r.points, Media: 25 } } : r,
        ),
      };
      expect(await rescoreAll(ledger, next)).toEqual({ examined: 2, changed: 2, outsideRetention: 0 });
      expect((await ledger.signups.getSignup(ids[1]!))?.icpScore).toBe(30 + 25 + 0 + 15 + 20);

      // Past the retention window: the raw payload of the first one is purged, its stored fields are not.
      const purgedAt = '2026-12-01T03:30:00.000Z';
      expect(await ledger.retention.purgeSignupPayloads('2100-01-01T00:00:00.000Z', 1, purgedAt)).toBe(1);
      const back = { ...next, version: 'back' };
      expect(await rescoreAll(ledger, back)).toEqual({ examined: 2, changed: 2, outsideRetention: 1 });
      expect((await ledger.signups.getSignup(ids[1]!))?.icpScore).toBe(30 + 25 + 0 + 15 + 20);
    } finally {
      await ledger.close();
    }
  });
});
