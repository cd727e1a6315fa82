import { existsSync } from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode, Runtime, type Logger, type WorkerOptions } from '@temporalio/worker';
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
      options: { workflowsPath: path.resolve(__dirname, '..', 'workflows') },
      description: 'workflows: bundling the sources at start-up (no prebuilt bundle: npm run build writes one)',
    };
  }
  if (!existsSync(codePath)) {
    throw new ConfigError([`WORKFLOW_BUNDLE_PATH: ${codePath} does not exist (npm run build writes the bundle)`]);
  }
  return { options: { workflowBundle: { codePath } }, description: `workflows: prebuilt bundle ${codePath}` };
}

/**
 * The bundler's own output (webpack's stats, "Workflow bundle created") one level down, at debug: `npm start` and a
 * worker run through tsx bundle at every start, and those lines say nothing an operator acts on. Its warnings and
 * errors (a module that cannot be bundled) keep their level.
 */
export function bundlerLogger(logger: Logger): Logger {
  return {
    log: (level, message, meta) => void logger.log(level === 'INFO' ? 'DEBUG' : level, message, meta),
    trace: (message, meta) => void logger.trace(message, meta),
    debug: (message, meta) => void logger.debug(message, meta),
    info: (message, meta) => void logger.debug(message, meta),
    warn: (message, meta) => void logger.warn(message, meta),
    error: (message, meta) => void logger.error(message, meta),
  };
}

/**
 * {@link workflowCode} as a Worker takes it: a prebuilt bundle as it is, the sources bundled here through
 * {@link bundlerLogger} on `logger`, by default the process's Temporal logger (the Runtime's: LOG_LEVEL, redacted).
 */
export async function workflowBundle(
  config: Config,
  logger: Logger = Runtime.instance().logger,
): Promise<NonNullable<WorkerOptions['workflowBundle']>> {
  const { options } = workflowCode(config);
  if (options.workflowBundle) return options.workflowBundle;
  const { code } = await bundleWorkflowCode({
    workflowsPath: options.workflowsPath as string,
    logger: bundlerLogger(logger),
  });
  return { code };
}
