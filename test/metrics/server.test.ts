import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openLedger, type Ledger } from '../../src/ledger/ledger';
import { createPipelineMetrics, type PipelineMetrics } from '../../src/metrics/pipeline';
import { MetricsPortInUseError, startWorkerMetricsServer, type WorkerMetricsServer } from '../../src/metrics/server';
import { freePort } from '../../src/tools/dev-server';
import { metricTypes, parseMetrics } from '../support/metrics';

// The worker endpoint when a source fails: the SDK's exporter not answering, the ledger gone. The scrape still
// answers with what it could read, and counts what it could not.
describe('the worker metrics endpoint, a source down', () => {
  let ledger: Ledger;
  let metrics: PipelineMetrics;
  let server: WorkerMetricsServer;

  beforeAll(async () => {
    ledger = await openLedger({ databaseUrl: undefined });
    // Nothing listens on the SDK exporter's port; every reading is fresh (no cache).
    metrics = createPipelineMetrics({ ledger: ledger.metrics, cacheMs: 0 });
    server = await startWorkerMetricsServer({
      host: '127.0.0.1',
      port: 0,
      metrics,
      sdkUrl: `http://127.0.0.1:${await freePort()}/metrics`,
    });
  });

  afterAll(async () => {
    await server?.close();
    await ledger?.close().catch(() => undefined);
  });

  const scrape = async () => {
    const res = await fetch(`${server.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    return res.text();
  };

  it("serves the pipeline's metrics without the SDK's, and counts each miss", async () => {
    const text = await scrape();
    const samples = parseMetrics(text);
    expect(metricTypes(text).get('signup_enrichment_credits_spent_total')).toBe('counter');
    expect(metricTypes(text).get('signup_receipt_to_settled_seconds')).toBe('histogram');
    expect(samples.some((s) => s.name.startsWith('temporal_'))).toBe(false);
    expect(samples.find((s) => s.name === 'signup_outbox_oldest_pending_age_seconds')?.value).toBe(0);
    const sdkMisses = () =>
      samples.find((s) => s.name === 'signup_worker_metrics_errors_total' && s.labels.source === 'sdk')?.value;
    expect(sdkMisses()).toBe(1);
    const again = parseMetrics(await scrape());
    expect(again.find((s) => s.name === 'signup_worker_metrics_errors_total' && s.labels.source === 'sdk')?.value).toBe(
      2,
    );
  });

  it('leaves the ledger series out when the ledger cannot be read, and counts it', async () => {
    await ledger.close();
    const samples = parseMetrics(await scrape());
    expect(samples.filter((s) => s.name === 'signup_ledger_signups')).toEqual([]);
    expect(samples.filter((s) => s.name === 'signup_outbox_oldest_pending_age_seconds')).toEqual([]);
    expect(
      samples.find((s) => s.name === 'signup_worker_metrics_errors_total' && s.labels.source === 'ledger')?.value,
    ).toBe(1);
  });

  it('answers only GET /metrics, and names a port already taken', async () => {
    expect((await fetch(`${server.url}/metrics`, { method: 'POST' })).status).toBe(405);
    expect((await fetch(`${server.url}/other`)).status).toBe(404);
    const port = Number(new URL(server.url).port);
    await expect(startWorkerMetricsServer({ host: '127.0.0.1', port, metrics })).rejects.toThrow(MetricsPortInUseError);
    await expect(startWorkerMetricsServer({ host: '127.0.0.1', port, metrics })).rejects.toThrow(
      `port ${port} is already in use`,
    );
  });
});
