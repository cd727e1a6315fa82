import type { TelemetryOptions } from '@temporalio/worker';
import type { Config } from '../config';
import { freePort } from '../tools/dev-server';

/** The worker endpoint's port under `npm start` when WORKER_METRICS_PORT is unset (Prometheus's usual exporter port). */
export const DEV_WORKER_METRICS_PORT = 9464;

/** How long the worker endpoint waits for the SDK's exporter before answering with the pipeline's metrics alone. */
export const SDK_SCRAPE_TIMEOUT_MS = 2_000;

/**
 * The Temporal SDK's metrics (Core's Prometheus exporter) named the Prometheus way: counters end in `_total`,
 * durations are histograms in seconds with the unit in the name (`temporal_activity_execution_latency_seconds`).
 */
export const SDK_PROMETHEUS_NAMING = {
  countersTotalSuffix: true,
  unitSuffix: true,
  useSecondsForDurations: true,
} as const;

/** Where the worker serves its metrics, and where the SDK's exporter behind it listens. */
export interface WorkerMetricsPlan {
  host: string;
  port: number;
  /** The SDK exporter's own address: 127.0.0.1 and a port the OS picked, read only by the worker endpoint. */
  sdkAddress: string;
  /** For `Runtime.install` (src/logging.ts): the SDK's Prometheus exporter on `sdkAddress`. */
  telemetry: TelemetryOptions;
}

/**
 * The worker endpoint of this process, if it has one: WORKER_METRICS_PORT, else `defaultPort` (`npm start`'s 9464;
 * none for `npm run worker`); `off` turns it off. Decided before `Runtime.install`, which takes the SDK's exporter once.
 */
export async function planWorkerMetrics(
  config: Pick<Config, 'workerMetrics'>,
  defaultPort: number | undefined,
): Promise<WorkerMetricsPlan | undefined> {
  const port = config.workerMetrics.port ?? defaultPort;
  if (port === undefined || port === 'off') return undefined;
  const sdkAddress = `127.0.0.1:${await freePort()}`;
  return {
    host: config.workerMetrics.host,
    port,
    sdkAddress,
    telemetry: { metrics: { prometheus: { bindAddress: sdkAddress, ...SDK_PROMETHEUS_NAMING } } },
  };
}
