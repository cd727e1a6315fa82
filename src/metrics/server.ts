import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isAuthorized } from '../intake/auth';
import type { PipelineMetrics } from './pipeline';
import { SDK_SCRAPE_TIMEOUT_MS } from './sdk';

/** A scrape request may take this long, headers included, before the server drops it. */
export const METRICS_REQUEST_TIMEOUT_MS = 15_000;

export interface WorkerMetricsServer {
  /** `http://host:port`, the endpoint at `${url}/metrics`. */
  url: string;
  close(): Promise<void>;
}

export class MetricsPortInUseError extends Error {}

/**
 * The worker's Prometheus endpoint: `GET /metrics` answers the pipeline's metrics followed by the Temporal SDK's (the
 * text of Core's exporter at `sdkUrl`, read with a short timeout). Without the SDK's text — no exporter, or it did not
 * answer in time — the pipeline's metrics are still served, and `signup_worker_metrics_errors_total{source="sdk"}`
 * counts the miss. Behind `Authorization: Bearer <METRICS_TOKEN>` when a token is set, like the starter's `/metrics`.
 */
export async function startWorkerMetricsServer(o: {
  host: string;
  port: number;
  metrics: PipelineMetrics;
  /** Core's exporter, `http://127.0.0.1:<port>/metrics`; undefined: pipeline metrics only. */
  sdkUrl?: string;
  token?: string;
}): Promise<WorkerMetricsServer> {
  const sdkText = async (): Promise<string> => {
    if (o.sdkUrl === undefined) return '';
    try {
      const res = await fetch(o.sdkUrl, { signal: AbortSignal.timeout(SDK_SCRAPE_TIMEOUT_MS) });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      return await res.text();
    } catch {
      o.metrics.errors.inc({ source: 'sdk' });
      return '';
    }
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?', 1)[0];
    if (path !== '/metrics') return send(res, 404, { error: 'not found: the metrics are at GET /metrics' });
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      return send(res, 405, { error: `method ${req.method ?? ''} not allowed: GET /metrics` });
    }
    if (o.token !== undefined && !isAuthorized(req.headers.authorization, o.token)) {
      res.setHeader('www-authenticate', 'Bearer');
      return send(res, 401, { error: 'missing or wrong bearer token (METRICS_TOKEN)' });
    }
    // The SDK's text first, so that a miss is counted in this very answer.
    const sdk = await sdkText();
    const ours = await o.metrics.text();
    res.writeHead(200, { 'content-type': o.metrics.registry.contentType });
    res.end(req.method === 'HEAD' ? undefined : `${ours.trimEnd()}\n${sdk.trimEnd()}\n`);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => send(res, 500, { error: 'metrics could not be collected' }));
  });
  server.requestTimeout = METRICS_REQUEST_TIMEOUT_MS;
  server.headersTimeout = METRICS_REQUEST_TIMEOUT_MS;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'EADDRINUSE'
          ? new MetricsPortInUseError(
              `port ${o.port} is already in use: the worker's metrics endpoint needs another WORKER_METRICS_PORT ` +
                '(or WORKER_METRICS_PORT=off)',
            )
          : err,
      ),
    );
    server.listen(o.port, o.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = o.host.includes(':') ? `[${o.host}]` : o.host;
  return {
    url: `http://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function send(res: ServerResponse, status: number, body: { error: string }): void {
  if (res.headersSent) return void res.end();
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify(body));
}
