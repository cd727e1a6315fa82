import { randomUUID } from 'node:crypto';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { expect, inject } from 'vitest';
import { ConfigError, loadConfig, type Config } from '../../src/config';
import { openPostgres } from '../../src/ledger/sql';

// Test workers (every file that configures one imports this module) log warnings and errors only; the bundle and state-change chatter drowns the test output.
Runtime.install({ logger: new DefaultLogger('WARN') });

export const SECRET = 'test-webhook-secret';
/** The operator API's token (`/admin/*`, the `enrich` CLI) and our Clay table's callback secret in tests. */
export const ADMIN_TOKEN = 'test-admin-token';
export const CLAY_SECRET = 'test-clay-callback-secret';
/** The key of the hashed workflow ids of person-only signups in tests (PII_HASH_KEY). */
export const PII_HASH_KEY = 'test-pii-hash-key';

/** A configuration as `loadConfig` would build it, pointed at the run's Temporal server and a task queue of its own. */
export function testConfig(env: Record<string, string> = {}): Config {
  return loadConfig({
    WEBHOOK_SECRET: SECRET,
    ADMIN_TOKEN,
    CLAY_CALLBACK_SECRET: CLAY_SECRET,
    PII_HASH_KEY,
    TEMPORAL_ADDRESS: inject('temporalAddress'),
    TEMPORAL_TASK_QUEUE: `test-${randomUUID()}`,
    LOG_LEVEL: 'silent',
    // Off unless a test points DNS_SERVERS at its sandbox's DNS server: test domains are made up, and the system's
    // resolvers (or nobody at the default sandbox port) would answer for them.
    SCREEN_DELIVERABILITY: 'false',
    ...env,
  });
}

/**
 * A schema of its own on the run's PostgreSQL, as a DATABASE_URL: test files run in parallel, and an outbox polling
 * a shared `signups` table would start (or fail to start) another file's signups.
 */
export async function privateDatabaseUrl(): Promise<string> {
  const base = inject('postgresUrl');
  const schema = `t_${randomUUID().replaceAll('-', '')}`;
  const admin = await openPostgres(base);
  try {
    await admin.query(`CREATE SCHEMA ${schema}`);
  } finally {
    await admin.close();
  }
  const url = new URL(base);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return url.toString();
}

/** The message `loadConfig` refuses `env` with (a ConfigError); fails the test when it accepts it. */
export function configError(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('loadConfig accepted the configuration');
}
