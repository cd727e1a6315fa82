import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { NativeConnection } from '@temporalio/worker';
import { inject } from 'vitest';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../../src/config';
import { buildIntakeApp } from '../../src/intake/app';
import { createIntakeMetrics } from '../../src/intake/metrics';
import { openLedger, type Ledger } from '../../src/ledger/ledger';
import { createWorker, type Workers } from '../../src/worker';
import { ADMIN_TOKEN, CLAY_SECRET, PII_HASH_KEY, privateDatabaseUrl, SECRET, testConfig } from './config';

/**
 * The intake alone over real HTTP on a ledger of its own (no outbox, no Temporal): what it answers and what it
 * records. `signupEvents` as the PostHog fixture sends them.
 */
export async function startBareIntake(ledger: Ledger): Promise<{ app: FastifyInstance; base: string }> {
  const app = buildIntakeApp({
    ledger,
    webhookSecret: SECRET,
    adminToken: ADMIN_TOKEN,
    piiHashKey: PII_HASH_KEY,
    clayCallbackSecret: CLAY_SECRET,
    signupEvents: ['user signed up'],
    metrics: createIntakeMetrics(ledger.outbox),
    onRecorded: () => undefined,
    deliverClayResult: () => Promise.resolve(false),
    temporalReady: () => Promise.resolve(),
  });
  return { app, base: await app.listen({ host: '127.0.0.1', port: 0 }) };
}

/**
 * The worker as its own process (`src/worker.ts`), so that it can be killed for real (SIGKILL), on `config`'s task
 * queue, database and sandbox; `env` adds to what it is started with.
 */
export function spawnWorker(config: Config, env: Record<string, string> = {}): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', 'src/worker.ts'], {
    cwd: path.resolve(__dirname, '../..'),
    stdio: ['ignore', 'ignore', 'inherit'],
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: config.temporal.address,
      TEMPORAL_TASK_QUEUE: config.temporal.taskQueue,
      DATABASE_URL: config.databaseUrl,
      SANDBOX_URL: config.sandboxUrl,
      WEBHOOK_SECRET: SECRET,
      WRITE_RETRY_INITIAL_SECONDS: '1',
      ENRICHMENT_PROVIDERS: 'clearbit,harmonic',
      LOG_LEVEL: 'warn',
      ...env,
    },
  });
}

export interface RunningWorker {
  worker: Workers;
  shutdown(): Promise<void>;
}

/** The real worker (real activities, the run's workflow bundle) polling `config`'s task queue. */
export async function startWorker(config: Config, ledger: Ledger): Promise<RunningWorker> {
  const connection = await NativeConnection.connect({ address: config.temporal.address });
  const worker = await createWorker({
    config,
    ledger,
    connection,
    workflowBundle: { codePath: inject('workflowBundlePath') },
  });
  const running = worker.run();
  return {
    worker,
    async shutdown() {
      worker.shutdown();
      await running;
      await connection.close();
    },
  };
}

export interface IsolatedStack {
  config: Config;
  ledger: Ledger;
  worker: RunningWorker | undefined;
}

/**
 * A task queue, a ledger in a PostgreSQL schema of its own, and (unless `worker: false`) a worker, with quick write
 * retries and the two providers that answer without a callback. Teardown goes onto `stops`, to be run in reverse. The
 * private ledger matters: another pipeline's outbox, still polling a shared one, would start this one's signups.
 */
export async function isolatedStack(
  env: Record<string, string>,
  options: { stops: (() => Promise<unknown>)[]; worker?: boolean },
): Promise<IsolatedStack> {
  const databaseUrl = await privateDatabaseUrl();
  const ledger = await openLedger({ databaseUrl });
  options.stops.push(() => ledger.close());
  const config = testConfig({
    DATABASE_URL: databaseUrl,
    WRITE_RETRY_INITIAL_SECONDS: '1',
    WRITE_RETRY_MAX_MINUTES: '0.05',
    // Clay answers by callback to an intake URL; these fixtures never need it.
    ENRICHMENT_PROVIDERS: 'clearbit,harmonic',
    ...env,
  });
  let worker: RunningWorker | undefined;
  if (options.worker !== false) {
    const running = await startWorker(config, ledger);
    options.stops.push(() => running.shutdown());
    worker = running;
  }
  return { config, ledger, worker };
}
