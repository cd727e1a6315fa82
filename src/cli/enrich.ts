import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Client, WorkflowExecutionAlreadyStartedError, type Connection } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { ConfigError, loadConfig, type Config } from '../config';
import { isDay, percent } from '../domain/health';
import { creditsRestored, MAX_SNOOZE_DAYS, type HealthReport } from '../health/operations';
import { dataConverter } from '../temporal/codec';
import type { ForgetReport } from '../privacy/forget';
import { connectClient } from '../temporal/connection';
import { applySchedules } from '../temporal/schedules';
import { workflowCode } from '../temporal/workflow-code';
import { DOCTOR_CHECK_TIMEOUT_MS, formatTable, runDoctor } from '../doctor';
import { sumCounts, describeSummary, type ReEnrichmentInput } from '../domain/reenrichment';
import {
  getBackfillProgressQuery,
  getReEnrichmentProgressQuery,
  backfillWorkflowId,
  REENRICHMENT_PRIORITY,
  WorkflowType,
  type BackfillInput,
  type BackfillProgress,
} from '../workflows/messages';
import type { BackfillOutageWindowWorkflow } from '../workflows/backfill-outage-window';
import type { SalesforceReEnrichmentWorkflow } from '../workflows/salesforce-reenrichment';

const USAGE = `usage: enrich <command> [options]

  health [--days N]                       daily signups vs enrichment writes (default 7 days)
  backfill --from YYYY-MM-DD --to YYYY-MM-DD [--dry-run] [--wait] [--concurrency N]
                                          re-enqueue the window's signups that lack ICP fields
  pause --reason TEXT                     stop all provider calls (signups wait in \`paused\`)
  resume                                  continue paused signups
  snooze --until YYYY-MM-DD | --off       keep the health alert quiet up to that day (at most ${MAX_SNOOZE_DAYS} days ahead)
  credits-restored [--provider NAME]      wake every signup waiting for credits
  reenrich [--dry-run] [--limit N] [--budget N] [--wait]
                                          start the Salesforce re-enrichment of stale accounts now
  schedules apply                         create or update the Temporal schedules
  replay FILE                             replay an exported history against today's workflow code
  forget --email EMAIL                    erase a person: scrub the ledger, delete them in PostHog, Salesforce,
                                          Vitally, Customer.io, Mixpanel and Close, tell webhook consumers, list
                                          Slack messages and Humanic deliveries; run again to retry what failed
                                          (exit 1 while any system failed)
  doctor [--post-test-message] [--timeout SECONDS]
                                          check every configured system with a read (credentials, Salesforce
                                          fields, Temporal namespace/search attributes/schedules, database
                                          migrations); exit 1 on any failure

Talks to Temporal (TEMPORAL_ADDRESS) and, for health/pause/resume/snooze/forget, to the starter (ENRICH_API_URL).`;

/** A problem the user can fix: printed as one line, exit 1 (2 for usage). */
class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

const usage = (message: string) => new CliError(`${message}\n${USAGE}`, 2);

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === 'help') {
    console.log(USAGE);
    return;
  }
  const config = loadConfig();
  switch (command) {
    case 'health':
      return health(config, rest);
    case 'backfill':
      return backfill(config, rest);
    case 'pause':
      return pause(config, rest);
    case 'resume':
      return admin<{ signalled: number }>(config, 'POST', '/admin/resume', {}).then((r) =>
        console.log(`enrichment resumed; ${r.signalled} running signup workflows signalled`),
      );
    case 'snooze':
      return snooze(config, rest);
    case 'credits-restored':
      return credits(config, rest);
    case 'reenrich':
      return reenrich(config, rest);
    case 'schedules':
      return schedules(config, rest);
    case 'replay':
      return replay(config, rest);
    case 'doctor':
      return doctor(config, rest);
    case 'forget':
      return forget(config, rest);
    default:
      throw usage(`unknown command "${command}"`);
  }
}

function options<T extends Record<string, { type: 'string' | 'boolean' }>>(args: string[], spec: T) {
  try {
    return parseArgs({ args, options: spec, allowPositionals: true, strict: true });
  } catch (err) {
    throw usage((err as Error).message);
  }
}

function positiveInt(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw usage(`${name} must be a positive whole number (got "${value}")`);
  return n;
}

async function withClient<T>(config: Config, fn: (client: Client) => Promise<T>): Promise<T> {
  let connection: Connection;
  try {
    connection = await connectClient(config.temporal.connection, { connectTimeout: '5 seconds' });
  } catch (err) {
    const local = config.temporal.external ? '' : '; is npm start running?';
    throw new CliError(`${(err as Error).message}${local}`);
  }
  try {
    return await fn(
      new Client({ connection, namespace: config.temporal.namespace, dataConverter: dataConverter(config) }),
    );
  } finally {
    await connection.close();
  }
}

async function admin<T>(config: Config, method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  let res: Response;
  try {
    res = await fetch(`${config.apiUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${config.adminToken}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(60_000),
    });
  } catch {
    throw new CliError(`cannot reach the starter at ${config.apiUrl} (is npm start running? ENRICH_API_URL)`);
  }
  const answer = (await res.json().catch(() => ({}))) as T & { error?: string; issues?: { message: string }[] };
  if (res.status === 401)
    throw new CliError('the starter refused the ADMIN_TOKEN (401): use the same one as the starter');
  if (!res.ok) {
    const detail = answer.issues?.map((i) => i.message).join('; ') ?? answer.error ?? `HTTP ${res.status}`;
    // A 400 is input the starter's checks refused (they live there only, e.g. the snooze bound): a usage error.
    throw new CliError(`the starter answered ${res.status}: ${detail}`, res.status === 400 ? 2 : 1);
  }
  return answer;
}

async function health(config: Config, args: string[]): Promise<void> {
  const { values } = options(args, { days: { type: 'string' } });
  const days = positiveInt(values.days, '--days', 7);
  const report = await admin<HealthReport>(config, 'GET', `/admin/health?days=${days}`);
  const header = ['day', 'signups', 'writes', 'rate', 'status', 'incident'];
  const rows = report.rows.map((r) => [
    r.day,
    String(r.signups),
    String(r.writes),
    r.eligible === 0 ? '—' : percent(r.rate),
    r.checked || r.status === 'today' ? r.status : `${r.status} (not checked)`,
    r.incident ?? '',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  console.log(line(header));
  for (const r of rows) console.log(line(r));
  if (report.paused)
    console.log(`\nenrichment is PAUSED: ${report.paused.reason ?? 'no reason given'} (enrich resume)`);
  if (report.snoozedUntil) console.log(`alerts snoozed until ${report.snoozedUntil}`);
  if (report.deadLettered > 0) {
    console.log(
      `${report.deadLettered} signup(s) dead-lettered: Temporal refused their workflow start (docs/runbook.md, "Dead-lettered signups")`,
    );
  }
  if (report.openIncident) {
    const i = report.openIncident;
    console.log(`open incident ${i.id} since ${i.firstDay}: ${i.cause?.summary ?? 'cause unknown'} (docs/runbook.md)`);
  }
}

async function backfill(config: Config, args: string[]): Promise<void> {
  const { values } = options(args, {
    from: { type: 'string' },
    to: { type: 'string' },
    'dry-run': { type: 'boolean' },
    wait: { type: 'boolean' },
    concurrency: { type: 'string' },
  });
  const { from, to } = values;
  if (!from || !to) throw usage('backfill needs --from and --to');
  if (!isDay(from) || !isDay(to)) throw usage('--from and --to must be days as YYYY-MM-DD');
  if (from > to) throw usage(`--from ${from} is after --to ${to}`);
  const dryRun = values['dry-run'] ?? false;
  const input: BackfillInput = {
    from,
    to,
    dryRun,
    concurrency: positiveInt(values.concurrency, '--concurrency', config.health.backfillConcurrency),
  };
  await withClient(config, async (client) => {
    const workflowId = dryRun ? `backfill-dry-run-${from}-${to}-${Date.now()}` : backfillWorkflowId(from, to);
    let handle;
    try {
      handle = await client.workflow.start<typeof BackfillOutageWindowWorkflow>(WorkflowType.backfillOutageWindow, {
        workflowId,
        taskQueue: config.temporal.taskQueue,
        args: [input],
        staticSummary: `Backfill ${from} to ${to}${dryRun ? ' (dry run)' : ''} · started by enrich backfill`,
      });
      console.log(`started ${workflowId}${dryRun ? ' (dry run)' : ''}`);
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      handle = client.workflow.getHandle<typeof BackfillOutageWindowWorkflow>(workflowId);
      console.log(`${workflowId} is already running; following it`);
    }
    if (!dryRun && !values.wait) {
      console.log(
        `follow it: enrich backfill --from ${from} --to ${to} --wait, or the Web UI (workflow ${workflowId})`,
      );
      return;
    }
    const bar = progressBar();
    const done = handle.result();
    let finished = false;
    void done.finally(() => (finished = true)).catch(() => undefined);
    while (!finished) {
      await Promise.race([done.catch(() => undefined), new Promise((r) => setTimeout(r, 1000))]);
      if (finished) break;
      const p = await handle.query(getBackfillProgressQuery).catch(() => undefined);
      if (p) bar.update(p);
    }
    const result = await done;
    bar.end(result);
    printSummary(result);
  });
}

function progressBar() {
  const tty = process.stdout.isTTY;
  let last = '';
  const render = (p: BackfillProgress) => {
    const settled = p.enriched + Object.values(p.stillMissing).reduce((a, b) => a + b, 0);
    const total = p.dryRun ? p.found : Math.max(p.found, 1);
    const width = 30;
    const filled = p.found === 0 ? (p.phase === 'done' ? width : 0) : Math.round((settled / total) * width);
    return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${settled}/${p.found} settled · ${p.reenqueued} re-enqueued · ${p.enriched} enriched · ${p.inFlight} in flight (${p.phase})`;
  };
  return {
    update(p: BackfillProgress) {
      const text = render(p);
      if (text === last) return;
      last = text;
      if (tty) process.stdout.write(`\r${text}`);
      else console.log(text);
    },
    end(p: BackfillProgress) {
      this.update(p);
      if (tty) process.stdout.write('\n');
    },
  };
}

function printSummary(p: BackfillProgress): void {
  console.log(
    `${p.dryRun ? 'dry run: ' : ''}window ${p.from}..${p.to}: ${p.found} signups lacking ICP fields found, ` +
      `${p.reenqueued} re-enqueued, ${p.enriched} enriched`,
  );
  for (const [why, n] of Object.entries(p.stillMissing))
    console.log(`  ${n} ${p.dryRun ? '' : 'still missing: '}${why}`);
  if (p.posthogOrganizationsNotReceived > 0) {
    console.log(
      `  ${p.posthogOrganizationsNotReceived} signups PostHog recorded never reached the webhook: ` +
        (p.dryRun ? 'they would be recorded from its query API' : 'recorded from its query API'),
    );
  }
}

async function reenrich(config: Config, args: string[]): Promise<void> {
  const { values } = options(args, {
    'dry-run': { type: 'boolean' },
    limit: { type: 'string' },
    budget: { type: 'string' },
    wait: { type: 'boolean' },
  });
  const input: ReEnrichmentInput = {
    dryRun: values['dry-run'] ?? false,
    ...(values.limit === undefined ? {} : { limit: positiveInt(values.limit, '--limit', 0) }),
    ...(values.budget === undefined ? {} : { creditBudget: nonNegativeInt(values.budget, '--budget') }),
  };
  await withClient(config, async (client) => {
    const workflowId = `salesforce-reenrichment-manual-${new Date().toISOString().replace(/[-:]|\.\d+/g, '')}`;
    const handle = await client.workflow.start<typeof SalesforceReEnrichmentWorkflow>(
      WorkflowType.salesforceReEnrichment,
      {
        workflowId,
        taskQueue: config.temporal.taskQueue,
        args: [input],
        // As its activities: live signups and backfills go first.
        priority: REENRICHMENT_PRIORITY,
        staticSummary: `Salesforce re-enrichment${input.dryRun ? ' (dry run)' : ''} · started by enrich reenrich`,
      },
    );
    console.log(`started ${workflowId}${input.dryRun ? ' (dry run)' : ''}`);
    if (!values.wait) {
      console.log(
        `follow it: the Web UI (workflow ${workflowId}), or temporal workflow query --workflow-id ${workflowId} --type ${getReEnrichmentProgressQuery.name}`,
      );
      return;
    }
    const done = handle.result();
    let finished = false;
    void done.finally(() => (finished = true)).catch(() => undefined);
    let last = '';
    while (!finished) {
      await Promise.race([done.catch(() => undefined), new Promise((r) => setTimeout(r, 1000))]);
      if (finished) break;
      const p = await handle.query(getReEnrichmentProgressQuery).catch(() => undefined);
      if (!p) continue;
      const line =
        `page ${p.pages} · ${p.processed}/${p.selected} accounts · ${p.reEnriched} re-enriched · ` +
        `credits ${sumCounts(p.creditsSpent)}/${p.creditBudget}` +
        (p.waiting ? ` · waiting: ${p.waiting}` : '');
      if (line !== last) console.log((last = line));
    }
    console.log(describeSummary(await done, workflowId).replace(/\*/g, ''));
  });
}

function nonNegativeInt(value: string, name: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw usage(`${name} must be a whole number, 0 or more (got "${value}")`);
  return n;
}

async function pause(config: Config, args: string[]): Promise<void> {
  const { values } = options(args, { reason: { type: 'string' } });
  if (!values.reason?.trim())
    throw usage('pause needs --reason TEXT (it shows in every paused signup and the health table)');
  const r = await admin<{ signalled: number }>(config, 'POST', '/admin/pause', { reason: values.reason });
  console.log(`enrichment paused; ${r.signalled} running signup workflows signalled. Resume with: enrich resume`);
}

async function snooze(config: Config, args: string[]): Promise<void> {
  const { values } = options(args, { until: { type: 'string' }, off: { type: 'boolean' }, reason: { type: 'string' } });
  if (!values.off && !values.until) throw usage('snooze needs --until YYYY-MM-DD (or --off)');
  if (values.until && !isDay(values.until)) throw usage(`--until must be a day as YYYY-MM-DD (got "${values.until}")`);
  const until = values.off ? null : values.until;
  await admin(config, 'POST', '/admin/snooze', { until, reason: values.reason });
  console.log(until ? `health alert snoozed until ${until} (included)` : 'snooze lifted');
}

async function credits(config: Config, args: string[]): Promise<void> {
  const { values } = options(args, { provider: { type: 'string' } });
  const n = await withClient(config, (client) =>
    creditsRestored({ client, taskQueue: config.temporal.taskQueue }, values.provider),
  );
  console.log(`${n} signups waiting for credits signalled${values.provider ? ` (${values.provider} restored)` : ''}`);
}

async function schedules(config: Config, args: string[]): Promise<void> {
  if (args[0] !== 'apply') throw usage('schedules: the subcommand is "apply"');
  const applied = await withClient(config, (client) => applySchedules(client, config));
  for (const s of applied) console.log(`schedule ${s.id}: ${s.action}`);
}

async function doctor(config: Config, args: string[]): Promise<void> {
  const { values } = options(args, { 'post-test-message': { type: 'boolean' }, timeout: { type: 'string' } });
  const results = await runDoctor({
    config,
    postTestMessage: values['post-test-message'] ?? false,
    timeoutMs: positiveInt(values.timeout, '--timeout', DOCTOR_CHECK_TIMEOUT_MS / 1000) * 1000,
    connectTemporal: async () => {
      const connection = await connectClient(config.temporal.connection, { connectTimeout: '5 seconds' });
      return {
        client: new Client({ connection, namespace: config.temporal.namespace, dataConverter: dataConverter(config) }),
        close: () => connection.close(),
      };
    },
  });
  console.log(formatTable(results));
  const failed = results.filter((r) => r.status === 'FAIL').length;
  if (failed > 0)
    throw new CliError(`${failed} check(s) failed: fix what the table says, then run enrich doctor again`);
}

async function forget(config: Config, args: string[]): Promise<void> {
  const { values } = options(args, { email: { type: 'string' } });
  if (!values.email?.trim()) throw usage('forget needs --email EMAIL');
  const r = await admin<ForgetReport>(config, 'POST', '/admin/forget', { email: values.email });
  console.log(
    `erasure ${r.erasureId}${r.repeated ? ' (this person was erased before)' : ''}: ` +
      `${r.signupsErased} signup(s) scrubbed from the ledger` +
      (r.cellsMasked > 0 ? `, the email masked in ${r.cellsMasked} other cell(s)` : '') +
      (r.repeated && r.signupsErased === 0 ? ' (nothing left to erase in the ledger)' : ''),
  );
  for (const [system, result] of Object.entries(r.systems)) {
    const how = result.retried ? `${result.state} (retried)` : result.state;
    console.log(`  ${system.padEnd(10)} ${how.padEnd(20)} ${result.detail}`);
  }
  if (!r.complete) {
    throw new CliError('some deletions failed: fix what the table says, then run enrich forget again to retry them');
  }
  console.log('erasure complete');
}

async function replay(config: Config, args: string[]): Promise<void> {
  const file = args[0];
  if (!file) throw usage('replay needs a FILE (temporal workflow show --workflow-id ID -o json > FILE)');
  let history: unknown;
  try {
    history = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new CliError(`cannot read ${file}: ${(err as Error).message}`);
  }
  const workflows = workflowCode(config);
  try {
    await Worker.runReplayHistory({ ...workflows.options, dataConverter: dataConverter(config) }, history, file);
  } catch (err) {
    throw new CliError(`${file} does not replay: ${(err as Error).message}`);
  }
  console.log(`${file} replays against today's workflow code (${workflows.description})`);
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (err: unknown) => {
    if (err instanceof CliError) console.error(`enrich: ${err.message}`);
    else if (err instanceof ConfigError) console.error(`enrich: ${err.message}`);
    else console.error(`enrich: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(err instanceof CliError ? err.exitCode : 1);
  },
);
