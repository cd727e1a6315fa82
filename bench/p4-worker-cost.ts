import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bundleWorkflowCode, type BundleOptions } from '@temporalio/worker';
import { loadConfig } from '../src/config';
import { openLedger, type Ledger } from '../src/ledger/ledger';
import { createDataset } from '../src/sandbox/dataset';
import { buildSandbox } from '../src/sandbox/server';
import { createIntake } from '../src/starter';
import { BENCH_SECRET, benchPostgres, benchTemporal, Cleanups, posthogBody, privateSchema } from './lib/core-services';
import type { Benchmark, BenchOptions, BenchResult, Figure } from './lib/result';

const TITLE = 'Worker cost: CPU time and memory per signup';
const SIGNUPS = 300;
const SMOKE_SIGNUPS = 5;
const WARMUP_SIGNUPS = 20;
const SMOKE_WARMUP_SIGNUPS = 2;
/** Deliveries in flight at once while a batch is posted (the worker, not the intake, is measured). */
const POST_CONCURRENCY = 8;
const SETTLE_TIMEOUT_MS = 300_000;
const UNSETTLED = new Set(['received', 'enriching', 'waiting_for_credits', 'paused']);
/** USER_HZ, the unit of /proc/<pid>/stat's CPU times: 100 on every Linux this runs on (`getconf CLK_TCK`). */
const CLOCK_TICKS = 100;

/**
 * The fix P4 found (the --cpu-prof profile of this benchmark): the SDK evaluates a workflow's modules once per
 * execution, and `src/domain/icp/fields.ts` — imported by the waterfall — built its zod schema, so zod's modules ran
 * for every signup workflow. The schema moved to `fields-schema.ts`. "Before" bundles the file as it was
 * (bench/lib/core-p4-before/fields.ts) in place of today's; everything else is the same code.
 */
const FIELDS_MODULE = path.resolve(__dirname, '../src/domain/icp/fields.ts');
const FIELDS_BEFORE_THE_FIX = path.resolve(__dirname, 'lib/core-p4-before/fields.ts');

/** Companies the sandbox's Clearbit knows completely and answers at once: the common, one-paid-call path. */
const companies = createDataset().companies.filter(
  (c) => c.knownBy.clearbit && c.clearbitHasIndustry && !c.quirks && c.people.length > 0,
);
/** The i-th signup: a person of a data-set company (companies repeat, as signups of one company do). */
const emailOf = (i: number): string => {
  const company = companies[i % companies.length]!;
  return company.people[Math.floor(i / companies.length) % company.people.length]!.email;
};

interface Usage {
  cpuMs: number;
  rssMb: number;
  peakRssMb: number;
}

/** CPU time (user + system, every thread) and memory (resident now and at its peak) of a process, from /proc. */
function processUsage(pid: number): Usage {
  // After the command name (which may hold spaces and parentheses): utime and stime are the 12th and 13th fields.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { cpuMs: (ticks * 1000) / CLOCK_TICKS, rssMb: kb('VmRSS') / 1024, peakRssMb: kb('VmHWM') / 1024 };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function settled(ledger: Ledger, total: number): Promise<void> {
  const deadline = Date.now() + SETTLE_TIMEOUT_MS;
  for (;;) {
    const { byStatus } = await ledger.signups.statusCounts();
    const done = Object.entries(byStatus).reduce((n, [status, count]) => n + (UNSETTLED.has(status) ? 0 : count), 0);
    if (done >= total) return;
    if (Date.now() > deadline) throw new Error(`only ${done} of ${total} signups settled in time`);
    await sleep(100);
  }
}

/** Until the worker's CPU time stops growing: its last fan-out writes and workflow tasks are done. */
async function quiet(pid: number): Promise<void> {
  let last = processUsage(pid).cpuMs;
  for (let i = 0; i < 60; i++) {
    await sleep(500);
    const now = processUsage(pid).cpuMs;
    if (now - last <= 20) return;
    last = now;
  }
}

type WebpackConfig = Parameters<NonNullable<BundleOptions['webpackConfigHook']>>[0];
type WebpackPlugin = NonNullable<WebpackConfig['plugins']>[number];

/** Bundles the workflows into `file`; `before` swaps in the ICP fields module as it was before the fix. */
async function bundle(file: string, before: boolean): Promise<void> {
  const swap = {
    apply(compiler) {
      compiler.hooks.normalModuleFactory.tap('bench-p4-before', (factory) => {
        factory.hooks.afterResolve.tap('bench-p4-before', (data) => {
          if (data.createData.resource === FIELDS_MODULE) data.createData.resource = FIELDS_BEFORE_THE_FIX;
        });
      });
    },
  } satisfies WebpackPlugin;
  const { code } = await bundleWorkflowCode({
    workflowsPath: path.resolve(__dirname, '../src/workflows/index.ts'),
    logger: { trace() {}, debug() {}, info() {}, warn() {}, error: console.error, log() {} },
    ...(before ? { webpackConfigHook: (config) => ({ ...config, plugins: [...(config.plugins ?? []), swap] }) } : {}),
  });
  if (before !== code.includes('zod/v4/classic')) throw new Error('P4: the "before" swap did not apply');
  writeFileSync(file, code);
}

interface Measured {
  cpuMsPerSignup: number;
  rssKbPerSignup: number;
  peakRssMb: number;
  wallMsPerSignup: number;
}

/**
 * One worker process (src/worker.ts through tsx, `bundlePath` as its workflow code) on a task queue and a ledger of
 * its own, fed by an intake in this process: `warmup` signups, then `signups` measured.
 */
async function measureWorker(
  o: { temporalAddress: string; postgres: string; sandboxUrl: string; bundlePath: string; profileDir?: string },
  sizes: { warmup: number; signups: number },
  log: (line: string) => void,
): Promise<Measured> {
  const cleanups = new Cleanups();
  try {
    const databaseUrl = await privateSchema(o.postgres, cleanups);
    const env = {
      WEBHOOK_SECRET: BENCH_SECRET,
      ADMIN_TOKEN: 'bench-admin-token',
      TEMPORAL_ADDRESS: o.temporalAddress,
      TEMPORAL_TASK_QUEUE: `bench-p4-${randomUUID()}`,
      DATABASE_URL: databaseUrl,
      SANDBOX_URL: o.sandboxUrl,
      WORKFLOW_BUNDLE_PATH: o.bundlePath,
      // Clay answers by callback to an intake URL: the two providers that answer at once.
      ENRICHMENT_PROVIDERS: 'clearbit,harmonic',
      // The sandbox's limits are lifted: so are the provider task queues' (src/worker.ts).
      PROVIDER_RATE_LIMITS: '',
      LOG_LEVEL: 'warn',
    };
    const ledger = await openLedger({ databaseUrl });
    cleanups.push(() => ledger.close());
    const intake = createIntake(loadConfig({ ...env, LOG_LEVEL: 'silent' }), ledger, { outboxPollMs: 200 });
    cleanups.push(() => intake.close());
    const base = await intake.app.listen({ host: '127.0.0.1', port: 0 });

    const profile = o.profileDir ? ['--cpu-prof', '--cpu-prof-dir', o.profileDir] : [];
    const worker = spawn(process.execPath, [...profile, '--import', 'tsx', 'src/worker.ts'], {
      cwd: path.resolve(__dirname, '..'),
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, ...env },
    });
    // The SDK logs every state change: kept, and shown only when the worker stops on its own.
    let output = '';
    worker.stderr.on('data', (chunk: Buffer) => {
      output = (output + chunk.toString('utf8')).slice(-8000);
    });
    let stopping = false;
    const exited = new Promise<void>((resolve) =>
      worker.once('exit', (code, signal) => {
        if (!stopping) log(`P4: the worker exited (${code ?? signal}):\n${output}`);
        resolve();
      }),
    );
    cleanups.push(async () => {
      // SIGINT: Worker.run() returns and the process ends on its own (writing its CPU profile).
      stopping = true;
      if (worker.exitCode === null && worker.signalCode === null) worker.kill('SIGINT');
      await exited;
    });
    const pid = worker.pid;
    if (pid === undefined) throw new Error('the worker process did not start');

    let posted = 0;
    const post = async (count: number) => {
      let next = 0;
      await Promise.all(
        Array.from({ length: POST_CONCURRENCY }, async () => {
          while (next < count) {
            const res = await fetch(`${base}/webhooks/posthog`, {
              method: 'POST',
              headers: { 'content-type': 'application/json', authorization: `Bearer ${BENCH_SECRET}` },
              body: posthogBody(emailOf(posted + next++)),
            });
            await res.arrayBuffer();
            if (res.status !== 202) throw new Error(`intake answered ${res.status}`);
          }
        }),
      );
      posted += count;
    };

    await post(sizes.warmup);
    await settled(ledger, posted);
    await quiet(pid);
    const before = processUsage(pid);
    const started = performance.now();
    await post(sizes.signups);
    await settled(ledger, posted);
    const wallMs = performance.now() - started;
    await quiet(pid);
    const after = processUsage(pid);
    return {
      cpuMsPerSignup: (after.cpuMs - before.cpuMs) / sizes.signups,
      rssKbPerSignup: ((after.rssMb - before.rssMb) * 1024) / sizes.signups,
      peakRssMb: after.peakRssMb,
      wallMsPerSignup: wallMs / sizes.signups,
    };
  } finally {
    await cleanups.stop();
  }
}

async function run({ smoke, log }: BenchOptions): Promise<BenchResult> {
  if (process.platform !== 'linux') throw new Error('P4 reads the worker process from /proc: Linux only');
  const cleanups = new Cleanups();
  try {
    const sizes = { signups: smoke ? SMOKE_SIGNUPS : SIGNUPS, warmup: smoke ? SMOKE_WARMUP_SIGNUPS : WARMUP_SIGNUPS };
    // A smoke run measures today's code only: a second worker would double its time.
    const compare = !smoke;
    const temporalAddress = await benchTemporal(cleanups);
    const postgres = await benchPostgres(cleanups);
    const sandbox = buildSandbox({
      controls: { clearbit: { rateLimitPerSecond: null }, harmonic: { rateLimitPerSecond: null } },
    });
    cleanups.push(() => sandbox.close());
    const sandboxUrl = await sandbox.listen({ host: '127.0.0.1', port: 0 });
    const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-p4-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    // BENCH_P4_CPU_PROF=<dir>: the worker (today's code) writes a V8 CPU profile there when it stops.
    const profileDir = process.env.BENCH_P4_CPU_PROF ? path.resolve(process.env.BENCH_P4_CPU_PROF) : undefined;

    const measure = async (variant: 'before' | 'after') => {
      const bundlePath = path.join(dir, `workflows-${variant}.js`);
      log(`P4: bundling the workflows (${variant} the fix)`);
      await bundle(bundlePath, variant === 'before');
      log(`P4: ${sizes.signups} signups through a worker process (${variant} the fix)`);
      const m = await measureWorker(
        { temporalAddress, postgres, sandboxUrl, bundlePath, profileDir: variant === 'after' ? profileDir : undefined },
        sizes,
        log,
      );
      log(`P4: ${variant}: ${m.cpuMsPerSignup.toFixed(1)} CPU ms per signup, peak RSS ${m.peakRssMb.toFixed(0)} MB`);
      return m;
    };
    const before = compare ? await measure('before') : undefined;
    const after = await measure('after');

    const figures: Figure[] = [
      {
        name: 'worker CPU time per signup',
        value: round(after.cpuMsPerSignup, 1),
        unit: 'ms',
        note: 'user + system, all threads, from /proc/<pid>/stat in 10 ms ticks; enrichment, scoring and the writes to PostHog, Salesforce, Vitally',
      },
      {
        name: 'worker resident memory growth per signup',
        value: round(after.rssKbPerSignup, 1),
        unit: 'KB',
        note: 'resident memory after the batch minus before, over the signups; noisy, GC runs when it likes',
      },
      { name: 'worker peak resident memory', value: round(after.peakRssMb, 0), unit: 'MB' },
      { name: 'wall time per signup, posted 8 at a time', value: round(after.wallMsPerSignup, 1), unit: 'ms' },
    ];
    if (before) {
      figures.push(
        {
          name: 'worker CPU time per signup, before the fix',
          value: round(before.cpuMsPerSignup, 1),
          unit: 'ms',
          note: 'same run, with the ICP fields module as it was: zod evaluated in every signup workflow',
        },
        {
          name: 'CPU saved by the fix',
          value: round((1 - after.cpuMsPerSignup / before.cpuMsPerSignup) * 100, 1),
          unit: '%',
        },
        { name: 'worker peak resident memory, before the fix', value: round(before.peakRssMb, 0), unit: 'MB' },
      );
    }
    return {
      id: 'P4',
      title: TITLE,
      setup: {
        signups: sizes.signups,
        warmupSignups: sizes.warmup,
        worker: 'src/worker.ts as its own process (tsx), prebuilt workflow bundle',
        providers: 'clearbit,harmonic; sandbox rate limits lifted',
        signupMix: `people of ${companies.length} data-set companies Clearbit knows, an organization each`,
        beforeAndAfter: compare,
        cpuProfile: profileDir ?? false,
      },
      figures,
    };
  } finally {
    await cleanups.stop();
  }
}

const round = (n: number, digits: number) => Number(n.toFixed(digits));

export const p4WorkerCost: Benchmark = { id: 'P4', title: TITLE, run };
