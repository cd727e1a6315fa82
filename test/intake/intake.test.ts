import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config';
import { openLedger, type Ledger } from '../../src/ledger/ledger';
import { createIntake, type Intake } from '../../src/starter';
import { getStatusQuery } from '../../src/workflows/messages';
import { CLAY_SECRET, SECRET, testConfig } from '../support/config';
import { eventually } from '../support/eventually';
import { type RunningSandbox, startSandbox } from '../support/sandbox';
import { posthogSignup } from '../support/signups';
import { type RunningWorker, startWorker } from '../support/stack';

// The intake over real HTTP, with the real outbox, worker and Temporal server behind it.
describe('intake', () => {
  let config: Config;
  let ledger: Ledger;
  let worker: RunningWorker;
  let intake: Intake;
  let base: string;
  let client: Client;
  let sandbox: RunningSandbox;

  beforeAll(async () => {
    sandbox = await startSandbox();
    config = testConfig({ SANDBOX_URL: sandbox.url });
    ledger = await openLedger({ databaseUrl: undefined });
    worker = await startWorker(config, ledger);
    intake = createIntake(config, ledger, { outboxPollMs: 200 });
    base = await intake.app.listen({ host: '127.0.0.1', port: 0 });
    await sandbox.control('clay', { callbackUrl: `${base}/webhooks/clay`, callbackAuth: CLAY_SECRET });
    client = new Client({ connection: await Connection.connect({ address: config.temporal.address }) });
  });

  afterAll(async () => {
    await intake?.close();
    await worker?.shutdown();
    await client?.connection.close();
    await ledger?.close();
    await sandbox?.close();
  });

  type Calls = { calls: { path: string; key: string | null; status: number }[] };
  const providerCalls = async (system: string, key: string) =>
    (await sandbox.inspect<Calls>(system)).calls.filter((c) => c.key === key);

  const post = async (
    path: string,
    body: unknown,
    init: { auth?: string | null; raw?: string; type?: string } = {},
  ) => {
    const headers: Record<string, string> = { 'content-type': init.type ?? 'application/json' };
    if (init.auth !== null) headers.authorization = init.auth ?? `Bearer ${SECRET}`;
    const res = await fetch(`${base}${path}`, { method: 'POST', headers, body: init.raw ?? JSON.stringify(body) });
    return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
  };

  // The 202 comes before the workflow start (the outbox starts it). A signup is done when its enrichment is
  // recorded; the workflow itself may stay open a while to follow up lookups a provider is still computing.
  const finished = async (workflowId: string) => {
    await eventually(async () => {
      const rows = await ledger.signups.listSignupsByWorkflowId(workflowId);
      return rows.length > 0 && rows.every((r) => r.enrichedAt !== null) ? true : undefined;
    });
    const handle = client.workflow.getHandle(workflowId);
    return eventually(async () => {
      const description = await handle.describe();
      const status = description.searchAttributes.EnrichmentStatus?.[0];
      return status === 'enriching' || status === 'received' ? undefined : description;
    });
  };

  it('accepts a PostHog signup, enriches it through the sandbox and scores it', async () => {
    const payload = posthogSignup({ email: 'ada.quillon@quorvalis.com' });
    const res = await post('/webhooks/posthog', payload);
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ status: 'accepted', workflowId: `signup-${payload.groups.organization.id}` });

    const description = await finished(res.body.workflowId as string);
    expect(description.type).toBe('SignupEnrichmentWorkflow');
    expect(description.searchAttributes).toMatchObject({
      EnrichmentStatus: ['enriched'],
      CompanyDomain: ['quorvalis.com'],
      SignupAt: [new Date('2026-11-23T14:05:11.482Z')],
    });
    expect(description.searchAttributes.IcpScore?.[0]).toBeTypeOf('number');
    expect(description.searchAttributes.IcpTier?.[0]).toMatch(/^[ABCD]$/);
    expect(await description.staticSummary()).toBe('Signup enrichment · quorvalis.com');
    const status = await client.workflow.getHandle(res.body.workflowId as string).query(getStatusQuery);
    expect(status.signups[0]).toMatchObject({
      status: 'enriched',
      fields: {
        companyName: 'Quorvalis Systems',
        industry: 'Internet Software & Services',
        country: 'US',
        employees: 1850,
      },
      provenance: { industry: { source: 'clearbit' } },
      creditsSpent: { clearbit: 2 },
    });
    // Clearbit had every required field: Harmonic and Clay were never asked.
    expect(await providerCalls('harmonic', 'quorvalis.com')).toEqual([]);
    expect(await providerCalls('clay', 'quorvalis.com')).toEqual([]);
    expect(await ledger.signups.getSignup(res.body.signupId as string)).toMatchObject({
      emailKind: 'work',
      status: 'enriched',
    });
    const archived = await ledger.providerArchive.listProviderResponses(res.body.signupId as string);
    expect(archived.map((r) => [r.provider, r.lookup, r.outcome])).toEqual([
      ['clearbit', 'company', 'found'],
      ['clearbit', 'person', 'found'],
    ]);
  });

  it('serves the second signup from the same company from the domain cache', async () => {
    const before = (await providerCalls('clearbit', 'quorvalis.com')).length;
    const res = await post('/webhooks/posthog', posthogSignup({ email: 'bruno.marchetti@quorvalis.com' }));
    await finished(res.body.workflowId as string);
    expect(await providerCalls('clearbit', 'quorvalis.com')).toHaveLength(before);
    const status = await client.workflow.getHandle(res.body.workflowId as string).query(getStatusQuery);
    expect(status.signups[0]).toMatchObject({ status: 'enriched', creditsSpent: { clearbit: 1 } });
    expect(status.signups[0]?.trace?.[0]).toMatchObject({ source: 'cache', outcome: 'found' });
  });

  it('asks Harmonic only for the industry Clearbit lacks', async () => {
    const res = await post('/webhooks/posthog', posthogSignup({ email: 'dmitri.novak@zentrivo.io' }));
    await finished(res.body.workflowId as string);
    const status = await client.workflow.getHandle(res.body.workflowId as string).query(getStatusQuery);
    expect(status.signups[0]).toMatchObject({
      status: 'enriched',
      provenance: { industry: { source: 'harmonic' }, companyName: { source: 'clearbit' } },
    });
    expect(await providerCalls('harmonic', 'zentrivo.io')).toHaveLength(1);
    expect(await providerCalls('clay', 'zentrivo.io')).toEqual([]);
  });

  it('completes a signup through Clay when the cheaper providers do not know the company', async () => {
    const res = await post('/webhooks/posthog', posthogSignup({ email: 'someone@vantollo.co' }));
    await finished(res.body.workflowId as string);
    const status = await client.workflow.getHandle(res.body.workflowId as string).query(getStatusQuery);
    expect(status.signups[0]?.trace?.map((t) => `${t.source}:${t.lookup}:${t.outcome}`).slice(0, 3)).toEqual([
      'clearbit:company:not_found',
      'harmonic:company:queued',
      'clay:company:found',
    ]);
    expect(status.signups[0]).toMatchObject({ status: 'enriched', provenance: { industry: { source: 'clay' } } });
    const archived = await ledger.providerArchive.listProviderResponses(res.body.signupId as string);
    expect(archived.filter((r) => r.provider === 'clay').map((r) => r.outcome)).toContain('found');
  });

  it('answers duplicate for the same event delivered twice, and for the same organization + person', async () => {
    const payload = posthogSignup();
    const first = await post('/webhooks/posthog', payload);
    const again = await post('/webhooks/posthog', payload);
    const sameOrgAndPerson = posthogSignup({ orgId: payload.groups.organization.id });
    const third = await post('/webhooks/posthog', sameOrgAndPerson);
    expect(first.body.status).toBe('accepted');
    for (const res of [again, third]) {
      expect(res.status).toBe(202);
      expect(res.body).toEqual({
        status: 'duplicate',
        signupId: first.body.signupId,
        workflowId: first.body.workflowId,
      });
    }
    await finished(first.body.workflowId as string);
    const runs = client.workflow.list({ query: `WorkflowId = '${first.body.workflowId as string}'` });
    let count = 0;
    for await (const _ of runs) count++;
    expect(count).toBe(1);
  });

  it('screens a free-mail signup as skipped: a person lookup, never a company lookup', async () => {
    const res = await post('/webhooks/posthog', posthogSignup({ email: 'priya.raman@gmail.com' }));
    expect(res.body.status).toBe('accepted');
    const description = await finished(res.body.workflowId as string);
    expect(description.searchAttributes.EnrichmentStatus).toEqual(['skipped']);
    expect(description.searchAttributes.CompanyDomain).toBeUndefined();
    for (const system of ['clearbit', 'harmonic', 'clay']) {
      expect(await providerCalls(system, 'gmail.com')).toEqual([]);
    }
    expect(await ledger.signups.getSignup(res.body.signupId as string)).toMatchObject({
      emailKind: 'free_mail',
      status: 'skipped',
      statusReason: 'free_mail',
    });
  });

  it('hands a second person of the same organization to the organization workflow', async () => {
    const first = posthogSignup();
    const orgId = first.groups.organization.id;
    const a = await post('/webhooks/posthog', first);
    const b = await post('/webhooks/posthog', posthogSignup({ orgId, email: 'jonas.berg@lumenforge.io' }));
    expect(b.body).toMatchObject({ status: 'accepted', workflowId: a.body.workflowId });
    expect(b.body.signupId).not.toBe(a.body.signupId);
    for (const id of [a.body.signupId, b.body.signupId]) {
      await eventually(async () => ((await ledger.signups.getSignup(id as string))?.enrichedAt ? true : undefined));
    }
  });

  it('guards POST /webhooks/clay: auth, shape, and only known signups', async () => {
    const result = {
      request_id: '00000000-0000-4000-8000-000000000000',
      workflow_id: 'signup-x',
      company_found: false,
    };
    const clay = { auth: `Bearer ${CLAY_SECRET}` };
    expect((await post('/webhooks/clay', result, { auth: null })).status).toBe(401);
    // The signup endpoints' secret does not open Clay's.
    expect((await post('/webhooks/clay', result)).status).toBe(401);
    const invalid = await post('/webhooks/clay', { request_id: 'not-a-uuid', company_found: 'yes' }, clay);
    expect(invalid.status).toBe(400);
    expect((invalid.body.issues as { path: string }[]).map((i) => i.path).sort()).toEqual([
      'company_found',
      'request_id',
      'workflow_id',
    ]);
    expect(await post('/webhooks/clay', result, clay)).toMatchObject({ status: 404 });
  });

  it('ignores events that are not signups, without recording them', async () => {
    const res = await post('/webhooks/posthog', posthogSignup({ event: '$pageview' }));
    expect(res).toMatchObject({ status: 202, body: { status: 'ignored', event: '$pageview' } });
  });

  it('records a signup without an email as skipped, with its reason, and starts no workflow', async () => {
    const res = await post('/webhooks/posthog', posthogSignup({ email: null }));
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ status: 'skipped', reason: expect.stringContaining('no email') as string });
    expect(res.body.workflowId).toBeUndefined();
    expect(await ledger.signups.getSignup(res.body.signupId as string)).toMatchObject({
      status: 'skipped',
      workflowId: null,
    });
  });

  it('rejects a missing or wrong bearer token with 401', async () => {
    const missing = await post('/webhooks/posthog', posthogSignup(), { auth: null });
    const wrong = await post('/webhooks/posthog', posthogSignup(), { auth: `Bearer ${SECRET}x` });
    const basic = await post('/signups', { email: 'a@b.io' }, { auth: `Basic ${SECRET}` });
    for (const res of [missing, wrong, basic]) {
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer');
    }
  });

  it('answers 400 listing each problem with its path for a body of the wrong shape', async () => {
    const res = await post('/webhooks/posthog', { event: { uuid: 42, distinct_id: 'x' }, person: 'nobody' });
    expect(res.status).toBe(400);
    const paths = (res.body.issues as { path: string; message: string }[]).map((i) => i.path).sort();
    expect(paths).toEqual(['event.event', 'event.uuid', 'person']);
    expect(res.body.error).toBeTypeOf('string');
  });

  it('answers 400 for a body that is not JSON, whatever its content type', async () => {
    for (const type of ['application/json', 'text/plain']) {
      const res = await post('/webhooks/posthog', undefined, { raw: '{"event": ', type });
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ issues: [{ path: '(body)' }] });
    }
  });

  it('answers 413 for a body over 1 MiB', async () => {
    const payload = posthogSignup();
    (payload.event.properties as Record<string, unknown>).padding = 'x'.repeat(1024 * 1024);
    const res = await post('/webhooks/posthog', payload);
    expect(res.status).toBe(413);
  });

  it('takes signups from other sources on POST /signups', async () => {
    const res = await post('/signups', {
      email: 'Mara.Quint@Tidewater-Robotics.com',
      name: 'Mara Quint',
      organizationName: 'Tidewater Robotics',
      signedUpAt: '2026-11-20T09:00:00Z',
      source: 'website',
    });
    expect(res).toMatchObject({ status: 202, body: { status: 'accepted' } });
    expect(res.body.workflowId).toMatch(/^signup-p[0-9a-f]{24}$/);
    const description = await finished(res.body.workflowId as string);
    expect(description.searchAttributes.CompanyDomain).toEqual(['tidewater-robotics.com']);
    // Nobody knows this fictional company: not found is data, not an error.
    expect(description.searchAttributes.EnrichmentStatus).toEqual(['not_found']);

    const again = await post('/signups', { email: 'mara.quint@tidewater-robotics.com' });
    expect(again.body).toMatchObject({ status: 'duplicate', signupId: res.body.signupId });

    const invalid = await post('/signups', { email: 'mara', organizationId: 7, extra: true });
    expect(invalid.status).toBe(400);
    expect((invalid.body.issues as { path: string }[]).map((i) => i.path).sort()).toEqual(['(body)', 'organizationId']);
  });

  it('serves /healthz, /readyz and /metrics', async () => {
    expect(await (await fetch(`${base}/healthz`)).json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', checks: { ledger: 'ok', temporal: 'ok' } });
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/signup_intake_requests_total\{source="posthog",answer="accepted"\} \d+/);
    expect(metrics).toMatch(/signup_intake_requests_total\{source="posthog",answer="unauthorized"\} \d+/);
    expect(metrics).toMatch(/signup_workflow_starts_total\{result="started"\} \d+/);
    expect(metrics).toContain('signup_outbox_pending 0');
  });
});
