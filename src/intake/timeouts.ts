import type { FastifyServerOptions } from 'fastify';

/**
 * The intake's socket deadlines (docs/configuration.md, "Timeouts and size limits"), so that a slow or silent
 * client cannot hold a connection open:
 * the whole request (headers and a body of up to 1 MiB) must arrive within `requestTimeout`; a connection with no
 * traffic for `connectionTimeout` is closed (it stays above the ledger's own deadlines, so a stalled ledger still
 * gets its 503 out); an idle keep-alive connection is closed after `keepAliveTimeout`.
 */
export const INTAKE_SERVER_TIMEOUTS = {
  requestTimeout: 10_000,
  connectionTimeout: 60_000,
  keepAliveTimeout: 5_000,
} as const satisfies Pick<FastifyServerOptions, 'requestTimeout' | 'connectionTimeout' | 'keepAliveTimeout'>;
