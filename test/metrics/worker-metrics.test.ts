import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { openPostgres, type Sql } from '../../src/ledger/sql';
import { createDataset } from '../../src/sandbox/dataset';
import { createIntake } from '../../src/starter';
import { freePort } from '../../src/tools/dev-server';
import { getStatusQuery } from '../../src/workflows/messages';
import { SECRET } from '../support/config';
import { eventually } from '../support/eventually';
import {
  dashboardExpressions,
  familyOf,
  metricNamesIn,
  metricTypes,
  parseMetrics,
  ruleExpressions,
  type Sample,
} from '../support/metrics';
import { startSandbox, type RunningSandbox } from '../support/sandbox';
import { clearbitCompanies, posthogSignup, signupOf, type PosthogPayload } from '../support/signups';
import { isolatedStack, spawnWorker, type IsolatedStack } from '../support/stack';

const METRICS_TOKEN = 'test-worker-metrics-token';

/** The SDK's families the endpoint must carry (Core's exporter, named the Prometheus way by src/metrics/sdk.ts). */
const SDK_FAMILIES = [
  'temporal_workflow_task_execution_latency_seconds',
  'temporal_workflow_task_schedule_to_start_latency_seconds',
  'temporal_activity_execution_latency_seconds',
  'temporal_activity_schedule_to_start_latency_seconds',
  'temporal_num_pollers',
];

interface Inspection {
  creditsSpent: number;
  calls: { kind: string; path: string }[];
}

const lookupCalls = (i: Inspection): number =>
  i.calls.filter((c) => c.kind === 'request' && !c.path.includes('enrichment_status')).length;

/** JSON with sorted keys: the same counts in any order compare equal. */
const canonical = (v: unknown): string =>
  JSON.stringify(v, (_k, x: unknown) =>
    x && typeof x === 'object' && !Array.isArray(x)
      ? Object.fromEntries(Object.entries(x as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)))
      : x,
  );

// A real worker process (src/worker.ts) with WORKER_METRICS_PORT, the run's Temporal server, PostgreSQL and the
// sandbox over HTTP: after a sandbox run, its endpoint carries the SDK's metrics and the pipeline's, and the pipeline's
// equal the ledger's counts and the sandbox's /_inspect counts.
describe('the worker metrics endpoint', () => {
  const stops: (() => Promise<unknown>)[] = [];
  let sandbox: RunningSandbox;
  let stack: IsolatedStack;
  let client: Client;
  let worker: ChildProcess;
  let metricsUrl: string;
  let intakeUrl: string;
  /** The test's own connection to the worker's ledger, for the numbers the metrics must equal. */
  let sql: Sql;
  const signups: { payload: PosthogPayload; signupId: string; workflowId: string; email: string }[] = [];

  const scrape = async (token: string | null = METRICS_TOKEN) =>
    fetch(metricsUrl, token ? { headers: { authorization: `Bearer ${token}` } } : {});
  const samples = async (): Promise<Sample[]> => {
    const res = await scrape();
    expect(res.status).toBe(200);
    return parseMetrics(await res.text());
  };

  beforeAll(async () => {
    sandbox = await startSandbox();
    stops.push(() => sandbox.close());
    stack = await isolatedStack({ SANDBOX_URL: sandbox.url }, { stops, worker: false });
    sql = await openPostgres(stack.config.databaseUrl!);
    stops.push(() => sql.close());
    client = new Client({ connection: await Connection.connect({ address: inject('temporalAddress') }) });
    stops.push(() => client.connection.close());
    const port = await freePort();
    metricsUrl = `http://127.0.0.1:${port}/metrics`;
    worker = spawnWorker(stack.config, {
      WORKER_METRICS_PORT: String(port),
      METRICS_TOKEN,
      WORKFLOW_BUNDLE_PATH: inject('workflowBundlePath'),
    });
    const exited = new Promise((resolve) => worker.once('exit', resolve));
    stops.push(async () => {
      worker.kill('SIGTERM');
      await exited;
    });
    await eventually(async () => ((await scrape().catch(() => undefined))?.status === 200 ? true : undefined), 90_000);
    const intake = createIntake(stack.config, stack.ledger, { outboxPollMs: 200 });
    const base = await intake.app.listen({ host: '127.0.0.1', port: 0 });
    intakeUrl = base;
    stops.push(() => intake.close());

    const post = async (payload: PosthogPayload) => {
      const res = await fetch(`${base}/webhooks/posthog`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${SECRET}` },
        body: JSON.stringify(payload),
      });
      expect(res.status).toBe(202);
      const { signupId, workflowId } = (await res.json()) as { signupId: string; workflowId: string };
      signups.push({ payload, signupId, workflowId, email: payload.person.properties.email as string });
    };
    const harmonicOnly = createDataset().companies.find(
      (c) => c.knownBy.harmonic && !c.knownBy.clearbit && !c.quirks && c.people.length > 0,
    );
    // Three companies Clearbit knows, one only Harmonic knows (Clearbit's 404 first), and a free-mail signup.
    for (const company of [...clearbitCompanies.slice(0, 3), harmonicOnly!]) await post(signupOf(company));
    await post(posthogSignup({ email: 'metrics.person@gmail.com' }));
    await eventually(async () => {
      for (const s of signups) {
        const status = await client.workflow.getHandle(s.workflowId).query(getStatusQuery);
        const writes = status.signups.flatMap((x) => Object.values(x.writes ?? {}));
        const settled =
          status.signups.every((x) => !['received', 'enriching'].includes(x.status)) &&
          writes.every((w) => !['pending', 'retrying'].includes(w.state));
        if (!settled) return undefined;
      }
      return true;
    }, 120_000);

    // Then every provider runs out of credits: the next signup waits for them.
    await sandbox.control('clearbit', { credits: 0 });
    await sandbox.control('harmonic', { credits: 0 });
    await post(signupOf(clearbitCompanies[3]!));
  }, 300_000);

  afterAll(async () => {
    for (const stop of stops.reverse()) await stop();
  });

  it('shows the Temporal SDK metrics of the worker and of each provider queue', async () => {
    const all = await samples();
    const names = new Set(all.map((s) => s.name));
    for (const family of SDK_FAMILIES) {
      expect(
        [...names].some((n) => n === family || n.startsWith(`${family}_`)),
        family,
      ).toBe(true);
    }
    const activityRuns = (queue: string) =>
      all
        .filter((s) => s.name === 'temporal_activity_execution_latency_seconds_count' && s.labels.task_queue === queue)
        .reduce((sum, s) => sum + s.value, 0);
    expect(activityRuns(`${stack.config.temporal.taskQueue}-clearbit`)).toBeGreaterThan(0);
    expect(value(all, 'signup_worker_metrics_errors_total', { source: 'sdk' })).toBe(0);
  });

  it("shows pipeline values equal to the ledger's and the sandbox's counts", async () => {
    // The waiting signup shows in visibility, then every pipeline value matches (a reading serves 10 s of scrapes).
    await eventually(async () => {
      const all = await samples();
      return value(all, 'signup_running_workflows', { enrichment_status: 'waiting_for_credits' }) === 1
        ? true
        : undefined;
    }, 60_000);
    const matched = await eventually(async () => {
      const all = await samples();
      const ledger = await ledgerCounts();
      const clearbit = await sandbox.inspect<Inspection>('clearbit');
      const harmonic = await sandbox.inspect<Inspection>('harmonic');
      const expected = {
        credits: { clearbit: clearbit.creditsSpent, harmonic: harmonic.creditsSpent },
        // Every lookup the sandbox answered (Harmonic's enrichment-status polls are not lookups).
        requests: { clearbit: lookupCalls(clearbit), harmonic: lookupCalls(harmonic) },
        ...ledger,
      };
      const actual = {
        credits: {
          clearbit: value(all, 'signup_enrichment_credits_spent_total', { provider: 'clearbit' }),
          harmonic: value(all, 'signup_enrichment_credits_spent_total', { provider: 'harmonic' }),
        },
        requests: {
          clearbit: sum(all, 'signup_provider_lookups_total', { provider: 'clearbit' }),
          harmonic: sum(all, 'signup_provider_lookups_total', { provider: 'harmonic' }),
        },
        statuses: Object.fromEntries(
          all
            .filter((s) => s.name === 'signup_ledger_signups')
            .map((s): [string, number] => [s.labels.status ?? '', s.value]),
        ),
        writes: Object.fromEntries(
          all
            .filter((s) => s.name === 'signup_destination_writes')
            .map((s) => [`${s.labels.destination}/${s.labels.state}`, s.value]),
        ),
        lookups: Object.fromEntries(
          all
            .filter((s) => s.name === 'signup_provider_lookups_total')
            .map((s) => [`${s.labels.provider}/${s.labels.lookup}/${s.labels.outcome}`, s.value]),
        ),
        settledCount: sum(all, 'signup_receipt_to_settled_seconds_count', {}),
      };
      return canonical(actual) === canonical(expected) ? { all, expected } : undefined;
    }, 60_000).catch(async (err: Error) => {
      throw new Error(`${err.message}\nledger: ${JSON.stringify(await ledgerCounts())}`);
    });
    const { all, expected } = matched;
    // The run spent credits and answered lookups for real, and the waiting signup's providers said so.
    expect(expected.credits.clearbit).toBeGreaterThan(0);
    expect(expected.credits.harmonic).toBeGreaterThan(0);
    expect(
      sum(all, 'signup_provider_lookups_total', { provider: 'clearbit', outcome: 'credits_exhausted' }),
    ).toBeGreaterThan(0);
    expect(expected.settledCount).toBe(5);
    expect(expected.writes['posthog/done']).toBeGreaterThan(0);
    // The histogram's sum is the ledger's receipt-to-record time of those signups.
    const [row] = await sql.query<{ seconds: number }>(
      `SELECT sum(extract(epoch FROM enriched_at - received_at))::float8 AS seconds FROM signups
       WHERE enriched_at IS NOT NULL`,
    );
    expect(sum(all, 'signup_receipt_to_settled_seconds_sum', {})).toBeCloseTo(row!.seconds, 1);
    expect(value(all, 'signup_outbox_oldest_pending_age_seconds', {})).toBe(0);
    expect(value(all, 'signup_worker_metrics_errors_total', { source: 'ledger' })).toBe(0);
    expect(value(all, 'signup_worker_metrics_errors_total', { source: 'temporal' })).toBe(0);
  });

  it('exports every metric alerts.yml and the Grafana dashboard read (the worker and the starter, scraped for real)', async () => {
    const worker = await (await scrape()).text();
    const starter = await (await fetch(`${intakeUrl}/metrics`)).text();
    const families = new Set([...metricTypes(worker).keys(), ...metricTypes(starter).keys()]);
    const root = path.join(__dirname, '..', '..');
    const used = [
      ...ruleExpressions(readFileSync(path.join(root, 'deploy/prometheus/alerts.yml'), 'utf8')),
      ...dashboardExpressions(
        JSON.parse(readFileSync(path.join(root, 'deploy/grafana/signup-enrichment.json'), 'utf8')) as {
          panels: unknown[];
        },
      ),
    ].flatMap(metricNamesIn);
    expect(used.filter((n) => n.startsWith('temporal_')).length).toBeGreaterThan(3);
    expect([...new Set(used)].filter((n) => familyOf(n, families) === undefined)).toEqual([]);
  });

  it('carries no personal data or ids, and asks for METRICS_TOKEN when it is set', async () => {
    const text = await (await scrape()).text();
    for (const s of signups) {
      const domain = s.email.split('@')[1]!;
      for (const needle of [s.email, s.signupId, s.workflowId, s.payload.groups.organization.id, domain]) {
        expect(text).not.toContain(needle);
      }
    }
    expect((await scrape(null)).status).toBe(401);
    expect((await scrape('wrong-token')).status).toBe(401);
    const other = await fetch(metricsUrl.replace('/metrics', '/'), {
      headers: { authorization: `Bearer ${METRICS_TOKEN}` },
    });
    expect(other.status).toBe(404);
  });

  /** The ledger's own numbers, in the shape the metrics are compared in. */
  async function ledgerCounts() {
    type Row = Record<string, string | number>;
    const q = (text: string) => sql.query<Row>(text);
    const statuses = await q('SELECT status, count(*)::int AS n FROM signups GROUP BY status ORDER BY status');
    const writes = await q(
      'SELECT destination, state, count(*)::int AS n FROM destination_writes GROUP BY 1, 2 ORDER BY 1, 2',
    );
    const lookups = await q(
      'SELECT provider, lookup, outcome, count(*)::int AS n FROM provider_responses GROUP BY 1, 2, 3 ORDER BY 1, 2, 3',
    );
    const settled = await q('SELECT count(*)::int AS n FROM signups WHERE enriched_at IS NOT NULL');
    return {
      statuses: Object.fromEntries(statuses.map((r): [string, string | number] => [String(r.status), r.n!])),
      writes: Object.fromEntries(writes.map((r) => [`${r.destination}/${r.state}`, r.n])),
      lookups: Object.fromEntries(lookups.map((r) => [`${r.provider}/${r.lookup}/${r.outcome}`, r.n])),
      settledCount: settled[0]?.n,
    };
  }
});

/** The one sample of `name` whose labels include `labels` (undefined: none). */
function value(all: Sample[], name: string, labels: Record<string, string>): number | undefined {
  const found = all.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (found.length > 1) throw new Error(`${name} ${JSON.stringify(labels)}: ${found.length} samples`);
  return found[0]?.value;
}

/** The sum of every sample of `name` whose labels include `labels`. */
function sum(all: Sample[], name: string, labels: Record<string, string>): number {
  return all
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((total, s) => total + s.value, 0);
}
