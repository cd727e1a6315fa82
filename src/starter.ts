import { Client, WorkflowNotFoundError } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { loadConfig, type Config } from './config';
import { createErasureClients } from './composition';
import { buildIntakeApp } from './intake/app';
import { temporalFactsFrom } from './intake/dashboard';
import { createIntakeMetrics } from './intake/metrics';
import { Outbox } from './intake/outbox';
import { openLedger, type Ledger } from './ledger/ledger';
import { intakeLoggerOptions, redactConsole } from './logging';
import { ledgerDir, requireSharedDatabase, runMain } from './process';
import { dataConverter, payloadCodec } from './temporal/codec';
import { createRedactor } from './redact';
import { lazyClientConnection } from './temporal/connection';
import { scheduleDefinitions } from './temporal/schedules';
import { clayResultSignal } from './workflows/messages';

export interface Intake {
  app: FastifyInstance;
  outbox: Outbox;
  /** Stops accepting requests, lets the outbox finish its pass, and closes the Temporal connection. */
  close(): Promise<void>;
}

/**
 * The HTTP intake and its outbox. The Temporal connection is lazy: the starter comes up, records signups and answers
 * 202 while Temporal is down, and the outbox starts their workflows once it is reachable.
 */
export function createIntake(
  config: Config,
  ledger: Ledger,
  options: {
    outboxPollMs?: number;
    /** The intake's clock (signup-time checks); tests on a skipped clock set it. */ now?: () => Date;
  } = {},
): Intake {
  const connection = lazyClientConnection(config.temporal.connection);
  const client = new Client({ connection, namespace: config.temporal.namespace, dataConverter: dataConverter(config) });
  const metrics = createIntakeMetrics(ledger.outbox);
  const app = buildIntakeApp({
    ledger,
    webhookSecret: config.webhookSecret,
    piiHashKey: config.piiHashKey,
    adminToken: config.adminToken,
    clayCallbackSecret: config.clayCallbackSecret,
    metricsToken: config.metricsToken,
    signupEvents: config.signupEvents,
    now: options.now,
    metrics,
    onRecorded: () => outbox.kick(),
    deliverClayResult: async (workflowId, message) => {
      try {
        await connection.withDeadline(Date.now() + 5000, () =>
          client.workflow.getHandle(workflowId).signal(clayResultSignal, message),
        );
        return true;
      } catch (err) {
        // A finished workflow (the result came after the wait ended) keeps the archived result: nothing is lost.
        if (err instanceof WorkflowNotFoundError) return false;
        // Temporal unreachable: the result is archived, and the workflow reads the archive when its wait ends.
        // Clay sends a callback once: a 5xx would not bring it back, so the answer is 202 `archived`.
        app.log.warn({ workflowId, err: { name: (err as Error).name } }, 'Clay result archived; signal not delivered');
        return false;
      }
    },
    temporalReady: async () => {
      await connection.withDeadline(Date.now() + 2000, () => connection.workflowService.getSystemInfo({}));
    },
    logger: intakeLoggerOptions(config),
    admin: {
      ledger,
      client,
      taskQueue: config.temporal.taskQueue,
      rules: config.health.rules,
      erasure: {
        clients: createErasureClients(config),
        piiHashKey: config.piiHashKey,
        redact: createRedactor(config.secrets),
      },
    },
    codec: { codec: payloadCodec(config), corsOrigins: config.codecCorsOrigins },
    dashboard: {
      minWrites: config.health.rules.minWrites,
      webUi: config.temporal.uiUrl ? { url: config.temporal.uiUrl, namespace: config.temporal.namespace } : undefined,
      temporal: temporalFactsFrom(
        client,
        scheduleDefinitions(config).map((s) => s.scheduleId),
      ),
      now: options.now,
    },
  });
  const outbox = new Outbox({
    ledger,
    client,
    taskQueue: config.temporal.taskQueue,
    metrics,
    log: app.log,
    pollIntervalMs: options.outboxPollMs,
  });
  outbox.start();
  return {
    app,
    outbox,
    async close() {
      await app.close();
      await outbox.stop();
      await connection.close();
    },
  };
}

async function main(): Promise<void> {
  const config = loadConfig();
  redactConsole(createRedactor(config.secrets));
  requireSharedDatabase(config, 'starter');
  const ledger = await openLedger({ databaseUrl: config.databaseUrl, dataDir: ledgerDir(config) });
  const intake = createIntake(config, ledger);
  await intake.app.listen({ host: config.http.host, port: config.http.port });
  return new Promise((resolve) => {
    const stop = () => {
      void intake
        .close()
        .then(() => ledger.close())
        .then(resolve);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}

if (require.main === module) runMain(main);
