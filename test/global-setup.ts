import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import type {} from 'vitest';
import type { TestProject } from 'vitest/node';
import { freePort, startDevServer } from '../src/tools/dev-server';
import { ensurePostgresInstalled, startTempPostgres } from '../src/tools/postgres';
import { ensureTemporalBinaries } from '../src/tools/temporal-binaries';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    temporalCli: string;
    temporalTestServer: string;
    workflowBundlePath: string;
    postgresUrl: string;
  }
}

/**
 * One Temporal dev server, one PostgreSQL and one workflow bundle per test run. Every port is chosen by the OS, so
 * nothing collides with a running `npm start` (7233, 8233, 3000, 4010).
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const { cli, testServer } = ensureTemporalBinaries({ testServer: true });
  const cleanups: (() => unknown)[] = [];
  const teardown = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  };
  try {
    const server = await startDevServer({ cli, port: await freePort() });
    cleanups.push(() => server.stop());

    let postgresUrl = process.env.TEST_DATABASE_URL;
    if (!postgresUrl) {
      const postgres = startTempPostgres(ensurePostgresInstalled(), await freePort());
      cleanups.push(() => postgres.stop());
      postgresUrl = postgres.url;
    }

    const dir = mkdtempSync(path.join(os.tmpdir(), 'signup-bundle-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const bundlePath = path.join(dir, 'workflows.js');
    const { code } = await bundleWorkflowCode({
      workflowsPath: path.resolve(__dirname, '../src/workflows/index.ts'),
      logger: { trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error, log() {} },
    });
    writeFileSync(bundlePath, code);

    project.provide('temporalAddress', server.address);
    project.provide('temporalCli', cli);
    project.provide('temporalTestServer', testServer as string);
    project.provide('workflowBundlePath', bundlePath);
    project.provide('postgresUrl', postgresUrl);
    return teardown;
  } catch (err) {
    await teardown();
    throw err;
  }
}
