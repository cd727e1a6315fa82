import { format, inspect } from 'node:util';
import { DefaultLogger, Runtime, type Logger, type LogLevel, type TelemetryOptions } from '@temporalio/worker';
import type { FastifyServerOptions } from 'fastify';
import { prettyFactory } from 'pino-pretty';
import type { Config } from './config';
import { createRedactor, SECRET_MASK, type Redactor } from './redact';

/**
 * Where each process's logs go, every line through the one redactor of its configuration (src/redact.ts): the
 * starter's pino logger, the worker's Temporal Runtime logger (the SDK's own lines, activities' `log`, workflows'
 * `log`) and the console of the long-running processes.
 */

type LogWriter = (line: string) => void;

/**
 * Request and error fields that hold credentials, cut by pino before a line is written (the default serializers log
 * no headers; these stay masked if a serializer ever does). The redactor masks the rest, wherever it appears.
 */
export const REDACTED_LOG_PATHS = [
  'req.headers.authorization',
  'req.headers["proxy-authorization"]',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  '*.headers.authorization',
  '*.headers.cookie',
];

/**
 * pino-pretty in this process, synchronously (no transport, no worker thread): one JSON line in, one readable line
 * out (`[HH:MM:ss.l] INFO: message {"other":"fields"}`). It only ever sees lines already redacted.
 */
export function prettyLines(colorize: boolean): (jsonLine: string) => string {
  const prettify = prettyFactory({
    colorize,
    singleLine: true,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname',
  });
  return (jsonLine) => prettify(jsonLine);
}

/**
 * The starter's Fastify logger: LOG_LEVEL, credential paths cut, every written line redacted, then written as it is
 * (LOG_FORMAT `json`, the default) or made readable (`pretty`: `npm start`); false when silent.
 */
export function intakeLoggerOptions(
  config: Pick<Config, 'logLevel' | 'secrets'> & Partial<Pick<Config, 'logFormat'>>,
  write: LogWriter = (line) => process.stdout.write(line),
  colorize = process.stdout.isTTY === true,
): FastifyServerOptions['logger'] {
  if (config.logLevel === 'silent') return false;
  const redactor = createRedactor(config.secrets);
  const pretty = config.logFormat === 'pretty' ? prettyLines(colorize) : undefined;
  return {
    level: config.logLevel,
    redact: { paths: REDACTED_LOG_PATHS, censor: SECRET_MASK },
    // The serialized line, whatever its fields (a message, an error's message and stack, a nested object), redacted
    // before anything else reads it.
    stream: {
      write: (line: string) => {
        const redacted = redactor.text(line);
        write(pretty ? pretty(redacted) : redacted);
      },
    },
  };
}

const TEMPORAL_LEVELS: Record<Config['logLevel'], LogLevel | undefined> = {
  trace: 'TRACE',
  debug: 'DEBUG',
  info: 'INFO',
  warn: 'WARN',
  error: 'ERROR',
  fatal: 'ERROR',
  silent: undefined,
};

/**
 * The worker's Temporal logger at LOG_LEVEL: the SDK's default line (`<time> [LEVEL] message meta`, on stderr), built
 * whole and then redacted, so an email or secret in a message, in the meta or in an error's stack is masked.
 */
export function redactingTemporalLogger(
  level: Config['logLevel'],
  redactor: Redactor,
  write: LogWriter = (line) => process.stderr.write(line),
): Logger {
  const temporalLevel = TEMPORAL_LEVELS[level];
  return new DefaultLogger(temporalLevel ?? 'ERROR', (entry) => {
    if (temporalLevel === undefined) return;
    const time = new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString();
    const meta = entry.meta === undefined ? '' : ` ${inspect(entry.meta, { depth: 6, breakLength: Infinity })}`;
    write(redactor.text(`${time} [${entry.level}] ${entry.message}${meta}`) + '\n');
  });
}

const CONSOLE_METHODS = ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const;

/** `console.*` of this process, each line redacted before it is written (the method's own stream). */
export function redactConsole(redactor: Redactor): void {
  for (const method of CONSOLE_METHODS) {
    const original = console[method].bind(console);
    console[method] = (...args: unknown[]) => original(redactor.text(format(...args)));
  }
}

/**
 * A worker process's logging (src/worker.ts, src/dev.ts), before any connection or Worker exists: the Temporal
 * Runtime logs through {@link redactingTemporalLogger}, the console through {@link redactConsole}. `telemetry`: the
 * SDK's metrics exporter, when the process serves metrics (src/metrics/sdk.ts, `planWorkerMetrics`).
 */
export function installProcessLogging(
  config: Pick<Config, 'logLevel' | 'secrets'>,
  telemetry?: TelemetryOptions,
): Redactor {
  const redactor = createRedactor(config.secrets);
  redactConsole(redactor);
  Runtime.install({
    logger: redactingTemporalLogger(config.logLevel, redactor),
    ...(telemetry ? { telemetryOptions: telemetry } : {}),
  });
  return redactor;
}
