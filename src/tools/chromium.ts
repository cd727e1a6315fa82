import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

/** Where Debian's `chromium` package puts the browser. */
export const DEBIAN_CHROMIUM = '/usr/bin/chromium';

/**
 * Flags of the browser tests' headless Chromium: no sandbox (tests run as root in containers), no GPU, and none of
 * the background traffic a fresh profile starts (updates, sync, QUIC probes) — it talks to 127.0.0.1 only.
 */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
] as const;

/** The browser: CHROMIUM_PATH when set (it must exist), else Debian's. Never a downloaded browser. */
export function findChromium(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const configured = env.CHROMIUM_PATH?.trim();
  if (configured) return existsSync(configured) ? configured : undefined;
  return existsSync(DEBIAN_CHROMIUM) ? DEBIAN_CHROMIUM : undefined;
}

const isDebian = () => existsSync('/etc/debian_version') || /ID(_LIKE)?=.*debian/.test(readSafe('/etc/os-release'));
const readSafe = (file: string) => {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
};

/**
 * The browser of the browser tests: found, or installed from Debian's packages (`apt-get install chromium`) when this
 * is a root shell on Debian or Ubuntu. Returns why not otherwise — the browser tests skip naming that reason, the one
 * skip the suite allows.
 */
export function ensureChromiumInstalled(
  log: (line: string) => void = (l) => console.log(`[setup] ${l}`),
): { path: string } | { missing: string } {
  const found = findChromium();
  if (found) return { path: found };
  if (process.env.CHROMIUM_PATH?.trim()) {
    return { missing: `CHROMIUM_PATH=${process.env.CHROMIUM_PATH.trim()} does not exist` };
  }
  if (process.getuid?.() !== 0 || !existsSync('/usr/bin/apt-get') || !isDebian()) {
    return {
      missing:
        `no Chromium at ${DEBIAN_CHROMIUM}, and it can be installed here only by root on Debian/Ubuntu ` +
        '(apt-get install chromium); or set CHROMIUM_PATH to a Chromium binary',
    };
  }
  log('installing Chromium from Debian packages (apt-get install chromium)');
  const opts: SpawnSyncOptions = {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  };
  spawnSync('apt-get', ['update', '-qq'], opts);
  const install = spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'chromium'], opts);
  const path = findChromium();
  if (install.status !== 0 || !path) return { missing: 'apt-get install chromium failed' };
  return { path };
}
