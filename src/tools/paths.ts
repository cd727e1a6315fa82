import { existsSync } from 'node:fs';
import path from 'node:path';

/**
 * The directory holding package.json above `dir`: the repository root (or the image's /app) whether the code runs
 * from src/ (tsx) or compiled, from dist/src/.
 */
export function projectRoot(dir: string): string {
  for (let d = dir; ; d = path.dirname(d)) {
    if (existsSync(path.join(d, 'package.json'))) return d;
    if (path.dirname(d) === d) throw new Error(`no package.json above ${dir}`);
  }
}

/** The repository root, wherever the process was started from. */
export const PROJECT_ROOT = projectRoot(__dirname);
/** The project-local Python venv holding the Temporal binaries (README, "Quick start"). */
export const TOOLS_DIR = path.join(PROJECT_ROOT, '.tools');
/** The prebuilt workflow bundle `npm run build` writes at the top of its output (dist/), which the worker loads. */
export const WORKFLOW_BUNDLE_FILE = 'workflow-bundle.js';
