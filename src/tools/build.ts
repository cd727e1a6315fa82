import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { PROJECT_ROOT, WORKFLOW_BUNDLE_FILE } from './paths';

/** The build's output, unless `--out-dir` says otherwise (inside the repository: the compiled code needs node_modules). */
export const DEFAULT_OUT_DIR = path.join(PROJECT_ROOT, 'dist');

/**
 * `npm run build`: the sources compiled by tsc (tsconfig.build.json) to `<out>/src/`, run with plain node, and the
 * workflows bundled once to `<out>/workflow-bundle.js`, which the worker loads instead of bundling at every start.
 */
export async function build(outDir = DEFAULT_OUT_DIR): Promise<void> {
  if (path.relative(PROJECT_ROOT, outDir).startsWith('..')) {
    throw new Error(`--out-dir ${outDir} is outside ${PROJECT_ROOT}: the compiled code finds node_modules from there`);
  }
  // A file renamed or deleted in src/ must not live on in the output.
  rmSync(outDir, { recursive: true, force: true });
  execFileSync(
    process.execPath,
    [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', outDir],
    { cwd: PROJECT_ROOT, stdio: 'inherit' },
  );
  const { code } = await bundleWorkflowCode({
    workflowsPath: path.join(PROJECT_ROOT, 'src', 'workflows', 'index.ts'),
    logger: { trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error, log() {} },
  });
  writeFileSync(path.join(outDir, WORKFLOW_BUNDLE_FILE), code);
  console.log(
    `[build] ${path.relative(PROJECT_ROOT, outDir)}/src/ and ${path.relative(PROJECT_ROOT, outDir)}/${WORKFLOW_BUNDLE_FILE}`,
  );
}

if (require.main === module) {
  const i = process.argv.indexOf('--out-dir');
  const outDir = i === -1 ? undefined : path.resolve(process.argv[i + 1] ?? '');
  build(outDir).catch((err: unknown) => {
    console.error(`[build] ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
