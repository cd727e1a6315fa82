import { Client } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import { Worker, type NativeConnection, type WorkerOptions } from '@temporalio/worker';
import { createActivities } from './activities';
import { createActivityDeps } from './composition';
import { loadConfig, type Config } from './config';
import { openLedger, type Ledger } from './ledger/ledger';
import { installProcessLogging } from './logging';
import { WORKER_POSTGRES_TIMEOUTS } from './ledger/sql';
import { ledgerDir, requireSharedDatabase, runMain } from './process';
import { dataConverter } from './temporal/codec';
import { applySchedules } from './temporal/schedules';
import { connectWorker } from './temporal/connection';
import { prepareSearchAttributes } from './temporal/search-attributes';
import { workflowBundle, workflowCode } from './temporal/workflow-code';
import { COMPANY_PROVIDERS, type ProviderName } from './domain/provider-outcome';
import { providerTaskQueue } from './workflows/messages';
import { createPipelineMetrics, WORKFLOW_COUNT_TIMEOUT_MS, type PipelineMetrics } from './metrics/pipeline';
import { planWorkerMetrics, type WorkerMetricsPlan } from './metrics/sdk';
import { startWorkerMetricsServer, type WorkerMetricsServer } from './metrics/server';
import { countRunningSignups } from './temporal/signups';

export interface WorkerDeps {
  config: Config;
  ledger: Ledger;
  connection: NativeConnection;
  /** A prebuilt bundle (tests bundle once per run); by default {@link workflowBundle}'s. */
  workflowBundle?: WorkerOptions['workflowBundle'];
  /** The client backfills start signup workflows with (by default one on `connection`). */
  client?: Client;
}

/** The workers of a process and the pipeline metrics their activities feed (served by src/metrics/server.ts). */
export interface PipelineWorkers extends Workers {
  metrics: PipelineMetrics;
}

/** The activities of a provider's task queue: its calls, nothing else. */
export const PROVIDER_QUEUE_ACTIVITIES = ['callProvider', 'checkScheduledEnrichment'] as const;

/** Several workers run, shut down and awaited as one (the same calls as a single `Worker`). */
export interface Workers {
  workers: Worker[];
  /** Runs every worker; returns when all have stopped (SIGINT/SIGTERM, or `shutdown`), and rejects if one failed. */
  run(): Promise<void>;
  /** Starts the shutdown of every worker still running. */
  shutdown(): void;
  /** Runs the workers while `fn` runs, then shuts them down and waits for them. */
  runUntil<R>(fn: () => Promise<R>): Promise<R>;
}

export function workerGroup(workers: Worker[]): Workers {
  const shutdown = () => {
    for (const worker of workers) if (worker.getState() === 'RUNNING') worker.shutdown();
  };
  const run = async () => {
    const results = await Promise.allSettled(
      workers.map((worker) =>
        worker.run().catch((err: unknown) => {
          // One failed worker stops the others: a process without its provider queues' workers must not linger.
          shutdown();
          throw err;
        }),
      ),
    );
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
  };
  return {
    workers,
    run,
    shutdown,
    async runUntil<R>(fn: () => Promise<R>): Promise<R> {
      const running = run();
      try {
        return await Promise.race([
          fn(),
          running.then(() => Promise.reject(new Error('the workers stopped before the work they ran for was done'))),
        ]);
      } finally {
        shutdown();
        await running.catch(() => undefined);
      }
    },
  };
}

export interface ProviderWorkersOptions {
  connection: NativeConnection;
  namespace?: string;
  /** The workflows' task queue; each provider's is derived from it ({@link providerTaskQueue}). */
  taskQueue: string;
  /** The activities to pick {@link PROVIDER_QUEUE_ACTIVITIES} from (the real ones, or a test's mocks). */
  activities: object;
  /** Calls per second per provider, enforced by the server across all workers of the queue; absent: unlimited. */
  rates: Partial<Record<ProviderName, number>>;
  /** The providers to run a worker for; by default every one. */
  providers?: readonly ProviderName[];
  /** The payload codec of the deployment ({@link dataConverter}); activity inputs arrive encrypted when it is on. */
  dataConverter?: DataConverter;
}

/**
 * One activity-only worker per provider task queue. `maxTaskQueueActivitiesPerSecond` is the server's dispatch rate of
 * the whole queue, whatever the number of workers and processes; every worker of a queue must set the same value (the
 * last poller's wins), which one configuration for all processes guarantees.
 */
export async function createProviderWorkers(o: ProviderWorkersOptions): Promise<Worker[]> {
  const all = o.activities as Record<string, unknown>;
  const activities = Object.fromEntries(PROVIDER_QUEUE_ACTIVITIES.filter((n) => n in all).map((n) => [n, all[n]]));
  if (Object.keys(activities).length === 0) return [];
  return Promise.all(
    (o.providers ?? COMPANY_PROVIDERS).map((provider) => {
      const rate = o.rates[provider];
      return Worker.create({
        connection: o.connection,
        ...(o.namespace ? { namespace: o.namespace } : {}),
        taskQueue: providerTaskQueue(o.taskQueue, provider),
        activities,
        ...(o.dataConverter ? { dataConverter: o.dataConverter } : {}),
        ...(rate === undefined ? {} : { maxTaskQueueActivitiesPerSecond: rate }),
      });
    }),
  );
}

/**
 * The workers of task queue `TEMPORAL_TASK_QUEUE` (every workflow and every activity, the provider calls of
 * executions that started before they had queues of their own included) and of each provider's task queue (its calls,
 * at its rate), wired from their dependencies.
 */
export async function createWorker(deps: WorkerDeps): Promise<PipelineWorkers> {
  const { config } = deps;
  const converter = dataConverter(config);
  const client =
    deps.client ??
    new Client({ connection: deps.connection, namespace: config.temporal.namespace, dataConverter: converter });
  const fleet = { client, taskQueue: config.temporal.taskQueue };
  const temporal = () => Promise.resolve(fleet);
  const metrics = createPipelineMetrics({
    ledger: deps.ledger.metrics,
    countRunningWorkflows: (status) => countRunningSignups(fleet, status, WORKFLOW_COUNT_TIMEOUT_MS),
  });
  const activities = createActivities(
    createActivityDeps(config, { ledger: deps.ledger, temporal, onSettled: metrics.settled }),
  );
  const main = await Worker.create({
    connection: deps.connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    workflowBundle: deps.workflowBundle ?? (await workflowBundle(config)),
    activities,
    dataConverter: converter,
  });
  const providers = await createProviderWorkers({
    connection: deps.connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    activities,
    rates: config.providerRates,
    dataConverter: converter,
  });
  return { ...workerGroup([main, ...providers]), metrics };
}

/**
 * The worker endpoint of a process whose Runtime was installed with `plan`'s telemetry: the pipeline metrics of
 * `workers` and the SDK's, on WORKER_METRICS_HOST:WORKER_METRICS_PORT. Logs where it listens.
 */
export async function serveWorkerMetrics(
  config: Config,
  plan: WorkerMetricsPlan,
  workers: PipelineWorkers,
): Promise<WorkerMetricsServer> {
  const server = await startWorkerMetricsServer({
    host: plan.host,
    port: plan.port,
    metrics: workers.metrics,
    sdkUrl: `http://${plan.sdkAddress}/metrics`,
    ...(config.metricsToken === undefined ? {} : { token: config.metricsToken }),
  });
  console.log(`worker metrics: ${server.url}/metrics`);
  return server;
}

async function main(): Promise<void> {
  const config = loadConfig();
  // Off unless WORKER_METRICS_PORT is set: several workers may share a host.
  const metricsPlan = await planWorkerMetrics(config, undefined);
  // Before any connection or Worker: the Runtime takes its logger and metrics exporter once.
  installProcessLogging(config, metricsPlan?.telemetry);
  requireSharedDatabase(config, 'worker');
  const ledger = await openLedger({
    databaseUrl: config.databaseUrl,
    dataDir: ledgerDir(config),
    timeouts: WORKER_POSTGRES_TIMEOUTS,
  });
  const connection = await connectWorker(config.temporal.connection);
  try {
    const added = await prepareSearchAttributes(connection, {
      namespace: config.temporal.namespace,
      register: config.temporal.registerSearchAttributes,
    });
    if (added.length > 0) console.log(`registered search attributes: ${added.join(', ')}`);
    const client = new Client({
      connection,
      namespace: config.temporal.namespace,
      dataConverter: dataConverter(config),
    });
    for (const s of await applySchedules(client, config)) {
      console.log(`schedule ${s.id} ${s.action}`);
    }
    const workflows = workflowCode(config);
    console.log(workflows.description);
    const worker = await createWorker({ config, ledger, connection, workflowBundle: workflows.options.workflowBundle });
    const metricsServer = metricsPlan && (await serveWorkerMetrics(config, metricsPlan, worker));
    try {
      // Worker.run() returns after SIGINT/SIGTERM, once in-flight tasks are done.
      await worker.run();
    } finally {
      await metricsServer?.close();
    }
  } finally {
    await connection.close();
    await ledger.close();
  }
}

if (require.main === module) runMain(main);
