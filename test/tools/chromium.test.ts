import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEBIAN_CHROMIUM, findChromium } from '../../src/tools/chromium';

// Which browser the browser tests use: CHROMIUM_PATH when set (and only if it exists), else Debian's.
describe('findChromium', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'chromium-find-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('takes CHROMIUM_PATH when it exists, and nothing else when it does not', () => {
    const binary = path.join(dir, 'chromium');
    writeFileSync(binary, '');
    expect(findChromium({ CHROMIUM_PATH: binary })).toBe(binary);
    expect(findChromium({ CHROMIUM_PATH: path.join(dir, 'missing') })).toBeUndefined();
  });

  it("falls back to Debian's package", async () => {
    const { existsSync } = await import('node:fs');
    expect(findChromium({})).toBe(existsSync(DEBIAN_CHROMIUM) ? DEBIAN_CHROMIUM : undefined);
    expect(findChromium({ CHROMIUM_PATH: '  ' })).toBe(findChromium({}));
  });
});
