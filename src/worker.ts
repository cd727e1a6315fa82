import { Client } from '@temporalio/client';
import { Worker, type NativeConnection, type WorkerOptions } from '@temporalio/worker';
import { createActivities } from './activities';
import { createActivityDeps } from './composition';
import { loadConfig, type Config } from './config';
import { openLedger, type Ledger } from './ledger/ledger';
import { WORKER_POSTGRES_TIMEOUTS } from './ledger/sql';
import { ledgerDir, requireSharedDatabase, runMain } from './process';
import { applySchedules } from './temporal/schedules';
import { connectWorker } from './temporal/connection';
import { prepareSearchAttributes } from './temporal/search-attributes';
import { workflowCode } from './temporal/workflow-code';

export interface WorkerDeps {
  config: Config;
  ledger: Ledger;
  connection: NativeConnection;
  /** A prebuilt bundle (tests bundle once per run); by default {@link workflowCode}'s. */
  workflowBundle?: WorkerOptions['workflowBundle'];
  /** The client backfills start signup workflows with (by default one on `connection`). */
  client?: Client;
}

/** The worker of task queue `TEMPORAL_TASK_QUEUE`: every workflow and every activity, wired from its dependencies. */
export async function createWorker(deps: WorkerDeps): Promise<Worker> {
  const { config } = deps;
  const client = deps.client ?? new Client({ connection: deps.connection, namespace: config.temporal.namespace });
  const temporal = () => Promise.resolve({ client, taskQueue: config.temporal.taskQueue });
  return Worker.create({
    connection: deps.connection,
    namespace: deps.config.temporal.namespace,
    taskQueue: deps.config.temporal.taskQueue,
    ...(deps.workflowBundle ? { workflowBundle: deps.workflowBundle } : workflowCode(config).options),
    activities: createActivities(createActivityDeps(config, { ledger: deps.ledger, temporal })),
  });
}

async function main(): Promise<void> {
  const config = loadConfig();
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
    for (const s of await applySchedules(new Client({ connection, namespace: config.temporal.namespace }), config)) {
      console.log(`schedule ${s.id} ${s.action}`);
    }
    const workflows = workflowCode(config);
    console.log(workflows.description);
    const worker = await createWorker({ config, ledger, connection, workflowBundle: workflows.options.workflowBundle });
    // Worker.run() returns after SIGINT/SIGTERM, once in-flight tasks are done.
    await worker.run();
  } finally {
    await connection.close();
    await ledger.close();
  }
}

if (require.main === module) runMain(main);
