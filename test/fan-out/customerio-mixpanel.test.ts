import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { eventUlid } from '../../src/integrations/customerio/client';
import { openPostgres } from '../../src/ledger/sql';
import { posthogSignup, type PosthogPayload } from '../support/signups';
import { useFanOutStack } from '../support/stack';

// Customer.io and Mixpanel end to end: real worker, real Temporal server, PostgreSQL ledger, the sandbox's simulators
// over real HTTP, checked through /_inspect/customerio and /_inspect/mixpanel.
describe('fan-out to Customer.io and Mixpanel', () => {
  const stack = useFanOutStack({ env: { DESTINATIONS: 'customerio,mixpanel' }, settleTimeoutMs: 90_000 });
  const { records, find, settled } = stack;

  /** A signup by `email` with the PostHog properties `extra` on its event. */
  function signup(email: string, extra: Record<string, unknown> = {}): PosthogPayload {
    const payload = posthogSignup({ email });
    Object.assign(payload.event.properties, extra);
    return payload;
  }

  it('sends signed_up once per signup with likely_developer per the rule, merges the anonymous Mixpanel profile, and a re-run writes nothing new', async () => {
    const p = await stack.pipeline();
    const anon = `anon-${randomUUID()}`;
    // Ada is the CTO (the person lookup gives her title): a developer. Bruno directs sales and signed up by email.
    const ada = signup('ada.quillon@quorvalis.com', { $anon_distinct_id: anon, newsletter_opt_in: true });
    const bruno = signup('bruno.marchetti@quorvalis.com', { signup_method: 'email' });
    const posted = [await p.post(ada), await p.post(bruno)];
    for (const { workflowId } of posted) {
      const status = await settled(workflowId);
      expect(status.signups[0]?.writes).toMatchObject({
        customerio: { state: 'done', detail: 'person identified, signed_up sent' },
        mixpanel: { state: 'done' },
      });
    }
    const adaKey = ada.event.distinct_id;
    const brunoKey = bruno.event.distinct_id;

    // Customer.io: each person identified by their distinct id, the email an attribute, likely_developer per the rule.
    const people = await find('customerio', 'customer', (r) => [adaKey, brunoKey].includes(r.key));
    expect(people).toHaveLength(2);
    const attributes = (key: string) => people.find((r) => r.key === key)?.fields.attributes as Record<string, unknown>;
    expect(attributes(adaKey)).toMatchObject({
      email: 'ada.quillon@quorvalis.com',
      likely_developer: true,
      newsletter_opt_in: true,
      enrichment_person_title: 'Chief Technology Officer',
    });
    expect(attributes(brunoKey)).toMatchObject({ email: 'bruno.marchetti@quorvalis.com', likely_developer: false });
    expect(attributes(brunoKey)).not.toHaveProperty('newsletter_opt_in');
    const events = await find('customerio', 'event', (r) => [adaKey, brunoKey].includes(r.fields.customer as string));
    expect(events.map((e) => [e.fields.customer, e.fields.name, e.writes, e.fields.duplicates]).sort()).toEqual(
      [
        [adaKey, 'signed_up', 1, 0],
        [brunoKey, 'signed_up', 1, 0],
      ].sort(),
    );
    const adaEvent = events.find((e) => e.fields.customer === adaKey);
    expect(adaEvent?.key).toBe(eventUlid(posted[0]!.signupId, ada.event.timestamp as string));
    expect(adaEvent?.fields.data).toMatchObject({
      likely_developer: true,
      newsletter_opt_in: true,
      signed_up_at: Math.floor(Date.parse(ada.event.timestamp as string) / 1000),
    });
    expect((await p.ledger.signups.getSignup(posted[0]!.signupId))?.status).toBe('enriched');

    // Mixpanel: the anonymous and the identified ids are one identity; profile and company group set.
    const identities = await find('mixpanel', 'identity', (r) => (r.fields.distinctIds as string[]).includes(adaKey));
    expect(identities).toHaveLength(1);
    expect(identities[0]?.fields.distinctIds).toEqual([anon, adaKey].sort());
    expect(await find('mixpanel', 'identity', (r) => (r.fields.distinctIds as string[]).includes(brunoKey))).toEqual(
      [],
    );
    const profile = (await find('mixpanel', 'profile', (r) => r.key === adaKey))[0];
    expect(profile?.fields.properties).toMatchObject({
      $email: 'ada.quillon@quorvalis.com',
      company: ['quorvalis.com'],
      enrichment_company_name: 'Quorvalis Systems',
    });
    const group = (await find('mixpanel', 'group', (r) => r.key === 'company:quorvalis.com'))[0];
    expect(group?.fields.properties).toMatchObject({ $name: 'Quorvalis Systems' });

    const snapshot = async () => ({
      customerio: await records('customerio'),
      mixpanel: await records('mixpanel'),
    });
    const before = await snapshot();

    // The same signup enriched again, as a backfill would: nothing new anywhere, no second signed_up.
    const rerun = await p.rerun(posted[0]!.signupId);
    expect(rerun.signups[0]?.writes?.customerio).toMatchObject({ state: 'done', detail: /^already written/ });
    expect(rerun.signups[0]?.writes?.mixpanel).toMatchObject({ state: 'done', detail: /^already written/ });
    const after = await snapshot();
    for (const system of ['customerio', 'mixpanel'] as const) {
      for (const [type, list] of Object.entries(before[system])) {
        expect(
          after[system][type]?.map((r) => [r.key, r.writes, r.fields.duplicates]),
          `${system} ${type}`,
        ).toEqual(list?.map((r) => [r.key, r.writes, r.fields.duplicates]));
      }
    }
  });

  it('never sends a second signed_up when the enrichment changed (a new content key): the person is only updated', async () => {
    const p = await stack.pipeline();
    const payload = signup('kai.finch@rildreltav.com');
    const { signupId, workflowId } = await p.post(payload);
    await settled(workflowId);
    const key = payload.event.distinct_id;
    const eventsOf = () => find('customerio', 'event', (r) => r.fields.customer === key);
    expect(await eventsOf()).toHaveLength(1);
    const writesBefore = (await find('customerio', 'customer', (r) => r.key === key))[0]?.writes ?? 0;

    // Forget the content-keyed write, as a re-enrichment with new content would present a key never written.
    const sql = await openPostgres(p.config.databaseUrl!);
    try {
      await sql.query(`DELETE FROM destination_writes WHERE destination = 'customerio' AND idempotency_key <> $1`, [
        `${signupId}:customerio:signed_up`,
      ]);
    } finally {
      await sql.close();
    }
    const rerun = await p.rerun(signupId);
    expect(rerun.signups[0]?.writes?.customerio).toMatchObject({
      state: 'done',
      detail: 'person updated (signed_up already sent)',
    });
    expect((await find('customerio', 'customer', (r) => r.key === key))[0]?.writes).toBe(writesBefore + 1);
    const events = await eventsOf();
    expect(events).toHaveLength(1);
    // Not even re-sent for Customer.io to deduplicate.
    expect(events[0]?.fields.duplicates).toBe(0);
  });
});
