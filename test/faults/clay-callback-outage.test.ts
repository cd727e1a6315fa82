import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Config } from '../../src/config';
import type { Ledger } from '../../src/ledger/ledger';
import { createIntake } from '../../src/starter';
import { freePort, startDevServer, type DevServer } from '../../src/tools/dev-server';
import type { SignupEnrichmentWorkflow } from '../../src/workflows/signup-enrichment';
import { CLAY_SECRET } from '../support/config';
import { eventually } from '../support/eventually';
import { type RunningSandbox, startSandbox } from '../support/sandbox';
import { clayOnlyCompanies, deliver, signupOf, UNSETTLED } from '../support/signups';
import { isolatedStack } from '../support/stack';

interface ClayInspection {
  calls: { kind: string; status: number; creditsCharged: number; note?: string }[];
  creditsSpent: number;
}

/**
 * Where the sandbox's Clay table posts its results: it holds each callback until the test releases it, then passes
 * it on to the intake over HTTP as it came (headers and body) and hands the intake's answer back to Clay.
 */
class CallbackRelay {
  readonly held: { headers: IncomingHttpHeaders; body: string }[] = [];
  readonly answers: { status: number; body: Record<string, unknown> }[] = [];
  target = '';
  private release!: () => void;
  private readonly released = new Promise<void>((resolve) => (this.release = resolve));
  private readonly server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const callback = { headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      this.held.push(callback);
      void this.released
        .then(async () => {
          const answer = await fetch(this.target, {
            method: 'POST',
            headers: {
              'content-type': callback.headers['content-type'] ?? '',
              authorization: callback.headers.authorization ?? '',
            },
            body: callback.body,
          });
          const text = await answer.text();
          this.answers.push({ status: answer.status, body: JSON.parse(text) as Record<string, unknown> });
          res.writeHead(answer.status, { 'content-type': 'application/json' }).end(text);
        })
        .catch(() => res.writeHead(502).end());
    });
  });

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/clay-callback`;
  }

  open(): void {
    this.release();
  }

  close(): Promise<void> {
    this.open();
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/**
 * Clay's result comes back while Temporal is down: the intake cannot signal the waiting workflow. The result is
 * archived, the callback gets a defined answer, and the workflow uses the archived result once the server is back
 * — no second row sent to Clay, no second credit spent.
 */
describe('a Clay callback arriving during a Temporal outage', () => {
  const stops: (() => Promise<unknown>)[] = [];
  const dir = mkdtempSync(path.join(os.tmpdir(), 'signup-clay-outage-'));
  const dbFile = path.join(dir, 'temporal.db');
  const relay = new CallbackRelay();
  let port: number;
  let server: DevServer | undefined;
  let sandbox: RunningSandbox;
  let config: Config;
  let ledger: Ledger;
  let base: string;

  const startServer = async () => {
    server = await startDevServer({ cli: inject('temporalCli'), port, dbFile });
  };
  const serverDown = () => server?.child.exitCode !== null || server.child.signalCode !== null;

  beforeAll(async () => {
    stops.push(async () => rmSync(dir, { recursive: true, force: true }));
    port = await freePort();
    await startServer();
    stops.push(async () => server?.stop());
    const callbackUrl = await relay.listen();
    stops.push(() => relay.close());
    sandbox = await startSandbox({ clay: { callbackUrl, callbackAuth: CLAY_SECRET } });
    stops.push(() => sandbox.close());
    ({ config, ledger } = await isolatedStack(
      {
        TEMPORAL_ADDRESS: server!.address,
        SANDBOX_URL: sandbox.url,
        ENRICHMENT_PROVIDERS: 'clearbit,harmonic,clay',
        // How long the workflow waits for Clay's callback before it looks for the result elsewhere.
        CLAY_RESULT_TIMEOUT_MINUTES: '0.5',
        DESTINATIONS: '',
      },
      { stops },
    ));
    const intake = createIntake(config, ledger, { outboxPollMs: 200 });
    stops.push(() => intake.close());
    base = await intake.app.listen({ host: '127.0.0.1', port: 0 });
    relay.target = `${base}/webhooks/clay`;
    // Should the test fail while the server is down, it comes back first: the worker's shutdown needs it.
    stops.push(async () => {
      if (serverDown()) await startServer();
    });
  });

  afterAll(async () => {
    for (const stop of stops.reverse()) await stop();
  });

  it('is archived, answered, and used when Temporal is back: one Clay row, one credit', async () => {
    const company = clayOnlyCompanies[0]!;
    const posted = await deliver(base, '/webhooks/posthog', signupOf(company));
    expect(posted.body.status).toBe('accepted');
    const signupId = String(posted.body.signupId);
    const workflowId = String(posted.body.workflowId);

    // Clearbit and Harmonic do not know the company; Clay took the row and its result is on its way back. The
    // workflow is waiting for it (its only timer so far) when the server goes down.
    await eventually(async () => (relay.held.length === 1 ? true : undefined), 60_000);
    const client = new Client({ connection: await Connection.connect({ address: server!.address }) });
    try {
      await eventually(async () => {
        const events = (await client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
        return events.some((e) => e.timerStartedEventAttributes) ? true : undefined;
      });
    } finally {
      await client.connection.close();
    }
    const first = server!;
    const killed = new Promise((resolve) => first.child.once('exit', resolve));
    first.child.kill('SIGKILL');
    await killed;

    // The callback reaches the intake now: the signal cannot be sent, the result is archived, and Clay is told so
    // (Clay does not retry a callback: a 5xx would only be noise).
    relay.open();
    await eventually(async () => (relay.answers.length === 1 ? true : undefined));
    expect(relay.answers[0]).toEqual({ status: 202, body: { status: 'archived', signupId } });

    await startServer();
    const row = await eventually(async () => {
      const current = await ledger.signups.getSignup(signupId);
      return current && !UNSETTLED.includes(current.status) ? current : undefined;
    }, 100_000);
    expect(row.icpFields?.companyName).toBe(company.name);
    expect(row.provenance?.companyName?.source).toBe('clay');
    expect(row.creditsSpent).toMatchObject({ clay: 1 });

    const again = new Client({ connection: await Connection.connect({ address: server!.address }) });
    try {
      const result = await again.workflow.getHandle<typeof SignupEnrichmentWorkflow>(workflowId).result();
      const clayTrace = result.signups[0]?.trace?.filter((t) => t.source === 'clay');
      expect(clayTrace?.map((t) => `${t.lookup}:${t.outcome}`)).toEqual(['company:found']);
    } finally {
      await again.connection.close();
    }
    // Clay saw one row and charged one credit; the workflow never called it silent.
    const clay = await sandbox.inspect<ClayInspection>('clay');
    expect(clay.calls.filter((c) => c.kind === 'request')).toHaveLength(1);
    expect(clay.creditsSpent).toBe(1);
    const archived = await ledger.providerArchive.listProviderResponses(signupId);
    expect(archived.filter((r) => r.provider === 'clay').map((r) => r.outcome)).toEqual(['queued', 'found']);
  }, 170_000);
});
