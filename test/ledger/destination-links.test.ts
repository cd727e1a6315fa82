import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { inTurn } from '../../src/ledger/destination-links';
import { openLedger, type Ledger } from '../../src/ledger/ledger';

describe.each([
  ['PGlite', () => openLedger({ databaseUrl: undefined })],
  ['PostgreSQL', () => openLedger({ databaseUrl: inject('postgresUrl') })],
])('destination links on %s', (_engine, open) => {
  let ledger: Ledger;
  let n = 0;
  const key = () => `domain:test-${Date.now()}-${++n}.example`;
  beforeAll(async () => {
    ledger = await open();
  });
  afterAll(async () => ledger?.close());

  it('gives a key to one holder at a time, and records the remote id on release', async () => {
    const k = key();
    const links = ledger.destinationLinks;
    expect(await links.take('close', k, 'a', 60_000)).toEqual({ taken: true, remoteId: undefined });
    expect(await links.take('close', k, 'b', 60_000)).toEqual({ taken: false });
    await links.release('close', k, 'a', 'lead_1');
    expect(await links.take('close', k, 'b', 60_000)).toEqual({ taken: true, remoteId: 'lead_1' });
    // Released without an id: the recorded one stays.
    await links.release('close', k, 'b');
    expect(await links.take('close', k, 'c', 60_000)).toEqual({ taken: true, remoteId: 'lead_1' });
  });

  it("lets a holder's lease expire, and a late release by it leaves the new holder's lease alone", async () => {
    const k = key();
    const links = ledger.destinationLinks;
    expect(await links.take('close', k, 'dead', 1)).toMatchObject({ taken: true });
    await new Promise((r) => setTimeout(r, 20));
    expect(await links.take('close', k, 'next', 60_000)).toMatchObject({ taken: true });
    await links.release('close', k, 'dead', 'lead_stale');
    expect(await links.take('close', k, 'third', 60_000)).toEqual({ taken: false });
    await links.release('close', k, 'next', 'lead_2');
    expect(await links.take('close', k, 'third', 60_000)).toEqual({ taken: true, remoteId: 'lead_2' });
  });

  it('forgets a key released without ever being linked', async () => {
    const k = key();
    await ledger.destinationLinks.take('close', k, 'a', 60_000);
    await ledger.destinationLinks.release('close', k, 'a');
    expect(await ledger.destinationLinks.take('close', k, 'b', 60_000)).toEqual({ taken: true, remoteId: undefined });
  });

  it('runs concurrent writers of one key one after the other, each seeing what the one before recorded', async () => {
    const k = key();
    let running = 0;
    let overlapped = false;
    const seen: (string | undefined)[] = [];
    const writer = (i: number) =>
      inTurn(
        ledger.destinationLinks,
        'close',
        k,
        async (known) => {
          running += 1;
          overlapped ||= running > 1;
          seen.push(known);
          await new Promise((r) => setTimeout(r, 30));
          running -= 1;
          return { outcome: `written by ${i}`, link: known ?? `lead_from_${i}` };
        },
        () => 'busy',
        { pollMs: 10 },
      );
    const outcomes = await Promise.all([1, 2, 3, 4].map(writer));
    expect(outcomes.every((o) => o.startsWith('written by'))).toBe(true);
    expect(overlapped).toBe(false);
    // The first writer found nothing and recorded its lead; every later one was handed that lead.
    expect(seen[0]).toBeUndefined();
    expect(new Set(seen.slice(1)).size).toBe(1);
    expect(seen[1]).toMatch(/^lead_from_/);
  });

  it('answers busy when the turn does not come within the wait, and releases the lease when the write throws', async () => {
    const k = key();
    await ledger.destinationLinks.take('close', k, 'holder', 60_000);
    const ran: string[] = [];
    const busy = await inTurn(
      ledger.destinationLinks,
      'close',
      k,
      async () => {
        ran.push('write');
        return { outcome: 'written' };
      },
      () => 'busy',
      { waitMs: 50, pollMs: 10 },
    );
    expect(busy).toBe('busy');
    expect(ran).toEqual([]);
    await ledger.destinationLinks.release('close', k, 'holder');
    await expect(
      inTurn(
        ledger.destinationLinks,
        'close',
        k,
        () => Promise.reject(new Error('boom')),
        () => 'busy',
      ),
    ).rejects.toThrow('boom');
    expect(await ledger.destinationLinks.take('close', k, 'after', 60_000)).toMatchObject({ taken: true });
  });
});
