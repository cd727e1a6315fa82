import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { getStatusQuery, type SignupEnrichmentStatus } from '../../src/workflows/messages';
import { eventually } from '../support/eventually';
import { posthogSignup } from '../support/signups';
import { useFanOutStack } from '../support/stack';

// Close end to end: the real worker and Temporal server, a PostgreSQL ledger, and the sandbox's Close simulator over
// HTTP, counted through /_inspect/close.
describe('fan-out to Close', () => {
  // Every pipeline of this file writes only to Close.
  const stack = useFanOutStack({ env: { DESTINATIONS: 'close' } });

  /** Waits until the signup's Close write has settled (a workflow's status lists the signups still in it). */
  const settled = (workflowId: string, signupId?: string) =>
    eventually<SignupEnrichmentStatus>(async () => {
      const status = await stack.client.workflow.getHandle(workflowId).query(getStatusQuery);
      const signup = signupId ? status.signups.find((s) => s.signupId === signupId) : status.signups[0];
      const write = signup?.writes?.close;
      return write && !['pending', 'retrying'].includes(write.state) ? status : undefined;
    }, 90_000);

  const records = () => stack.records('close');
  const snapshot = async () =>
    Object.fromEntries(
      Object.entries(await records()).map(([type, rows]) => [type, (rows ?? []).map((r) => [r.id, r.writes])]),
    );

  it('gives two people of one company one lead and two contacts, a task each as high-value signups, and a re-run adds nothing', async () => {
    const p = await stack.pipeline();
    // Two PostHog organizations of one company (quorvalis.com, $310M raised: high value), written at once.
    const ada = posthogSignup({ email: 'ada.quillon@quorvalis.com' });
    const ben = posthogSignup({ email: `ben.${randomUUID().slice(0, 8)}@quorvalis.com` });
    const [a, b] = await Promise.all([p.post(ada), p.post(ben)]);
    const [statusA, statusB] = await Promise.all([settled(a.workflowId), settled(b.workflowId)]);
    expect(statusA.signups[0]?.writes?.close).toMatchObject({ state: 'done' });
    expect(statusB.signups[0]?.writes?.close).toMatchObject({ state: 'done' });

    const r = await records();
    const leads = (r.lead ?? []).filter((l) => l.fields.url === 'https://quorvalis.com');
    expect(leads).toHaveLength(1);
    const lead = leads[0]!;
    expect(lead.fields.name).toBe('Quorvalis Systems');
    const contacts = (r.contact ?? []).filter((c) => c.fields.lead_id === lead.id);
    expect(contacts.map((c) => (c.fields.emails as { email: string }[])[0]?.email).sort()).toEqual(
      [ada.person.properties.email, ben.person.properties.email].sort(),
    );
    // CLOSE_HIGH_VALUE_ACTION defaults to a task: one per signup, on the company's lead.
    const tasks = (r.task ?? []).filter((t) => t.fields.lead_id === lead.id);
    expect(tasks.map((t) => t.fields.text).sort()).toEqual(
      [expect.stringContaining(`[signup ${a.signupId}]`), expect.stringContaining(`[signup ${b.signupId}]`)].sort(),
    );
    // Enriched fields are the lead's custom fields.
    const fieldIds = new Map((r.custom_field ?? []).map((f) => [f.fields.name, f.id]));
    expect((lead.fields.custom as Record<string, unknown>)[fieldIds.get('enrichment_company_name')!]).toBe(
      'Quorvalis Systems',
    );

    // The same signup again, as a backfill would run it: found done by its idempotency key, nothing written.
    const before = await snapshot();
    const rerun = await p.rerun(a.signupId);
    expect(rerun.signups[0]?.writes?.close).toMatchObject({
      state: 'done',
      detail: expect.stringMatching(/^already written/) as unknown,
    });
    expect(await snapshot()).toEqual(before);
  });

  it('finds the lead and contact again when nothing in its ledger says they were written, and creates neither', async () => {
    const p = await stack.pipeline({ CLOSE_HIGH_VALUE_ACTION: 'opportunity' });
    const { workflowId, signupId } = await p.post(posthogSignup({ email: 'ada.quillon@quorvalis.com' }));
    await settled(workflowId);
    // A second pipeline (its own ledger: no record of the write) writing the same company and person finds them.
    const before = await snapshot();
    const other = await stack.pipeline({ CLOSE_HIGH_VALUE_ACTION: 'opportunity' });
    const again = await other.post(posthogSignup({ email: 'ada.quillon@quorvalis.com' }));
    await settled(again.workflowId);
    const after = await records();
    expect(after.lead?.length).toBe(before.lead?.length);
    expect(after.contact?.length).toBe(before.contact?.length);
    // The opportunity is per signup: the second signup has one of its own, the first's is not repeated.
    const opportunities = (after.opportunity ?? []).map((o) => String(o.fields.note));
    expect(opportunities.filter((n) => n.includes(`[signup ${signupId}]`))).toHaveLength(1);
    expect(opportunities.filter((n) => n.includes(`[signup ${again.signupId}]`))).toHaveLength(1);
  });

  it("attaches a free-mail signup to the lead of its organization's company, identified by an earlier signup", async () => {
    const p = await stack.pipeline();
    const org = `org-${randomUUID()}`;
    const work = await p.post(posthogSignup({ email: `chloe.${randomUUID().slice(0, 8)}@zentrivo.io`, orgId: org }));
    await settled(work.workflowId);
    const personalEmail = `dmitri.${randomUUID().slice(0, 8)}@gmail.com`;
    const personal = await p.post(posthogSignup({ email: personalEmail, orgId: org }));
    expect(personal.workflowId).toBe(work.workflowId);
    await settled(personal.workflowId, personal.signupId);

    const r = await records();
    const lead = (r.lead ?? []).find((l) => l.fields.url === 'https://zentrivo.io')!;
    expect(lead).toBeDefined();
    const contact = (r.contact ?? []).find((c) =>
      (c.fields.emails as { email: string }[]).some((e) => e.email === personalEmail),
    );
    expect(contact?.fields.lead_id).toBe(lead.id);

    // A free-mail signup nobody identified gets a lead of its own, named after the person.
    const alone = `sam.${randomUUID().slice(0, 8)}@gmail.com`;
    const lone = await p.post(posthogSignup({ email: alone }));
    await settled(lone.workflowId);
    const after = await records();
    const own = (after.contact ?? []).find((c) =>
      (c.fields.emails as { email: string }[]).some((e) => e.email === alone),
    );
    const ownLead = (after.lead ?? []).find((l) => l.id === own?.fields.lead_id);
    expect(ownLead).toBeDefined();
    expect(ownLead?.fields.url).toBeUndefined();
    expect(ownLead?.fields.name).toBe('Priya Raman');
    expect(ownLead?.id).not.toBe(lead.id);
  });
});
