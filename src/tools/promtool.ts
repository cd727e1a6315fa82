import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TOOLS_DIR } from './paths';

/** Where setup unpacks Debian's `prometheus` package: its files only, no service installed or started. */
export const PROMETHEUS_TOOLS_DIR = path.join(TOOLS_DIR, 'prometheus');
/** The promtool of that unpacked package. */
export const LOCAL_PROMTOOL = path.join(PROMETHEUS_TOOLS_DIR, 'usr', 'bin', 'promtool');

/** `promtool`: PROMTOOL_PATH, then the one setup unpacked into `.tools/prometheus`, then `promtool` on PATH. */
export function findPromtool(env: NodeJS.ProcessEnv = process.env, local = LOCAL_PROMTOOL): string | undefined {
  if (env.PROMTOOL_PATH) return existsSync(env.PROMTOOL_PATH) ? env.PROMTOOL_PATH : undefined;
  if (existsSync(local)) return local;
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (dir && existsSync(path.join(dir, 'promtool'))) return path.join(dir, 'promtool');
  }
  return undefined;
}

/**
 * The promtool that checks deploy/prometheus/alerts.yml in `npm test`: found, or Debian's `prometheus` package
 * fetched with `apt-get download` and unpacked with `dpkg-deb -x` into `.tools/prometheus` (nothing is installed on
 * the system, no service starts). Throws naming what to do when neither works.
 */
export function ensurePromtool(
  options: { env?: NodeJS.ProcessEnv; dir?: string; log?: (line: string) => void } = {},
): string {
  const env = options.env ?? process.env;
  const dir = options.dir ?? PROMETHEUS_TOOLS_DIR;
  const local = path.join(dir, 'usr', 'bin', 'promtool');
  const log = options.log ?? ((line: string) => console.log(`[setup] ${line}`));
  const found = findPromtool(env, local);
  if (found) return found;
  const missing = (why: string) =>
    new Error(
      `promtool not found (${why}): the alert rules test (test/deploy/prometheus.test.ts) runs it. Install ` +
        "Prometheus's promtool (Debian/Ubuntu: apt-get install prometheus; or https://prometheus.io/download/) or " +
        'set PROMTOOL_PATH to it, then run again.',
    );
  const run = (command: string, args: string[], cwd?: string) =>
    spawnSync(command, args, { cwd, env, encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] } as SpawnSyncOptions);
  if (run('apt-get', ['--version']).status !== 0 || run('dpkg-deb', ['--version']).status !== 0) {
    throw missing('no apt-get and dpkg-deb to fetch Debian\'s "prometheus" package');
  }
  log(`fetching Debian's prometheus package for promtool (apt-get download, unpacked into ${dir})`);
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'signup-prometheus-'));
  try {
    let download = run('apt-get', ['download', '-qq', 'prometheus'], tmp);
    if (download.status !== 0 && process.getuid?.() === 0) {
      // Package lists not fetched yet (a fresh container): fetch them, then try once more.
      run('apt-get', ['update', '-qq']);
      download = run('apt-get', ['download', '-qq', 'prometheus'], tmp);
    }
    const deb = readdirSync(tmp).find((f) => f.endsWith('.deb'));
    if (download.status !== 0 || !deb) {
      throw missing(`apt-get download prometheus failed: ${String(download.stderr).trim() || 'no package'}`);
    }
    const unpack = run('dpkg-deb', ['-x', path.join(tmp, deb), dir]);
    if (unpack.status !== 0 || !existsSync(local)) {
      throw missing(`dpkg-deb -x of ${deb} failed: ${String(unpack.stderr).trim()}`);
    }
    return local;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
