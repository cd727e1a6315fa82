import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../src/config';
import { keyedHash } from '../../src/hash';
import { openPostgres, type Sql } from '../../src/ledger/sql';
import { EMAIL_MASK, SECRET_MASK } from '../../src/redact';
import { freePort } from '../../src/tools/dev-server';
import type { SignupEnrichmentStatus } from '../../src/workflows/messages';
import { privateDatabaseUrl } from '../support/config';
import { eventually } from '../support/eventually';
import { startSandbox, type RunningSandbox } from '../support/sandbox';
import { clearbitCompanies, posthogSignup, signupOf } from '../support/signups';

/** Every secret of the run: set, long and distinct, so that finding one in a line cannot be a coincidence. */
const SECRETS = {
  WEBHOOK_SECRET: 'logs-webhook-secret-5f0c1e7a9b2d',
  ADMIN_TOKEN: 'logs-admin-token-8c3e2a6f1d4b',
  CLAY_CALLBACK_SECRET: 'logs-clay-callback-3b7d9e1f5a2c',
  METRICS_TOKEN: 'logs-metrics-token-6a1f4c8e2b9d',
  PII_HASH_KEY: 'logs-pii-hash-key-2e9b5d7c3f1a',
  CLEARBIT_API_KEY: 'logs-clearbit-key-9d4a2f6e8c1b',
  HARMONIC_API_KEY: 'logs-harmonic-key-1c8f3b5d7e2a',
  POSTHOG_PROJECT_API_KEY: 'logs-posthog-project-7b2e4d9f1c3a',
  POSTHOG_PERSONAL_API_KEY: 'logs-posthog-personal-4f6a8c2e1b9d',
  SALESFORCE_CLIENT_SECRET: 'logs-salesforce-secret-5e1d7b3f9a2c',
  VITALLY_API_KEY: 'logs-vitally-key-3a9c1e5f7d2b',
};

interface Captured {
  child: ChildProcess;
  lines: string[];
  exited: Promise<void>;
}

/** An entry point of ours as its own process, every byte of its stdout and stderr kept, line by line. */
function run(entry: string, env: Record<string, string>): Captured {
  const child = spawn(process.execPath, ['--import', 'tsx', entry], {
    cwd: path.resolve(__dirname, '../..'),
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  const lines: string[] = [];
  const partial = { stdout: '', stderr: '' };
  for (const stream of ['stdout', 'stderr'] as const) {
    child[stream].on('data', (chunk: Buffer) => {
      const parts = (partial[stream] + chunk.toString('utf8')).split('\n');
      partial[stream] = parts.pop() ?? '';
      lines.push(...parts);
    });
  }
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      lines.push(partial.stdout, partial.stderr);
      resolve();
    }),
  );
  return { child, lines, exited };
}

async function stop(p: Captured | undefined): Promise<void> {
  if (!p || p.child.exitCode !== null) return;
  p.child.kill('SIGTERM');
  const killed = setTimeout(() => p.child.kill('SIGKILL'), 20_000);
  await p.exited;
  clearTimeout(killed);
}

// The issue's acceptance: a full pipeline run — the starter and the worker as the processes they are in production,
// at LOG_LEVEL=debug, against the run's Temporal server, PostgreSQL and the sandbox — logs no email and no secret.
describe('logs of a full pipeline run', () => {
  let sandbox: RunningSandbox;
  let client: Client;
  let sql: Sql;
  let starter: Captured | undefined;
  let worker: Captured | undefined;
  let env: Record<string, string>;
  let base: string;

  beforeAll(async () => {
    sandbox = await startSandbox();
    client = new Client({ connection: await Connection.connect({ address: inject('temporalAddress') }) });
    const databaseUrl = await privateDatabaseUrl();
    sql = await openPostgres(databaseUrl);
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    env = {
      ...SECRETS,
      DATABASE_URL: databaseUrl,
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      TEMPORAL_TASK_QUEUE: `logs-${randomUUID()}`,
      WORKFLOW_BUNDLE_PATH: inject('workflowBundlePath'),
      SANDBOX_URL: sandbox.url,
      HOST: '127.0.0.1',
      PORT: String(port),
      LOG_LEVEL: 'debug',
      ENRICHMENT_PROVIDERS: 'clearbit,harmonic',
      WRITE_RETRY_INITIAL_SECONDS: '1',
      WRITE_RETRY_MAX_MINUTES: '0.05',
    };
    worker = run('src/worker.ts', env);
    starter = run('src/starter.ts', env);
    await eventually(async () => ((await fetch(`${base}/healthz`)).ok ? true : undefined), 60_000);
  });

  afterAll(async () => {
    await stop(starter);
    await stop(worker);
    await sql?.close();
    await client?.connection.close();
    await sandbox?.close();
  });

  const post = async (route: string, body: unknown) => {
    const res = await fetch(`${base}${route}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${SECRETS.WEBHOOK_SECRET}` },
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(202);
    return (await res.json()) as { status: string; signupId: string; workflowId: string };
  };

  /**
   * Waits until the workflow has completed: a signup workflow ends once its fan-out has settled. Asked of the server
   * (describe), not of the workflow (a query), so that nothing is replayed.
   */
  const completed = (workflowId: string) =>
    eventually(async () => {
      const { status } = await client.workflow.getHandle(workflowId).describe();
      return status.name === 'COMPLETED' ? status.name : undefined;
    }, 120_000);

  it('masks emails and secrets in every line; a destination error quoting an email reaches the workflow masked', async () => {
    const work = signupOf(clearbitCompanies[0]!);
    const freeMail = posthogSignup({ email: `Logs.Test.${randomUUID().slice(0, 8)}@gmail.com` });
    const personOnly = posthogSignup({ orgId: null, email: clearbitCompanies[1]!.people[0]!.email });
    const refused = signupOf(clearbitCompanies[2]!);
    const direct = { email: `direct.${randomUUID().slice(0, 8)}@${clearbitCompanies[3]!.domain}` };
    const emailOf = (p: { person: { properties: Record<string, unknown> } }) => String(p.person.properties.email);
    const refusedEmail = emailOf(refused);
    const emails = [emailOf(work), emailOf(freeMail), emailOf(personOnly), refusedEmail, direct.email];

    // Salesforce refuses this contact's address and quotes it in its error, as it does for an invalid one.
    await sandbox.control('salesforce', { invalidEmails: [refusedEmail] });

    // A sender that puts an email and the secret in the query string: the request log line carries the URL.
    const leaky = `/webhooks/posthog?contact=${encodeURIComponent(emailOf(work))}&token=${SECRETS.WEBHOOK_SECRET}`;
    const answers = [
      await post(leaky, work),
      await post('/webhooks/posthog', freeMail),
      await post('/webhooks/posthog', personOnly),
      await post('/webhooks/posthog', refused),
      await post('/signups', direct),
    ];
    expect(answers.map((a) => a.status)).toEqual(['accepted', 'accepted', 'accepted', 'accepted', 'accepted']);

    // Person-only signups are named by a keyed hash (PII_HASH_KEY): of the distinct id, else of the email.
    const person = (text: string) => `signup-p${keyedHash(SECRETS.PII_HASH_KEY, `person:${text}`).slice(0, 24)}`;
    expect(answers[2]!.workflowId).toBe(person(personOnly.event.distinct_id));
    expect(answers[4]!.workflowId).toBe(person(direct.email.toLowerCase()));

    await Promise.all(answers.map((a) => completed(a.workflowId)));

    // The destination error: Salesforce quoted the address (the sandbox answered 400 to it)…
    const salesforceCalls = (await sandbox.inspect<{ calls: { status: number }[] }>('salesforce')).calls;
    expect(salesforceCalls.some((c) => c.status === 400)).toBe(true);
    // …and the workflow's history (the activity's failure, its result) and the ledger have it masked.
    const history = await client.workflow.getHandle(answers[3]!.workflowId).fetchHistory();
    const failures = (history.events ?? []).flatMap((e) => {
      const failure = e.activityTaskFailedEventAttributes?.failure;
      return failure ? [`${failure.message ?? ''} ${failure.cause?.message ?? ''}`] : [];
    });
    const refusal = failures.find((m) => m.includes('INVALID_EMAIL_ADDRESS'));
    expect(refusal).toContain(`invalid email address: ${EMAIL_MASK}`);
    const completion = history.events?.find((e) => e.workflowExecutionCompletedEventAttributes);
    const result = Buffer.from(
      completion?.workflowExecutionCompletedEventAttributes?.result?.payloads?.[0]?.data ?? [],
    ).toString('utf8');
    const output = JSON.parse(result) as SignupEnrichmentStatus;
    const write = output.signups.find((s) => s.signupId === answers[3]!.signupId)?.writes?.salesforce;
    expect(write?.state).toBe('failed');
    expect(write?.reason).toBe(
      `Salesforce refused the record (INVALID_EMAIL_ADDRESS: Email: invalid email address: ${EMAIL_MASK})`,
    );
    const [row] = await sql.query<{ detail: string }>(
      `SELECT detail FROM destination_writes WHERE signup_id = $1 AND destination = 'salesforce'`,
      [answers[3]!.signupId],
    );
    expect(row?.detail).toContain(`invalid email address: ${EMAIL_MASK}`);
    for (const text of [result, ...failures, row?.detail ?? '']) {
      expect(text.toLowerCase()).not.toContain(refusedEmail.toLowerCase());
    }

    await stop(starter);
    await stop(worker);
    const lines = [...starter!.lines, ...worker!.lines].filter((l) => l !== '');

    // The run logged for real: the Temporal Runtime's DEBUG lines, the starter's request lines, the one above.
    expect(worker!.lines.some((l) => l.includes('[DEBUG]'))).toBe(true);
    expect(starter!.lines.filter((l) => l.includes('"msg":"incoming request"')).length).toBeGreaterThanOrEqual(5);
    // Production (LOG_FORMAT unset, not npm start): every line of the starter's logger is one JSON object.
    const starterLogs = starter!.lines.filter((l) => l.startsWith('{'));
    expect(starterLogs.length).toBeGreaterThanOrEqual(10);
    for (const line of starterLogs) expect(JSON.parse(line)).toHaveProperty('level');
    expect(starter!.lines.filter((l) => /^\[\d\d:\d\d:\d\d\.\d{3}\] [A-Z]+: /.test(l))).toEqual([]);
    const request = starter!.lines.find((l) => l.includes('/webhooks/posthog?contact='));
    expect(request).toContain(`contact=${EMAIL_MASK}&token=${SECRET_MASK}`);

    const secrets = [...new Set([...Object.values(SECRETS), ...loadConfig(env).secrets])];
    const leaks = lines.flatMap((line) => {
      const lower = line.toLowerCase();
      return [
        ...emails.filter((e) => lower.includes(e.toLowerCase()) || lower.includes(encodeURIComponent(e).toLowerCase())),
        ...secrets.filter((s) => s.length >= 6 && line.includes(s)),
      ].map((found) => `${found} in: ${line.slice(0, 300)}`);
    });
    expect(leaks).toEqual([]);
  }, 240_000);
});
