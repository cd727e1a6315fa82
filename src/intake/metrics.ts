import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { OutboxRepository } from '../ledger/outbox';

export type IntakeAnswer = 'accepted' | 'duplicate' | 'skipped' | 'ignored' | 'invalid' | 'unauthorized';

/** The starter's Prometheus metrics, on a registry of its own (tests build several apps in one process). */
export function createIntakeMetrics(outbox: Pick<OutboxRepository, 'countPendingStarts' | 'countDeadLettered'>) {
  const registry = new Registry();
  return {
    registry,
    signups: new Counter({
      name: 'signup_intake_requests_total',
      help: 'Intake requests by source and answer.',
      labelNames: ['source', 'answer'] as const,
      registers: [registry],
    }),
    workflowStarts: new Counter({
      name: 'signup_workflow_starts_total',
      help: 'Attempts to start (signal-with-start) a signup workflow from the outbox, by result.',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
    requestDuration: new Histogram({
      name: 'signup_intake_request_duration_seconds',
      help: 'Time to answer an intake request.',
      labelNames: ['route', 'status_code'] as const,
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    pending: new Gauge({
      name: 'signup_outbox_pending',
      help: 'Recorded signups whose workflow has not been started yet.',
      registers: [registry],
      async collect() {
        this.set(await outbox.countPendingStarts());
      },
    }),
    deadLettered: new Gauge({
      name: 'signup_outbox_dead_lettered',
      help: 'Signups whose workflow start Temporal refused for good (status failed); see docs/runbook.md.',
      registers: [registry],
      async collect() {
        this.set(await outbox.countDeadLettered());
      },
    }),
  };
}

export type IntakeMetrics = ReturnType<typeof createIntakeMetrics>;
