import { randomUUID } from 'node:crypto';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { type NativeConnection, Worker } from '@temporalio/worker';
import { afterAll, beforeAll, inject } from 'vitest';
import { createProviderWorkers, workerGroup, type Workers } from '../../src/worker';
import './config';

/**
 * One time-skipping test server for the calling `describe` block, started before its tests and torn down after:
 * timers and retry backoffs pass in milliseconds while `env.client` awaits a result, and the clock runs at wall speed
 * otherwise (so a test can query a workflow that waits on a timer). Returns the environment's getter.
 */
export function timeSkippingServer(): () => TestWorkflowEnvironment {
  let env: TestWorkflowEnvironment | undefined;
  beforeAll(async () => {
    env = await TestWorkflowEnvironment.createTimeSkipping({
      server: { executable: { type: 'existing-path', path: inject('temporalTestServer') } },
    });
  });
  afterAll(async () => {
    await env?.teardown();
  });
  return () => {
    if (!env) throw new Error('the time-skipping server is not started yet');
    return env;
  };
}

/**
 * The run's workflow bundle with `activities` (typed mocks) on `taskQueue`, and the same mocks' provider calls on the
 * provider task queues (unlimited), as the real worker process runs them.
 */
export async function mockedWorkers(
  connection: NativeConnection,
  taskQueue: string,
  activities: object,
): Promise<Workers> {
  const main = await Worker.create({
    connection,
    taskQueue,
    workflowBundle: { codePath: inject('workflowBundlePath') },
    activities,
  });
  return workerGroup([main, ...(await createProviderWorkers({ connection, taskQueue, activities, rates: {} }))]);
}

/** The run's workflow bundle with `activities` (typed mocks) on a task queue of its own, polling while `fn` runs. */
export async function withMockedActivities<T>(
  env: TestWorkflowEnvironment,
  activities: object,
  fn: (taskQueue: string) => Promise<T>,
): Promise<T> {
  const taskQueue = `wf-${randomUUID()}`;
  const workers = await mockedWorkers(env.nativeConnection, taskQueue, activities);
  return workers.runUntil(() => fn(taskQueue));
}

/** Why a workflow failed (the cause of its `WorkflowFailedError`); throws if it completed or failed otherwise. */
export async function failureOf(result: Promise<unknown>): Promise<Error | undefined> {
  try {
    await result;
  } catch (err) {
    if (err instanceof WorkflowFailedError) return err.cause;
    throw err;
  }
  throw new Error('the workflow completed; a failure was expected');
}

/**
 * What the Web UI shows of a workflow: its static summary (set when it was started) and its current details (set by
 * the workflow with `setCurrentDetails`, read through the built-in `__temporal_workflow_metadata` query, which needs a
 * worker polling the workflow's task queue).
 */
export async function webUiMetadata(
  handle: WorkflowHandle,
): Promise<{ summary: string | undefined; details: string | undefined }> {
  const description = await handle.describe();
  const metadata = await handle.query<{ currentDetails?: string }>('__temporal_workflow_metadata');
  return { summary: await description.staticSummary(), details: metadata.currentDetails };
}
