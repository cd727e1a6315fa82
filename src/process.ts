import path from 'node:path';
import { ConfigError, type Config } from './config';

/** Where the embedded ledger lives when DATABASE_URL is unset. */
export function ledgerDir(config: Config): string {
  return path.resolve(config.dataDir, 'ledger');
}

/** Runs an entry point: configuration errors are printed as they are (they name every problem), then exit 1. */
export function runMain(main: () => Promise<void>): void {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      if (err instanceof ConfigError) console.error(err.message);
      else console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
      process.exit(1);
    },
  );
}
