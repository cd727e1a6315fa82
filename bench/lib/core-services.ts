import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { freePort, startDevServer } from '../../src/tools/dev-server';
import { ensurePostgresInstalled, startTempPostgres } from '../../src/tools/postgres';
import { ensureTemporalBinaries } from '../../src/tools/temporal-binaries';
import { openPostgres } from '../../src/ledger/sql';

/**
 * The services a benchmark runs against, started on 127.0.0.1 on ports the OS picks and stopped even on failure.
 * `BENCH_DATABASE_URL` / `BENCH_TEMPORAL_ADDRESS` point at existing ones instead (the smoke test passes the test run's).
 */

const toStderr = (line: string) => console.error(`[bench setup] ${line}`);

/** Every teardown stack not yet stopped, oldest first: what a SIGINT or SIGTERM of the run stops. */
const live = new Set<Cleanups>();

/** Teardown steps, run in reverse by `stop()`; a failing step does not skip the others. */
export class Cleanups {
  private readonly steps: (() => unknown)[] = [];
  constructor(private readonly report: (line: string) => void = (line) => console.error(`bench cleanup: ${line}`)) {
    live.add(this);
  }
  push(step: () => unknown): void {
    this.steps.push(step);
  }
  async stop(): Promise<void> {
    live.delete(this);
    for (const step of this.steps.reverse()) {
      try {
        await step();
      } catch (err) {
        this.report((err as Error).message);
      }
    }
    this.steps.length = 0;
  }
}

let interruptedBy: string | undefined;

/**
 * The signal that interrupted the run, if one did. Its benchmarks then fail as their services go (a worker process
 * ends on the same signal), and those failures are not figures: nothing may be written from such a run.
 */
export const interrupted = (): string | undefined => interruptedBy;

/**
 * A run interrupted (Ctrl-C, SIGTERM) stops what its benchmarks started — worker processes, PostgreSQL, the dev
 * server — newest first, then exits 128 + the signal's number.
 */
export function stopServicesOnSignal(): void {
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    process.once(signal, () => {
      interruptedBy = signal;
      console.error(`bench: ${signal}, stopping the services`);
      void (async () => {
        for (const cleanups of [...live].reverse()) await cleanups.stop();
        process.exit(code);
      })();
    });
  }
}

/** A PostgreSQL server's URL: BENCH_DATABASE_URL, or a throwaway server (fsync off) of the benchmark's own. */
export async function benchPostgres(cleanups: Cleanups): Promise<string> {
  if (process.env.BENCH_DATABASE_URL) return process.env.BENCH_DATABASE_URL;
  const postgres = startTempPostgres(ensurePostgresInstalled(toStderr), await freePort());
  cleanups.push(() => postgres.stop());
  return postgres.url;
}

/** A database URL on a schema of its own on the server at `base`, dropped by `cleanups`. */
export async function privateSchema(base: string, cleanups: Cleanups): Promise<string> {
  const schema = `bench_${randomUUID().replaceAll('-', '')}`;
  const admin = await openPostgres(base);
  try {
    await admin.query(`CREATE SCHEMA ${schema}`);
  } finally {
    await admin.close();
  }
  cleanups.push(async () => {
    const sql = await openPostgres(base);
    try {
      await sql.query(`DROP SCHEMA ${schema} CASCADE`);
    } finally {
      await sql.close();
    }
  });
  const url = new URL(base);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return url.toString();
}

/** A Temporal server's address (a dev server of the benchmark's own, in memory, unless BENCH_TEMPORAL_ADDRESS). */
export async function benchTemporal(cleanups: Cleanups): Promise<string> {
  if (process.env.BENCH_TEMPORAL_ADDRESS) return process.env.BENCH_TEMPORAL_ADDRESS;
  const { cli } = ensureTemporalBinaries({ testServer: false, log: toStderr });
  const server = await startDevServer({ cli, port: await freePort(), output: 'ignore' });
  cleanups.push(() => server.stop());
  return server.address;
}

/** The webhook secret benchmark intakes and workers share. */
export const BENCH_SECRET = 'bench-webhook-secret';

const template = readFileSync(path.join(__dirname, '../../test/fixtures/posthog/user-signed-up.json'), 'utf8');
const FIXTURE_EVENT_UUID = '0193a1f2-7c4e-7d10-9a3b-5f2e8c1d4b6a';
const FIXTURE_DISTINCT_ID = '0193a1f2-6b11-7000-8e2f-3d4c5b6a7980';
const FIXTURE_ORG_ID = '0193a1f2-5a00-7000-b1c2-d3e4f5a6b7c8';
const FIXTURE_EMAIL = 'priya.raman@lumenforge.io';

/**
 * The recorded PostHog "user signed up" delivery as a JSON string with fresh ids (a signup of its own, in an
 * organization of its own), optionally by `email`.
 */
export function posthogBody(email?: string): string {
  const body = template
    .replaceAll(FIXTURE_EVENT_UUID, randomUUID())
    .replaceAll(FIXTURE_DISTINCT_ID, randomUUID())
    .replaceAll(FIXTURE_ORG_ID, randomUUID());
  return email ? body.replaceAll(FIXTURE_EMAIL, email) : body;
}
