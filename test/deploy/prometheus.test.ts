import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIntakeMetrics } from '../../src/intake/metrics';
import { openLedger, type Ledger } from '../../src/ledger/ledger';
import { createPipelineMetrics } from '../../src/metrics/pipeline';
import { findPromtool } from '../../src/tools/promtool';
import { dashboardExpressions, familyOf, metricNamesIn, ruleExpressions } from '../support/metrics';

/**
 * deploy/prometheus/alerts.yml through Prometheus's own promtool (`src/tools/setup.ts --tests` fetches it), its unit
 * tests (alerts.test.yml), and the metric names it and the Grafana dashboard read, against the ones exported.
 */

const root = path.join(__dirname, '..', '..');
const RULES = path.join(root, 'deploy', 'prometheus', 'alerts.yml');
const RULE_TESTS = path.join(root, 'deploy', 'prometheus', 'alerts.test.yml');
const DASHBOARD = path.join(root, 'deploy', 'grafana', 'signup-enrichment.json');
const dir = mkdtempSync(path.join(os.tmpdir(), 'signup-promtool-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const promtool = (...args: string[]) => {
  const bin = findPromtool();
  if (!bin) throw new Error('promtool not found: run `npx tsx src/tools/setup.ts --tests` (npm test does)');
  return spawnSync(bin, args, { encoding: 'utf8' });
};

describe('the Prometheus alert rules (deploy/prometheus/alerts.yml)', () => {
  it('pass promtool check rules', () => {
    const result = promtool('check', 'rules', RULES);
    expect(result.stderr + result.stdout).toMatch(/SUCCESS: \d+ rules found/);
    expect(result.status).toBe(0);
  });

  it('pass their unit tests (promtool test rules): each alert fires when it should, and not before', () => {
    const result = promtool('test', 'rules', RULE_TESTS);
    expect(result.stdout + result.stderr).toContain('SUCCESS');
    expect(result.status).toBe(0);
  });

  it('a broken rule is refused (the check can fail)', () => {
    const broken = path.join(dir, 'broken.yml');
    writeFileSync(
      broken,
      readFileSync(RULES, 'utf8').replace(
        'max(signup_outbox_oldest_pending_age_seconds) > 600',
        'max(signup_outbox_oldest_pending_age_seconds > 600',
      ),
    );
    const result = promtool('check', 'rules', broken);
    expect(result.status).not.toBe(0);
    expect(result.stderr + result.stdout).toMatch(/FAILED|error/i);
  });
});

describe('the metric names alerts.yml and the Grafana dashboard read', () => {
  let ledger: Ledger;
  let families: Set<string>;

  beforeAll(async () => {
    ledger = await openLedger({ databaseUrl: undefined });
    // The worker's registry (with the running-workflows gauge a worker with a client has) and the starter's.
    const worker = createPipelineMetrics({ ledger: ledger.metrics, countRunningWorkflows: () => Promise.resolve(0) });
    const starter = createIntakeMetrics(ledger.outbox);
    families = new Set(
      [...worker.registry.getMetricsAsArray(), ...starter.registry.getMetricsAsArray()].map((m) => m.name),
    );
  });
  afterAll(() => ledger?.close());

  const rules = ruleExpressions(readFileSync(RULES, 'utf8'));
  const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { schemaVersion: number; panels: unknown[] };
  const panels = dashboardExpressions(dashboard);

  it('finds the expressions (one per rule, one per dashboard query)', () => {
    expect(rules.length).toBe(7);
    expect(panels.length).toBeGreaterThanOrEqual(15);
    expect(dashboard.schemaVersion).toBe(39);
  });

  it('uses only signup_* names the worker or the starter exports', () => {
    const used = [...rules, ...panels].flatMap(metricNamesIn).filter((n) => n.startsWith('signup_'));
    expect(used.length).toBeGreaterThan(10);
    expect(used.filter((n) => familyOf(n, families) === undefined)).toEqual([]);
  });

  it("every dashboard panel and query uses the dashboard's Prometheus data source variable", () => {
    const sources: unknown[] = [];
    const visit = (list: unknown[] | undefined) => {
      for (const p of (list ?? []) as {
        type: string;
        datasource?: unknown;
        targets?: { datasource?: unknown }[];
        panels?: unknown[];
      }[]) {
        if (p.type !== 'row') sources.push(p.datasource, ...(p.targets ?? []).map((t) => t.datasource));
        visit(p.panels);
      }
    };
    visit(dashboard.panels);
    expect(sources.length).toBeGreaterThan(panels.length);
    for (const d of sources) expect(d).toEqual({ type: 'prometheus', uid: '${datasource}' });
  });
});
