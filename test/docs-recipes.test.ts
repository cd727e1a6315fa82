import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Config } from '../src/config';
import { ENRICHMENT_STATUSES } from '../src/domain/status';
import { createIntake } from '../src/starter';
import { SignupAtKey } from '../src/domain/search-attributes';
import {
  HEALTH_SCHEDULE_ID,
  HOURLY_HEALTH_SCHEDULE_ID,
  applySchedules,
  REENRICHMENT_SCHEDULE_ID,
  RETENTION_SCHEDULE_ID,
} from '../src/temporal/schedules';
import { ensureSearchAttributes } from '../src/temporal/search-attributes';
import type { SignupEnrichmentWorkflow } from '../src/workflows';
import { getStatusQuery } from '../src/workflows/messages';
import { eventually } from './support/eventually';
import { type Inspection, type RunningSandbox, startSandbox } from './support/sandbox';
import { clearbitCompanies, deliver, runsOf, signupOf } from './support/signups';
import { isolatedStack } from './support/stack';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '..');
const DOCS = ['README.md', ...readdirSync(path.join(ROOT, 'docs')).map((f) => `docs/${f}`)].filter((f) =>
  f.endsWith('.md'),
);
const FENCE = /^[ \t]*```[^\n]*\n([\s\S]*?)^[ \t]*```/gm;

/**
 * Every `temporal …` command the docs give: lines of code blocks (continuations joined, `# comments` dropped) and
 * inline code spans, whitespace collapsed.
 */
function documentedCommands(): Set<string> {
  const found = new Set<string>();
  const add = (command: string) => found.add(command.replace(/\s+/g, ' ').trim());
  for (const file of DOCS) {
    const text = readFileSync(path.join(ROOT, file), 'utf8');
    for (const [, block] of text.matchAll(FENCE)) {
      for (const line of block!.replace(/\\\n\s*/g, ' ').split('\n')) {
        if (line.trim().startsWith('temporal ')) add(line.replace(/\s+#\s.*$/, ''));
      }
    }
    for (const [, span] of text.replace(FENCE, '').matchAll(/`(temporal [^`]+)`/g)) add(span!);
  }
  return found;
}

/** Documented, but not commands to run as they stand. */
const NOT_RUN: Record<string, string> = {
  'temporal workflow show -o json':
    'docs/health.md names the export format `enrich replay` reads; the full command (with --workflow-id) is covered as `temporal workflow show --workflow-id signup-<org id> --run-id <run>`',
  'temporal operator search-attribute create --namespace signups.a1b2c --name IcpScore --type Int':
    "docs/deploy.md quotes the worker's start-up error; test/temporal/connection.test.ts runs the commands the worker prints",
  'temporal operator search-attribute create --namespace signups.a1b2c --name SignupAt --type Datetime':
    "docs/deploy.md quotes the worker's start-up error; test/temporal/connection.test.ts runs the commands the worker prints",
  'temporal operator namespace create':
    "docs/deploy.md describes the compose file's setup job (docker/temporal-setup.sh); test/temporal/connection.test.ts creates a namespace with the CLI",
  'temporal operator search-attribute create':
    "docs/deploy.md describes the compose file's setup job; test/deploy/compose.test.ts checks its attributes match ours",
  'temporal workflow show --workflow-id signup-<org id> -o json > history.json':
    'docs/deploy.md: exporting a history to replay before a deploy; the export is run as `temporal workflow show --workflow-id signup-<org id> --run-id <run>`, the replay by test/tools/build.test.ts',
  'temporal workflow show --workflow-id signup-<org id> --codec-endpoint http://127.0.0.1:3000/codec --codec-auth "Bearer $ADMIN_TOKEN"':
    'docs/personal-data.md: needs a stack with payload encryption on; test/personal-data/codec-e2e.test.ts runs it as written, with the real CLI, against an encrypted history',
  'temporal workflow list --config-file /etc/signup-enrichment/temporal.toml --profile production':
    "docs/deploy.md: a deployment host's profile (test/temporal/connection.test.ts connects through a temporal.toml profile)",
};

// The `temporal` CLI recipes of README.md and docs/*.md, taken from the docs as they are written and run with the real
// CLI against the run's Temporal server: the real worker, the sandbox, signups posted through the real intake. Each
// runs in a namespace of its own (the batch signals signal every matching workflow of a namespace, and the schedule
// ids are fixed), with the placeholders (`signup-<org id>`, `<signup id>`, `<id>`, the task queue) filled in.
describe('temporal CLI recipes in the docs', () => {
  const namespace = `docs-recipes-${randomUUID().slice(0, 8)}`;
  const address = inject('temporalAddress');
  const commands = documentedCommands();
  const ran = new Set<string>();
  const stops: (() => Promise<unknown>)[] = [];
  let sandbox: RunningSandbox;
  let client: Client;
  let config: Config;
  /** A signup waiting for credits, then enriched; and one waiting for credits, to be terminated. */
  let signup: { signupId: string; workflowId: string; domain: string };
  let doomed: { workflowId: string };

  /** The documented commands `pick` selects (at least one), after `fill`, run in turn; `check` sees each output. */
  async function recipes(
    pick: (command: string) => boolean,
    fill: (command: string) => string,
    check: (output: string, command: string) => void | Promise<void>,
  ): Promise<void> {
    const picked = [...commands].filter(pick);
    expect(picked, 'no documented command matches').not.toEqual([]);
    for (const command of picked) {
      const filled = fill(command).replaceAll('signup-enrichment', config.temporal.taskQueue);
      expect(filled, 'a placeholder is left').not.toMatch(/<[^>]*>/);
      const { stdout } = await run(
        'bash',
        ['-c', `"$TEMPORAL_CLI" ${filled.slice('temporal '.length)} --address "$ADDRESS" --namespace "$NAMESPACE"`],
        { env: { ...process.env, TEMPORAL_CLI: inject('temporalCli'), ADDRESS: address, NAMESPACE: namespace } },
      ).catch((err: { stderr?: string; message: string }) => {
        throw new Error(`${filled}\n${err.stderr ?? err.message}`);
      });
      // A signal by query is a batch job, and a namespace runs one at a time: the next would be refused.
      if (filled.startsWith('temporal workflow signal --query')) await batchJobsDone();
      await check(stdout, filled);
      ran.add(command);
    }
  }
  const batchJobsDone = () =>
    eventually(async () => {
      const { operationInfo } = await client.workflowService.listBatchOperations({ namespace });
      const running = operationInfo.filter(
        (o) => o.state === temporal.api.enums.v1.BatchOperationState.BATCH_OPERATION_STATE_RUNNING,
      );
      return running.length === 0 ? true : undefined;
    });
  const as = (command: string) => (c: string) => c === command;
  const starts = (prefix: string) => (c: string) => c.startsWith(prefix);
  const same = (c: string) => c;
  /** Until the list shows what `expected` checks: visibility follows a workflow's changes a moment later. */
  const listed = (pick: (c: string) => boolean, fill: (c: string) => string, expected: (out: string) => boolean) =>
    eventually(async () => {
      let ok = true;
      await recipes(pick, fill, (out) => {
        ok &&= expected(out);
      });
      return ok ? true : undefined;
    });
  /** A query sent before the workflow's first task ran finds no handler yet: the recipes query after it. */
  const firstTaskDone = (workflowId: string) =>
    eventually(async () => {
      const { events } = await client.workflow.getHandle(workflowId).fetchHistory();
      return events?.some((e) => e.workflowTaskCompletedEventAttributes) ? true : undefined;
    });
  const statusOf = async (workflowId: string) =>
    (await client.workflow.getHandle(workflowId).query(getStatusQuery)).status;

  beforeAll(async () => {
    const connection = await Connection.connect({ address });
    client = new Client({ connection, namespace });
    stops.push(() => connection.close());
    await run(inject('temporalCli'), [
      'operator',
      'namespace',
      'create',
      '--namespace',
      namespace,
      '--address',
      address,
    ]);
    // The frontend knows a new namespace after its cache refreshes.
    await eventually(() => ensureSearchAttributes(connection, namespace), 30_000);

    sandbox = await startSandbox({}, { salesforceAccounts: 20 });
    stops.push(() => sandbox.close());
    const stack = await isolatedStack({ SANDBOX_URL: sandbox.url, TEMPORAL_NAMESPACE: namespace }, { stops });
    config = stack.config;
    await applySchedules(client, config);
    const intake = createIntake(config, stack.ledger, { outboxPollMs: 200 });
    const base = await intake.app.listen({ host: '127.0.0.1', port: 0 });
    stops.push(() => intake.close());

    // Out of credits: both signups wait.
    await sandbox.control('clearbit', { credits: 0 });
    await sandbox.control('harmonic', { credits: 0 });
    const [company, other] = clearbitCompanies;
    const posted = await deliver(base, '/webhooks/posthog', signupOf(company!));
    signup = { ...(posted.body as { signupId: string; workflowId: string }), domain: company!.domain };
    doomed = (await deliver(base, '/webhooks/posthog', signupOf(other!))).body as { workflowId: string };
    for (const id of [signup.workflowId, doomed.workflowId]) {
      await eventually(async () => ((await statusOf(id)) === 'waiting_for_credits' ? true : undefined), 30_000);
    }
  });

  afterAll(async () => {
    for (const stop of stops.reverse()) await stop();
  });

  it('finds a waiting signup by status, company and id, and shows its state and history', async () => {
    const fillSignup = (c: string) =>
      c.replaceAll('signup-<org id>', signup.workflowId).replace("'lumenforge.io'", `'${signup.domain}'`);
    await listed(
      (c) => /^temporal workflow list --query "EnrichmentStatus ?= ?'waiting_for_credits'"$/.test(c),
      same,
      (out) => out.includes(signup.workflowId) && out.includes(doomed.workflowId),
    );
    await listed(
      as(`temporal workflow list --query "CompanyDomain = 'lumenforge.io'"`),
      fillSignup,
      (out) => out.includes(signup.workflowId) && !out.includes(doomed.workflowId),
    );
    await listed(as(`temporal workflow list --query "WorkflowId = 'signup-<org id>'"`), fillSignup, (out) =>
      out.includes(signup.workflowId),
    );
    const [runId] = await runsOf(client, signup.workflowId);
    await recipes(
      (c) => /^temporal workflow query --workflow-id (signup-<org id>|<id>) --type getStatus$/.test(c),
      (c) => fillSignup(c).replace('<id>', signup.workflowId),
      (out) => {
        expect(out).toContain(signup.signupId);
        expect(out).toContain('waiting_for_credits');
      },
    );
    await recipes(
      as('temporal workflow show --workflow-id signup-<org id> --run-id <run>'),
      (c) => fillSignup(c).replace('<run>', runId!),
      (out) => expect(out).toMatch(/WorkflowExecutionStarted/),
    );
  });

  it("lists what the Web UI links open (docs/observability.md), with the links' query text", async () => {
    const since = /^temporal workflow list --query 'SignupAt>="(\d{4}-\d\d-\d\d)T00:00:00Z"'$/;
    await listed(
      as(`temporal workflow list --query 'EnrichmentStatus="waiting_for_credits"'`),
      same,
      (out) => out.includes(signup.workflowId) && out.includes(doomed.workflowId),
    );
    // Nothing has failed: the query is accepted and lists none of the waiting ones.
    await recipes(as(`temporal workflow list --query 'EnrichmentStatus="failed"'`), same, (out) =>
      expect(out).not.toContain(signup.workflowId),
    );
    // A signup's SignupAt is its event's time: listed when that is on or after the documented day, else not.
    const signedUpAt = (await client.workflow.getHandle(signup.workflowId).describe()).typedSearchAttributes.get(
      SignupAtKey,
    );
    const day = since.exec([...commands].find((c) => since.test(c)) ?? '')?.[1];
    expect(signedUpAt).toBeInstanceOf(Date);
    const expected = Boolean(day && signedUpAt && signedUpAt.toISOString().slice(0, 10) >= day);
    await listed(
      (c) => since.test(c),
      same,
      (out) => out.includes(signup.workflowId) === expected,
    );
  });

  it('terminates a workflow', async () => {
    await recipes(
      as('temporal workflow terminate --workflow-id <id> --reason "…"'),
      (c) => c.replace('<id>', doomed.workflowId),
      () => undefined,
    );
    const { status } = await client.workflow.getHandle(doomed.workflowId).describe();
    expect(status.name).toBe('TERMINATED');
  });

  it('pauses and resumes the running signups by signal', async () => {
    const signalRunning = (name: string) =>
      recipes(
        starts(
          `temporal workflow signal --query "WorkflowType='SignupEnrichmentWorkflow' AND ExecutionStatus='Running' AND TaskQueue='signup-enrichment'" --name ${name}`,
        ),
        same,
        () => undefined,
      );
    await signalRunning('enrichmentPaused');
    await eventually(async () => ((await statusOf(signup.workflowId)) === 'paused' ? true : undefined));
    await listed(as(`temporal workflow list --query "EnrichmentStatus='paused'"`), same, (out) =>
      out.includes(signup.workflowId),
    );
    await signalRunning('enrichmentResumed');
    await eventually(async () => ((await statusOf(signup.workflowId)) === 'waiting_for_credits' ? true : undefined));
  });

  it('wakes the signups waiting for credits once credits are back, and lists none in the other statuses', async () => {
    // Each variant the docs give, while credits are still out: the signal makes the signup retry now (a provider
    // call), and it waits again.
    const variants = [...commands].filter((c) =>
      /^temporal workflow signal --query ".*EnrichmentStatus ?= ?'waiting_for_credits'/.test(c),
    );
    const calls = async () =>
      (await sandbox.inspect<Inspection>('clearbit')).calls.filter((c) => c.key?.includes(signup.domain)).length;
    for (const variant of variants) {
      const before = await calls();
      await recipes(as(variant), same, () => undefined);
      await eventually(async () => ((await calls()) > before ? true : undefined));
      await eventually(async () => ((await statusOf(signup.workflowId)) === 'waiting_for_credits' ? true : undefined));
    }
    await sandbox.control('clearbit', { credits: null });
    await sandbox.control('harmonic', { credits: null });
    await recipes(as(variants[0]!), same, () => undefined);
    const result = await client.workflow.getHandle<typeof SignupEnrichmentWorkflow>(signup.workflowId).result();
    expect(result.signups[0]?.status).toBe('enriched');
    await listed(
      (c) => /^temporal workflow list --query "EnrichmentStatus ?= ?'waiting_for_credits'"$/.test(c),
      same,
      (out) => !out.includes(signup.workflowId),
    );
    await recipes(
      (c) =>
        /^temporal workflow list --query "EnrichmentStatus ?= ?'(skipped|undeliverable|failed|received)'"$/.test(c),
      same,
      (out, c) => {
        expect(ENRICHMENT_STATUSES).toContain(/'(\w+)'/.exec(c)?.[1]);
        expect(out).not.toContain(signup.workflowId);
      },
    );
  });

  it('re-runs a signup, its writes found done', async () => {
    await recipes(
      starts('temporal workflow start --type SignupEnrichmentWorkflow'),
      (c) => c.replaceAll('<signup id>', signup.signupId),
      (out) => expect(out).toContain(`rerun-${signup.signupId}`),
    );
    const rerun = await client.workflow.getHandle<typeof SignupEnrichmentWorkflow>(`rerun-${signup.signupId}`).result();
    expect(rerun.signups[0]?.writes?.salesforce?.detail).toMatch(/^already written/);
  });

  it('checks a day by hand, and describes, triggers and pauses the daily schedule', async () => {
    const manual = 'enrichment-health-manual-2026-11-21';
    await recipes(starts('temporal workflow start --type CreditExhaustionDetectorWorkflow'), same, (out) =>
      expect(out).toContain(manual),
    );
    await recipes(
      (c) => c.startsWith('temporal workflow result --workflow-id') && /enrichment-health/.test(c),
      (c) => c.replace('<enrichment-health-… id>', manual),
      (out) => expect(out).toMatch(/assessment/),
    );
    await listed(
      as(`temporal workflow list --query "WorkflowType='CreditExhaustionDetectorWorkflow'" --limit 5`),
      same,
      (out) => out.includes(manual),
    );
    await recipes(as(`temporal schedule describe --schedule-id ${HEALTH_SCHEDULE_ID}`), same, (out) =>
      expect(out).toContain('CreditExhaustionDetectorWorkflow'),
    );
    await recipes(as(`temporal schedule trigger --schedule-id ${HEALTH_SCHEDULE_ID}`), same, () => undefined);
    await eventually(async () => {
      for await (const wf of client.workflow.list({ query: "WorkflowType = 'CreditExhaustionDetectorWorkflow'" })) {
        if (wf.workflowId !== manual && wf.workflowId.startsWith('enrichment-health')) return true;
      }
      return undefined;
    });
    // The rolling check's schedule: described, and run now.
    await recipes(as(`temporal schedule describe --schedule-id ${HOURLY_HEALTH_SCHEDULE_ID}`), same, (out) =>
      expect(out).toContain('RollingHealthCheckWorkflow'),
    );
    await recipes(as(`temporal schedule trigger --schedule-id ${HOURLY_HEALTH_SCHEDULE_ID}`), same, () => undefined);
    await eventually(async () => {
      for await (const wf of client.workflow.list({ query: "WorkflowType = 'RollingHealthCheckWorkflow'" })) {
        if (wf.workflowId.startsWith('enrichment-health-rolling')) return true;
      }
      return undefined;
    });
    await recipes(
      starts(`temporal schedule toggle --schedule-id ${HEALTH_SCHEDULE_ID} --pause`),
      same,
      () => undefined,
    );
    expect((await client.schedule.getHandle(HEALTH_SCHEDULE_ID).describe()).state.paused).toBe(true);
  });

  it('backfills a window and follows it', async () => {
    await recipes(starts('temporal workflow start --type BackfillOutageWindowWorkflow'), same, (out) =>
      expect(out).toContain('backfill-2026-11-20-2026-11-21'),
    );
    await firstTaskDone('backfill-2026-11-20-2026-11-21');
    await recipes(starts('temporal workflow query --workflow-id backfill-2026-11-20-2026-11-21'), same, (out) =>
      expect(out).toMatch(/"phase"/),
    );
    // What the Web UI shows of it: the summary the recipe gave, the details the workflow keeps.
    const backfill = (c: string) => c.replace('<id>', 'backfill-2026-11-20-2026-11-21');
    await recipes(as('temporal workflow describe --workflow-id <id>'), backfill, (out) =>
      expect(out).toMatch(/StaticSummary\s+"Backfill 2026-11-20 to 2026-11-21 · started by hand"/),
    );
    await recipes(as('temporal workflow metadata --workflow-id <id>'), backfill, (out) =>
      expect(out).toContain('**Backfill 2026-11-20 to 2026-11-21**'),
    );
  });

  it('runs the Salesforce re-enrichment by hand and by its schedule, follows it, and pauses the schedule', async () => {
    // Two docs start `salesforce-reenrichment-manual-1`: one at a time, each to its end.
    for (const start of [...commands].filter(starts('temporal workflow start --type SalesforceReEnrichmentWorkflow'))) {
      const id = /--workflow-id (\S+)/.exec(start)![1]!;
      await recipes(as(start), same, (out) => expect(out).toContain(id));
      await firstTaskDone(id);
      await recipes(
        (c) => /^temporal workflow query --workflow-id (<id>|\S+) --type getReEnrichmentProgress$/.test(c),
        (c) => c.replace('<id>', id),
        (out) => expect(out).toMatch(/"state"/),
      );
      await client.workflow.getHandle(id).result();
    }
    await listed(
      as(`temporal workflow list --query "WorkflowType='SalesforceReEnrichmentWorkflow'"`),
      same,
      (out) => out.includes('salesforce-reenrichment-dry-run-1') && out.includes('salesforce-reenrichment-manual-1'),
    );
    await recipes(as(`temporal schedule trigger --schedule-id ${REENRICHMENT_SCHEDULE_ID}`), same, () => undefined);
    await recipes(
      starts(`temporal schedule toggle --schedule-id ${REENRICHMENT_SCHEDULE_ID} --pause`),
      same,
      () => undefined,
    );
    expect((await client.schedule.getHandle(REENRICHMENT_SCHEDULE_ID).describe()).state.paused).toBe(true);
  });

  it('purges expired raw data by hand and by its schedule, pauses the schedule, and sets the namespace retention', async () => {
    await recipes(starts('temporal workflow start --type PurgeExpiredRawDataWorkflow'), same, (out) =>
      expect(out).toContain('raw-data-retention-manual-1'),
    );
    await recipes(as('temporal workflow result --workflow-id raw-data-retention-manual-1'), same, (out) => {
      expect(out).toMatch(/"retentionDays":\s*30/);
      expect(out).toMatch(/"signupPayloads":\s*0/);
    });
    await recipes(as(`temporal schedule trigger --schedule-id ${RETENTION_SCHEDULE_ID}`), same, () => undefined);
    await eventually(async () => {
      for await (const wf of client.workflow.list({ query: "WorkflowType = 'PurgeExpiredRawDataWorkflow'" })) {
        if (wf.workflowId.startsWith('raw-data-retention-20') && wf.status.name === 'COMPLETED') return true;
      }
      return undefined;
    });
    await recipes(
      starts(`temporal schedule toggle --schedule-id ${RETENTION_SCHEDULE_ID} --pause`),
      same,
      () => undefined,
    );
    expect((await client.schedule.getHandle(RETENTION_SCHEDULE_ID).describe()).state.paused).toBe(true);
    await recipes(as('temporal operator namespace update --retention 720h'), same, () => undefined);
    const { config: settings } = await client.workflowService.describeNamespace({ namespace });
    expect(Number(settings?.workflowExecutionRetentionTtl?.seconds)).toBe(30 * 24 * 3600);
    await recipes(as('temporal operator namespace describe'), same, (out) => expect(out).toContain(namespace));
  });

  it("describes a provider's task queue, polled by the worker at that provider's rate", async () => {
    await recipes(starts('temporal task-queue describe --task-queue signup-enrichment-clearbit'), same, (out) =>
      // The activity poller's rate: Clearbit's documented 10/s × PROVIDER_RATE_LIMIT_MARGIN (0.9).
      expect(out).toMatch(/^\s*\S+\s+activity\s+.*\s9\s*$/m),
    );
  });

  it('has run every documented command, or says here why not', () => {
    const left = [...commands].filter((c) => !ran.has(c) && !(c in NOT_RUN));
    expect(left).toEqual([]);
    for (const c of Object.keys(NOT_RUN)) expect(commands, `NOT_RUN lists ${c}, which no doc gives`).toContain(c);
  });
});
