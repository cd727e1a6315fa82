import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { bundleWorkflowCode, NativeConnection } from '@temporalio/worker';
import type { IcpFields } from '../../src/domain/icp/fields';
import { openLedger } from '../../src/ledger/ledger';
import { createIntake } from '../../src/starter';
import { ensureSearchAttributes } from '../../src/temporal/search-attributes';
import { freePort, startDevServer, type DevServer } from '../../src/tools/dev-server';
import { ensureTemporalBinaries } from '../../src/tools/temporal-binaries';
import { createWorker } from '../../src/worker';
import { benchConfig, type BenchSandbox } from './credits-direct';
import type { BenchSignup } from './credits-dataset';

/**
 * Our pipeline for real, for the credits benchmark: a Temporal dev server, the worker and the intake of this
 * repository on an in-memory ledger (PGlite), against the benchmark's sandbox. Signups go in through `POST /signups`,
 * each in an organization of its own, at most IN_FLIGHT at a time; the run ends when every one has its enrichment
 * recorded.
 */
export interface PipelineStack {
  run(
    sandbox: BenchSandbox,
    signups: readonly BenchSignup[],
    env: Record<string, string>,
    log: (line: string) => void,
  ): Promise<{ fields: (IcpFields | undefined)[]; personCredits: number; seconds: number }>;
  close(): Promise<void>;
}

/**
 * Signups being enriched at once: real signups arrive spread over hours, so a company's later signups find the first
 * one's company in the domain cache. All at once, the first signups of a popular company would each pay for it,
 * racing past a cache nobody has filled yet.
 */
export const IN_FLIGHT = 32;

const SECRET = 'bench-webhook-secret';
const CLAY_SECRET = 'bench-clay-callback-secret';

export async function startPipelineStack(): Promise<PipelineStack> {
  const { cli } = ensureTemporalBinaries();
  const server: DevServer = await startDevServer({ cli, port: await freePort() });
  try {
    const { code } = await bundleWorkflowCode({
      workflowsPath: path.resolve(__dirname, '../../src/workflows/index.ts'),
      logger: { trace() {}, debug() {}, info() {}, warn() {}, error: console.error, log() {} },
    });
    const connection = await NativeConnection.connect({ address: server.address });
    await ensureSearchAttributes(connection, 'default');
    return {
      async run(sandbox, signups, env, log) {
        const port = await freePort();
        const config = benchConfig(sandbox.url, {
          TEMPORAL_ADDRESS: server.address,
          TEMPORAL_TASK_QUEUE: `credits-${randomUUID()}`,
          PORT: String(port),
          WEBHOOK_SECRET: SECRET,
          CLAY_CALLBACK_SECRET: CLAY_SECRET,
          DESTINATIONS: '',
          // The sandbox's limits are lifted: so are the provider task queues' (src/worker.ts).
          PROVIDER_RATE_LIMITS: '',
          ...env,
        });
        const ledger = await openLedger({ databaseUrl: undefined });
        const worker = await createWorker({ config, ledger, connection, workflowBundle: { code } });
        const running = worker.run();
        const intake = createIntake(config, ledger, { outboxPollMs: 50 });
        try {
          const base = await intake.app.listen({ host: '127.0.0.1', port });
          await fetch(`${sandbox.url}/_control/clay`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ callbackUrl: `${base}/webhooks/clay`, callbackAuth: CLAY_SECRET }),
          });
          const began = Date.now();
          const ids: string[] = [];
          let recorded = 0;
          const progress = async () => {
            recorded = (await ledger.signups.statusCounts()).enrichmentWrites;
            return `${recorded}/${signups.length} signups recorded`;
          };
          for (const s of signups) {
            while (ids.length - recorded >= IN_FLIGHT) {
              await new Promise((r) => setTimeout(r, 50));
              await progress();
            }
            const res = await fetch(`${base}/signups`, {
              method: 'POST',
              headers: { 'content-type': 'application/json', authorization: `Bearer ${SECRET}` },
              body: JSON.stringify({ email: s.email, organizationId: `bench-${randomUUID()}` }),
            });
            if (res.status !== 202) throw new Error(`intake answered ${res.status}: ${await res.text()}`);
            ids.push(((await res.json()) as { signupId: string }).signupId);
          }
          for (let last = ''; ;) {
            const line = await progress();
            if (line !== last) log(`  ${line}`);
            last = line;
            if (recorded >= ids.length) break;
            if (Date.now() - began > 15 * 60_000) throw new Error(`pipeline run gave up after 15 min: ${line}`);
            await new Promise((r) => setTimeout(r, 500));
          }
          const seconds = (Date.now() - began) / 1000;
          const fields: (IcpFields | undefined)[] = [];
          // Person lookups that found someone (each one credit): the archive of every provider answer tells.
          let personCredits = 0;
          for (const id of ids) {
            fields.push((await ledger.signups.getSignup(id))?.icpFields ?? undefined);
            for (const provider of config.providers) {
              const answers = await ledger.providerArchive.providerAnswers(id, provider);
              personCredits += answers.filter((a) => a.lookup === 'person' && a.outcome === 'found').length;
            }
          }
          return { fields, personCredits, seconds };
        } finally {
          await intake.close();
          worker.shutdown();
          await running;
          await ledger.close();
        }
      },
      async close() {
        await connection.close();
        await server.stop();
      },
    };
  } catch (err) {
    await server.stop();
    throw err;
  }
}
