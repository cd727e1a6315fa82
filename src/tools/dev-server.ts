import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { Connection } from '@temporalio/client';
import { devServerSearchAttributeFlags } from '../temporal/search-attributes';
import { commandLine, isAlive, parentPid } from './processes';

export interface DevServerOptions {
  cli: string;
  port: number;
  /** Web UI port; undefined runs the server headless. */
  uiPort?: number;
  /** SQLite file keeping state across restarts; undefined keeps state in memory. */
  dbFile?: string;
  namespace?: string;
  /** Where the server's own output goes: inherited (npm start) or discarded (tests). */
  output?: 'inherit' | 'ignore';
  readyTimeoutMs?: number;
  /**
   * Where to record the running server (`npm start`: `.data/temporal-dev.json`), so that the next start can stop a
   * server this process left behind (see stopOrphanedDevServer). Removed by stop().
   */
  stateFile?: string;
}

/** What `stateFile` records: the server, its watchdog and the process that started it. */
export interface DevServerState {
  pid: number;
  watchdogPid: number | undefined;
  ownerPid: number;
  port: number;
  dbFile: string | undefined;
  startedAt: string;
}

/**
 * One partition per task queue. Task priority (a backfill below live signups) is ordered within a partition; the
 * server's default of four, with tasks spread at random, makes the order approximate, and a dev server is one process
 * with no load to spread. Production servers keep their partitions (docs/architecture.md, Provider task queues).
 */
const DEV_SERVER_DYNAMIC_CONFIG = ['matching.numTaskqueueReadPartitions=1', 'matching.numTaskqueueWritePartitions=1'];

/** How long the server gets to stop after SIGTERM before SIGKILL. */
const STOP_GRACE_MS = 10_000;

export interface DevServer {
  address: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** A free TCP port on 127.0.0.1, chosen by the OS. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/** Whether something already listens on 127.0.0.1:`port`. */
export async function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(true));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(false)));
  });
}

/**
 * Runs `temporal server start-dev` bound to 127.0.0.1 with our search attributes registered, and waits until its
 * frontend answers. The child gets its own process group so that stop() controls the shutdown order.
 */
export async function startDevServer(o: DevServerOptions): Promise<DevServer> {
  const namespace = o.namespace ?? 'default';
  const args = [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(o.port),
    ...(o.uiPort === undefined ? ['--headless'] : ['--ui-port', String(o.uiPort)]),
    ...(o.dbFile ? ['--db-filename', o.dbFile] : []),
    ...(namespace === 'default' ? [] : ['--namespace', namespace]),
    ...devServerSearchAttributeFlags(),
    ...DEV_SERVER_DYNAMIC_CONFIG.flatMap((value) => ['--dynamic-config-value', value]),
    // Errors only: at shutdown the server's internal workers log every refused poll as a warning.
    '--log-level',
    'error',
  ];
  const child = spawn(o.cli, args, { stdio: ['ignore', o.output ?? 'ignore', o.output ?? 'ignore'], detached: true });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let dead = false;
  void exited.then(() => (dead = true));
  // However this process exits (even process.exit() mid-start-up), the server does not outlive it; and when it is
  // killed outright (SIGKILL, the OOM killer), the watchdog stops the server.
  const forget = () => {
    if (o.stateFile && readState(o.stateFile)?.pid === child.pid) rmSync(o.stateFile, { force: true });
  };
  const killOnExit = () => {
    child.kill('SIGTERM');
    forget();
  };
  process.once('exit', killOnExit);
  const watchdog = child.pid === undefined ? undefined : startWatchdog(child.pid);
  if (o.stateFile && child.pid !== undefined) {
    const state: DevServerState = {
      pid: child.pid,
      watchdogPid: watchdog?.pid,
      ownerPid: process.pid,
      port: o.port,
      dbFile: o.dbFile,
      startedAt: new Date().toISOString(),
    };
    writeFileSync(o.stateFile, `${JSON.stringify(state, null, 2)}\n`);
  }

  const address = `127.0.0.1:${o.port}`;
  const stop = async () => {
    process.removeListener('exit', killOnExit);
    if (!dead && child.pid !== undefined) {
      await stopProcessGroup(child.pid);
      await exited;
    }
    watchdog?.kill('SIGKILL');
    forget();
  };

  const deadline = Date.now() + (o.readyTimeoutMs ?? 60_000);
  while (!dead) {
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1000 });
      try {
        await connection.withDeadline(Date.now() + 2000, () => connection.workflowService.getSystemInfo({}));
        return { address, child, stop };
      } finally {
        await connection.close();
      }
    } catch {
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`Temporal dev server on ${address} did not become ready in time`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  throw new Error(
    `Temporal dev server exited with code ${String(await exited)} before it was ready (is port ${o.port} in use?)`,
  );
}

/**
 * Node has no prctl(PR_SET_PDEATHSIG), and the server runs in a process group of its own (so that Ctrl-C reaches the
 * worker first and the server stops last), so nothing stops it when this process is killed outright. The watchdog
 * does: a small detached process reading a pipe from this one. Whatever ends this process, SIGKILL included, the
 * kernel closes the pipe; the watchdog then stops the server's process group (SIGTERM, SIGKILL after the grace
 * period) and exits. It also exits once the server is gone. Not on Windows (no process groups to signal).
 */
function startWatchdog(serverPid: number): ChildProcess | undefined {
  if (process.platform === 'win32') return undefined;
  const script = `
    const group = -Number(process.argv[1]);
    const alive = () => { try { process.kill(group, 0); return true; } catch { return false; } };
    const signal = (name) => { try { process.kill(group, name); } catch {} };
    let stopping = false;
    const stop = () => {
      if (stopping) return;
      stopping = true;
      signal('SIGTERM');
      const deadline = Date.now() + ${STOP_GRACE_MS};
      setInterval(() => {
        if (!alive()) process.exit(0);
        if (Date.now() > deadline) { signal('SIGKILL'); process.exit(0); }
      }, 100);
    };
    process.stdin.on('end', stop).on('close', stop).on('error', stop).resume();
    setInterval(() => { if (!stopping && !alive()) process.exit(0); }, 1000);
    for (const s of ['SIGINT', 'SIGHUP']) process.on(s, () => {});
  `;
  const watchdog = spawn(process.execPath, ['-e', script, String(serverPid)], {
    stdio: ['pipe', 'ignore', 'ignore'],
    detached: true,
  });
  // Neither the watchdog nor its pipe keeps this process alive.
  watchdog.unref();
  (watchdog.stdin as (NodeJS.WritableStream & { unref?: () => void }) | null)?.unref?.();
  watchdog.on('error', () => undefined);
  watchdog.stdin?.on('error', () => undefined);
  return watchdog;
}

function readState(file: string): DevServerState | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as DevServerState;
  } catch {
    return undefined;
  }
}

/** Whether `args` are those of `temporal server start-dev` on `dbFile`. */
const runsDevServerOn = (args: string[], dbFile: string): boolean =>
  args.includes('start-dev') && args.some((a, i) => a === '--db-filename' && args[i + 1] === dbFile);

/** Dev servers on `dbFile`: the one the state file records and, on Linux, any other found in /proc. */
function devServersOn(dbFile: string, stateFile: string): number[] {
  const pids = new Set<number>();
  const recorded = readState(stateFile)?.pid;
  if (recorded !== undefined) pids.add(recorded);
  if (process.platform === 'linux') {
    for (const entry of readdirSync('/proc')) if (/^\d+$/.test(entry)) pids.add(Number(entry));
  }
  return [...pids].filter((pid) => pid !== process.pid && runsDevServerOn(commandLine(pid) ?? [], dbFile));
}

/**
 * Before `npm start` starts its dev server: stops one that an earlier `npm start` left running on the same data file
 * (killed along with its watchdog, say), and says so. A server whose parent is a live `npm start` (src/dev.ts) is
 * another session's: that is an error naming it. A server on this data file that nobody recorded and that still has
 * its parent (started by hand) is left alone; the port check that follows names the port. Returns the line to print.
 */
export async function stopOrphanedDevServer(o: {
  dbFile: string;
  stateFile: string;
  port: number;
}): Promise<string | undefined> {
  if (process.platform === 'win32') return undefined;
  const recorded = readState(o.stateFile);
  const stopped: number[] = [];
  for (const pid of devServersOn(o.dbFile, o.stateFile)) {
    const parent = parentPid(pid);
    const parentArgs = parent === undefined || parent <= 1 ? undefined : commandLine(parent);
    if (parentArgs?.some((a) => /(^|\/)src\/dev\.ts$/.test(a))) {
      throw new Error(
        `the Temporal dev server on ${o.dbFile} belongs to another running npm start (pid ${parent}): stop that one ` +
          `first, or use its server with TEMPORAL_ADDRESS=127.0.0.1:${o.port}`,
      );
    }
    // Orphaned: adopted by init, or (the one recorded) by a subreaper instead of the process that started it.
    const orphaned =
      parentArgs === undefined ||
      (pid === recorded?.pid && parent !== recorded.ownerPid && !isAlive(recorded.ownerPid));
    if (!orphaned) continue;
    await stopProcessGroup(pid);
    stopped.push(pid);
  }
  if (recorded && !isAlive(recorded.pid)) rmSync(o.stateFile, { force: true });
  if (stopped.length === 0) return undefined;
  // The port is free once the server's listener is closed, which may lag its exit by a moment.
  for (const deadline = Date.now() + 5000; (await portInUse(o.port)) && Date.now() < deadline;) {
    await new Promise((r) => setTimeout(r, 100));
  }
  return `stopped the Temporal dev server an earlier npm start left running (pid ${stopped.join(', ')}, data file ${o.dbFile})`;
}

/** SIGTERM to the server's process group, SIGKILL after STOP_GRACE_MS (the watchdog's script does the same inline). */
async function stopProcessGroup(pid: number): Promise<void> {
  const signal = (name: NodeJS.Signals) => {
    try {
      process.kill(-pid, name);
    } catch {
      try {
        process.kill(pid, name);
      } catch {
        // Gone already.
      }
    }
  };
  signal('SIGTERM');
  const deadline = Date.now() + STOP_GRACE_MS;
  while (isAlive(pid)) {
    if (Date.now() > deadline) {
      signal('SIGKILL');
      break;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  // A zombie its new parent has not reaped yet still answers kill(pid, 0): wait a little, not forever.
  for (const end = Date.now() + 5000; isAlive(pid) && Date.now() < end;) await new Promise((r) => setTimeout(r, 100));
}
