import { DefaultLogger, type LogEntry } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { bundlerLogger, workflowBundle } from '../../src/temporal/workflow-code';
import { testConfig } from '../support/config';

/** The bundler's own lines: webpack's stats and the SDK's closing line. */
const isBundlerLine = (e: LogEntry) =>
  e.message.startsWith('Workflow bundle created') || /\basset workflow-bundle-|webpack [\d.]+ compiled/.test(e.message);

// How a worker without a prebuilt bundle (`npm start`, `npm run worker`) bundles its workflow code, and where the
// bundler's output goes: the process's Temporal logger (here one that keeps every entry), one level down.
describe('workflow code bundled at start-up', () => {
  const entries: LogEntry[] = [];
  const logger = new DefaultLogger('TRACE', (entry) => entries.push(entry));

  it('passes warnings and errors on as they are and lowers info to debug', () => {
    const seen: [string, string][] = [];
    const logger = bundlerLogger(new DefaultLogger('TRACE', (e) => seen.push([e.level, e.message])));
    logger.info('stats');
    logger.log('INFO', 'stats again');
    logger.debug('detail');
    logger.warn('a module could not be resolved');
    logger.error('the bundle failed');
    logger.log('ERROR', 'the bundle failed again');
    expect(seen).toEqual([
      ['DEBUG', 'stats'],
      ['DEBUG', 'stats again'],
      ['DEBUG', 'detail'],
      ['WARN', 'a module could not be resolved'],
      ['ERROR', 'the bundle failed'],
      ['ERROR', 'the bundle failed again'],
    ]);
  });

  it("bundles the sources (no prebuilt bundle) with webpack's output at DEBUG only, hidden at LOG_LEVEL=info", async () => {
    const bundle = await workflowBundle(testConfig(), logger);
    expect('code' in bundle && bundle.code).toContain('SignupEnrichmentWorkflow');
    const lines = entries.filter(isBundlerLine);
    // Both lines were written (LOG_LEVEL=debug shows them), at DEBUG: the INFO logger of LOG_LEVEL=info drops them.
    expect(lines.some((e) => e.message.startsWith('Workflow bundle created'))).toBe(true);
    expect(lines.some((e) => /webpack [\d.]+ compiled/.test(e.message))).toBe(true);
    expect(new Set(lines.map((e) => e.level))).toEqual(new Set(['DEBUG']));
    expect(entries.filter((e) => e.level === 'INFO' || e.level === 'WARN' || e.level === 'ERROR')).toEqual([]);
  }, 180_000);

  it('takes a prebuilt bundle as it is, without bundling', async () => {
    const before = entries.length;
    const codePath = __filename;
    expect(await workflowBundle(testConfig({ WORKFLOW_BUNDLE_PATH: codePath }), logger)).toEqual({ codePath });
    expect(entries.length).toBe(before);
  });
});
