import type { Client } from '@temporalio/client';
import { describeStartError, isPermanentStartError } from '../temporal/start-errors';
import { startSignup } from '../temporal/signups';
import type { Ledger } from '../ledger/ledger';
import type { PendingStart } from '../ledger/outbox';
import type { IntakeMetrics } from './metrics';

export interface OutboxOptions {
  ledger: Ledger;
  client: Client;
  taskQueue: string;
  metrics?: IntakeMetrics;
  log: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
  /** How often due starts are looked for when nothing kicks the loop. */
  pollIntervalMs?: number;
  /** Bound on one start call, so an unreachable server never stalls the loop. */
  startTimeoutMs?: number;
  maxRetryDelayMs?: number;
  batchSize?: number;
}

/**
 * Starts the workflows of recorded signups. The ledger row is written before the HTTP answer; this loop turns it
 * into a running workflow, now or — when Temporal is unreachable — later, with capped backoff, so a signup accepted
 * during an outage is started once the server is back and PostHog never sees a 5xx for it.
 */
export class Outbox {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;

  constructor(private readonly o: OutboxOptions) {}

  start(): void {
    this.stopped = false;
    this.timer = setInterval(() => this.kick(), this.o.pollIntervalMs ?? 1000);
    this.kick();
  }

  /** Runs a pass soon; passes never overlap, a kick during a pass schedules one more. */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.drain()
      .then(() => undefined)
      .catch((err: unknown) => this.o.log.warn({ err: describeStartError(err) }, 'outbox pass failed; will retry'))
      .finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.kick();
        }
      });
  }

  /** One pass: starts every due signup; returns how many were started. */
  async drain(): Promise<number> {
    let started = 0;
    for (;;) {
      const batch = await this.o.ledger.outbox.claimPendingStarts(this.o.batchSize ?? 20, 60_000);
      if (batch.length === 0) return started;
      for (const pending of batch) {
        if (await this.startOne(pending)) started++;
      }
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  private async startOne(p: PendingStart): Promise<boolean> {
    const { client, ledger } = this.o;
    try {
      // Signal-with-start: starts the organization's workflow, or hands this signup to the one already running.
      await client.connection.withDeadline(Date.now() + (this.o.startTimeoutMs ?? 5000), () =>
        startSignup({ client, taskQueue: this.o.taskQueue }, p),
      );
      await ledger.outbox.markWorkflowStarted(p.id);
      this.o.metrics?.workflowStarts.inc({ result: 'started' });
      return true;
    } catch (err) {
      const reason = describeStartError(err);
      if (isPermanentStartError(err)) {
        // Refused for good (over a Temporal limit, a malformed value): a dead letter, never a retry loop.
        await ledger.outbox.markStartDeadLettered(p.id, reason);
        this.o.metrics?.workflowStarts.inc({ result: 'dead_lettered' });
        this.o.log.warn(
          { signupId: p.id, workflowId: p.workflowId, err: reason },
          'signup workflow start refused for good; signup marked failed (dead letter)',
        );
        return false;
      }
      const delay = Math.min(1000 * 2 ** p.attempts, this.o.maxRetryDelayMs ?? 30_000);
      await ledger.outbox.markStartFailed(p.id, reason, delay);
      this.o.metrics?.workflowStarts.inc({ result: 'failed' });
      this.o.log.warn(
        {
          signupId: p.id,
          workflowId: p.workflowId,
          attempts: p.attempts + 1,
          retryInMs: delay,
          err: reason,
        },
        'could not start signup workflow; kept in the outbox',
      );
      return false;
    }
  }
}
