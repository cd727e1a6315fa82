import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT, TOOLS_DIR } from './paths';

/** The Go source of the compose validator (compose-go, the loader Docker Compose uses), versions pinned in go.sum. */
export const COMPOSE_CHECK_SOURCE = path.join(PROJECT_ROOT, 'tools', 'compose-check');
/** Where setup builds it; test/deploy/compose.test.ts runs it. */
export const COMPOSE_CHECK_BIN = path.join(TOOLS_DIR, 'compose-check');

/** Built, and newer than every file of its source. */
export function composeCheckIsCurrent(bin = COMPOSE_CHECK_BIN): boolean {
  if (!existsSync(bin)) return false;
  const built = statSync(bin).mtimeMs;
  return readdirSync(COMPOSE_CHECK_SOURCE).every((f) => statSync(path.join(COMPOSE_CHECK_SOURCE, f)).mtimeMs <= built);
}

/**
 * Builds tools/compose-check into `.tools/compose-check` with the local Go toolchain, its modules from the Go module
 * proxy (checked against go.sum). Skipped when the binary is current; throws with the reason when it cannot build.
 */
export function ensureComposeCheck(
  options: { bin?: string; env?: NodeJS.ProcessEnv; log?: (line: string) => void } = {},
): string {
  const bin = options.bin ?? COMPOSE_CHECK_BIN;
  const env = options.env ?? process.env;
  const log = options.log ?? ((line: string) => console.log(`[setup] ${line}`));
  if (composeCheckIsCurrent(bin)) return bin;
  const go = spawnSync('go', ['version'], { encoding: 'utf8', env });
  if (go.error || go.status !== 0) {
    throw new Error(
      'Go not found: the compose file test (test/deploy/compose.test.ts) needs tools/compose-check built with Go ' +
        '1.24 or later. Install Go (https://go.dev/doc/install, or your package manager), then run again.',
    );
  }
  log(`building ${path.relative(PROJECT_ROOT, bin)} (${go.stdout.trim()}, modules from the Go proxy)`);
  mkdirSync(path.dirname(bin), { recursive: true });
  const build = spawnSync('go', ['build', '-mod=readonly', '-trimpath', '-o', bin, '.'], {
    cwd: COMPOSE_CHECK_SOURCE,
    env,
    encoding: 'utf8',
    stdio: ['ignore', 'inherit', 'pipe'],
  });
  if (build.status !== 0) {
    throw new Error(
      `go build of tools/compose-check failed (is the Go module proxy, \`go env GOPROXY\`, reachable?):\n` +
        (build.stderr || String(build.error)).trim(),
    );
  }
  return bin;
}
