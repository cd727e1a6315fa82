import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Config } from '../../src/config';
import { openPostgres, type Sql } from '../../src/ledger/sql';
import type { Ledger } from '../../src/ledger/ledger';
import { ERASED } from '../../src/activities/writes';
import type { ForgetReport } from '../../src/privacy/forget';
import { createIntake, type Intake } from '../../src/starter';
import { creditsRestoredSignal, getStatusQuery } from '../../src/workflows/messages';
import { runEnrich } from '../support/cli';
import { ADMIN_TOKEN, SECRET } from '../support/config';
import { eventually } from '../support/eventually';
import { type RunningSandbox, startSandbox } from '../support/sandbox';
import { clearbitCompanies, posthogSignup, UNSETTLED } from '../support/signups';
import { isolatedStack, useFanOutStack, type FanOutPipeline } from '../support/stack';

interface StoredRecord {
  key: string;
  id: string;
  fields: Record<string, unknown>;
}
interface Inspection {
  records?: Record<string, StoredRecord[] | undefined>;
  deleted?: { type: string; id: string }[];
  calls: { method: string; path: string; status: number }[];
}

/**
 * `enrich forget` end to end: signups enriched by the real worker on the run's Temporal server into the sandbox's
 * PostHog, Salesforce (jsforce over HTTP), Vitally, Slack and webhook receiver; then the CLI as a process and the
 * operator API against the starter; the ledger (a PostgreSQL schema of its own) searched column by column.
 */
describe('erasure: enrich forget', () => {
  let sandbox: RunningSandbox;
  let client: Client;
  let config: Config;
  let ledger: Ledger;
  let sql: Sql;
  let base: string;
  const stops: (() => Promise<unknown>)[] = [];

  beforeAll(async () => {
    sandbox = await startSandbox();
    client = new Client({ connection: await Connection.connect({ address: inject('temporalAddress') }) });
    const stack = await isolatedStack({ SANDBOX_URL: sandbox.url }, { stops });
    config = stack.config;
    ledger = stack.ledger;
    const intake: Intake = createIntake(config, ledger, { outboxPollMs: 200 });
    base = await intake.app.listen({ host: '127.0.0.1', port: 0 });
    stops.push(() => intake.close());
    sql = await openPostgres(config.databaseUrl!);
    stops.push(() => sql.close());
  });

  afterAll(async () => {
    for (const stop of stops.reverse()) await stop();
    await client?.connection.close();
    await sandbox?.close();
  });

  const post = async (payload: unknown) => {
    const res = await fetch(`${base}/webhooks/posthog`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${SECRET}` },
      body: JSON.stringify(payload),
    });
    expect(res.status).toBe(202);
    return (await res.json()) as { signupId: string };
  };

  const forgetApi = async (body: unknown) => {
    const res = await fetch(`${base}/admin/forget`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as ForgetReport & { error?: string } };
  };

  const forgetCli = (email: string) =>
    runEnrich(
      {
        ENRICH_API_URL: base,
        ADMIN_TOKEN,
        TEMPORAL_ADDRESS: config.temporal.address,
        TEMPORAL_TASK_QUEUE: config.temporal.taskQueue,
      },
      ['forget', '--email', email],
    );

  const inspect = (system: string) => sandbox.inspect<Inspection>(system);
  const records = async (system: string, type: string) => (await inspect(system)).records?.[type] ?? [];

  /** Waits until the signup is settled and every destination write of it has ended. */
  const settledSignup = (signupId: string) =>
    eventually(async () => {
      const s = await ledger.signups.getSignup(signupId);
      if (!s?.workflowId || UNSETTLED.includes(s.status)) return undefined;
      const status = await client.workflow.getHandle(s.workflowId).query(getStatusQuery);
      const mine = status.signups.find((x) => x.signupId === signupId);
      const writes = Object.values(mine?.writes ?? {});
      return writes.length > 0 && writes.every((w) => !['pending', 'retrying'].includes(w.state)) ? s : undefined;
    }, 60_000);

  /** Every cell of every text, varchar and JSON column of every table of the ledger that holds `needle`. */
  async function cellsHolding(needle: string): Promise<string[]> {
    const columns = await sql.query<{ table_name: string; column_name: string }>(
      `SELECT c.table_name, c.column_name FROM information_schema.columns c
       JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
       WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'
         AND c.data_type IN ('text', 'character varying', 'character', 'jsonb', 'json')`,
    );
    expect(columns.length).toBeGreaterThan(20);
    const hits: string[] = [];
    for (const c of columns) {
      const rows = await sql.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM "${c.table_name}" WHERE "${c.column_name}"::text ILIKE $1`,
        [`%${needle}%`],
      );
      if (rows[0]!.n > 0) hits.push(`${c.table_name}.${c.column_name} (${rows[0]!.n})`);
    }
    return hits;
  }

  it('leaves no trace of the email in the ledger, deletes the person downstream, keeps the colleague, and is idempotent', async () => {
    const subjectEmail = 'ada.quillon@quorvalis.com';
    // The subject's PostHog distinct id is their email (capitalised), as some products identify people.
    const subject = posthogSignup({ email: subjectEmail });
    subject.event.distinct_id = 'Ada.Quillon@Quorvalis.com';
    subject.person.properties.name = 'Ada Quillon';
    const colleague = posthogSignup({ email: 'bruno.vale@quorvalis.com' });
    const { signupId: subjectId } = await post(subject);
    const { signupId: colleagueId } = await post(colleague);
    await settledSignup(subjectId);
    await settledSignup(colleagueId);

    // Before: the person is in the ledger and in every destination.
    expect((await cellsHolding(subjectEmail)).length).toBeGreaterThan(0);
    const personKey = subject.event.distinct_id;
    expect((await records('posthog', 'person')).some((r) => r.key === personKey)).toBe(true);
    expect((await records('salesforce', 'Contact')).some((r) => r.fields.Email === subjectEmail)).toBe(true);
    expect((await records('vitally', 'user')).some((r) => r.key === personKey)).toBe(true);

    const cli = await forgetCli(` ${subjectEmail.toUpperCase()} `);
    expect(cli.stderr).toBe('');
    expect(cli.code).toBe(0);
    expect(cli.stdout).toMatch(/1 signup\(s\) scrubbed from the ledger/);
    expect(cli.stdout).toMatch(/^ {2}posthog +deleted /m);
    expect(cli.stdout).toMatch(/^ {2}salesforce +deleted /m);
    expect(cli.stdout).toMatch(/^ {2}vitally +deleted /m);
    expect(cli.stdout).toMatch(/^ {2}webhooks +listed +person\.forgotten delivered/m);
    // Quorvalis raised $310M: a high-value signup, announced in Slack, which an incoming webhook cannot delete.
    expect(cli.stdout).toMatch(new RegExp(`^ {2}slack +listed +Slack messages of signup\\(s\\) ${subjectId}`, 'm'));
    expect(cli.stdout).toContain('erasure complete');
    expect(cli.stdout.toLowerCase()).not.toContain(subjectEmail);

    // The ledger: not one cell holds the email, in any spelling the search can see; the erasure is recorded by hash.
    expect(await cellsHolding(subjectEmail)).toEqual([]);
    expect(await cellsHolding('ada.quillon%40quorvalis.com')).toEqual([]);
    expect(await cellsHolding('Ada Quillon')).toEqual([]);
    const [erasure] = await sql.query<{ signups_erased: number; completed_at: Date | null; targets: unknown }>(
      'SELECT signups_erased, completed_at, targets FROM erasures',
    );
    expect(erasure).toMatchObject({ signups_erased: 1, targets: { signupIds: [subjectId] } });
    expect(JSON.stringify(erasure!.targets)).not.toMatch(/quorvalis/i);
    expect(erasure!.completed_at).not.toBeNull();
    const scrubbed = await ledger.signups.getSignup(subjectId);
    expect(scrubbed).toMatchObject({ email: null, name: null, distinctId: null });
    expect(scrubbed!.icpFields?.companyName).toBeDefined();
    expect(await ledger.providerArchive.providerAnswers(subjectId, 'clearbit')).not.toContainEqual(
      expect.objectContaining({ lookup: 'person' }),
    );

    // Downstream: the person is gone, recorded as deletions; the company and the colleague stay.
    expect((await records('posthog', 'person')).some((r) => r.key === personKey)).toBe(false);
    expect((await records('posthog', 'event')).some((r) => r.fields.distinct_id === personKey)).toBe(false);
    expect((await inspect('posthog')).deleted).toContainEqual(expect.objectContaining({ type: 'person' }));
    expect((await records('salesforce', 'Contact')).some((r) => r.fields.Email === subjectEmail)).toBe(false);
    expect((await inspect('salesforce')).deleted).toContainEqual(expect.objectContaining({ type: 'Contact' }));
    expect((await records('salesforce', 'Account')).some((r) => r.key === 'quorvalis.com')).toBe(true);
    expect((await records('vitally', 'user')).some((r) => r.key === personKey)).toBe(false);
    expect((await inspect('vitally')).deleted).toContainEqual(expect.objectContaining({ type: 'user' }));
    const forgotten = (await records('webhooks', 'delivery')).filter((r) => r.fields.event === 'person.forgotten');
    expect(forgotten).toHaveLength(1);
    expect(forgotten[0]!.fields.body).toMatchObject({ signupIds: [subjectId] });
    expect(JSON.stringify(forgotten[0]!.fields.body)).not.toContain('quorvalis.com');

    const other = await ledger.signups.getSignup(colleagueId);
    expect(other).toMatchObject({ email: 'bruno.vale@quorvalis.com', distinctId: colleague.event.distinct_id });
    expect((await records('posthog', 'person')).some((r) => r.key === colleague.event.distinct_id)).toBe(true);
    expect((await records('salesforce', 'Contact')).some((r) => r.fields.Email === 'bruno.vale@quorvalis.com')).toBe(
      true,
    );
    expect((await records('vitally', 'user')).some((r) => r.key === colleague.event.distinct_id)).toBe(true);

    // Again, by the API: found by its hash, nothing changed in the ledger, no system called again.
    const deletesBefore = await deleteCalls();
    const again = await forgetApi({ email: subjectEmail });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ repeated: true, signupsErased: 0, cellsMasked: 0, complete: true });
    expect(again.body.systems).toMatchObject({
      posthog: { state: 'deleted' },
      salesforce: { state: 'deleted' },
      vitally: { state: 'deleted' },
    });
    expect(Object.values(again.body.systems).some((r) => r.retried)).toBe(false);
    expect(await deleteCalls()).toEqual(deletesBefore);
    expect((await records('webhooks', 'delivery')).filter((r) => r.fields.event === 'person.forgotten')).toHaveLength(
      1,
    );
    const [after] = await sql.query<{ runs: number }>('SELECT runs FROM erasures');
    expect(after!.runs).toBe(2);
  });

  const deleteCalls = async () =>
    (await Promise.all(['posthog', 'salesforce', 'vitally'].map(inspect))).map(
      (i) => i.calls.filter((c) => c.method === 'DELETE').length,
    );

  it('retries only the deletion that failed, on the next run', async () => {
    const email = 'cora.lind@quorvalis.com';
    const payload = posthogSignup({ email });
    const { signupId } = await post(payload);
    await settledSignup(signupId);
    await sandbox.control('vitally', { failureRate: 1 });
    let first;
    try {
      first = await forgetCli(email);
    } finally {
      await sandbox.control('vitally', { failureRate: 0 });
    }
    expect(first.code).toBe(1);
    expect(first.stdout).toMatch(/^ {2}vitally +failed /m);
    expect(first.stdout).toMatch(/^ {2}posthog +deleted /m);
    expect(first.stderr).toContain('run enrich forget again');
    expect(await cellsHolding(email)).toEqual([]);

    const posthogDeletes = (await inspect('posthog')).calls.filter((c) => c.method === 'DELETE').length;
    const second = await forgetCli(email);
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/^ {2}vitally +deleted \(retried\) /m);
    expect(second.stdout).toMatch(/^ {2}posthog +deleted {2}/m);
    expect((await inspect('posthog')).calls.filter((c) => c.method === 'DELETE').length).toBe(posthogDeletes);
    expect((await records('vitally', 'user')).some((r) => r.key === payload.event.distinct_id)).toBe(false);
  });

  it('lets a signup of the person that is waiting for credits settle, writing nothing downstream', async () => {
    // A company nobody of this file signed up from: its lookup is not in the domain cache, so it needs credits.
    const company = clearbitCompanies.find((c) => c.domain !== 'quorvalis.com')!;
    const email = company.people[0]!.email;
    await sandbox.control('clearbit', { credits: 0 });
    await sandbox.control('harmonic', { credits: 0 });
    let signupId: string;
    const payload = posthogSignup({ email });
    try {
      ({ signupId } = await post(payload));
      await eventually(async () => {
        const workflowId = (await ledger.signups.getSignup(signupId))?.workflowId;
        if (!workflowId) return undefined;
        const status = await client.workflow
          .getHandle(workflowId)
          .query(getStatusQuery)
          .catch(() => undefined);
        return status?.status === 'waiting_for_credits' ? true : undefined;
      }, 30_000);
      const forgot = await forgetApi({ email });
      expect(forgot.status).toBe(200);
      expect(forgot.body).toMatchObject({ signupsErased: 1 });
    } finally {
      await sandbox.control('clearbit', { credits: null });
      await sandbox.control('harmonic', { credits: null });
    }
    const workflowId = (await ledger.signups.getSignup(signupId))!.workflowId!;
    await client.workflow.getHandle(workflowId).signal(creditsRestoredSignal, {});
    const settled = await eventually(async () => {
      const s = await ledger.signups.getSignup(signupId);
      return s && !UNSETTLED.includes(s.status) ? s : undefined;
    }, 60_000);
    expect(settled).toMatchObject({ email: null, name: null });
    // The fan-out is planned just after the outcome is recorded: wait until each destination has its write state.
    const writes = await eventually(async () => {
      const status = await client.workflow.getHandle(workflowId).query(getStatusQuery);
      const w = status.signups.find((s) => s.signupId === signupId)?.writes ?? {};
      return Object.keys(w).length === 5 ? w : undefined;
    }, 30_000);
    expect(Object.keys(writes).sort()).toEqual(['posthog', 'salesforce', 'slack', 'vitally', 'webhooks']);
    for (const w of Object.values(writes)) expect(w).toMatchObject({ state: 'skipped', reason: ERASED });
    expect(await cellsHolding(email)).toEqual([]);
    const key = payload.event.distinct_id;
    expect((await records('posthog', 'person')).some((r) => r.key === key)).toBe(false);
    expect((await records('salesforce', 'Contact')).some((r) => r.fields.Email === email)).toBe(false);
    expect((await records('vitally', 'user')).some((r) => r.key === key)).toBe(false);
    const delivered = await records('webhooks', 'delivery');
    expect(delivered.some((r) => r.key.startsWith(`${signupId}:`))).toBe(false);
  });

  it('refuses a missing or invalid email with a 400 that names the problem, not the value', async () => {
    const missing = await forgetApi({});
    expect(missing.status).toBe(400);
    expect(JSON.stringify(missing.body)).toContain('email');
    const invalid = await forgetApi({ email: 'ada.quillon-at-quorvalis.com' });
    expect(invalid.status).toBe(400);
    expect(invalid.body.error).toBe('invalid email: the email address must contain exactly one @');
    const unauthorized = await fetch(`${base}/admin/forget`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'x@y.com' }),
    });
    expect(unauthorized.status).toBe(401);
    const cli = await forgetCli('not an email');
    expect(cli.code).toBe(2);
    expect(cli.stderr).toContain('the email address must contain exactly one @');
    expect(cli.stderr).not.toContain('not an email');
  });
});

/**
 * `enrich forget` in Close and Humanic, end to end: a pipeline of its own writing only to them (the real worker and
 * Temporal server, a PostgreSQL ledger, the sandbox's Close simulator and Humanic receiver over HTTP), then the
 * operator API against its starter.
 */
describe('erasure: Close and Humanic', () => {
  const stack = useFanOutStack({ env: { DESTINATIONS: 'close,humanic' } });
  let pipeline: FanOutPipeline;
  beforeAll(async () => {
    pipeline = await stack.pipeline();
  });
  const post = (payload: unknown) => pipeline.post(payload);

  const forget = async (email: string) => {
    const res = await fetch(`${pipeline.url}/admin/forget`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` },
      body: JSON.stringify({ email }),
    });
    expect(res.status).toBe(200);
    return (await res.json()) as ForgetReport;
  };

  /** Waits until the signup is settled and its Close and Humanic writes have ended. */
  const settled = (signupId: string) =>
    eventually(async () => {
      const s = await pipeline.ledger.signups.getSignup(signupId);
      if (!s?.workflowId || UNSETTLED.includes(s.status)) return undefined;
      const status = await stack.client.workflow.getHandle(s.workflowId).query(getStatusQuery);
      const writes = status.signups.find((x) => x.signupId === signupId)?.writes ?? {};
      const ended = (['close', 'humanic'] as const).every((d) => {
        const w = writes[d];
        return w !== undefined && !['pending', 'retrying'].includes(w.state);
      });
      return ended ? s : undefined;
    }, 90_000);

  const close = () => stack.sandbox.inspect<Inspection>('close');
  const rows = async (type: string) => (await close()).records?.[type] ?? [];
  const emailsOf = (r: StoredRecord) => (r.fields.emails as { email: string }[]).map((e) => e.email);
  const closeDeletes = async () => (await close()).calls.filter((c) => c.method === 'DELETE').length;

  it("deletes the person's contact and follow-ups on a company lead, keeping the lead and the colleague", async () => {
    const subjectEmail = 'ada.quillon@quorvalis.com';
    const colleagueEmail = 'bruno.vale@quorvalis.com';
    // Quorvalis raised $310M: both are high-value signups, each with a task on the company's lead.
    const { signupId: subjectId } = await post(posthogSignup({ email: subjectEmail }));
    const { signupId: colleagueId } = await post(posthogSignup({ email: colleagueEmail }));
    await settled(subjectId);
    await settled(colleagueId);
    const lead = (await rows('lead')).find((l) => l.fields.url === 'https://quorvalis.com')!;
    expect(lead).toBeDefined();
    const onLead = async (type: string) => (await rows(type)).filter((r) => r.fields.lead_id === lead.id);
    expect((await onLead('contact')).flatMap(emailsOf).sort()).toEqual([subjectEmail, colleagueEmail]);
    expect((await onLead('task')).filter((t) => String(t.fields.text).includes(`[signup ${subjectId}]`))).toHaveLength(
      1,
    );

    const report = await forget(subjectEmail);
    expect(report.complete).toBe(true);
    expect(report.systems.close).toMatchObject({ state: 'deleted' });
    expect(report.systems.close!.detail).toMatch(
      /task \S+ deleted; contact \S+ deleted; lead \S+ kept \(a company's lead, 1 other contact\(s\)\)/,
    );
    expect(report.systems.humanic).toEqual({
      state: 'listed',
      detail: `signup(s) ${subjectId} were sent to Humanic, which documents no deletion API: delete the person in Humanic's app by hand`,
    });
    expect(JSON.stringify(report)).not.toContain('quorvalis.com');

    // The person's contact and task are gone; the company's lead, the colleague's contact and task stay.
    expect((await rows('lead')).some((l) => l.id === lead.id)).toBe(true);
    expect((await onLead('contact')).flatMap(emailsOf)).toEqual([colleagueEmail]);
    const tasks = (await onLead('task')).map((t) => String(t.fields.text));
    expect(tasks.some((t) => t.includes(`[signup ${subjectId}]`))).toBe(false);
    expect(tasks.some((t) => t.includes(`[signup ${colleagueId}]`))).toBe(true);
    expect((await close()).deleted).toEqual(
      expect.arrayContaining([expect.objectContaining({ type: 'contact' }), expect.objectContaining({ type: 'task' })]),
    );
    expect((await close()).deleted?.some((d) => d.type === 'lead')).toBe(false);

    // Again: settled systems reported as they were, Close not called again.
    const deletesBefore = await closeDeletes();
    const callsBefore = (await close()).calls.length;
    const again = await forget(subjectEmail);
    expect(again).toMatchObject({ repeated: true, signupsErased: 0, complete: true });
    expect(again.systems.close).toEqual(report.systems.close);
    expect(again.systems.humanic).toEqual(report.systems.humanic);
    expect(Object.values(again.systems).some((r) => r.retried)).toBe(false);
    expect(await closeDeletes()).toBe(deletesBefore);
    expect((await close()).calls.length).toBe(callsBefore);
  });

  it("deletes the lead of the person's own (a free-mail signup nobody identified)", async () => {
    const email = `sam.${randomUUID().slice(0, 8)}@gmail.com`;
    const { signupId } = await post(posthogSignup({ email }));
    await settled(signupId);
    const contact = (await rows('contact')).find((c) => emailsOf(c).includes(email))!;
    const ownLead = (await rows('lead')).find((l) => l.id === contact.fields.lead_id)!;
    expect(ownLead.fields.url).toBeUndefined();
    const leadsBefore = (await rows('lead')).length;

    const report = await forget(email);
    expect(report.complete).toBe(true);
    expect(report.systems.close).toMatchObject({
      state: 'deleted',
      detail: `contact ${contact.id} deleted; their own lead ${ownLead.id} deleted`,
    });
    expect(report.systems.humanic).toMatchObject({
      state: 'listed',
      detail: expect.stringContaining(signupId) as unknown,
    });
    expect((await rows('lead')).some((l) => l.id === ownLead.id)).toBe(false);
    expect((await rows('lead')).length).toBe(leadsBefore - 1);
    expect((await rows('contact')).some((c) => emailsOf(c).includes(email))).toBe(false);
    expect((await close()).deleted).toContainEqual(expect.objectContaining({ type: 'lead', id: ownLead.id }));

    // Nobody of that address left in Close: a later erasure of it finds nothing there.
    const stranger = await forget(`nobody.${randomUUID().slice(0, 8)}@gmail.com`);
    expect(stranger.systems.close).toMatchObject({ state: 'not_found' });
    expect(stranger.systems.humanic).toMatchObject({ state: 'not_found' });
  });

  it("erases a contact Close's search has not indexed yet, through the lead recorded for the company", async () => {
    const email = `cora.${randomUUID().slice(0, 8)}@quorvalis.com`;
    await stack.sandbox.control('close', { searchIndexDelayMs: 60_000 });
    try {
      const { signupId } = await post(posthogSignup({ email }));
      await settled(signupId);
      expect((await rows('contact')).some((c) => emailsOf(c).includes(email))).toBe(true);
      const report = await forget(email);
      expect(report.systems.close).toMatchObject({ state: 'deleted' });
      expect(report.systems.close!.detail).toMatch(/contact \S+ deleted/);
      expect((await rows('contact')).some((c) => emailsOf(c).includes(email))).toBe(false);
    } finally {
      await stack.sandbox.control('close', { searchIndexDelayMs: 0 });
    }
  });

  it('reports a Close failure as failed and retries it on the next run', async () => {
    const email = `lena.${randomUUID().slice(0, 8)}@gmail.com`;
    const { signupId } = await post(posthogSignup({ email }));
    await settled(signupId);
    await stack.sandbox.control('close', { failureRate: 1 });
    let first: ForgetReport;
    try {
      first = await forget(email);
    } finally {
      await stack.sandbox.control('close', { failureRate: 0 });
    }
    expect(first.complete).toBe(false);
    expect(first.systems.close).toMatchObject({ state: 'failed' });
    expect(first.systems.humanic).toMatchObject({ state: 'listed' });
    const second = await forget(email);
    expect(second.complete).toBe(true);
    expect(second.systems.close).toMatchObject({ state: 'deleted', retried: true });
    expect(second.systems.humanic?.retried).toBeUndefined();
    expect((await rows('contact')).some((c) => emailsOf(c).includes(email))).toBe(false);
  });
});
