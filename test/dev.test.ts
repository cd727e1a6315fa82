import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { EMAIL_MASK, SECRET_MASK } from '../src/redact';
import { webUiLinks } from '../src/temporal/web-ui';
import { freePort, portInUse, type DevServerState } from '../src/tools/dev-server';
import { privateDatabaseUrl } from './support/config';
import { eventually } from './support/eventually';

const root = path.resolve(__dirname, '..');

// `npm start`'s program against the run's Temporal server (TEMPORAL_ADDRESS): the banner, its curl, Ctrl-C.
describe('the embedded stack (src/dev.ts)', () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'signup-dev-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('prints a curl that is accepted once and then duplicate, and stops cleanly on SIGINT', async () => {
    const port = await freePort();
    const sandboxPort = await freePort();
    const metricsPort = await freePort();
    // As `npm start` runs it: one process (the tsx CLI relays Ctrl-C, and SIGKILLs a child slow to acknowledge it).
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/dev.ts'], {
      cwd: root,
      env: {
        ...process.env,
        TEMPORAL_ADDRESS: inject('temporalAddress'),
        TEMPORAL_TASK_QUEUE: `dev-${randomUUID()}`,
        PORT: String(port),
        WORKER_METRICS_PORT: String(metricsPort),
        SANDBOX_URL: `http://127.0.0.1:${sandboxPort}`,
        DATA_DIR: dataDir,
        WEBHOOK_SECRET: '',
        // Info: the request lines, readable (LOG_FORMAT unset: pretty under npm start); the bundler's below it.
        LOG_LEVEL: 'info',
        LOG_FORMAT: '',
        WORKFLOW_BUNDLE_PATH: '',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));

    try {
      const banner = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no banner within 90 s:\n${output}`)), 90_000);
        child.stdout.on('data', () => {
          if (output.includes('Ctrl-C stops everything')) {
            clearTimeout(timer);
            resolve(output);
          }
        });
        void exited.then((code) => reject(new Error(`dev.ts exited with ${String(code)}:\n${output}`)));
      });
      expect(banner).toContain(`http://127.0.0.1:${port}`);
      const curl =
        /curl -sS -X POST (\S+) \\\n\s+-H 'Content-Type: application\/json' \\\n\s+-H "Authorization: Bearer ([^"]+)" \\\n\s+-d '(.+)'\n/.exec(
          banner,
        );
      expect(curl).not.toBeNull();
      const [, url, secret, body] = curl as unknown as [string, string, string, string];
      const send = async () =>
        (await (
          await fetch(url, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${secret}` },
            body,
          })
        ).json()) as { status: string };
      expect((await send()).status).toBe('accepted');
      expect((await send()).status).toBe('duplicate');
      // The embedded sandbox answers where SANDBOX_URL says, with the providers' simulators behind it.
      const inspection = (await (await fetch(`http://127.0.0.1:${sandboxPort}/_inspect/clearbit`)).json()) as {
        system: string;
      };
      expect(inspection.system).toBe('clearbit');

      // A sender that puts an email and the secret in the query string: its request line, readable and masked.
      const email = `dev.logs.${randomUUID().slice(0, 8)}@example.org`;
      await fetch(`${url}?contact=${encodeURIComponent(email)}&token=${secret}`, { method: 'POST' });
      const request = await eventually(
        async () => output.split('\n').find((l) => l.includes('incoming request') && l.includes('contact=')),
        20_000,
      );
      expect(request).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: incoming request \{/);
      expect(request).toContain(`contact=${EMAIL_MASK}&token=${SECRET_MASK}`);
      expect(output.toLowerCase()).not.toContain(email);

      // The worker's metrics, where the banner says: the SDK's and the pipeline's, the signup counted once settled.
      const metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
      expect(banner).toContain(metricsUrl);
      const metrics = await eventually(async () => {
        const text = await (await fetch(metricsUrl)).text();
        // The ledger's numbers are read at most every 10 s: the credits follow the histogram.
        const done =
          /^signup_receipt_to_settled_seconds_count\{[^}]*\} 1$/m.test(text) &&
          /^signup_enrichment_credits_spent_total\{provider="clearbit"\} [1-9]/m.test(text);
        return done ? text : undefined;
      }, 60_000);
      expect(metrics).toMatch(/^temporal_workflow_task_execution_latency_seconds_count\{/m);
    } finally {
      child.kill('SIGINT');
    }
    expect(await exited).toBe(0);
    // Not one JSON line: the starter's are pino-pretty's, the worker's Temporal lines text (`<time> [INFO] …`).
    const lines = output.split('\n').filter((l) => l.trim() !== '');
    expect(lines.filter((l) => l.startsWith('{'))).toEqual([]);
    expect(lines.filter((l) => / INFO: (incoming request|request completed) \{/.test(l)).length).toBeGreaterThanOrEqual(
      4,
    );
    // It bundled the workflow sources (no prebuilt bundle) and said nothing of it at info.
    expect(output).not.toContain('Workflow bundle created');
    expect(output).not.toMatch(/webpack [\d.]+ compiled/);
  });
});

const alive = (pid: number | undefined): boolean => {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

// `npm start` with a dev server of its own (TEMPORAL_ADDRESS unset), on ports the OS picks, killed the hard way.
describe.skipIf(process.platform === 'win32')('the embedded dev server after a kill (src/dev.ts)', () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'signup-dev-kill-'));
  const stateFile = path.join(dataDir, 'temporal-dev.json');
  const children: ChildProcess[] = [];
  /** Every dev server, watchdog and dev.ts process seen: all are killed in afterAll, whatever the tests did. */
  const pids = new Set<number>();
  let env: NodeJS.ProcessEnv;
  let temporalPort: number;
  let uiPort: number;

  beforeAll(async () => {
    temporalPort = await freePort();
    const { TEMPORAL_ADDRESS: _external, ...inherited } = process.env;
    env = {
      ...inherited,
      DATA_DIR: dataDir,
      TEMPORAL_DEV_PORT: String(temporalPort),
      TEMPORAL_DEV_UI_PORT: String((uiPort = await freePort())),
      TEMPORAL_TASK_QUEUE: `dev-kill-${randomUUID()}`,
      PORT: String(await freePort()),
      // Not npm start's 9464: this test runs beside a real npm start, and its runs overlap.
      WORKER_METRICS_PORT: String(await freePort()),
      SANDBOX_URL: `http://127.0.0.1:${await freePort()}`,
      // PostgreSQL rather than the embedded ledger under DATA_DIR, which a killed process may leave half-written.
      DATABASE_URL: await privateDatabaseUrl(),
      LOG_LEVEL: 'warn',
    };
  });

  afterAll(() => {
    for (const child of children) child.kill('SIGKILL');
    for (const pid of pids) {
      for (const target of [-pid, pid]) {
        try {
          process.kill(target, 'SIGKILL');
        } catch {
          // Gone already, or not a group leader.
        }
      }
    }
    rmSync(dataDir, { recursive: true, force: true });
  });

  /**
   * `npm start`'s program: as npm runs it (`node --import tsx`, one process), under a stand-in for npm (npm, then
   * `sh -c`, then node: npm itself would reinstall modules in this shared checkout when the lock file is newer), or
   * through the tsx CLI (a parent and a child).
   */
  const start = (how: 'node' | 'npm' | 'tsx', extra: NodeJS.ProcessEnv = {}) => {
    const npm = `require('node:child_process').spawn('sh', ['-c', 'true && node --import tsx src/dev.ts'], { stdio: 'inherit' })`;
    const [command, args, lifecycle] =
      how === 'node'
        ? [process.execPath, ['--import', 'tsx', 'src/dev.ts'], {}]
        : how === 'npm'
          ? [process.execPath, ['-e', npm], { npm_lifecycle_event: 'start' }]
          : [path.join(root, 'node_modules/.bin/tsx'), ['src/dev.ts'], {}];
    const child = spawn(command, args, {
      cwd: root,
      env: { ...env, ...lifecycle, ...extra },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    if (child.pid !== undefined) pids.add(child.pid);
    const run = { child, output: '', exited: new Promise<number | null>((r) => child.once('exit', (code) => r(code))) };
    child.stdout.on('data', (chunk: Buffer) => (run.output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (run.output += chunk.toString()));
    return run;
  };

  /** The dev server the state file records once it listens (other than `previous`); its processes noted for afterAll. */
  const serverUp = (run: ReturnType<typeof start>, previous?: number) =>
    eventually(async () => {
      let state: DevServerState | undefined;
      try {
        state = JSON.parse(readFileSync(stateFile, 'utf8')) as DevServerState;
      } catch {
        return undefined;
      }
      for (const pid of [state.pid, state.watchdogPid, state.ownerPid]) if (pid !== undefined) pids.add(pid);
      // A record a killed process left behind names processes that are gone: wait for the new one.
      if (state.pid === previous || !alive(state.pid) || !alive(state.ownerPid)) return undefined;
      if (!(await portInUse(temporalPort))) return undefined;
      return state;
    }, 60_000).catch((err: Error) => {
      throw new Error(`${err.message}\n${run.output}`);
    });

  const gone = (pid: number | undefined) => eventually(async () => (alive(pid) ? undefined : true), 30_000);

  it('a SIGKILLed npm start takes its dev server down; one left running (watchdog killed too) is stopped by the next start, which says so', async () => {
    const first = start('node');
    const orphan = await serverUp(first);
    expect(orphan).toMatchObject({ port: temporalPort, dbFile: path.join(dataDir, 'temporal.db') });
    // The worst case: the watchdog dies first, so the server outlives npm start and keeps port and data file.
    process.kill(orphan.watchdogPid!, 'SIGKILL');
    first.child.kill('SIGKILL');
    await first.exited;
    expect(alive(orphan.pid)).toBe(true);
    expect(await portInUse(temporalPort)).toBe(true);

    const second = start('node');
    const server = await serverUp(second, orphan.pid);
    expect(second.output).toContain(
      `stopped the Temporal dev server an earlier npm start left running (pid ${orphan.pid}, data file ${orphan.dbFile})`,
    );
    expect(alive(orphan.pid)).toBe(false);

    // With its watchdog alive, a SIGKILLed npm start leaves nothing behind.
    second.child.kill('SIGKILL');
    await second.exited;
    await gone(server.pid);
    await gone(server.watchdogPid);
    expect(await portInUse(temporalPort)).toBe(false);
  });

  it("prints its Web UI's filtered lists: waiting for credits, failed, signed up today", async () => {
    const run = start('node');
    const server = await serverUp(run);
    await eventually(async () => (run.output.includes('Ctrl-C stops everything') ? true : undefined), 120_000).catch(
      (err: Error) => {
        throw new Error(`${err.message}\n${run.output}`);
      },
    );
    const today = new Date().toISOString().slice(0, 10);
    for (const { label, url } of webUiLinks(`http://127.0.0.1:${uiPort}`, 'default', today)) {
      expect(run.output).toMatch(new RegExp(`${label} +${url.replace(/[.?*+^$()[\]{}|\\]/g, '\\$&')}\n`));
    }
    run.child.kill('SIGINT');
    expect(await run.exited).toBe(0);
    await gone(server.pid);
  });

  it('the tsx parent of npm start SIGKILLed: its child stops the stack and the dev server', async () => {
    const run = start('tsx');
    const server = await serverUp(run);
    expect(server.ownerPid).not.toBe(run.child.pid);
    run.child.kill('SIGKILL');
    await gone(server.ownerPid);
    await gone(server.pid);
    expect(await portInUse(temporalPort)).toBe(false);
  });

  it('npm itself SIGKILLed: npm start notices and stops the stack and the dev server', async () => {
    const run = start('npm');
    const server = await serverUp(run);
    run.child.kill('SIGKILL');
    await gone(server.ownerPid);
    await gone(server.pid);
    expect(await portInUse(temporalPort)).toBe(false);
  });

  it('a second npm start on the same data directory: an error naming the first, whose dev server is left alone', async () => {
    const first = start('node');
    const server = await serverUp(first);
    const second = start('node', { PORT: String(await freePort()) });
    expect(await second.exited).toBe(1);
    expect(second.output).toContain(`belongs to another running npm start (pid ${server.ownerPid})`);
    expect(alive(server.pid)).toBe(true);
    first.child.kill('SIGKILL');
    await gone(server.pid);
  });

  it('a port held by another program: an error naming the port and TEMPORAL_ADDRESS, no dev server', async () => {
    const blocker = createServer();
    const port = await new Promise<number>((resolve) =>
      blocker.listen(0, '127.0.0.1', () => resolve((blocker.address() as { port: number }).port)),
    );
    try {
      const run = start('node', { TEMPORAL_DEV_PORT: String(port) });
      expect(await run.exited).toBe(1);
      expect(run.output).toContain(`port ${port} is already in use`);
      expect(run.output).toContain(`TEMPORAL_ADDRESS=127.0.0.1:${port}`);
      expect(run.output).not.toContain('starting the Temporal dev server');
    } finally {
      blocker.close();
    }
  });
});
