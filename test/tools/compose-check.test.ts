import { copyFileSync, mkdtempSync, rmSync, utimesSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { COMPOSE_CHECK_BIN, composeCheckIsCurrent, ensureComposeCheck } from '../../src/tools/compose-check';

const dir = mkdtempSync(path.join(os.tmpdir(), 'signup-compose-check-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the compose validator setup builds (src/tools/compose-check.ts)', () => {
  it('says why when Go is missing, naming what to install', () => {
    const bin = path.join(dir, 'missing', 'compose-check');
    expect(() => ensureComposeCheck({ bin, env: { PATH: path.join(dir, 'empty') }, log: () => {} })).toThrow(
      /Go not found: .*test\/deploy\/compose\.test\.ts.*Install Go/,
    );
  });

  it('rebuilds a binary older than its source', () => {
    const bin = path.join(dir, 'compose-check');
    copyFileSync(COMPOSE_CHECK_BIN, bin);
    expect(composeCheckIsCurrent(bin)).toBe(true);
    utimesSync(bin, new Date(0), new Date(0));
    expect(composeCheckIsCurrent(bin)).toBe(false);
    // Without Go it cannot rebuild: a stale binary is not silently used.
    expect(() => ensureComposeCheck({ bin, env: { PATH: '' }, log: () => {} })).toThrow(/Go not found/);
  });
});
