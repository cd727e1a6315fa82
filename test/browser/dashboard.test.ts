import { mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Config } from '../../src/config';
import { addDays, utcDay } from '../../src/domain/health';
import { ENRICHMENT_STATUSES } from '../../src/domain/status';
import { ATTENTION_STATUSES, statusQuery, webUiStatusLink } from '../../src/intake/dashboard-html';
import { openLedger, type Ledger } from '../../src/ledger/ledger';
import { openPostgres, type Sql } from '../../src/ledger/sql';
import type { Company } from '../../src/sandbox/dataset';
import { createIntake, type Intake } from '../../src/starter';
import { CHROMIUM_ARGS, findChromium } from '../../src/tools/chromium';
import { freePort, startDevServer, type DevServer } from '../../src/tools/dev-server';
import { applySchedules, HEALTH_SCHEDULE_ID } from '../../src/temporal/schedules';
import { ADMIN_TOKEN, privateDatabaseUrl, testConfig } from '../support/config';
import { eventually } from '../support/eventually';
import { startSandbox, type RunningSandbox } from '../support/sandbox';
import { clearbitCompanies, deliver, posthogSignup } from '../support/signups';
import { startWorker, type RunningWorker } from '../support/stack';

/** Where the screenshots go (TEST_ARTIFACTS_DIR, else test-artifacts/ at the repository root; git ignores it). */
const ARTIFACTS = process.env.TEST_ARTIFACTS_DIR ?? path.resolve(__dirname, '../../test-artifacts');
const executablePath = findChromium();
const why = executablePath
  ? ''
  : ` — SKIPPED: no Chromium (${process.env.CHROMIUM_PATH ? `CHROMIUM_PATH=${process.env.CHROMIUM_PATH} does not exist` : '/usr/bin/chromium is missing: apt-get install chromium, or set CHROMIUM_PATH'})`;

// The suite's one allowed skip: said out loud, with the reason, in the run's output.
if (why) console.warn(`[browser tests]${why}`);

/** What the Web UI and the dashboard need time for: visibility catching up, the UI's scripts loading on 2 busy cores. */
const UI_TIMEOUT_MS = 90_000;

// The dashboard and the Temporal Web UI in Debian's Chromium, after a run of the real pipeline: a Temporal dev server
// of this file's own (with its Web UI, on OS-picked ports), the sandbox, the real worker and starter, PostgreSQL.
describe.skipIf(!executablePath)(`browser: the dashboard and the Web UI${why}`, () => {
  let server: DevServer;
  let sandbox: RunningSandbox;
  let config: Config;
  let ledger: Ledger;
  let sql: Sql;
  let worker: RunningWorker;
  let intake: Intake;
  let client: Client;
  let base: string;
  let uiUrl: string;
  let browser: Browser;
  let context: BrowserContext;
  const enriched: { workflowId: string; domain: string }[] = [];
  const waiting: string[] = [];
  const stops: (() => Promise<unknown>)[] = [];

  const post = async (company: Company, daysAgo: number) => {
    const payload = posthogSignup({ email: company.people[0]!.email });
    payload.event.timestamp = new Date(Date.now() - daysAgo * 86_400_000).toISOString();
    const res = await deliver(base, '/webhooks/posthog', payload);
    expect(res.status).toBe(202);
    return res.body as { signupId: string; workflowId: string };
  };
  const count = async (query: string) => (await client.workflow.count(query)).count;
  const settled = (signupId: string) =>
    eventually(async () => ((await ledger.signups.getSignup(signupId))?.enrichedAt ? true : undefined), 90_000);

  beforeAll(async () => {
    const port = await freePort();
    const uiPort = await freePort();
    server = await startDevServer({ cli: inject('temporalCli'), port, uiPort });
    stops.push(() => server.stop());
    uiUrl = `http://127.0.0.1:${uiPort}`;
    sandbox = await startSandbox();
    stops.push(() => sandbox.close());
    const databaseUrl = await privateDatabaseUrl();
    config = testConfig({
      TEMPORAL_ADDRESS: `127.0.0.1:${port}`,
      TEMPORAL_UI_URL: uiUrl,
      SANDBOX_URL: sandbox.url,
      DATABASE_URL: databaseUrl,
      ENRICHMENT_PROVIDERS: 'clearbit,harmonic',
      WRITE_RETRY_INITIAL_SECONDS: '1',
      // Every provider down this long fails the signup: the dashboard's failed count gets one.
      PROVIDER_FALLTHROUGH_MINUTES: '0.1',
    });
    ledger = await openLedger({ databaseUrl });
    stops.push(() => ledger.close());
    sql = await openPostgres(databaseUrl);
    stops.push(() => sql.close());
    worker = await startWorker(config, ledger);
    stops.push(() => worker.shutdown());
    intake = createIntake(config, ledger, { outboxPollMs: 200 });
    stops.push(() => intake.close());
    base = await intake.app.listen({ host: '127.0.0.1', port: 0 });
    client = new Client({ connection: await Connection.connect({ address: config.temporal.address }) });
    stops.push(() => client.connection.close());
    // As the worker process does at start-up (src/worker.ts): the dashboard shows their next runs.
    await applySchedules(client, config);

    // Enriched on three days; one while every provider is down (failed); then credits run out (two wait).
    const [a, b, c, down, d, e] = clearbitCompanies;
    for (const [company, daysAgo] of [
      [a!, 0],
      [b!, 1],
      [c!, 3],
    ] as const) {
      const s = await post(company, daysAgo);
      await settled(s.signupId);
      enriched.push({ workflowId: s.workflowId, domain: company.domain });
    }
    await sandbox.control('clearbit', { failureRate: 1 });
    await sandbox.control('harmonic', { failureRate: 1 });
    await post(down!, 2);
    await eventually(async () => ((await count(statusQuery('failed'))) === 1 ? true : undefined), UI_TIMEOUT_MS);
    await sandbox.control('clearbit', { failureRate: 0 });
    await sandbox.control('harmonic', { failureRate: 0 });
    await sandbox.control('clearbit', { credits: 0 });
    await sandbox.control('harmonic', { credits: 0 });
    for (const company of [d!, e!]) waiting.push((await post(company, 0)).workflowId);
    // Visibility (what the dashboard counts and the Web UI lists) follows the workflows a moment later.
    await eventually(
      async () =>
        (await count(statusQuery('waiting_for_credits'))) === 2 &&
        (await count(statusQuery('failed'))) === 1 &&
        (await count(statusQuery('enriched'))) === 3
          ? true
          : undefined,
      UI_TIMEOUT_MS,
    );
    await ledger.health.recordIncidentDay(utcDay(Date.now() - 86_400_000), {
      kind: 'credits',
      system: 'clearbit',
      summary: 'clearbit out of credits <since yesterday>',
    });
    await ledger.health.setSnooze(addDays(utcDay(Date.now()), 2), 'provider top-up ordered');

    mkdirSync(ARTIFACTS, { recursive: true });
    browser = await chromium.launch({ executablePath, args: [...CHROMIUM_ARGS] });
    stops.push(() => browser.close());
    // A fresh, throwaway profile (Playwright's own temporary directory). The browser way in: the dashboard sends it to the login, whose Basic prompt Playwright answers.
    context = await browser.newContext({
      httpCredentials: { username: 'operator', password: ADMIN_TOKEN },
      viewport: { width: 1280, height: 900 },
    });
  }, 600_000);

  afterAll(async () => {
    for (const stop of stops.reverse()) await stop().catch((err: unknown) => console.error(err));
  });

  /** The text of the page and of every frame in it (the Web UI renders Markdown in sandboxed frames). */
  const framesText = async (page: Page) =>
    (
      await Promise.all(
        page.frames().map((f) =>
          f
            .locator('body')
            .innerText({ timeout: 1_000 })
            .catch(() => ''),
        ),
      )
    ).join('\n');

  const screenshot = async (page: Page, name: string) => {
    const file = path.join(ARTIFACTS, name);
    await page.screenshot({ path: file, fullPage: true });
    expect(statSync(file).size).toBeGreaterThan(10_000);
  };

  it('shows the numbers of the ledger and of Temporal, the 14-day chart with its threshold, and links to the Web UI', async () => {
    const page = await context.newPage();
    const res = await page.goto(`${base}/dashboard`);
    expect(res?.status()).toBe(200);
    expect(new URL(page.url()).pathname).toBe('/dashboard');
    const cookies = await context.cookies(base);
    expect(cookies.map((c) => [c.name, c.httpOnly, c.sameSite])).toEqual([['operator_session', true, 'Strict']]);

    const text = async (testid: string, attr?: [string, string]) =>
      (
        await page.locator(`[data-testid="${testid}"]${attr ? `[data-${attr[0]}="${attr[1]}"]` : ''}`).textContent()
      )?.trim();

    // Statuses: the ledger's, read straight from its table.
    const byStatus = Object.fromEntries(
      (
        await sql.query<{ status: string; n: number }>('SELECT status, count(*)::int AS n FROM signups GROUP BY status')
      ).map((r) => [r.status, r.n]),
    );
    expect(byStatus).toMatchObject({ enriched: 3, failed: 1 });
    for (const status of ENRICHMENT_STATUSES) {
      expect(await text('status-count', ['status', status]), status).toBe(String(byStatus[status] ?? 0));
    }

    // Days: signups by signup day, writes by recording day (the health check's definitions), straight from SQL.
    const today = utcDay(Date.now());
    const days = Array.from({ length: 14 }, (_, i) => addDays(today, i - 13));
    const perDay = async (column: string, filter: string) =>
      Object.fromEntries(
        (
          await sql.query<{ day: string; n: number }>(
            `SELECT to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, count(*)::int AS n FROM signups
             WHERE ${column} IS NOT NULL ${filter} GROUP BY 1`,
          )
        ).map((r) => [r.day, r.n]),
      );
    const signups = await perDay('signed_up_at', '');
    const writes = await perDay('enriched_at', "AND status IN ('enriched', 'partial')");
    expect(Object.values(signups).reduce((a, b) => a + b, 0)).toBe(6);
    for (const day of days) {
      expect(await text('day-signups', ['day', day]), day).toBe(String(signups[day] ?? 0));
      expect(await text('day-writes', ['day', day]), day).toBe(String(writes[day] ?? 0));
      expect(await page.locator(`[data-testid="bar-signups"][data-day="${day}"]`).getAttribute('data-value')).toBe(
        String(signups[day] ?? 0),
      );
    }

    // The chart: 14 pairs of bars and the threshold line, drawn inside the plot.
    const chart = page.getByTestId('day-chart');
    await expect.poll(() => chart.locator('[data-testid="bar-signups"]').count()).toBe(14);
    expect(await chart.locator('[data-testid="bar-writes"]').count()).toBe(14);
    const threshold = chart.getByTestId('threshold-line');
    expect(await threshold.getAttribute('data-value')).toBe(String(config.health.rules.minWrites));
    const box = await threshold.boundingBox();
    const chartBox = await chart.boundingBox();
    expect(box!.width).toBeGreaterThan(chartBox!.width / 2);
    expect(box!.y).toBeGreaterThanOrEqual(chartBox!.y);
    expect(await page.getByText(`alert threshold: ${config.health.rules.minWrites} writes/day`).count()).toBe(1);

    // Credits: the ledger's per provider, which are what the sandbox charged.
    const credits = Object.fromEntries(
      (
        await sql.query<{ provider: string; n: string }>(
          `SELECT c.key AS provider, sum((c.value #>> '{}')::numeric)::text AS n FROM signups s, jsonb_each(s.credits_spent) c
           WHERE s.enriched_at >= $1 GROUP BY 1`,
          [`${days[0]}T00:00:00Z`],
        )
      ).map((r) => [r.provider, Number(r.n)]),
    );
    expect(credits.clearbit).toBeGreaterThan(0);
    for (const provider of ['clearbit', 'harmonic']) {
      // A provider nothing was spent with has no column.
      const cell = page.locator(`[data-testid="credits-total"][data-provider="${provider}"]`);
      const shown = (await cell.count()) === 0 ? 0 : Number(await cell.textContent());
      expect(shown, provider).toBe(credits[provider] ?? 0);
      expect(shown, provider).toBe((await sandbox.inspect<{ creditsSpent: number }>(provider)).creditsSpent);
    }

    // Needs a look: the workflows Temporal lists under each status, the ledger's signups beside them, the links.
    for (const status of ATTENTION_STATUSES) {
      expect(await text(`attention-${status}`), status).toBe(String(await count(statusQuery(status))));
      expect(await page.getByTestId(`attention-link-${status}`).getAttribute('href')).toBe(
        webUiStatusLink({ url: uiUrl, namespace: config.temporal.namespace }, status),
      );
    }
    expect(await text('attention-waiting_for_credits')).toBe('2');
    expect(await text('attention-failed')).toBe('1');
    expect(await text('attention-ledger-failed')).toBe(String(byStatus.failed));

    // Incidents, snooze and schedules.
    expect(await page.getByTestId('incident').textContent()).toContain('clearbit out of credits <since yesterday>');
    expect(await page.getByTestId('snooze').textContent()).toContain('provider top-up ordered');
    expect(await text('schedule-next', ['id', HEALTH_SCHEDULE_ID])).toMatch(/^\d{4}-\d{2}-\d{2}T09:00:00\.000Z/);

    await screenshot(page, 'dashboard.png');

    // The waiting count's link opens the Web UI on exactly those workflows.
    await page.getByTestId('attention-link-waiting_for_credits').click();
    await page.waitForURL(/\/namespaces\/default\/workflows\?query=/, { timeout: UI_TIMEOUT_MS });
    for (const workflowId of waiting) await page.getByText(workflowId).first().waitFor({ timeout: UI_TIMEOUT_MS });
    const listed = await page.locator('body').innerText();
    expect([...new Set(listed.match(/signup-org-[0-9a-f-]+/g))].sort()).toEqual([...waiting].sort());
    await page.close();
  }, 300_000);

  it('lists the enriched signup workflows with their summaries in the Temporal Web UI', async () => {
    const page = await context.newPage();
    const list = webUiStatusLink({ url: uiUrl, namespace: config.temporal.namespace }, 'enriched');
    await page.goto(list);
    for (const { workflowId } of enriched) {
      await page.getByText(workflowId).first().waitFor({ timeout: UI_TIMEOUT_MS });
    }
    // The failed and the waiting ones are not in this list.
    const listed = await page.locator('body').innerText();
    expect([...new Set(listed.match(/signup-org-[0-9a-f-]+/g))].sort()).toEqual(
      enriched.map((e) => e.workflowId).sort(),
    );
    await screenshot(page, 'web-ui.png');
    // Each one's page shows its summary (the workflow's static summary) and its current details.
    for (const { workflowId, domain } of enriched) {
      await page.locator(`a[href*="/workflows/${workflowId}/"]`).first().click();
      await page.waitForURL(new RegExp(`/workflows/${workflowId}/`), { timeout: UI_TIMEOUT_MS });
      // UI 2.x shows a workflow's summary and details under its "User Metadata" tab, as Markdown rendered in frames.
      await page.getByText('User Metadata', { exact: true }).first().click();
      await expect.poll(() => framesText(page), { timeout: UI_TIMEOUT_MS }).toContain(`Signup enrichment · ${domain}`);
      // The current details come from a query the worker answers.
      await expect.poll(() => framesText(page), { timeout: UI_TIMEOUT_MS }).toMatch(/Status:\s*enriched/);
      await screenshot(page, 'web-ui-workflow.png');
      await page.goto(list);
    }
    await page.close();
  }, 300_000);
});
