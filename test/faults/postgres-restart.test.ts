import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config';
import { openLedger, type Ledger } from '../../src/ledger/ledger';
import { openPostgres } from '../../src/ledger/sql';
import { createIntake } from '../../src/starter';
import { freePort } from '../../src/tools/dev-server';
import { ensurePostgresInstalled, startTempPostgres, type TempPostgres } from '../../src/tools/postgres';
import { testConfig } from '../support/config';
import { eventually } from '../support/eventually';
import { startSandbox } from '../support/sandbox';
import {
  clearbitCompanies,
  deliver,
  type Delivery,
  type PosthogPayload,
  signupOf,
  UNSETTLED,
} from '../support/signups';
import { startWorker } from '../support/stack';

const SIGNUPS = 40;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A PostgreSQL of this file's own (the run's shared one cannot be restarted under the other files), stopped and
 * started again while signups keep arriving over HTTP. The intake, its outbox and the worker are the real ones and
 * are never restarted: they must find the database again by themselves.
 */
describe('PostgreSQL restarted while signups flow', () => {
  const stops: (() => unknown)[] = [];
  let postgres: TempPostgres;
  let config: Config;
  let base: string;

  beforeAll(async () => {
    postgres = startTempPostgres(ensurePostgresInstalled(), await freePort());
    stops.push(() => postgres.stop());
    const sandbox = await startSandbox();
    stops.push(() => sandbox.close());
    config = testConfig({
      DATABASE_URL: postgres.url,
      SANDBOX_URL: sandbox.url,
      ENRICHMENT_PROVIDERS: 'clearbit,harmonic',
      DESTINATIONS: '',
    });
    // The worker and the starter are separate processes in production: each has a pool of its own.
    const ledgers: Ledger[] = [];
    for (let i = 0; i < 2; i++) {
      const ledger = await openLedger({ databaseUrl: postgres.url });
      stops.push(() => ledger.close());
      ledgers.push(ledger);
    }
    const worker = await startWorker(config, ledgers[0]!);
    stops.push(() => worker.shutdown());
    const intake = createIntake(config, ledgers[1]!, { outboxPollMs: 200 });
    stops.push(() => intake.close());
    base = await intake.app.listen({ host: '127.0.0.1', port: 0 });
  });

  afterAll(async () => {
    for (const stop of stops.reverse()) await stop();
  });

  it('answers 503 + Retry-After while it is down, recovers by itself, and loses or doubles no signup', async () => {
    const answers: Delivery[] = [];
    /** A sender that retries a 503 as PostHog does (sooner than Retry-After asks, to keep the test short). */
    const send = async (payload: PosthogPayload): Promise<Delivery> => {
      for (;;) {
        const answer = await deliver(base, '/webhooks/posthog', payload);
        answers.push(answer);
        if (answer.status !== 503) return answer;
        await sleep(300);
      }
    };
    const payloads = clearbitCompanies.slice(0, SIGNUPS).map(signupOf);
    const flow = (async () => {
      const sent: Promise<Delivery>[] = [];
      for (const payload of payloads) {
        sent.push(send(payload));
        await sleep(150);
      }
      return Promise.all(sent);
    })();

    await eventually(async () => (answers.filter((a) => a.status === 202).length >= 8 ? true : undefined));
    postgres.shutdown();
    await eventually(async () => (answers.filter((a) => a.status === 503).length >= 5 ? true : undefined));
    const notReady = await fetch(`${base}/readyz`);
    expect(notReady.status).toBe(503);
    expect(await notReady.json()).toMatchObject({ checks: { ledger: 'unreachable' } });
    postgres.start();

    // Every delivery ends in a 202: recorded now, or (when the connection died just after the insert) recorded
    // before and recognised as the same signup.
    const final = await flow;
    expect(final.map((a) => a.status)).toEqual(Array(SIGNUPS).fill(202));
    for (const a of final) expect(['accepted', 'duplicate']).toContain(a.body.status);
    expect(new Set(answers.map((a) => a.status))).toEqual(new Set([202, 503]));
    for (const a of answers.filter((x) => x.status === 503)) expect(Number(a.retryAfter)).toBeGreaterThan(0);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);

    // The ledger holds each delivered event exactly once, under the id its 202 named.
    const sql = await openPostgres(postgres.url);
    try {
      const rows = await sql.query<{ id: string; event_uuid: string }>('SELECT id, event_uuid FROM signups');
      expect(rows).toHaveLength(SIGNUPS);
      expect(new Set(rows.map((r) => r.event_uuid))).toEqual(new Set(payloads.map((p) => p.event.uuid)));
      expect(new Set(rows.map((r) => r.id))).toEqual(new Set(final.map((a) => a.body.signupId)));

      // Every one is started and settles, enriched (Clearbit knows each company), without a restart of anything.
      const settled = await eventually(async () => {
        const statuses = await sql.query<{ status: string }>('SELECT status FROM signups');
        return statuses.every((s) => !UNSETTLED.includes(s.status)) ? statuses : undefined;
      }, 90_000);
      expect(settled.map((s) => s.status)).toEqual(Array(SIGNUPS).fill('enriched'));
    } finally {
      await sql.close();
    }
  }, 150_000);
});
