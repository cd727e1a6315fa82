import { randomUUID } from 'node:crypto';
import { WorkflowFailedError } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, inject } from 'vitest';
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

/** The run's workflow bundle with `activities` (typed mocks) on a task queue of its own, polling while `fn` runs. */
export async function withMockedActivities<T>(
  env: TestWorkflowEnvironment,
  activities: object,
  fn: (taskQueue: string) => Promise<T>,
): Promise<T> {
  const taskQueue = `wf-${randomUUID()}`;
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: { codePath: inject('workflowBundlePath') },
    activities,
  });
  return worker.runUntil(() => fn(taskQueue));
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
