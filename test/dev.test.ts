import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { freePort } from '../src/tools/dev-server';

const root = path.resolve(__dirname, '..');

// `npm start`'s program against the run's Temporal server (TEMPORAL_ADDRESS): the banner, its curl, Ctrl-C.
describe('the embedded stack (src/dev.ts)', () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'signup-dev-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('prints a curl that is accepted once and then duplicate, and stops cleanly on SIGINT', async () => {
    const port = await freePort();
    const sandboxPort = await freePort();
    const child = spawn(path.join(root, 'node_modules/.bin/tsx'), ['src/dev.ts'], {
      cwd: root,
      env: {
        ...process.env,
        TEMPORAL_ADDRESS: inject('temporalAddress'),
        TEMPORAL_TASK_QUEUE: `dev-${randomUUID()}`,
        PORT: String(port),
        SANDBOX_URL: `http://127.0.0.1:${sandboxPort}`,
        DATA_DIR: dataDir,
        WEBHOOK_SECRET: '',
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));

    try {
      const banner = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no banner within 90 s:\n${output}`)), 90_000);
        child.stdout.on('data', () => {
          if (output.includes('Ctrl-C stops everything')) {
            clearTimeout(timer);
            resolve(output);
          }
        });
        void exited.then((code) => reject(new Error(`dev.ts exited with ${String(code)}:\n${output}`)));
      });
      expect(banner).toContain(`http://127.0.0.1:${port}`);
      const curl =
        /curl -sS -X POST (\S+) \\\n\s+-H 'Content-Type: application\/json' \\\n\s+-H "Authorization: Bearer ([^"]+)" \\\n\s+-d '(.+)'\n/.exec(
          banner,
        );
      expect(curl).not.toBeNull();
      const [, url, secret, body] = curl as unknown as [string, string, string, string];
      const send = async () =>
        (await (
          await fetch(url, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${secret}` },
            body,
          })
        ).json()) as { status: string };
      expect((await send()).status).toBe('accepted');
      expect((await send()).status).toBe('duplicate');
      // The embedded sandbox answers where SANDBOX_URL says, with the providers' simulators behind it.
      const inspection = (await (await fetch(`http://127.0.0.1:${sandboxPort}/_inspect/clearbit`)).json()) as {
        system: string;
      };
      expect(inspection.system).toBe('clearbit');
    } finally {
      child.kill('SIGINT');
    }
    expect(await exited).toBe(0);
  });
});
