import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import autocannon from 'autocannon';
import { openPostgres } from '../src/ledger/sql';
import type { Benchmark, BenchOptions, BenchResult } from './lib/result';
import { BENCH_SECRET, benchPostgres, Cleanups, posthogBody, privateSchema } from './lib/core-services';

const TITLE = 'Intake: durable 202s per second, ours vs a bare node:http server';
const CONNECTIONS = 64;
const DURATION_S = 10;
const SMOKE_DURATION_S = 1;
const WARMUP_S = 2;
const RATIO_GOAL = 0.3;
const P99_GOAL_MS = 25;

interface Load {
  accepted: number;
  perSecond: number;
  p50: number;
  p99: number;
  other: number;
  errors: number;
}

/** Starts bench/lib/core-intake-server.ts as its own process and resolves with its URL. */
async function startServer(kind: 'ours' | 'bare', env: Record<string, string>, cleanups: Cleanups): Promise<string> {
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(__dirname, 'lib/core-intake-server.ts'), kind],
    { cwd: path.resolve(__dirname, '..'), stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  });
  const lines = createInterface({ input: child.stdout! });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${kind} server exited (${code}) before listening`)));
    lines.on('line', (line) => {
      if (line.startsWith('listening ')) resolve(line.slice('listening '.length));
    });
  });
}

/** `seconds` of 64 connections POSTing a fresh PostHog delivery each (unique ids, so every one is a new signup). */
async function load(url: string, seconds: number): Promise<Load> {
  const result = await autocannon({
    url,
    connections: CONNECTIONS,
    duration: seconds,
    timeout: 10,
    requests: [
      {
        method: 'POST',
        path: '/webhooks/posthog',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${BENCH_SECRET}` },
        setupRequest: (request) => ({ ...request, body: posthogBody() }),
      },
    ],
  });
  const accepted = Number(result.statusCodeStats['202']?.count ?? 0);
  const total = Object.values(result.statusCodeStats).reduce((n, s) => n + Number(s.count), 0);
  const elapsed = (result.finish.getTime() - result.start.getTime()) / 1000;
  return {
    accepted,
    perSecond: accepted / elapsed,
    p50: result.latency.p50,
    p99: result.latency.p99,
    other: total - accepted,
    errors: result.errors,
  };
}

async function run({ smoke, log }: BenchOptions): Promise<BenchResult> {
  const cleanups = new Cleanups();
  try {
    const seconds = smoke ? SMOKE_DURATION_S : DURATION_S;
    const warmup = smoke ? 0 : WARMUP_S;
    const databaseUrl = await privateSchema(await benchPostgres(cleanups), cleanups);
    // The intake's ledger creates its tables at start-up, before it listens.
    const oursUrl = await startServer('ours', { BENCH_INTAKE_DATABASE_URL: databaseUrl }, cleanups);
    const bareUrl = await startServer('bare', {}, cleanups);

    const measure = async (name: string, url: string) => {
      if (warmup > 0) await load(url, warmup);
      log(`P1: ${name}, ${CONNECTIONS} connections for ${seconds} s`);
      const figures = await load(url, seconds);
      log(`P1: ${name}: ${figures.perSecond.toFixed(0)} 202s/s, p99 ${figures.p99} ms`);
      return figures;
    };
    const before = await countSignups(databaseUrl);
    const ours = await measure('ours', oursUrl);
    const recorded = (await countSignups(databaseUrl)) - before;
    const bare = await measure('bare node:http', bareUrl);

    const ratio = bare.perSecond > 0 ? ours.perSecond / bare.perSecond : 0;
    const notAccepted = ours.other + ours.errors;
    return {
      id: 'P1',
      title: TITLE,
      setup: {
        connections: CONNECTIONS,
        durationSeconds: seconds,
        warmupSeconds: warmup,
        ledger: 'PostgreSQL (throwaway server: fsync off, unless BENCH_DATABASE_URL)',
        load: 'autocannon, a fresh PostHog delivery per request',
        workflowStarts: 'left out (the outbox starts them after the 202)',
      },
      figures: [
        { name: 'durable 202s per second, ours', value: round(ours.perSecond), unit: 'req/s' },
        { name: '202s per second, bare node:http', value: round(bare.perSecond), unit: 'req/s' },
        {
          name: 'ours ÷ bare',
          value: round(ratio, 3),
          unit: '×',
          goal: `≥ ${RATIO_GOAL}×`,
          met: ratio >= RATIO_GOAL,
        },
        {
          name: 'latency p50, ours',
          value: ours.p50,
          unit: 'ms',
        },
        {
          name: 'latency p99, ours',
          value: ours.p99,
          unit: 'ms',
          goal: `≤ ${P99_GOAL_MS} ms`,
          met: ours.p99 <= P99_GOAL_MS,
        },
        { name: 'latency p50, bare', value: bare.p50, unit: 'ms' },
        { name: 'latency p99, bare', value: bare.p99, unit: 'ms' },
        {
          name: 'signups recorded in the ledger during the run',
          value: recorded,
          unit: 'signups',
          note:
            `${ours.accepted} answered 202` +
            (notAccepted > 0 ? `; ${notAccepted} other answers or errors (not counted)` : '') +
            (recorded >= ours.accepted
              ? '; requests still in flight when the load stopped are recorded without a counted answer'
              : '; FEWER than the 202s: an answered signup was lost'),
        },
      ],
    };
  } finally {
    await cleanups.stop();
  }
}

async function countSignups(databaseUrl: string): Promise<number> {
  const sql = await openPostgres(databaseUrl);
  try {
    const rows = await sql.query<{ n: number }>('SELECT count(*)::int AS n FROM signups');
    return rows[0]?.n ?? 0;
  } finally {
    await sql.close();
  }
}

const round = (n: number, digits = 1) => Number(n.toFixed(digits));

export const p1Intake: Benchmark = { id: 'P1', title: TITLE, run };
