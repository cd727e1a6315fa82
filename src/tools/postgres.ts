import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** PostgreSQL server binaries: `PG_BIN`, Debian's /usr/lib/postgresql/<newest>/bin, or `initdb` on PATH. */
export function findPostgresBin(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.PG_BIN) return existsSync(path.join(env.PG_BIN, 'initdb')) ? env.PG_BIN : undefined;
  const debian = '/usr/lib/postgresql';
  if (existsSync(debian)) {
    const versions = readdirSync(debian)
      .filter((v) => existsSync(path.join(debian, v, 'bin', 'initdb')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions[0]) return path.join(debian, versions[0], 'bin');
  }
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (dir && existsSync(path.join(dir, 'initdb')) && existsSync(path.join(dir, 'pg_ctl'))) return dir;
  }
  return undefined;
}

/** Installs Debian's PostgreSQL server when it is missing and this is a root shell on Debian/Ubuntu. */
export function ensurePostgresInstalled(log: (line: string) => void = (l) => console.log(`[setup] ${l}`)): string {
  const found = findPostgresBin();
  if (found) return found;
  const root = process.getuid?.() === 0;
  if (!root || !existsSync('/usr/bin/apt-get')) {
    throw new Error(
      'PostgreSQL server binaries (initdb, pg_ctl) not found. Install them (Debian/Ubuntu: apt-get install postgresql; ' +
        'macOS: brew install postgresql) or set TEST_DATABASE_URL to an existing database.',
    );
  }
  log('installing PostgreSQL from Debian packages (apt-get install postgresql)');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const opts: SpawnSyncOptions = { stdio: ['ignore', 'ignore', 'inherit'], env };
  spawnSync('apt-get', ['update', '-qq'], opts);
  const install = spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'postgresql'], opts);
  const bin = findPostgresBin();
  if (install.status !== 0 || !bin) throw new Error('apt-get install postgresql failed');
  return bin;
}

export interface TempPostgres {
  url: string;
  /** Stops the server and removes its data. */
  stop(): void;
  /** Stops the server but keeps its data, for start() to bring it back (fault tests restart the database). */
  shutdown(): void;
  start(): void;
}

/**
 * Starts a throwaway PostgreSQL cluster on 127.0.0.1:`port` with trust auth and fsync off (tests only), in a temp
 * directory removed by stop(). PostgreSQL refuses to run as root, so as root it runs as the `postgres` user.
 */
export function startTempPostgres(bin: string, port: number): TempPostgres {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'signup-pg-'));
  const dataDir = path.join(dir, 'data');
  const asRoot = process.getuid?.() === 0;
  const run = (command: string, args: string[]) => {
    const full = path.join(bin, command);
    const result = asRoot
      ? spawnSync('runuser', ['-u', 'postgres', '--', full, ...args], { encoding: 'utf8' })
      : spawnSync(full, args, { encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`${command} failed: ${result.stderr || result.stdout}`);
  };
  if (asRoot) {
    const ids = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
    const gids = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
    if (ids.status !== 0) throw new Error('running as root but there is no `postgres` user to run PostgreSQL as');
    chownSync(dir, Number(ids.stdout.trim()), Number(gids.stdout.trim()));
  }
  run('initdb', ['-D', dataDir, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8']);
  const start = () =>
    run('pg_ctl', [
      '-D',
      dataDir,
      '-l',
      path.join(dir, 'postgres.log'),
      '-w',
      '-o',
      `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off`,
      'start',
    ]);
  start();
  const shutdown = () => run('pg_ctl', ['-D', dataDir, '-m', 'fast', '-w', 'stop']);
  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    process.removeListener('exit', stop);
    try {
      // Already shut down (a fault test's outage) is fine: the data still goes.
      if (existsSync(path.join(dataDir, 'postmaster.pid'))) shutdown();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  // However the test run ends (short of SIGKILL), the throwaway server does not outlive it.
  process.once('exit', stop);
  return { url: `postgres://postgres@127.0.0.1:${port}/postgres`, stop, shutdown, start };
}
