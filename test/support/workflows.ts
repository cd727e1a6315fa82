import { randomUUID } from 'node:crypto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { inject } from 'vitest';
import './config';

/**
 * The time-skipping test server: timers and retry backoffs pass in milliseconds while `env.client` awaits a result,
 * and the clock runs at wall speed otherwise (so a test can query a workflow that waits on a timer).
 */
export const timeSkippingEnvironment = (): Promise<TestWorkflowEnvironment> =>
  TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: inject('temporalTestServer') } },
  });

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
