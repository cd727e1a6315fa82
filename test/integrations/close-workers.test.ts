import { randomUUID } from 'node:crypto';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createWriteActivities, type WriteInput, type WriteResult } from '../../src/activities/writes';
import { createCloseClient } from '../../src/integrations/close/client';
import { openLedger, type Ledger } from '../../src/ledger/ledger';
import type { NewSignup } from '../../src/ledger/signups';
import { startSandbox, type Inspection, type RunningSandbox } from '../support/sandbox';

// Two workers (each its own ledger pool, Close client and activities) writing one company's people at the same time:
// they take turns on the company's lead, so Close gets one lead, and the lead's id is recorded for the next writer.
describe('Close writes from several workers', () => {
  let sandbox: RunningSandbox;
  let ledgers: Ledger[] = [];
  beforeAll(async () => {
    sandbox = await startSandbox();
    ledgers = await Promise.all([1, 2, 3].map(() => openLedger({ databaseUrl: inject('postgresUrl') })));
  });
  afterAll(async () => {
    await Promise.allSettled(ledgers.map((l) => l.close()));
    await sandbox?.close();
  });

  const worker = (ledger: Ledger) =>
    createWriteActivities({
      ledger,
      destinations: {
        close: {
          client: createCloseClient({
            baseUrl: `${sandbox.url}/close/api/v1`,
            apiKey: 'sandbox-key',
            highValueAction: 'none',
            timeoutMs: 5000,
          }),
          highValue: { tiers: ['A'], minFundingUsd: undefined },
        },
      },
      retry: { initialMs: 1000, maxMs: 1000, giveUpMs: 60_000 },
    });

  const person = (domain: string, local: string, name: string): NewSignup => ({
    source: 'posthog',
    eventUuid: randomUUID(),
    dedupeKey: randomUUID(),
    workflowId: `signup-${randomUUID()}`,
    email: `${local}@${domain}`,
    emailDomain: domain,
    distinctId: randomUUID(),
    personId: undefined,
    name,
    organizationId: randomUUID(),
    organizationName: 'Velmora',
    signedUpAt: '2026-12-01T09:00:00.000Z',
    status: 'received',
    statusReason: undefined,
    payload: {},
  });

  it('makes one lead with a contact per person when colleagues are written by different workers at once', async () => {
    const domain = `velmora-${Date.now()}.io`;
    const people = await Promise.all(
      [
        ['ada', 'Ada Velm'],
        ['ben', 'Ben Velm'],
        ['cyd', 'Cyd Velm'],
      ].map(async ([local, name]) => {
        const { signup } = await ledgers[0]!.signups.recordSignup(person(domain, local!, name!));
        await ledgers[0]!.signups.recordScreening(signup.id, {
          emailKind: 'work',
          status: 'enriched',
          reason: undefined,
        });
        return signup;
      }),
    );
    const write = (ledger: Ledger, input: WriteInput): Promise<WriteResult> =>
      new MockActivityEnvironment().run(() => worker(ledger).writeToClose(input));
    const results = await Promise.all(
      people.map((p, i) => write(ledgers[i]!, { signupId: p.id, idempotencyKey: `${p.id}:close:test` })),
    );
    expect(results.map((r) => r.state)).toEqual(['done', 'done', 'done']);

    const records = (await sandbox.inspect<Inspection>('close')).records ?? {};
    const domainField = records.custom_field?.find((f) => f.fields.name === 'Company Domain');
    const leads = (records.lead ?? []).filter(
      (l) => (l.fields.custom as Record<string, unknown>)[domainField!.id] === domain,
    );
    expect(leads).toHaveLength(1);
    const contacts = (records.contact ?? []).filter((c) => c.fields.lead_id === leads[0]!.id);
    expect(contacts).toHaveLength(3);
    // Every custom field exists once, though three fresh clients each found them missing.
    expect(new Set(records.custom_field?.map((f) => f.fields.name)).size).toBe(records.custom_field?.length);
    // The lead is recorded for the company; the lease is free again.
    expect(await ledgers[0]!.destinationLinks.take('close', `domain:${domain}`, 'test', 1)).toEqual({
      taken: true,
      remoteId: leads[0]!.id,
    });
  });
});
