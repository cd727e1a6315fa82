import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ensurePromtool, findPromtool, LOCAL_PROMTOOL } from '../../src/tools/promtool';

const dir = mkdtempSync(path.join(os.tmpdir(), 'signup-promtool-setup-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the promtool setup step (src/tools/promtool.ts)', () => {
  it('says what to install when promtool is nowhere and Debian packages cannot be fetched', () => {
    const env = { PATH: path.join(dir, 'empty') };
    expect(findPromtool(env, path.join(dir, 'none'))).toBeUndefined();
    expect(() => ensurePromtool({ env, dir: path.join(dir, 'prometheus'), log: () => {} })).toThrow(
      /promtool not found .*test\/deploy\/prometheus\.test\.ts.*apt-get install prometheus.*PROMTOOL_PATH/,
    );
  });

  it('takes PROMTOOL_PATH when it exists, and nothing else when it does not', () => {
    expect(findPromtool({ PROMTOOL_PATH: LOCAL_PROMTOOL, PATH: '' })).toBe(LOCAL_PROMTOOL);
    expect(findPromtool({ PROMTOOL_PATH: path.join(dir, 'missing'), PATH: '' })).toBeUndefined();
  });
});
