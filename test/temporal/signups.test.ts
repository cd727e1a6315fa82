import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { EnrichmentStatusKey, SignupAtKey } from '../../src/domain/search-attributes';
import { signalSignups, startSignup, type SignupFleet } from '../../src/temporal/signups';
import { BACKFILL_PRIORITY, enrichmentPausedSignal, signupReceivedSignal } from '../../src/workflows/messages';
import { eventually } from '../support/eventually';

// No worker polls this task queue: the workflows only record what they were started and signalled with.
describe('startSignup and signalSignups', () => {
  let connection: Connection;
  let fleet: SignupFleet;
  const started: string[] = [];

  beforeAll(async () => {
    connection = await Connection.connect({ address: inject('temporalAddress') });
    fleet = { client: new Client({ connection }), taskQueue: `contract-${randomUUID()}` };
  });

  afterAll(async () => {
    for (const id of started)
      await fleet.client.workflow
        .getHandle(id)
        .terminate('test done')
        .catch(() => undefined);
    await connection.close();
  });

  const signup = (emailDomain: string | null) => {
    const workflowId = `signup-contract-${randomUUID()}`;
    started.push(workflowId);
    return { id: randomUUID(), workflowId, signedUpAt: '2026-11-30T10:00:00.000Z', emailDomain };
  };

  async function signalsOf(workflowId: string): Promise<{ name: string; input: unknown }[]> {
    const history = await fleet.client.workflow.getHandle(workflowId).fetchHistory();
    const converter = fleet.client.options.loadedDataConverter.payloadConverter;
    return (history.events ?? [])
      .filter((e) => e.workflowExecutionSignaledEventAttributes)
      .map((e) => ({
        name: e.workflowExecutionSignaledEventAttributes!.signalName!,
        input: converter.fromPayload(e.workflowExecutionSignaledEventAttributes!.input!.payloads![0]!),
      }));
  }

  it('starts a live signup with its search attributes and summary, at the default priority', async () => {
    const s = signup('acme.io');
    const handle = await startSignup(fleet, s);
    const d = await handle.describe();
    expect(d.typedSearchAttributes.get(EnrichmentStatusKey)).toBe('received');
    expect(d.typedSearchAttributes.get(SignupAtKey)?.toISOString()).toBe(s.signedUpAt);
    expect(await d.staticSummary()).toBe('Signup enrichment · acme.io');
    // Unset: Temporal's default (3), above backfills.
    expect(d.priority?.priorityKey ?? 0).toBe(0);
    expect(await signalsOf(s.workflowId)).toEqual([{ name: signupReceivedSignal.name, input: { signupId: s.id } }]);
    expect(d.raw.workflowExecutionInfo?.taskQueue).toBe(fleet.taskQueue);
  });

  it('starts a backfilled signup the same way, asking for a rerun at backfill priority, its summary naming the backfill', async () => {
    const s = signup(null);
    const rerunBy = 'backfill-2026-11-17-2026-11-19';
    const d = await (await startSignup(fleet, s, { rerunBy, priority: BACKFILL_PRIORITY })).describe();
    expect(d.typedSearchAttributes.get(EnrichmentStatusKey)).toBe('received');
    expect(await d.staticSummary()).toBe(`Signup enrichment · unknown domain · backfill re-run (${rerunBy})`);
    expect(d.priority?.priorityKey).toBe(BACKFILL_PRIORITY.priorityKey);
    expect(await signalsOf(s.workflowId)).toEqual([
      { name: signupReceivedSignal.name, input: { signupId: s.id, rerun: true } },
    ]);
  });

  it('signals the running signup workflows of its task queue by their typed definition', async () => {
    const s = signup('pause.io');
    await startSignup(fleet, s);
    const other = { ...fleet, taskQueue: `contract-other-${randomUUID()}` };
    expect(await signalSignups(other, enrichmentPausedSignal, [{ reason: 'not this queue' }])).toBe(0);
    // Visibility is eventually consistent: wait until the listing shows every workflow of this queue.
    await eventually(async () => {
      const { count } = await fleet.client.workflow.count(`TaskQueue = '${fleet.taskQueue}'`);
      return count === started.length ? true : undefined;
    });
    expect(await signalSignups(fleet, enrichmentPausedSignal, [{ reason: 'vendor switch' }])).toBe(started.length);
    expect((await signalsOf(s.workflowId)).at(-1)).toEqual({
      name: enrichmentPausedSignal.name,
      input: { reason: 'vendor switch' },
    });
  });
});
