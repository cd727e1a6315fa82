import path from 'node:path';
import { ConfigError, type Config } from './config';
import { MetricsPortInUseError } from './metrics/server';
import { TemporalConnectionError } from './temporal/connection';
import { MissingSearchAttributesError } from './temporal/search-attributes';

/** Errors written for the operator: printed as they are, without a stack. */
const OPERATOR_ERRORS = [ConfigError, TemporalConnectionError, MissingSearchAttributesError, MetricsPortInUseError];

/** Where the embedded ledger lives when DATABASE_URL is unset. */
export function ledgerDir(config: Config): string {
  return path.resolve(config.dataDir, 'ledger');
}

/**
 * Runs an entry point: configuration, connection and search-attribute errors are printed as they are (they name every
 * problem and what to do), anything else with its stack; then exit 1.
 */
export function runMain(main: () => Promise<void>): void {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      if (OPERATOR_ERRORS.some((type) => err instanceof type)) console.error((err as Error).message);
      else console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
      process.exit(1);
    },
  );
}

/**
 * The embedded PGlite ledger belongs to one process. A worker or starter run on its own shares the ledger with the
 * other, so it needs PostgreSQL; `npm start` runs both in one process and may use the embedded database.
 */
export function requireSharedDatabase(config: Config, role: 'worker' | 'starter'): void {
  if (config.databaseUrl === undefined) {
    throw new ConfigError([
      `DATABASE_URL: a separate ${role} process needs PostgreSQL (the embedded database is single-process; npm start runs the worker and starter together and needs none)`,
    ]);
  }
}
