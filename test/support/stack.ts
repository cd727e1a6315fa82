import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { NativeConnection } from '@temporalio/worker';
import { afterAll, beforeAll, expect, inject } from 'vitest';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../../src/config';
import { buildIntakeApp } from '../../src/intake/app';
import { createIntakeMetrics } from '../../src/intake/metrics';
import { openLedger, type Ledger } from '../../src/ledger/ledger';
import { createIntake, type Intake } from '../../src/starter';
import { addSearchAttributes } from '../../src/temporal/search-attributes';
import { getStatusQuery, type SignupEnrichmentResult, type SignupEnrichmentStatus } from '../../src/workflows/messages';
import { SignupEnrichmentWorkflow } from '../../src/workflows/signup-enrichment';
import { createWorker, type Workers } from '../../src/worker';
import { ADMIN_TOKEN, CLAY_SECRET, PII_HASH_KEY, privateDatabaseUrl, SECRET, testConfig } from './config';
import { eventually } from './eventually';
import { type Inspection, type RunningSandbox, startSandbox } from './sandbox';
import { clearbitCompanies, posthogSignup } from './signups';

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

/** Runs `stops` last-pushed first; one that throws does not keep the others from running (its error is rethrown). */
async function runStops(stops: (() => Promise<unknown>)[]): Promise<void> {
  const errors: unknown[] = [];
  for (const stop of stops.splice(0).reverse()) {
    try {
      await stop();
    } catch (err) {
      errors.push(err);
    }
  }
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) throw new AggregateError(errors, 'several test services failed to stop');
}

/** `value` once the stack's `beforeAll` has set it: a stack used outside a test fails with a clear message. */
function started<T>(value: T | undefined): T {
  if (value === undefined) throw new Error('the test stack is not started yet (use it inside a test)');
  return value;
}

/** A record a sandbox destination holds, as `/_inspect/<system>` lists it. */
export type StoredRecord = NonNullable<Inspection['records']>[string][number];

export interface FanOutPipeline extends IsolatedStack {
  /** The intake's base URL (the operator API is there too). */
  url: string;
  /** Posts `payload` to the intake (a PostHog delivery unless `path` says otherwise) and expects a 202. */
  post(payload: unknown, path?: string): Promise<{ signupId: string; workflowId: string }>;
  /** The signup enriched again under a workflow id of its own, as a backfill would run it; its result. */
  rerun(signupId: string): Promise<SignupEnrichmentResult>;
}

/**
 * The fan-out end to end for the calling `describe` block: one sandbox over real HTTP and a client of the run's
 * Temporal server, started before its tests and stopped after them (even when a test failed). Each test builds the
 * pipelines it needs with `pipeline()`: a task queue, ledger, worker and intake of its own (`isolatedStack`), with
 * `env` (then the pipeline's own) on top of the defaults. `settled` waits `settleTimeoutMs` unless told otherwise.
 */
export function useFanOutStack(options: { env?: Record<string, string>; settleTimeoutMs?: number } = {}) {
  let sandbox: RunningSandbox | undefined;
  let client: Client | undefined;
  const stops: (() => Promise<unknown>)[] = [];

  beforeAll(async () => {
    const runningSandbox = await startSandbox();
    stops.push(() => runningSandbox.close());
    sandbox = runningSandbox;
    const connection = await Connection.connect({ address: inject('temporalAddress') });
    stops.push(() => connection.close());
    client = new Client({ connection });
  });

  afterAll(() => runStops(stops));

  const stack = {
    get sandbox(): RunningSandbox {
      return started(sandbox);
    },
    get client(): Client {
      return started(client);
    },

    /** Stops `stop` with the stack, before what was started earlier. */
    onTeardown: (stop: () => Promise<unknown>): void => {
      stops.push(stop);
    },

    pipeline: async (
      env: Record<string, string> = {},
      pipelineOptions: { worker?: boolean } = {},
    ): Promise<FanOutPipeline> => {
      const isolated = await isolatedStack(
        { SANDBOX_URL: stack.sandbox.url, ...options.env, ...env },
        { ...pipelineOptions, stops },
      );
      const intake: Intake = createIntake(isolated.config, isolated.ledger, { outboxPollMs: 200 });
      const base = await intake.app.listen({ host: '127.0.0.1', port: 0 });
      stops.push(() => intake.close());
      return {
        ...isolated,
        url: base,
        async post(payload, path = '/webhooks/posthog') {
          const res = await fetch(`${base}${path}`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${SECRET}` },
            body: JSON.stringify(payload),
          });
          expect(res.status).toBe(202);
          return (await res.json()) as { signupId: string; workflowId: string };
        },
        rerun: (signupId) =>
          stack.client.workflow.execute(SignupEnrichmentWorkflow, {
            workflowId: `rerun-${randomUUID()}`,
            taskQueue: isolated.config.temporal.taskQueue,
            args: [{ signupId }],
          }),
      };
    },

    /** What the sandbox's `system` holds, by record type. */
    records: async (system: string): Promise<Record<string, StoredRecord[] | undefined>> => {
      return (await stack.sandbox.inspect<Inspection>(system)).records ?? {};
    },

    find: async (system: string, type: string, predicate: (r: StoredRecord) => boolean): Promise<StoredRecord[]> => {
      return ((await stack.records(system))[type] ?? []).filter(predicate);
    },

    /** Waits until every write of every signup of the workflow has settled, and returns the status. */
    settled: (workflowId: string, timeoutMs = options.settleTimeoutMs ?? 60_000): Promise<SignupEnrichmentStatus> => {
      return eventually<SignupEnrichmentStatus>(async () => {
        const status = await stack.client.workflow.getHandle(workflowId).query(getStatusQuery);
        const writes = status.signups.flatMap((s) => Object.values(s.writes ?? {}));
        const done =
          status.signups.every((s) => Object.keys(s.writes ?? {}).length > 0) &&
          writes.every((w) => !['pending', 'retrying'].includes(w.state));
        return done ? status : undefined;
      }, timeoutMs);
    },
  };
  return stack;
}

/**
 * The pipeline on the time-skipping server for the calling `describe` block, started before its tests and stopped
 * after them (even when a test failed): the sandbox, a ledger (embedded, or a PostgreSQL schema of its own with
 * `postgres: true`), the real worker and an intake whose clock follows the server's skipped one, configured by `env`.
 * `client` is a plain client: the environment's own lets time run free while it awaits a result, which would skip past
 * the hours and days a test plays one by one; here the clock moves only with `env.sleep` (`sleepUntil`).
 */
export function useTimeSkippingStack(options: { env: Record<string, string>; postgres?: boolean }) {
  let env: TestWorkflowEnvironment | undefined;
  let client: Client | undefined;
  let sandbox: RunningSandbox | undefined;
  let ledger: Ledger | undefined;
  let config: Config | undefined;
  let base: string | undefined;
  let clockOffsetMs = 0;
  let nextCompany = 0;
  let refusedBefore = 0;
  const stops: (() => Promise<unknown>)[] = [];

  beforeAll(async () => {
    const environment = await TestWorkflowEnvironment.createTimeSkipping({
      server: { executable: { type: 'existing-path', path: inject('temporalTestServer') } },
    });
    stops.push(() => environment.teardown());
    await addSearchAttributes(environment.connection, 'default');
    env = environment;
    client = new Client({ connection: environment.connection });
    const runningSandbox = await startSandbox();
    stops.push(() => runningSandbox.close());
    sandbox = runningSandbox;
    const databaseUrl = options.postgres ? await privateDatabaseUrl() : undefined;
    const openedLedger = await openLedger({ databaseUrl });
    stops.push(() => openedLedger.close());
    ledger = openedLedger;
    config = testConfig({
      ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
      TEMPORAL_ADDRESS: environment.address,
      SANDBOX_URL: runningSandbox.url,
      ...options.env,
    });
    const worker = await startWorker(config, openedLedger);
    stops.push(() => worker.shutdown());
    // The intake checks signup times against its clock: it follows the test server's skipped clock.
    const intake = createIntake(config, openedLedger, {
      outboxPollMs: 200,
      now: () => new Date(Date.now() + clockOffsetMs),
    });
    stops.push(() => intake.close());
    base = await intake.app.listen({ host: '127.0.0.1', port: 0 });
  });

  afterAll(() => runStops(stops));

  const stack = {
    get env(): TestWorkflowEnvironment {
      return started(env);
    },
    get client(): Client {
      return started(client);
    },
    get sandbox(): RunningSandbox {
      return started(sandbox);
    },
    get ledger(): Ledger {
      return started(ledger);
    },
    get config(): Config {
      return started(config);
    },

    /** Moves the server's clock to `hour`:`minute` UTC of `day`. */
    sleepUntil: async (day: string, hour: number, minute = 0): Promise<void> => {
      const at = `${day}T${String(hour).padStart(2, '0')}:${String(minute).padStart(2, '0')}:00Z`;
      const ms = Date.parse(at) - (await stack.env.currentTimeMs());
      if (ms > 0) await stack.env.sleep(ms);
    },

    /**
     * Posts `n` signups (signed up now, by the server's clock) and returns their ids. Each is of a different company
     * Clearbit knows completely: the domain cache must not hide an outage.
     */
    signups: async (n: number): Promise<{ signupId: string; workflowId: string }[]> => {
      const posted: { signupId: string; workflowId: string }[] = [];
      for (let i = 0; i < n; i++) {
        const payload = posthogSignup({ email: clearbitCompanies[nextCompany++]!.people[0]!.email });
        const serverNow = await stack.env.currentTimeMs();
        clockOffsetMs = serverNow - Date.now();
        payload.event.timestamp = new Date(serverNow).toISOString();
        const res = await fetch(`${started(base)}/webhooks/posthog`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${SECRET}` },
          body: JSON.stringify(payload),
        });
        expect(res.status).toBe(202);
        posted.push((await res.json()) as { signupId: string; workflowId: string });
      }
      return posted;
    },

    /** The ledger rows of the signups, once every one of them is recorded (enriched or not). */
    recorded: (ids: string[]) => {
      return eventually(async () => {
        const rows = await Promise.all(ids.map((id) => stack.ledger.signups.getSignup(id)));
        return rows.every((r) => r?.enrichedAt) ? rows : undefined;
      }, 60_000);
    },

    /** Every signup of the list was refused by Clearbit for credits (402) since the last call, and is not recorded. */
    waiting: async (ids: string[]): Promise<void> => {
      await eventually(async () => {
        const inspection = await stack.sandbox.inspect<{ calls: { status: number }[] }>('clearbit');
        const refused = inspection.calls.filter((c) => c.status === 402).length;
        if (refused < refusedBefore + ids.length) return undefined;
        refusedBefore = refused;
        return true;
      }, 60_000);
      const rows = await Promise.all(ids.map((id) => stack.ledger.signups.getSignup(id)));
      expect(rows.every((r) => r?.enrichedAt === null)).toBe(true);
    },

    /** The text of every message the sandbox's Slack received. */
    slackTexts: async (): Promise<string[]> => {
      const slack = await stack.sandbox.inspect<{ records?: { message?: { fields: unknown }[] } }>('slack');
      return (slack.records?.message ?? []).map((m) => JSON.stringify(m.fields));
    },
  };
  return stack;
}
