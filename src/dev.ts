import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { Client } from '@temporalio/client';
import { DEV_WEBHOOK_SECRET, loadConfig } from './config';
import { openLedger } from './ledger/ledger';
import { installProcessLogging } from './logging';
import { ledgerDir, runMain } from './process';
import { createIntake } from './starter';
import { connectWorker, describeConnection } from './temporal/connection';
import { prepareSearchAttributes } from './temporal/search-attributes';
import { portInUse, startDevServer, stopOrphanedDevServer, type DevServer } from './tools/dev-server';
import { whenLauncherGone } from './tools/processes';
import { ensureTemporalBinaries } from './tools/temporal-binaries';
import { buildSandbox } from './sandbox/server';
import { dataConverter } from './temporal/codec';
import { applySchedules } from './temporal/schedules';
import { webUiLinks } from './temporal/web-ui';
import { utcDay } from './domain/health';
import { createWorker, serveWorkerMetrics } from './worker';
import { DEV_WORKER_METRICS_PORT, planWorkerMetrics } from './metrics/sdk';

/** The Account table the sandbox's Salesforce is seeded with (the weekend re-enrichment's input). */
const SANDBOX_ACCOUNTS = 2500;

/**
 * `npm start`: the whole pipeline on one machine. A Temporal dev server (unless TEMPORAL_ADDRESS points at one),
 * then the worker and the starter in this process — they share the embedded ledger, which one process owns.
 */
async function main(): Promise<void> {
  const loaded = loadConfig();
  // Someone at a terminal reads these logs: readable lines unless LOG_FORMAT says otherwise.
  const config = { ...loaded, logFormat: loaded.logFormat ?? 'pretty' };
  const metricsPlan = await planWorkerMetrics(config, DEV_WORKER_METRICS_PORT);
  // Before any connection or Worker: the Runtime takes its logger and metrics exporter once.
  installProcessLogging(config, metricsPlan?.telemetry);
  // Ctrl-C before the worker runs (the worker handles it afterwards): exit now; the dev server's exit hook stops it.
  let starting = true;
  const abortStart = () => {
    if (starting) process.exit(130);
  };
  process.on('SIGINT', abortStart);
  process.on('SIGTERM', abortStart);
  // Killed outright, npm (or tsx) cannot pass it on: stop as on SIGTERM rather than run on, adopted and unseen.
  whenLauncherGone((pid) => {
    console.error(`the process that started npm start (pid ${pid}) is gone: stopping`);
    process.kill(process.pid, 'SIGTERM');
  });
  let server: DevServer | undefined;
  if (!config.temporal.external) {
    const { cli } = ensureTemporalBinaries();
    const { port, uiPort } = config.devServer;
    mkdirSync(config.dataDir, { recursive: true });
    const dbFile = path.resolve(config.dataDir, 'temporal.db');
    const stateFile = path.resolve(config.dataDir, 'temporal-dev.json');
    // A dev server a killed `npm start` left behind holds the port and the data file: stop it rather than fail.
    const reclaimed = await stopOrphanedDevServer({ dbFile, stateFile, port });
    if (reclaimed) console.log(reclaimed);
    for (const [p, name] of [
      [port, 'TEMPORAL_DEV_PORT'],
      [uiPort, 'TEMPORAL_DEV_UI_PORT'],
    ] as const) {
      if (await portInUse(p)) {
        throw new Error(
          `port ${p} is already in use: another Temporal server? Stop it, use it with TEMPORAL_ADDRESS=127.0.0.1:${port}, ` +
            `or run the dev server on another port with ${name}`,
        );
      }
    }
    console.log('starting the Temporal dev server…');
    server = await startDevServer({
      cli,
      port,
      uiPort,
      dbFile,
      namespace: config.temporal.namespace,
      output: 'inherit',
      stateFile,
    });
  }

  // The sandbox: local simulators of the providers, which the clients reach over real HTTP (sandbox mode only).
  const sandboxUrl = new URL(config.sandboxUrl);
  const sandbox =
    config.mode === 'sandbox' && ['127.0.0.1', 'localhost'].includes(sandboxUrl.hostname)
      ? buildSandbox({
          // The Account table the weekend re-enrichment refreshes (`npx enrich reenrich`).
          salesforceAccounts: SANDBOX_ACCOUNTS,
          // The DNS server deliverability screening asks (DNS_SERVERS defaults to it in sandbox mode).
          dnsPort: config.sandboxDnsPort,
          controls: {
            clay: {
              callbackUrl: `http://127.0.0.1:${config.http.port}/webhooks/clay`,
              // As our Clay table's HTTP API column does: Authorization: Bearer <CLAY_CALLBACK_SECRET>.
              callbackAuth: config.clayCallbackSecret,
            },
          },
        })
      : undefined;
  await sandbox?.listen({ host: '127.0.0.1', port: Number(sandboxUrl.port || 80) });

  const ledger = await openLedger({ databaseUrl: config.databaseUrl, dataDir: ledgerDir(config) });
  const connection = await connectWorker(config.temporal.connection);
  try {
    await prepareSearchAttributes(connection, {
      namespace: config.temporal.namespace,
      register: config.temporal.registerSearchAttributes,
    });
    const client = new Client({
      connection,
      namespace: config.temporal.namespace,
      dataConverter: dataConverter(config),
    });
    await applySchedules(client, config);
    const worker = await createWorker({ config, ledger, connection });
    const metricsServer = metricsPlan && (await serveWorkerMetrics(config, metricsPlan, worker));
    const intake = createIntake(config, ledger);
    await intake.app.listen({ host: config.http.host, port: config.http.port });
    printBanner(config, Boolean(server), Boolean(sandbox), metricsServer?.url);
    starting = false;
    try {
      // Returns after Ctrl-C (SIGINT) or SIGTERM, once in-flight tasks are done.
      await worker.run();
    } finally {
      console.log('\nstopping…');
      await metricsServer?.close();
      await intake.close();
    }
  } finally {
    await connection.close();
    await ledger.close();
    await sandbox?.close();
    await server?.stop();
  }
}

function printBanner(
  config: ReturnType<typeof loadConfig>,
  embedded: boolean,
  sandbox: boolean,
  metricsUrl: string | undefined,
): void {
  const base = `http://${config.http.host}:${config.http.port}`;
  const secret = config.webhookSecret === DEV_WEBHOOK_SECRET ? DEV_WEBHOOK_SECRET : '$WEBHOOK_SECRET';
  const orgId = `org_${randomUUID().slice(0, 8)}`;
  const sample = {
    event: {
      uuid: randomUUID(),
      event: 'user signed up',
      distinct_id: `user_${randomUUID().slice(0, 8)}`,
      properties: { $current_url: 'https://app.example.com/signup', $groups: { organization: orgId } },
      timestamp: new Date().toISOString(),
    },
    person: {
      id: randomUUID(),
      // A company and person of the sandbox's data set (src/sandbox/README.md), so the waterfall finds them.
      properties: { email: 'ada.quillon@quorvalis.com', name: 'Ada Quillon' },
    },
    groups: {
      organization: { id: orgId, type: 'organization', index: 0, properties: { name: 'Northwind Analytics' } },
    },
  };
  const ui = embedded ? `http://127.0.0.1:${config.devServer.uiPort}` : `(the Web UI of ${config.temporal.address})`;
  const links = embedded
    ? webUiLinks(ui, config.temporal.namespace, utcDay(Date.now()))
        .map(({ label, url }, i) => `\n  ${i === 0 ? 'Web UI, filtered' : ''.padEnd(16)}   ${label.padEnd(20)} ${url}`)
        .join('')
    : '';
  // Written as it is, past the console's redaction: the sample's email is the sandbox's, and the secret it shows is
  // the published sandbox default (a configured one is shown as $WEBHOOK_SECRET).
  process.stdout.write(`
Signup enrichment is running (${config.mode} mode).
  Starter (intake)   ${base}   — POST /webhooks/posthog, POST /signups, /healthz, /readyz, /metrics
  Temporal gRPC      ${describeConnection(config.temporal.connection)}, task queue ${config.temporal.taskQueue}
  Worker metrics     ${metricsUrl ? `${metricsUrl}/metrics   — Prometheus: the SDK's and the pipeline's (docs/observability.md)` : '(off: WORKER_METRICS_PORT=off)'}
  Dashboard          ${base}/dashboard   — sign in with any user name and ADMIN_TOKEN as the password
  Temporal Web UI    ${ui}${links}${
    config.payloadCodec
      ? `
  Codec endpoint     ${base}/codec   — payloads are encrypted: open ${base}/codec/login (any user, ADMIN_TOKEN), then set it in the Web UI's Codec Server settings, cross-origin credentials on`
      : ''
  }
  Ledger             ${config.databaseUrl ? 'PostgreSQL (DATABASE_URL)' : `embedded PGlite in ${ledgerDir(config)}`}
  Sandbox            ${sandbox ? `${config.sandboxUrl}   — GET /_inspect/clearbit (or /salesforce, /posthog, …), POST /_control/clearbit {"credits":0}, GET /_fixtures` : `(not started: ${config.mode} mode)`}

Send a signup (paste it twice: the second answer is "duplicate"):

curl -sS -X POST ${base}/webhooks/posthog \\
  -H 'Content-Type: application/json' \\
  -H "Authorization: Bearer ${secret}" \\
  -d '${JSON.stringify(sample)}'

Operate it: npx enrich health · npx enrich reenrich --dry-run --limit 100 --wait (the sandbox's Salesforce holds
${sandbox ? `${SANDBOX_ACCOUNTS.toLocaleString('en-US')} seeded Accounts` : 'your Accounts'}) · npx enrich --help

Ctrl-C stops everything.

`);
}

runMain(main);
