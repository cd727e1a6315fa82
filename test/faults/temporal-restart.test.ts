import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Config } from '../../src/config';
import type { Ledger } from '../../src/ledger/ledger';
import { createIntake } from '../../src/starter';
import { freePort, startDevServer, type DevServer } from '../../src/tools/dev-server';
import { eventually } from '../support/eventually';
import { type RunningSandbox, startSandbox } from '../support/sandbox';
import { clearbitCompanies, deliver, runsOf, signupOf, UNSETTLED } from '../support/signups';
import { isolatedStack } from '../support/stack';

const BEFORE = 12;
const DURING = 6;

/**
 * A dev server of this file's own, persisted in a SQLite file, killed (SIGKILL) while workflows are in the middle
 * of their provider calls and started again on the same file and port. The worker and the intake's outbox are never
 * restarted: they must reconnect by themselves, and every signup — those in flight and those accepted while the
 * server was gone — must finish.
 */
describe('the Temporal dev server restarted mid-workflow', () => {
  const stops: (() => Promise<unknown>)[] = [];
  const dir = mkdtempSync(path.join(os.tmpdir(), 'signup-temporal-restart-'));
  const dbFile = path.join(dir, 'temporal.db');
  let port: number;
  let server: DevServer | undefined;
  let sandbox: RunningSandbox;
  let config: Config;
  let ledger: Ledger;
  let base: string;

  beforeAll(async () => {
    stops.push(async () => rmSync(dir, { recursive: true, force: true }));
    port = await freePort();
    server = await startDevServer({ cli: inject('temporalCli'), port, dbFile });
    // Whichever server is running at the end is stopped (the first one is killed by the test).
    stops.push(async () => server?.stop());
    // Each Clearbit answer takes a while, so the server goes down with workflows in the middle of an activity.
    sandbox = await startSandbox({ clearbit: { latencyMs: 1500 } });
    stops.push(() => sandbox.close());
    ({ config, ledger } = await isolatedStack(
      { TEMPORAL_ADDRESS: server.address, SANDBOX_URL: sandbox.url },
      { stops },
    ));
    const intake = createIntake(config, ledger, { outboxPollMs: 200 });
    stops.push(() => intake.close());
    base = await intake.app.listen({ host: '127.0.0.1', port: 0 });
    // Should the test fail while the server is down, it comes back first: the worker's shutdown needs it.
    stops.push(async () => {
      if (server?.child.exitCode !== null || server.child.signalCode !== null) {
        server = await startDevServer({ cli: inject('temporalCli'), port, dbFile });
      }
    });
  });

  afterAll(async () => {
    for (const stop of stops.reverse()) await stop();
  });

  const post = async (n: number, from: number) => {
    const answers = await Promise.all(
      clearbitCompanies.slice(from, from + n).map((c) => deliver(base, '/webhooks/posthog', signupOf(c))),
    );
    expect(answers.map((a) => [a.status, a.body.status])).toEqual(Array(n).fill([202, 'accepted']));
    return answers.map((a) => ({ signupId: String(a.body.signupId), workflowId: String(a.body.workflowId) }));
  };

  it('every signup finishes: the ones in flight and the ones accepted while it was down', async () => {
    const before = await post(BEFORE, 0);
    // Mid-workflow: every one started (so the outbox has nothing else to retry), most still waiting for Clearbit's
    // slow answers.
    await eventually(async () => {
      const rows = await Promise.all(before.map((s) => ledger.signups.getSignup(s.signupId)));
      return rows.every((r) => r?.workflowStartedAt) ? true : undefined;
    });
    const first = server!;
    const killed = new Promise((resolve) => first.child.once('exit', resolve));
    first.child.kill('SIGKILL');
    await killed;
    const inFlight = await Promise.all(before.map((s) => ledger.signups.getSignup(s.signupId)));
    expect(inFlight.some((r) => r && UNSETTLED.includes(r.status))).toBe(true);

    // Signups keep coming while the server is gone: recorded, and kept in the outbox after a failed start.
    const during = await post(DURING, BEFORE);
    await eventually(async () => {
      const rows = await Promise.all(during.map((s) => ledger.signups.getSignup(s.signupId)));
      return rows.some((r) => r && r.startAttempts >= 1 && r.lastStartError) ? rows : undefined;
    }, 60_000);
    expect(await ledger.outbox.countPendingStarts()).toBeGreaterThanOrEqual(DURING);

    server = await startDevServer({ cli: inject('temporalCli'), port, dbFile });

    const all = [...before, ...during];
    const rows = await eventually(async () => {
      const current = await Promise.all(all.map((s) => ledger.signups.getSignup(s.signupId)));
      return current.every((r) => r && !UNSETTLED.includes(r.status)) ? current : undefined;
    }, 100_000);
    expect(rows.map((r) => r?.status)).toEqual(Array(all.length).fill('enriched'));

    // The workflows themselves finish (their fan-out included), on the state the server kept in its file.
    const client = new Client({ connection: await Connection.connect({ address: server.address }) });
    try {
      for (const s of all) {
        await client.workflow.getHandle(s.workflowId).result();
        expect(await runsOf(client, s.workflowId)).toHaveLength(1);
      }
    } finally {
      await client.connection.close();
    }
  }, 170_000);
});
