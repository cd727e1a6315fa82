import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode } from '@temporalio/worker';
import { temporal } from '@temporalio/proto';
import { loadConfig, type Config } from '../../src/config';
import { openLedger, type Ledger } from '../../src/ledger/ledger';
import { openPostgres, type Sql } from '../../src/ledger/sql';
import { createDataset, createRng, type Person } from '../../src/sandbox/dataset';
import { buildSandbox } from '../../src/sandbox/server';
import { createIntake, type Intake } from '../../src/starter';
import { dataConverter } from '../../src/temporal/codec';
import { freePort, startDevServer } from '../../src/tools/dev-server';
import { ensurePostgresInstalled, startTempPostgres } from '../../src/tools/postgres';
import { ensureTemporalBinaries } from '../../src/tools/temporal-binaries';
import { Cleanups } from './core-services';

/**
 * The whole pipeline for the end-to-end benchmarks (P2, P3): a Temporal dev server, a temp PostgreSQL for the ledger,
 * the sandbox on an OS port, the starter's intake and outbox in this process, and N worker processes
 * (`node --import tsx src/worker.ts`). Signups go over real HTTP; their settled state is read from the ledger.
 */

/** Clearbit's documented rate limit: "600 requests per minute" per API key (the Company and Person APIs share it). */
export const CLEARBIT_DOCUMENTED_REQUESTS_PER_SECOND = 600 / 60;
/** Harmonic's documented rate limit: 10 requests per second per API key. */
export const HARMONIC_DOCUMENTED_REQUESTS_PER_SECOND = 10;

/** The providers the benchmarks enrich with (Clay answers by callback and has no documented rate limit). */
export const BENCH_PROVIDERS = ['clearbit', 'harmonic'] as const;
export type BenchProvider = (typeof BENCH_PROVIDERS)[number];

/** The limits every bound is computed from, and that the sandbox enforces unless they are lifted. */
export const DOCUMENTED_RATE_LIMITS: Record<BenchProvider, number> = {
  clearbit: CLEARBIT_DOCUMENTED_REQUESTS_PER_SECOND,
  harmonic: HARMONIC_DOCUMENTED_REQUESTS_PER_SECOND,
};

const SECRET = 'bench-webhook-secret';
const ROOT = path.resolve(__dirname, '../..');
/** Signups in flight at once while a batch is posted. */
const POST_CONCURRENCY = 8;
/** Statuses of a signup still on its way (docs/architecture.md, "Statuses"). */
const UNSETTLED = ['received', 'enriching', 'waiting_for_credits', 'paused'];

type Log = (line: string) => void;

/** The services every run of a benchmark shares: Temporal, PostgreSQL and the workflow bundle. */
export interface E2eServices {
  temporalAddress: string;
  postgresUrl: string;
  bundlePath: string;
  stop(): Promise<void>;
}

export async function startServices(log: Log): Promise<E2eServices> {
  const cleanups = new Cleanups((line) => log(`cleanup failed: ${line}`));
  const stop = () => cleanups.stop();
  try {
    const { cli } = ensureTemporalBinaries({ log });
    const server = await startDevServer({ cli, port: await freePort() });
    cleanups.push(() => server.stop());
    const postgres = startTempPostgres(ensurePostgresInstalled(log), await freePort());
    cleanups.push(() => postgres.stop());
    const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-e2e-bundle-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const bundlePath = path.join(dir, 'workflows.js');
    const { code } = await bundleWorkflowCode({
      workflowsPath: path.join(ROOT, 'src/workflows/index.ts'),
      logger: { trace() {}, debug() {}, info() {}, warn() {}, error: (m) => log(m), log() {} },
    });
    writeFileSync(bundlePath, code);
    return { temporalAddress: server.address, postgresUrl: postgres.url, bundlePath, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

export interface PipelineOptions {
  /** Worker processes polling the task queue. */
  workers: number;
  /** `documented`: the sandbox enforces DOCUMENTED_RATE_LIMITS; `lifted`: no rate limit at all. */
  limits: 'documented' | 'lifted';
  /** Extra environment for the workers. */
  env?: Record<string, string>;
  /** Writes to the ledger before the intake's outbox polls it (rows recorded later could be started by it). */
  prepare?: (ledger: Ledger) => Promise<void>;
}

/** What a provider answered, as the sandbox counts it. */
export interface ProviderUsage {
  /** Credits charged: lookups that delivered data. */
  paid: number;
  /** Every request answered, throttled ones included. */
  requests: number;
  /** Requests answered 429. */
  throttled: number;
}

export interface SettledSignup {
  id: string;
  status: string;
  receivedAt: number;
  /** When its enrichment was (last) recorded; undefined while it is on its way. */
  settledAt: number | undefined;
}

/** One pipeline on the shared services: its own ledger schema, task queue, sandbox, intake and workers. */
export interface Pipeline {
  config: Config;
  ledger: Ledger;
  client: Client;
  intakeUrl: string;
  /** Posts one PostHog "user signed up" delivery of `person` (an organization of its own); returns the signup id. */
  postSignup(person: Person): Promise<string>;
  /** Posts every person, POST_CONCURRENCY at a time; returns the signup ids. */
  postSignups(people: readonly Person[]): Promise<string[]>;
  usage(): Promise<Record<BenchProvider, ProviderUsage>>;
  /** The paid lookups the ledger recorded for these signups (their `credits_spent`), per provider. */
  creditsOf(ids: readonly string[]): Promise<Record<BenchProvider, number>>;
  /** The signups' state in the ledger (epoch ms). */
  signups(ids: readonly string[]): Promise<SettledSignup[]>;
  /**
   * Waits until every signup is settled with its enrichment recorded after `since` (epoch ms); returns them, each with
   * the time it first settled.
   */
  waitSettled(
    ids: readonly string[],
    options: { since?: number; timeoutMs: number; log: Log },
  ): Promise<SettledSignup[]>;
  stop(): Promise<void>;
}

export async function startPipeline(services: E2eServices, options: PipelineOptions, log: Log): Promise<Pipeline> {
  const cleanups = new Cleanups((line) => log(`cleanup failed: ${line}`));
  const stop = () => cleanups.stop();
  try {
    // A schema of its own: a fresh ledger (and domain cache) for every run.
    const schema = `bench_${randomUUID().replaceAll('-', '')}`;
    const admin = await openPostgres(services.postgresUrl);
    try {
      await admin.query(`CREATE SCHEMA ${schema}`);
    } finally {
      await admin.close();
    }
    const url = new URL(services.postgresUrl);
    url.searchParams.set('options', `-c search_path=${schema}`);
    const databaseUrl = url.toString();
    const ledger = await openLedger({ databaseUrl });
    cleanups.push(() => ledger.close());
    const sql: Sql = await openPostgres(databaseUrl);
    cleanups.push(() => sql.close());
    await options.prepare?.(ledger);

    const rateLimit = (p: BenchProvider) => (options.limits === 'documented' ? DOCUMENTED_RATE_LIMITS[p] : null);
    const sandbox = buildSandbox({
      controls: {
        clearbit: { rateLimitPerSecond: rateLimit('clearbit') },
        harmonic: { rateLimitPerSecond: rateLimit('harmonic') },
      },
    });
    const sandboxUrl = await sandbox.listen({ host: '127.0.0.1', port: 0 });
    cleanups.push(() => sandbox.close());

    const taskQueue = `bench-${randomUUID()}`;
    const env: Record<string, string> = {
      TEMPORAL_ADDRESS: services.temporalAddress,
      TEMPORAL_TASK_QUEUE: taskQueue,
      DATABASE_URL: databaseUrl,
      SANDBOX_URL: sandboxUrl,
      WEBHOOK_SECRET: SECRET,
      ENRICHMENT_PROVIDERS: BENCH_PROVIDERS.join(','),
      WORKFLOW_BUNDLE_PATH: services.bundlePath,
      // Under the documented limits the provider task queues hold them (PROVIDER_RATE_LIMITS' defaults, with their
      // margin); lifted, the queues are unlimited too.
      ...(options.limits === 'documented' ? {} : { PROVIDER_RATE_LIMITS: '' }),
      ...options.env,
    };
    const config = loadConfig({ ...process.env, ...env, PORT: String(await freePort()), LOG_LEVEL: 'silent' });

    const connection = await Connection.connect({ address: services.temporalAddress });
    cleanups.push(() => connection.close());
    const client = new Client({
      connection,
      namespace: config.temporal.namespace,
      dataConverter: dataConverter(config),
    });

    const workers: ChildProcess[] = [];
    for (let i = 0; i < options.workers; i++) {
      const child = spawnWorker({ ...env, LOG_LEVEL: 'error' }, (line) => log(`worker ${i + 1}: ${line}`));
      workers.push(child);
      cleanups.push(() => stopChild(child));
    }
    await waitForPollers(client, taskQueue, options.workers, workers);

    const intake: Intake = createIntake(config, ledger, { outboxPollMs: 100 });
    cleanups.push(() => intake.close());
    const intakeUrl = await intake.app.listen({ host: '127.0.0.1', port: 0 });

    const postSignup = async (person: Person): Promise<string> => {
      const res = await fetch(`${intakeUrl}/webhooks/posthog`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${SECRET}` },
        body: posthogSignup(person),
      });
      const body = (await res.json()) as { status?: string; signupId?: string };
      if (res.status !== 202 || body.status !== 'accepted' || !body.signupId) {
        throw new Error(`intake answered ${res.status} ${JSON.stringify(body)}`);
      }
      return body.signupId;
    };

    const signups = async (ids: readonly string[]): Promise<SettledSignup[]> => {
      const rows = await sql.query<{ id: string; status: string; received_at: Date; enriched_at: Date | null }>(
        'SELECT id, status, received_at, enriched_at FROM signups WHERE id = ANY($1::uuid[])',
        [ids],
      );
      return rows.map((r) => ({
        id: r.id,
        status: r.status,
        receivedAt: new Date(r.received_at).getTime(),
        settledAt:
          UNSETTLED.includes(r.status) || r.enriched_at === null ? undefined : new Date(r.enriched_at).getTime(),
      }));
    };

    return {
      config,
      ledger,
      client,
      intakeUrl,
      postSignup,
      async postSignups(people) {
        const ids: string[] = new Array<string>(people.length);
        let next = 0;
        await Promise.all(
          Array.from({ length: POST_CONCURRENCY }, async () => {
            while (next < people.length) {
              const i = next++;
              ids[i] = await postSignup(people[i]!);
            }
          }),
        );
        return ids;
      },
      async usage() {
        const entries = await Promise.all(
          BENCH_PROVIDERS.map(async (p) => {
            const res = await fetch(`${sandboxUrl}/_inspect/${p}`);
            const body = (await res.json()) as {
              creditsSpent: number;
              counts: { requests: number; byStatus: Record<string, number> };
            };
            const usage: ProviderUsage = {
              paid: body.creditsSpent,
              requests: body.counts.requests,
              throttled: body.counts.byStatus['429'] ?? 0,
            };
            return [p, usage] as const;
          }),
        );
        return Object.fromEntries(entries) as Record<BenchProvider, ProviderUsage>;
      },
      signups,
      async creditsOf(ids) {
        const rows = await sql.query<{ credits_spent: Record<string, number> | null }>(
          'SELECT credits_spent FROM signups WHERE id = ANY($1::uuid[])',
          [ids],
        );
        const total: Record<BenchProvider, number> = { clearbit: 0, harmonic: 0 };
        for (const r of rows) for (const p of BENCH_PROVIDERS) total[p] += r.credits_spent?.[p] ?? 0;
        return total;
      },
      async waitSettled(ids, o) {
        const deadline = Date.now() + o.timeoutMs;
        // The first settled time seen: a signup a provider was still computing for is recorded again when the data
        // arrives (a follow-up a minute or more later), which moves enriched_at past the moment it first settled.
        const first = new Map<string, number>();
        let lastLog = 0;
        for (;;) {
          const rows = await signups(ids);
          for (const r of rows) {
            if (r.settledAt !== undefined && r.settledAt >= (o.since ?? 0) && !first.has(r.id))
              first.set(r.id, r.settledAt);
          }
          if (first.size === ids.length) return rows.map((r) => ({ ...r, settledAt: first.get(r.id) }));
          for (const child of workers) {
            if (child.exitCode !== null) throw new Error(`a worker exited with code ${child.exitCode}`);
          }
          if (Date.now() > deadline) {
            throw new Error(`${ids.length - first.size} of ${ids.length} signups not settled in time`);
          }
          if (Date.now() - lastLog > 10_000) {
            lastLog = Date.now();
            o.log(`${first.size}/${ids.length} settled`);
          }
          await new Promise((r) => setTimeout(r, 250));
        }
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Only the last lines of a worker's stderr are kept: a throttled provider makes every worker log its retries. */
function spawnWorker(env: Record<string, string>, log: Log): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/worker.ts'], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, ...env },
  });
  const tail: string[] = [];
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    tail.push(...chunk.split('\n').filter((l) => l.trim() !== ''));
    tail.splice(0, Math.max(0, tail.length - 10));
  });
  child.once('exit', (code, signal) => {
    if (code !== 0 && signal !== 'SIGTERM' && signal !== 'SIGKILL') {
      log(`exited (${code ?? signal}); last lines:\n${tail.join('\n')}`);
    }
  });
  return child;
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

/** Waits until `count` workers poll both the workflow and the activity side of the task queue. */
async function waitForPollers(client: Client, taskQueue: string, count: number, workers: ChildProcess[]) {
  const deadline = Date.now() + 120_000;
  const { TaskQueueType } = temporal.api.enums.v1;
  for (;;) {
    const pollers = await Promise.all(
      [TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW, TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY].map(async (taskQueueType) => {
        const res = await client.workflowService.describeTaskQueue({
          namespace: client.options.namespace,
          taskQueue: { name: taskQueue },
          taskQueueType,
        });
        return new Set((res.pollers ?? []).map((p) => p.identity)).size;
      }),
    );
    if (pollers.every((n) => n >= count)) return;
    if (workers.some((w) => w.exitCode !== null)) throw new Error('a worker exited before it polled');
    if (Date.now() > deadline) throw new Error(`workers not polling ${taskQueue} after 120 s`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const FIXTURE = readFileSync(path.join(ROOT, 'test/fixtures/posthog/user-signed-up.json'), 'utf8');

/** The recorded PostHog delivery for `person`, with fresh ids, an organization of its own, and now as its time. */
function posthogSignup(person: Person): string {
  const payload = JSON.parse(FIXTURE) as {
    event: { uuid: string; distinct_id: string; timestamp: string; properties: Record<string, unknown> };
    person: { properties: Record<string, unknown> };
    groups: { organization: { id: string; properties: Record<string, unknown> } };
  };
  const orgId = `org-${randomUUID()}`;
  payload.event.uuid = randomUUID();
  payload.event.distinct_id = randomUUID();
  payload.event.timestamp = new Date().toISOString();
  payload.event.properties.$groups = { organization: orgId };
  payload.event.properties.$set = { email: person.email };
  payload.person.properties.email = person.email;
  payload.person.properties.name = `${person.firstName} ${person.lastName}`;
  payload.groups.organization.id = orgId;
  return JSON.stringify(payload);
}

/** Distinct people of the sandbox's data set in a seeded order: the same run signs up the same people. */
export function datasetPeople(count: number, seed: number): Person[] {
  const people = createDataset().companies.flatMap((c) => c.people);
  const rng = createRng(seed);
  for (let i = people.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [people[i], people[j]] = [people[j]!, people[i]!];
  }
  if (count > people.length) throw new Error(`the data set has ${people.length} people, ${count} asked for`);
  return people.slice(0, count);
}

/**
 * The bound a provider's rate limit puts on the work: per provider, its paid lookups ÷ its documented limit; the
 * providers run in parallel, so the slowest one. In seconds. `admitted` counts every request the provider answered
 * without a 429 instead: unpaid ones (a 404, a 202 still computing, Harmonic's status polls) use the limit too.
 */
export function rateLimitBound(
  usage: Record<BenchProvider, ProviderUsage>,
  count: 'paid' | 'admitted' = 'paid',
): { seconds: number; provider: BenchProvider } {
  let worst: { seconds: number; provider: BenchProvider } = { seconds: 0, provider: BENCH_PROVIDERS[0] };
  for (const p of BENCH_PROVIDERS) {
    const calls = count === 'paid' ? usage[p].paid : usage[p].requests - usage[p].throttled;
    const seconds = calls / DOCUMENTED_RATE_LIMITS[p];
    if (seconds > worst.seconds) worst = { seconds, provider: p };
  }
  return worst;
}

/** The difference of two usage snapshots. */
export function usageBetween(
  before: Record<BenchProvider, ProviderUsage>,
  after: Record<BenchProvider, ProviderUsage>,
): Record<BenchProvider, ProviderUsage> {
  const diff = (p: BenchProvider): ProviderUsage => ({
    paid: after[p].paid - before[p].paid,
    requests: after[p].requests - before[p].requests,
    throttled: after[p].throttled - before[p].throttled,
  });
  return { clearbit: diff('clearbit'), harmonic: diff('harmonic') };
}

/** The `q` quantile (0..1) of `values`, nearest rank. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

export const round = (value: number, digits = 2): number => Number(value.toFixed(digits));
