import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { builtinModules } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ConfigError } from '../../src/config';
import { openLedger } from '../../src/ledger/ledger';
import { freePort } from '../../src/tools/dev-server';
import { WORKFLOW_BUNDLE_FILE } from '../../src/tools/paths';
import { workflowCode } from '../../src/temporal/workflow-code';
import { ADMIN_TOKEN, CLAY_SECRET, privateDatabaseUrl, SECRET, testConfig } from '../support/config';
import { eventually } from '../support/eventually';
import { startSandbox } from '../support/sandbox';
import { deliver, posthogSignup, UNSETTLED } from '../support/signups';

const root = path.resolve(__dirname, '../..');
const packageJson = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
};

/** A child process whose output is kept, for the assertions and for the failure message. */
interface Child {
  process: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function run(command: string, args: string[], options: { cwd: string; env?: Record<string, string> }): Child {
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { process: child, output: () => output, exited };
}

async function stop(child: Child | undefined): Promise<void> {
  if (!child || child.process.exitCode !== null || child.process.signalCode !== null) return;
  child.process.kill('SIGTERM');
  const timer = setTimeout(() => child.process.kill('SIGKILL'), 10_000);
  await child.exited;
  clearTimeout(timer);
}

// `npm run build`'s output run as production runs it: plain node, no tsx, the prebuilt workflow bundle.
describe('the build (npm run build)', () => {
  // The image's layout, inside the repository (gitignored) so that the compiled code finds node_modules: dist/ and
  // bin/, no sources.
  const image = mkdtempSync(path.join(root, '.dist-test-'));
  const outDir = path.join(image, 'dist');
  const workDir = mkdtempSync(path.join(os.tmpdir(), 'signup-build-'));

  beforeAll(async () => {
    const build = run(process.execPath, ['--import', 'tsx', 'src/tools/build.ts', '--out-dir', outDir], { cwd: root });
    const code = await build.exited;
    if (code !== 0) throw new Error(`npm run build exited with ${String(code)}:\n${build.output()}`);
    cpSync(path.join(root, 'bin'), path.join(image, 'bin'), { recursive: true });
  });

  afterAll(() => {
    rmSync(image, { recursive: true, force: true });
    rmSync(workDir, { recursive: true, force: true });
  });

  it('runs the worker and the starter with plain node: a signup over HTTP is settled, the workflows not bundled at start', async () => {
    const sandbox = await startSandbox();
    const databaseUrl = await privateDatabaseUrl();
    const port = await freePort();
    const env = {
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      TEMPORAL_TASK_QUEUE: `build-${randomUUID()}`,
      DATABASE_URL: databaseUrl,
      SANDBOX_URL: sandbox.url,
      ENRICHMENT_PROVIDERS: 'clearbit,harmonic',
      WEBHOOK_SECRET: SECRET,
      ADMIN_TOKEN,
      CLAY_CALLBACK_SECRET: CLAY_SECRET,
      HOST: '127.0.0.1',
      PORT: String(port),
      DATA_DIR: workDir,
      // The worker's level too (src/logging.ts): its SDK's INFO lines are checked below.
      LOG_LEVEL: 'info',
      WORKFLOW_BUNDLE_PATH: '',
    };
    // Started elsewhere than the repository: nothing may depend on the working directory.
    const worker = run(process.execPath, [path.join(outDir, 'src', 'worker.js')], { cwd: workDir, env });
    let starter: Child | undefined;
    const ledger = await openLedger({ databaseUrl });
    try {
      await eventually(async () => {
        if (worker.process.exitCode !== null) throw new Error(`the worker exited:\n${worker.output()}`);
        return Promise.resolve(worker.output().includes('workflows: prebuilt bundle') ? true : undefined);
      }, 60_000);
      starter = run(process.execPath, [path.join(outDir, 'src', 'starter.js')], { cwd: workDir, env });
      const base = `http://127.0.0.1:${port}`;
      await eventually(async () => ((await fetch(`${base}/healthz`)).ok ? true : undefined), 30_000);

      const payload = posthogSignup({ email: 'ada.quillon@quorvalis.com' });
      const res = await deliver(base, '/webhooks/posthog', payload);
      expect(res.status).toBe(202);
      const workflowId = res.body.workflowId as string;
      const rows = await eventually(async () => {
        const found = await ledger.signups.listSignupsByWorkflowId(workflowId);
        return found.length > 0 && found.every((r) => !UNSETTLED.includes(r.status)) ? found : undefined;
      }, 45_000);
      expect(rows.map((r) => r.status)).toEqual(['enriched']);

      expect(worker.output()).toContain(`workflows: prebuilt bundle ${path.join(outDir, WORKFLOW_BUNDLE_FILE)}`);
      // The SDK's INFO log reaches the output, and what it logs when it bundles (webpack) is not in it.
      expect(worker.output()).toContain('[INFO] Worker state changed');
      expect(worker.output()).not.toContain('Workflow bundle created');
    } finally {
      await stop(starter);
      await stop(worker);
      await ledger.close();
      await sandbox.close();
    }
  });

  it('runs `enrich` on PATH without sources: `enrich replay` replays a history against the prebuilt bundle', async () => {
    const history = path.join(root, 'test', 'fixtures', 'histories', 'signup-fan-out.json');
    // As the image links it: /usr/local/bin/enrich -> /app/bin/enrich.js.
    const enrich = path.join(image, 'enrich');
    symlinkSync(path.join(image, 'bin', 'enrich.js'), enrich);
    const cli = run(enrich, ['replay', history], {
      cwd: workDir,
      env: { WORKFLOW_BUNDLE_PATH: '' },
    });
    expect(await cli.exited).toBe(0);
    expect(cli.output()).toContain(
      `${history} replays against today's workflow code (workflows: prebuilt bundle ${path.join(outDir, WORKFLOW_BUNDLE_FILE)})`,
    );
    expect(cli.output()).not.toContain('Workflow bundle created');
  });

  // The production image installs `dependencies` only (npm ci --omit=dev).
  it('needs no dev dependency at run time: every package the entry points load is in dependencies', () => {
    const entries = ['worker.js', 'starter.js', 'sandbox/server.js', 'cli/enrich.js'].map((f) =>
      path.join(outDir, 'src', f),
    );
    const packages = new Set<string>();
    const seen = new Set<string>();
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      for (const [, spec] of readFileSync(file, 'utf8').matchAll(/require\("([^"]+)"\)/g)) {
        if (spec!.startsWith('.')) {
          const target = path.resolve(path.dirname(file), spec!);
          visit(existsSync(`${target}.js`) ? `${target}.js` : path.join(target, 'index.js'));
        } else if (!spec!.startsWith('node:') && !builtinModules.includes(spec!)) {
          packages.add(spec!.startsWith('@') ? spec!.split('/').slice(0, 2).join('/') : spec!.split('/')[0]!);
        }
      }
    };
    entries.forEach(visit);
    expect(packages.size).toBeGreaterThan(5);
    expect([...packages].filter((p) => !(p in packageJson.dependencies))).toEqual([]);
    // Build and test tools are dev dependencies, kept out of the image.
    for (const tool of ['tsx', 'typescript', 'vitest', '@temporalio/testing']) {
      expect(packageJson.dependencies).not.toHaveProperty(tool);
    }
  });

  // No engine runs here to build the image: what it copies and runs is checked against the repository and the build.
  it("Dockerfile: every COPY source exists, and the commands' scripts are in the build", () => {
    const lines = readFileSync(path.join(root, 'Dockerfile'), 'utf8')
      .split('\n')
      .filter((l) => l.trim() && !l.startsWith('#'));
    const stages = lines.filter((l) => l.startsWith('FROM '));
    expect(stages).toHaveLength(2);
    expect(stages[1]).toMatch(/^FROM node:20-bookworm-slim$/);
    const runtime = lines.slice(lines.indexOf(stages[1]!));
    const build = lines.slice(0, lines.indexOf(stages[1]!));
    expect(build).toContain('RUN npm run build');
    expect(runtime.some((l) => /^RUN npm ci --omit=dev\b/.test(l))).toBe(true);
    expect(runtime).toContain('USER node');

    const ignored = readFileSync(path.join(root, '.dockerignore'), 'utf8').split('\n').filter(Boolean);
    for (const line of lines.filter((l) => l.startsWith('COPY '))) {
      const args = line.split(/\s+/).slice(1);
      const from = args.find((a) => a.startsWith('--from='));
      const sources = args.filter((a) => !a.startsWith('--')).slice(0, -1);
      for (const source of sources) {
        if (from) {
          // The build stage's /app/dist is what `npm run build` writes.
          expect(source).toBe('/app/dist');
        } else {
          expect(existsSync(path.join(root, source)), `COPY ${source}`).toBe(true);
          expect(ignored, `COPY ${source} is in .dockerignore`).not.toContain(source);
        }
      }
    }

    // Paths the image runs: dist/… from the build, the rest from the repository (copied above).
    const inImage = (p: string) =>
      p.startsWith('dist/') ? path.join(outDir, p.slice('dist/'.length)) : path.join(root, p.replace(/^\/app\//, ''));
    const execForm = (l: string) => JSON.parse(l.slice(l.indexOf('['))) as string[];
    const cmd = execForm(runtime.find((l) => l.startsWith('CMD '))!);
    expect(cmd).toEqual(['node', 'dist/src/worker.js']);
    const health = execForm(runtime.find((l) => l.startsWith('HEALTHCHECK '))!);
    const link = /^RUN ln -s (\S+) \/usr\/local\/bin\/enrich$/.exec(runtime.find((l) => l.includes('ln -s')) ?? '');
    expect(link).not.toBeNull();
    // The other roles' commands (docs/deploy.md) and the CLI the `enrich` link runs.
    for (const p of [
      cmd[1]!,
      health[1]!,
      link![1]!,
      'dist/src/starter.js',
      'dist/src/sandbox/server.js',
      'dist/src/cli/enrich.js',
      `dist/${WORKFLOW_BUNDLE_FILE}`,
    ]) {
      expect(existsSync(inImage(p)), p).toBe(true);
    }
  });

  it('WORKFLOW_BUNDLE_PATH: the bundle the worker loads; a missing one stops start-up', () => {
    const bundle = path.join(outDir, WORKFLOW_BUNDLE_FILE);
    expect(workflowCode(testConfig({ WORKFLOW_BUNDLE_PATH: bundle })).options).toEqual({
      workflowBundle: { codePath: bundle },
    });
    expect(() => workflowCode(testConfig({ WORKFLOW_BUNDLE_PATH: path.join(workDir, 'missing.js') }))).toThrow(
      ConfigError,
    );
  });
});
