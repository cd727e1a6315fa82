import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { Connection } from '@temporalio/client';
import { devServerSearchAttributeFlags } from '../temporal/search-attributes';

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
}

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
    // Errors only: at shutdown the server's internal workers log every refused poll as a warning.
    '--log-level',
    'error',
  ];
  const child = spawn(o.cli, args, { stdio: ['ignore', o.output ?? 'ignore', o.output ?? 'ignore'], detached: true });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let dead = false;
  void exited.then(() => (dead = true));
  // However this process exits (even process.exit() mid-start-up), the server does not outlive it.
  const killOnExit = () => child.kill('SIGTERM');
  process.once('exit', killOnExit);

  const address = `127.0.0.1:${o.port}`;
  const stop = async () => {
    process.removeListener('exit', killOnExit);
    if (dead) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
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
