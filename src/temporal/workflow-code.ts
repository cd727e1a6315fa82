import { existsSync } from 'node:fs';
import path from 'node:path';
import type { WorkerOptions } from '@temporalio/worker';
import { ConfigError, type Config } from '../config';
import { WORKFLOW_BUNDLE_FILE } from '../tools/paths';

/**
 * Where the worker's workflow code comes from: WORKFLOW_BUNDLE_PATH, else the bundle `npm run build` wrote next to
 * the compiled code (dist/workflow-bundle.js, when this runs from dist/src/), else the sources, bundled at start-up
 * (webpack, seconds of CPU: what `npm start` and a worker run through tsx do). The worker runs it, and so does
 * `enrich replay`, so that a history is replayed against the code the deployment runs.
 */
export function workflowCode(config: Config): {
  options: Pick<WorkerOptions, 'workflowBundle' | 'workflowsPath'>;
  description: string;
} {
  const built = path.resolve(__dirname, '..', '..', WORKFLOW_BUNDLE_FILE);
  const codePath = config.workflowBundlePath ?? (existsSync(built) ? built : undefined);
  if (codePath === undefined) {
    return {
      options: { workflowsPath: require.resolve('../workflows') },
      description: 'workflows: bundling the sources at start-up (no prebuilt bundle: npm run build writes one)',
    };
  }
  if (!existsSync(codePath)) {
    throw new ConfigError([`WORKFLOW_BUNDLE_PATH: ${codePath} does not exist (npm run build writes the bundle)`]);
  }
  return { options: { workflowBundle: { codePath } }, description: `workflows: prebuilt bundle ${codePath}` };
}
