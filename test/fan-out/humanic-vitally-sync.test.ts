import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { posthogPayloadIssues } from '../../src/sandbox/humanic';
import { getStatusQuery } from '../../src/workflows/messages';
import { eventually } from '../support/eventually';
import { posthogSignup } from '../support/signups';
import { type StoredRecord, useFanOutStack } from '../support/stack';

// The `humanic` destination (PostHog-shaped webhooks) and VITALLY_ACCOUNTS=salesforce_sync end to end: a real worker,
// the run's Temporal server, a PostgreSQL ledger and the sandbox's Humanic receiver, Salesforce and Vitally, counted
// through /_inspect.
describe('humanic and Vitally through Salesforce', () => {
  const stack = useFanOutStack({ settleTimeoutMs: 120_000 });
  const { find, settled } = stack;

  it('posts a PostHog signup to Humanic as PostHog would, enriched, once', async () => {
    const p = await stack.pipeline({ DESTINATIONS: 'humanic' });
    const payload = posthogSignup({ email: 'ada.quillon@quorvalis.com' });
    const { signupId, workflowId } = await p.post(payload);
    const status = await settled(workflowId);
    expect(Object.keys(status.signups[0]?.writes ?? {})).toEqual(['humanic']);
    expect(status.signups[0]?.writes?.humanic?.state).toBe('done');

    const events = await find('humanic', 'event', (r) => r.key === payload.event.uuid);
    expect(events).toHaveLength(1);
    expect(events[0]?.writes).toBe(1);
    const body = events[0]!.fields.body as Record<string, Record<string, unknown>>;
    // The receiver validated it against PostHog's webhook payload schema; checked here again on what it stored.
    expect(posthogPayloadIssues(body)).toEqual([]);
    expect(body.event).toMatchObject({
      uuid: payload.event.uuid,
      event: 'user signed up',
      distinct_id: payload.event.distinct_id,
      properties: { $browser: 'Chrome', signup_method: 'email' },
      timestamp: payload.event.timestamp,
    });
    expect(body.person).toMatchObject({
      properties: {
        email: 'ada.quillon@quorvalis.com',
        $geoip_country_code: 'DE',
        enrichment_status: 'enriched',
        enrichment_company_name: 'Quorvalis Systems',
        enrichment_icp_tier: status.icpTier,
      },
    });
    expect(body.groups).toMatchObject({
      organization: {
        id: payload.groups.organization.id,
        type: 'organization',
        properties: { name: 'Lumenforge', enrichment_company_name: 'Quorvalis Systems' },
      },
    });
    expect(body.project).toEqual(payload.project);

    // A backfill of the same signup: found done by its idempotency key, nothing sent again.
    const again = await p.rerun(signupId);
    expect(again.signups[0]?.writes?.humanic?.state).toBe('done');
    expect(again.signups[0]?.writes?.humanic?.detail).toMatch(/^already written/);
    const after = await find('humanic', 'event', (r) => r.key === payload.event.uuid);
    expect(after.map((r) => r.writes)).toEqual([1]);
  });

  it('synthesizes the PostHog event of a signup posted to /signups, with a uuid stable across re-runs', async () => {
    const p = await stack.pipeline({ DESTINATIONS: 'humanic' });
    const orgId = `org-${randomUUID()}`;
    const { signupId, workflowId } = await p.post(
      { email: 'chloe.okafor@zentrivo.io', name: 'Chloe Okafor', organizationId: orgId, organizationName: 'Zentrivo' },
      '/signups',
    );
    await settled(workflowId);
    const events = await find(
      'humanic',
      'event',
      (r) => (r.fields.body as { groups?: { organization?: { id?: string } } }).groups?.organization?.id === orgId,
    );
    expect(events).toHaveLength(1);
    const body = events[0]!.fields.body as Record<string, Record<string, unknown>>;
    expect(posthogPayloadIssues(body)).toEqual([]);
    expect(body.event).toMatchObject({
      event: 'user_signed_up',
      properties: { email: 'chloe.okafor@zentrivo.io', $groups: { organization: orgId } },
    });
    expect(body.person).toMatchObject({
      name: 'Chloe Okafor',
      properties: { email: 'chloe.okafor@zentrivo.io', enrichment_status: 'enriched' },
    });
    expect(body.groups).toMatchObject({ organization: { properties: { name: 'Zentrivo' } } });

    await p.rerun(signupId);
    expect((await find('humanic', 'event', (r) => r.key === events[0]!.key)).map((r) => r.writes)).toEqual([1]);
  });

  it('with VITALLY_ACCOUNTS=salesforce_sync writes the user into the account the sync made, and no account', async () => {
    const p = await stack.pipeline({ DESTINATIONS: 'salesforce,vitally', VITALLY_ACCOUNTS: 'salesforce_sync' });
    const payload = posthogSignup({ email: 'greta.lindqvist@vantollo.co' });
    const orgId = payload.groups.organization.id;
    const { signupId, workflowId } = await p.post(payload);
    // Until Vitally's Salesforce sync has brought the Account over, the Vitally write waits (retrying).
    const waiting = await eventually(async () => {
      const status = await stack.client.workflow.getHandle(workflowId).query(getStatusQuery);
      const w = status.signups[0]?.writes;
      return w?.salesforce?.state === 'done' && w.vitally?.state === 'retrying' ? w : undefined;
    }, 180_000);
    expect(waiting.vitally?.reason).toMatch(/waiting for the Salesforce → Vitally sync/);
    const [sfAccount] = await find('salesforce', 'Account', (r) => r.key === 'vantollo.co');
    expect(sfAccount).toBeDefined();
    const ours = (r: StoredRecord) => [orgId, sfAccount!.id, 'vantollo.co'].includes(r.key);
    expect(await find('vitally', 'account', ours)).toEqual([]);

    // The sync (Vitally's Salesforce integration) creates the account, keyed by the Account field the admin picked:
    // by default (VITALLY_SYNC_ACCOUNT_KEY=domain) the domain our Salesforce Account writes key on.
    const synced = await fetch(`${stack.sandbox.url}/vitally/resources/accounts`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Basic ${Buffer.from('sandbox-key:').toString('base64')}`,
      },
      body: JSON.stringify({ externalId: 'vantollo.co', name: 'Vantollo' }),
    });
    expect(synced.status).toBe(200);
    const syncedId = ((await synced.json()) as { id: string }).id;

    const status = await settled(workflowId);
    expect(status.signups[0]?.writes?.vitally).toMatchObject({ state: 'done' });
    const accounts = await find('vitally', 'account', ours);
    expect(accounts.map((a) => [a.key, a.writes])).toEqual([['vantollo.co', 1]]);
    expect(await find('vitally', 'account', (r) => r.key === orgId)).toEqual([]);
    const users = await find('vitally', 'user', (r) => r.key === payload.event.distinct_id);
    expect(users).toHaveLength(1);
    expect(users[0]?.fields.accountIds).toEqual([syncedId]);

    await p.rerun(signupId);
    expect((await find('vitally', 'account', ours)).map((a) => [a.key, a.writes])).toEqual([['vantollo.co', 1]]);
    expect((await find('vitally', 'user', (r) => r.key === payload.event.distinct_id)).map((u) => u.writes)).toEqual([
      1,
    ]);
  }, 300_000);

  it('by default (VITALLY_ACCOUNTS=direct) still creates the Vitally account', async () => {
    const p = await stack.pipeline({ DESTINATIONS: 'vitally' });
    const payload = posthogSignup({ email: 'maya.sorensen@fenwaro.io' });
    const { workflowId } = await p.post(payload);
    const status = await settled(workflowId);
    expect(status.signups[0]?.writes?.vitally).toMatchObject({ state: 'done' });
    expect(await find('vitally', 'account', (r) => r.key === payload.groups.organization.id)).toHaveLength(1);
  });
});
