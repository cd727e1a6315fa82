import { WorkflowIdReusePolicy, type Client, type WorkflowHandle } from '@temporalio/client';
import type { Priority, SignalDefinition } from '@temporalio/common';
import { EnrichmentStatusKey, SignupAtKey } from '../domain/search-attributes';
import type { EnrichmentStatus } from '../domain/status';
import { cutUtf8, TEMPORAL_LIMITS } from '../domain/temporal-limits';
import {
  signupReceivedSignal,
  WorkflowType,
  type SignupEnrichmentInput,
  type SignupEnrichmentWorkflowType,
  type SignupReceived,
} from '../workflows/messages';

/** Where the signup workflows of this deployment run: the Temporal client and the task queue its workers poll. */
export interface SignupFleet {
  client: Client;
  taskQueue: string;
}

/** A recorded signup to hand to its organization's workflow. */
export interface SignupToStart {
  id: string;
  /** The organization's workflow id (business id), from the ledger. */
  workflowId: string;
  /** When known: the `SignupAt` search attribute of a new run. */
  signedUpAt: string | undefined;
  /** For the Workflows-list summary of a new run. */
  emailDomain: string | null | undefined;
}

export interface StartSignupOptions {
  /**
   * The backfill (its workflow id) asking for the signup again: one already recorded without every field is enriched
   * once more, and a new run's summary names that backfill.
   */
  rerunBy?: string;
  /** Task priority of a new run (a backfill runs below live signups); unset is Temporal's default. */
  priority?: Priority;
}

/**
 * Signal-with-start of a signup's `SignupEnrichmentWorkflow`: starts the organization's workflow (a new run when the
 * last one closed), or hands the signup to the one already running. The one way signups reach their workflow (the
 * outbox, the backfill): same id-reuse policy, search attributes and summary; a rejection is the caller's to handle.
 */
export function startSignup(
  { client, taskQueue }: SignupFleet,
  signup: SignupToStart,
  options: StartSignupOptions = {},
): Promise<WorkflowHandle<SignupEnrichmentWorkflowType>> {
  const input: SignupEnrichmentInput = { signupId: signup.id };
  return client.workflow.signalWithStart<SignupEnrichmentWorkflowType, [SignupReceived]>(
    WorkflowType.signupEnrichment,
    {
      workflowId: signup.workflowId,
      taskQueue,
      args: [input],
      signal: signupReceivedSignal,
      signalArgs: [options.rerunBy === undefined ? { signupId: signup.id } : { signupId: signup.id, rerun: true }],
      workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
      typedSearchAttributes: [
        { key: EnrichmentStatusKey, value: 'received' },
        ...(signup.signedUpAt === undefined ? [] : [{ key: SignupAtKey, value: new Date(signup.signedUpAt) }]),
      ],
      // The email's domain and ids of ours, never the email: a summary is in the history (in clear without the codec).
      staticSummary: cutUtf8(
        `Signup enrichment · ${signup.emailDomain ?? 'unknown domain'}` +
          (options.rerunBy === undefined ? '' : ` · backfill re-run (${options.rerunBy})`),
        TEMPORAL_LIMITS.summaryBytes,
      ),
      ...(options.priority ? { priority: options.priority } : {}),
    },
  );
}

/**
 * Signals every running signup workflow of this deployment's task queue matching `filter` (a visibility query on top
 * of "running signup workflows"), as `temporal workflow signal --query` would; returns how many were signalled.
 */
export async function signalSignups<Args extends unknown[]>(
  { client, taskQueue }: SignupFleet,
  signal: SignalDefinition<Args>,
  args: Args,
  filter?: string,
): Promise<number> {
  let n = 0;
  const running = runningSignups(taskQueue);
  const query = filter ? `${running} AND ${filter}` : running;
  for await (const execution of client.workflow.list({ query })) {
    try {
      await client.workflow.getHandle(execution.workflowId, execution.runId).signal(signal, ...args);
      n++;
    } catch {
      // Finished between the listing and the signal: nothing to wake.
    }
  }
  return n;
}

/** The visibility query of this deployment's running signup workflows. */
const runningSignups = (taskQueue: string): string =>
  `WorkflowType = '${WorkflowType.signupEnrichment}' AND ExecutionStatus = 'Running' AND TaskQueue = '${taskQueue.replace(/'/g, "\\'")}'`;

/**
 * How many running signup workflows of this deployment have `status` as their `EnrichmentStatus` (the Web UI's list
 * filtered the same way), within `timeoutMs`.
 */
export async function countRunningSignups(
  { client, taskQueue }: SignupFleet,
  status: EnrichmentStatus,
  timeoutMs: number,
): Promise<number> {
  const query = `${runningSignups(taskQueue)} AND ${EnrichmentStatusKey.name} = '${status}'`;
  const { count } = await client.withDeadline(Date.now() + timeoutMs, () => client.workflow.count(query));
  return count;
}
