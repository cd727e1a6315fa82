import { ensureChromiumInstalled } from './chromium';
import { ensureComposeCheck } from './compose-check';
import { ensurePostgresInstalled } from './postgres';
import { ensurePromtool } from './promtool';
import { ensureTemporalBinaries, MissingBinaryError } from './temporal-binaries';

/**
 * Installs what `npm test` needs beyond node modules: the Temporal CLI and time-skipping test server, the PostgreSQL
 * server binaries for the real-database tests, the compose file validator (built with Go), promtool (the alert
 * rules' checker, from Debian's prometheus package) and Debian's Chromium for the browser tests. Each step is skipped
 * when already satisfied.
 */
function main(): void {
  const forTests = process.argv.includes('--tests');
  const { cli, testServer } = ensureTemporalBinaries({ testServer: forTests });
  console.log(`[setup] Temporal CLI: ${cli}`);
  if (testServer) console.log(`[setup] Temporal test server: ${testServer}`);
  if (forTests && !process.env.TEST_DATABASE_URL) console.log(`[setup] PostgreSQL: ${ensurePostgresInstalled()}`);
  if (forTests) console.log(`[setup] compose validator: ${ensureComposeCheck()}`);
  if (forTests) console.log(`[setup] promtool: ${ensurePromtool()}`);
  if (forTests) {
    // The browser tests skip (saying why) without it, rather than failing the whole run.
    const chromium = ensureChromiumInstalled();
    console.log(
      `[setup] Chromium: ${'path' in chromium ? chromium.path : `unavailable, browser tests skip: ${chromium.missing}`}`,
    );
  }
}

try {
  main();
} catch (err) {
  console.error(err instanceof MissingBinaryError ? err.message : `[setup] ${(err as Error).message}`);
  process.exit(1);
}
