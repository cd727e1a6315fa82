import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DefaultLogger, NativeConnection, Runtime, type Worker } from '@temporalio/worker';
import { inject } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { loadConfig, type Config } from '../src/config';
import { buildIntakeApp } from '../src/intake/app';
import { createIntakeMetrics } from '../src/intake/metrics';
import { openLedger, type Ledger } from '../src/ledger/ledger';
import { openPostgres } from '../src/ledger/sql';
import type { ControlPatches } from '../src/sandbox/state';
import { createWorker } from '../src/worker';
import { testSandbox } from './sandbox/helpers';

// Test workers log warnings and errors only; the bundle and state-change chatter drowns the test output.
Runtime.install({ logger: new DefaultLogger('WARN') });

export const SECRET = 'test-webhook-secret';
/** The operator API's token (`/admin/*`, the `enrich` CLI) and our Clay table's callback secret in tests. */
export const ADMIN_TOKEN = 'test-admin-token';
export const CLAY_SECRET = 'test-clay-callback-secret';

/**
 * The intake alone over real HTTP on a ledger of its own (no outbox, no Temporal): what it answers and what it
 * records. `signupEvents` as the PostHog fixture sends them.
 */
export async function startBareIntake(ledger: Ledger): Promise<{ app: FastifyInstance; base: string }> {
  const app = buildIntakeApp({
    ledger,
    webhookSecret: SECRET,
    adminToken: ADMIN_TOKEN,
    clayCallbackSecret: CLAY_SECRET,
    signupEvents: ['user signed up'],
    metrics: createIntakeMetrics(ledger),
    onRecorded: () => undefined,
    deliverClayResult: () => Promise.resolve(false),
    temporalReady: () => Promise.resolve(),
  });
  return { app, base: await app.listen({ host: '127.0.0.1', port: 0 }) };
}

/** A configuration as `loadConfig` would build it, pointed at the run's Temporal server and a task queue of its own. */
export function testConfig(env: Record<string, string> = {}): Config {
  return loadConfig({
    WEBHOOK_SECRET: SECRET,
    ADMIN_TOKEN,
    CLAY_CALLBACK_SECRET: CLAY_SECRET,
    TEMPORAL_ADDRESS: inject('temporalAddress'),
    TEMPORAL_TASK_QUEUE: `test-${randomUUID()}`,
    LOG_LEVEL: 'silent',
    ...env,
  });
}

/**
 * A schema of its own on the run's PostgreSQL, as a DATABASE_URL: test files run in parallel, and an outbox polling
 * a shared `signups` table would start (or fail to start) another file's signups.
 */
export async function privateDatabaseUrl(): Promise<string> {
  const base = inject('postgresUrl');
  const schema = `t_${randomUUID().replaceAll('-', '')}`;
  const admin = await openPostgres(base);
  try {
    await admin.query(`CREATE SCHEMA ${schema}`);
  } finally {
    await admin.close();
  }
  const url = new URL(base);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return url.toString();
}

/**
 * The worker as its own process (`src/worker.ts`), so that it can be killed for real (SIGKILL), on `config`'s task
 * queue, database and sandbox; `env` adds to what it is started with.
 */
export function spawnWorker(config: Config, env: Record<string, string> = {}): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', 'src/worker.ts'], {
    cwd: path.resolve(__dirname, '..'),
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
  worker: Worker;
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

/** Polls until `check` returns a value other than undefined, or fails with the last error after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `condition not met within ${timeoutMs} ms${lastError instanceof Error ? `: ${lastError.message}` : ''}`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

type Json = Record<string, unknown>;

export interface PosthogPayload extends Json {
  event: Json & { uuid: string; event: string; distinct_id: string; properties: Json };
  person: Json & { properties: Json };
  groups: Json & { organization: Json & { id: string } };
}

/** The recorded PostHog "user signed up" delivery, with fresh ids (and any overrides) so tests do not collide. */
export function posthogSignup(
  overrides: { email?: string | null; orgId?: string | null; event?: string } = {},
): PosthogPayload {
  const payload = JSON.parse(
    readFileSync(path.join(__dirname, 'fixtures/posthog/user-signed-up.json'), 'utf8'),
  ) as PosthogPayload;
  const orgId = overrides.orgId === undefined ? `org-${randomUUID()}` : overrides.orgId;
  payload.event.uuid = randomUUID();
  payload.event.distinct_id = randomUUID();
  if (overrides.event) payload.event.event = overrides.event;
  if (orgId === null) {
    delete (payload as Partial<PosthogPayload>).groups;
    delete payload.event.properties.$groups;
  } else {
    payload.groups.organization.id = orgId;
    payload.event.properties.$groups = { organization: orgId };
  }
  if (overrides.email === null) {
    delete payload.person.properties.email;
    delete payload.event.properties.$set;
  } else if (overrides.email) {
    payload.person.properties.email = overrides.email;
  }
  return payload;
}

export interface RunningSandbox {
  url: string;
  control(system: string, patch: Record<string, unknown>): Promise<void>;
  inspect<T = Record<string, unknown>>(system: string): Promise<T>;
  close(): Promise<void>;
}

/**
 * The sandbox on a port of its own (the providers' real wire formats over real HTTP), without the providers' default
 * rate limits unless a test sets them. `clayCallbackUrl` is where its Clay table posts results.
 */
export async function startSandbox(
  controls: ControlPatches = {},
  options: { salesforceAccounts?: number } = {},
): Promise<RunningSandbox> {
  const app = testSandbox(controls, options);
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return {
    url,
    async control(system, patch) {
      const res = await fetch(`${url}/_control/${system}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(patch),
      });
      if (res.status !== 200) throw new Error(`sandbox control ${system}: ${res.status} ${await res.text()}`);
    },
    async inspect<T>(system: string) {
      return (await (await fetch(`${url}/_inspect/${system}`)).json()) as T;
    },
    close: () => app.close(),
  };
}
