import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backfillWorkflowId } from '../../src/workflows/messages';
import { runEnrich } from '../support/cli';
import { webUiMetadata } from '../support/workflows';
import { type RunningSandbox, startSandbox } from '../support/sandbox';
import { clearbitCompanies } from '../support/signups';
import { isolatedStack, type IsolatedStack } from '../support/stack';

const FROM = '2026-10-12';
const TO = '2026-10-13';
const SIGNUPS = 5;
const CONCURRENCY = 3;

/**
 * `enrich backfill --wait` end to end: the CLI as a child process starts the backfill on the run's Temporal server,
 * a real worker re-enqueues the window's signups through the sandbox's Clearbit into a ledger of its own, and the CLI
 * follows the progress query until the backfill ends.
 */
describe('enrich backfill --wait', () => {
  const stops: (() => Promise<unknown>)[] = [];
  let sandbox: RunningSandbox;
  let stack: IsolatedStack;
  let client: Client;
  const seeded: string[] = [];
  const signupWorkflows: string[] = [];

  beforeAll(async () => {
    sandbox = await startSandbox();
    stops.push(() => sandbox.close());
    stack = await isolatedStack(
      { SANDBOX_URL: sandbox.url, ENRICHMENT_PROVIDERS: 'clearbit', DESTINATIONS: '' },
      { stops },
    );
    client = new Client({ connection: await Connection.connect({ address: stack.config.temporal.address }) });
    stops.push(() => client.connection.close());

    // Signups of an outage window that ended failed (Clearbit out of credits): each a company Clearbit knows.
    for (const [i, company] of clearbitCompanies.slice(0, SIGNUPS).entries()) {
      const key = randomUUID();
      const email = company.people[0]!.email;
      const { signup } = await stack.ledger.signups.recordSignup({
        source: 'api',
        eventUuid: undefined,
        dedupeKey: key,
        workflowId: `signup-backfill-cli-${key}`,
        email,
        emailDomain: email.split('@')[1],
        distinctId: key,
        personId: undefined,
        name: undefined,
        organizationId: undefined,
        organizationName: undefined,
        signedUpAt: `${i % 2 === 0 ? FROM : TO}T10:00:00.000Z`,
        status: 'received',
        statusReason: undefined,
        payload: {},
      });
      await stack.ledger.outbox.markWorkflowStarted(signup.id);
      await stack.ledger.signups.recordEnrichment(signup.id, {
        status: 'failed',
        reason: 'clearbit out of credits',
        fields: {},
        provenance: {},
        score: undefined,
        creditsSpent: {},
        unavailableProviders: ['clearbit'],
        at: `${i % 2 === 0 ? FROM : TO}T11:00:00.000Z`,
      });
      seeded.push(signup.id);
      signupWorkflows.push(`signup-backfill-cli-${key}`);
    }
  });

  afterAll(async () => {
    for (const stop of stops.reverse()) await stop();
  });

  const enrich = (...args: string[]) =>
    runEnrich(
      { TEMPORAL_ADDRESS: stack.config.temporal.address, TEMPORAL_TASK_QUEUE: stack.config.temporal.taskQueue },
      args,
    );

  it('waits for the backfill to end, printing its progress and the final counts; a second run finds nothing', async () => {
    const run = await enrich('backfill', '--from', FROM, '--to', TO, '--wait', '--concurrency', String(CONCURRENCY));
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const lines = run.stdout.trimEnd().split('\n');
    const workflowId = backfillWorkflowId(FROM, TO);
    expect(lines[0]).toBe(`started ${workflowId}`);

    // Progress lines (no TTY: one per change), the first ones while signups are still in flight.
    const progress = lines
      .map((l) =>
        /^\[[#-]{30}\] (\d+)\/(\d+) settled · (\d+) re-enqueued · (\d+) enriched · (\d+) in flight \((\w+)\)$/.exec(l),
      )
      .filter((m) => m !== null)
      .map(([, settled, found, reenqueued, enriched, inFlight, phase]) => ({
        settled: Number(settled),
        found: Number(found),
        reenqueued: Number(reenqueued),
        enriched: Number(enriched),
        inFlight: Number(inFlight),
        phase,
      }));
    expect(progress.length).toBeGreaterThanOrEqual(2);
    expect(progress.some((p) => p.phase === 'enriching' && p.inFlight > 0)).toBe(true);
    expect(Math.max(...progress.map((p) => p.inFlight))).toBeLessThanOrEqual(CONCURRENCY);
    expect(progress.at(-1)).toEqual({
      settled: SIGNUPS,
      found: SIGNUPS,
      reenqueued: SIGNUPS,
      enriched: SIGNUPS,
      inFlight: 0,
      phase: 'done',
    });
    expect(lines.at(-1)).toBe(
      `window ${FROM}..${TO}: ${SIGNUPS} signups lacking ICP fields found, ${SIGNUPS} re-enqueued, ${SIGNUPS} enriched`,
    );

    // It returned only once the backfill had ended, with every signup enriched again.
    const description = await client.workflow.getHandle(workflowId).describe();
    expect(description.status.name).toBe('COMPLETED');
    // The Web UI: who started the backfill and its window, its final progress; each signup it re-ran names it.
    expect(await webUiMetadata(client.workflow.getHandle(workflowId))).toEqual({
      summary: `Backfill ${FROM} to ${TO} · started by enrich backfill`,
      details: `**Backfill ${FROM} to ${TO}**: done\nfound ${SIGNUPS} · re-enqueued ${SIGNUPS} · enriched ${SIGNUPS} · in flight 0`,
    });
    for (const signupWorkflow of signupWorkflows) {
      const ui = await webUiMetadata(client.workflow.getHandle(signupWorkflow));
      expect(ui.summary).toMatch(new RegExp(`^Signup enrichment · [a-z0-9.-]+ · backfill re-run \\(${workflowId}\\)$`));
      expect(ui.details).toContain('enriched');
    }
    const rows = await Promise.all(seeded.map((id) => stack.ledger.signups.getSignup(id)));
    expect(rows.map((r) => r?.status)).toEqual(Array(SIGNUPS).fill('enriched'));
    expect((await sandbox.inspect<{ calls: unknown[] }>('clearbit')).calls.length).toBeGreaterThanOrEqual(SIGNUPS);

    // The same window again: nothing is left to re-enqueue.
    const again = await enrich('backfill', '--from', FROM, '--to', TO, '--wait');
    expect(again.code).toBe(0);
    expect(again.stdout.trimEnd().split('\n').at(-1)).toBe(
      `window ${FROM}..${TO}: 0 signups lacking ICP fields found, 0 re-enqueued, 0 enriched`,
    );
  });
});
