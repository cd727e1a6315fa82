import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { EnrichedSignup } from '../../src/domain/fan-out';
import {
  CLOSE_DOMAIN_FIELD,
  closeMessage,
  closeResetMs,
  contactBody,
  createCloseClient,
  followUpMarker,
  leadCustomFields,
  leadName,
  type CloseHighValueAction,
} from '../../src/integrations/close/client';
import { startSandbox, type Inspection, type RunningSandbox } from '../support/sandbox';

const signup: EnrichedSignup = {
  signupId: '0b6f4a52-8a0e-4f0e-9b43-0d1f3f1c2a11',
  personKey: 'distinct-42',
  distinctId: 'distinct-42',
  email: 'ada.quillon@quorvalis.com',
  name: 'Ada Quillon',
  emailKind: 'work',
  domain: 'quorvalis.com',
  organizationId: 'org-7',
  organizationName: 'Quorvalis',
  signedUpAt: '2026-11-24T08:00:00.000Z',
  status: 'enriched',
  reason: undefined,
  fields: { companyName: 'Quorvalis Systems', employees: 640, industry: 'Software', personTitle: 'CTO' },
  provenance: { companyName: { source: 'clearbit', at: '2026-11-24T08:00:01.000Z' } },
  score: {
    status: 'scored',
    score: 86,
    tier: 'A',
    points: {},
    missingFields: [],
    reason: undefined,
    configVersion: '2026-11-01',
    inputHash: 'h',
  },
  enrichedAt: '2026-11-24T08:00:02.000Z',
};
const company = { domain: 'quorvalis.com', name: 'Quorvalis Systems' };

describe('Close mapping', () => {
  it('names the lead after the company, else the person, and keeps the domain and enriched fields as custom fields', () => {
    expect(leadName(signup, company)).toBe('Quorvalis Systems');
    expect(leadName({ ...signup, name: undefined }, undefined)).toBe('ada.quillon');
    const custom = leadCustomFields(signup, company);
    expect(custom[CLOSE_DOMAIN_FIELD]).toBe('quorvalis.com');
    expect(custom).toMatchObject({ enrichment_employees: 640, enrichment_industry: 'Software' });
    // The person's title is the contact's, not the company lead's.
    expect(Object.keys(custom).some((k) => k.includes('person_title'))).toBe(false);
    expect(leadCustomFields(signup, undefined)).toEqual({});
    expect(contactBody(signup)).toEqual({
      name: 'Ada Quillon',
      title: 'CTO',
      emails: [{ type: 'office', email: 'ada.quillon@quorvalis.com' }],
    });
  });

  it("reads Close's error bodies and its 429's rate_reset", () => {
    expect(closeMessage({ errors: [], 'field-errors': { lead_id: 'This field is required.' } })).toBe(
      'lead_id: This field is required.',
    );
    expect(closeMessage({ error: 'The API key is invalid.' })).toBe('The API key is invalid.');
    expect(closeResetMs({ error: { rate_reset: 2.5 } }, new Headers())).toBe(2500);
    expect(closeResetMs(undefined, new Headers({ ratelimit: 'limit=20, remaining=0, reset=4' }))).toBe(4000);
    expect(closeResetMs(undefined, new Headers())).toBe(60_000);
  });
});

describe('Close client against the sandbox', () => {
  let sandbox: RunningSandbox;
  beforeAll(async () => {
    sandbox = await startSandbox();
  });
  afterAll(async () => sandbox?.close());
  afterEach(async () => {
    await fetch(`${sandbox.url}/_reset`, { method: 'POST' });
  });

  const client = (highValueAction: CloseHighValueAction = 'task', apiKey = 'sandbox-key') =>
    createCloseClient({ baseUrl: `${sandbox.url}/close/api/v1`, apiKey, highValueAction, timeoutMs: 5000 });
  const records = async () => (await sandbox.inspect<Inspection>('close')).records ?? {};

  it('makes one lead per company domain with a contact per person, and adds nothing on a repeat', async () => {
    const c = client();
    expect(await c.writeEnrichment(signup, company, false)).toMatchObject({ kind: 'written' });
    const colleague = { ...signup, signupId: 's-2', personKey: 'p-2', email: 'ben@quorvalis.com', name: 'Ben Ode' };
    expect(await c.writeEnrichment(colleague, company, false)).toMatchObject({ kind: 'written' });
    // A new client (another worker) finds the lead by its domain too.
    expect(await client().writeEnrichment(colleague, company, false)).toMatchObject({
      kind: 'written',
      detail: expect.stringMatching(/contact already there/) as unknown,
    });
    const r = await records();
    expect(r.lead).toHaveLength(1);
    expect(r.lead?.[0]?.fields).toMatchObject({ name: 'Quorvalis Systems', url: 'https://quorvalis.com' });
    expect(r.contact?.map((x) => x.fields.lead_id)).toEqual([r.lead?.[0]?.id, r.lead?.[0]?.id]);
    const domainField = r.custom_field?.find((f) => f.fields.name === CLOSE_DOMAIN_FIELD);
    expect((r.lead?.[0]?.fields.custom as Record<string, unknown>)[domainField!.id]).toBe('quorvalis.com');
    // The custom fields were created once, numbers as numbers.
    expect(r.custom_field?.find((f) => f.fields.name === 'enrichment_employees')?.fields.type).toBe('number');
    expect(new Set(r.custom_field?.map((f) => f.fields.name)).size).toBe(r.custom_field?.length);
  });

  it('adds one task, or one opportunity, per high-value signup', async () => {
    await client('task').writeEnrichment(signup, company, true);
    await client('task').writeEnrichment(signup, company, true);
    let r = await records();
    expect(r.task).toHaveLength(1);
    expect(r.task?.[0]?.fields.text).toContain(followUpMarker(signup.signupId));
    expect(r.task?.[0]?.fields.text).not.toContain(signup.email);
    await fetch(`${sandbox.url}/_reset`, { method: 'POST' });
    await client('opportunity').writeEnrichment(signup, company, true);
    await client('opportunity').writeEnrichment(signup, company, true);
    r = await records();
    expect(r.opportunity).toHaveLength(1);
    expect(r.opportunity?.[0]?.fields).toMatchObject({ confidence: 86, lead_id: r.lead?.[0]?.id });
    expect(r.task).toBeUndefined();
    await client('none').writeEnrichment({ ...signup, signupId: 'other' }, company, true);
    expect((await records()).opportunity).toHaveLength(1);
  });

  it('gives a person without a company a lead of their own, found again by their email', async () => {
    const personal = { ...signup, email: 'ada.q@gmail.com', emailKind: 'free_mail' as const, domain: undefined };
    await client().writeEnrichment(personal, undefined, false);
    await client().writeEnrichment(personal, undefined, false);
    const r = await records();
    expect(r.lead).toHaveLength(1);
    expect(r.lead?.[0]?.fields.name).toBe('Ada Quillon');
    expect(r.contact).toHaveLength(1);
  });

  it('maps a rejected key, throttling and an outage to their outcomes', async () => {
    expect(await client('task', 'bad-key').writeEnrichment(signup, company, false)).toMatchObject({
      kind: 'auth_failed',
      detail: expect.stringMatching(/Close rejected the API key \(HTTP 401/) as unknown,
    });
    await sandbox.control('close', { rateLimitPerSecond: 1 });
    const outcomes = await Promise.all([1, 2, 3].map(() => client().writeEnrichment(signup, company, false)));
    expect(outcomes.some((o) => o.kind === 'rate_limited' && o.retryAfterMs >= 1000)).toBe(true);
    await sandbox.control('close', { rateLimitPerSecond: null, failureRate: 1 });
    expect(await client().writeEnrichment(signup, company, false)).toMatchObject({ kind: 'transient' });
  });

  it("deletes for enrich forget: the person's contact and follow-ups, their own lead, never a company's lead", async () => {
    const colleague = { ...signup, signupId: 's-2', personKey: 'p-2', email: 'ben@quorvalis.com', name: 'Ben Ode' };
    const personal = {
      ...signup,
      signupId: 's-3',
      email: 'ada.q@gmail.com',
      emailKind: 'free_mail' as const,
      domain: undefined,
    };
    await client().writeEnrichment(signup, company, true);
    await client().writeEnrichment(colleague, company, true);
    await client().writeEnrichment(personal, undefined, true);
    const before = await records();
    const companyLead = before.lead!.find((l) => l.fields.url === 'https://quorvalis.com')!;
    const ownLead = before.lead!.find((l) => l.id !== companyLead.id)!;
    expect(before.task).toHaveLength(3);

    // The work address: its contact and task go, the company's lead and the colleague stay.
    const work = await client().deletePerson('Ada.Quillon@Quorvalis.com', [signup.signupId]);
    expect(work.map((o) => o.kind)).toEqual(['deleted', 'deleted', 'not_found']);
    expect(work[2]!.detail).toBe(`lead ${companyLead.id} kept (a company's lead, 1 other contact(s))`);
    let r = await records();
    expect(r.lead?.map((l) => l.id).sort()).toEqual([companyLead.id, ownLead.id].sort());
    expect(r.contact?.flatMap((c) => (c.fields.emails as { email: string }[]).map((e) => e.email)).sort()).toEqual([
      'ada.q@gmail.com',
      'ben@quorvalis.com',
    ]);
    expect(r.task?.map((t) => String(t.fields.text)).some((t) => t.includes(followUpMarker(signup.signupId)))).toBe(
      false,
    );

    // The free-mail address: its own lead goes with its contact and task.
    const own = await client().deletePerson('ada.q@gmail.com', ['s-3']);
    expect(own.map((o) => o.kind)).toEqual(['deleted', 'deleted', 'deleted']);
    expect(own[2]!.detail).toBe(`their own lead ${ownLead.id} deleted`);
    r = await records();
    expect(r.lead?.map((l) => l.id)).toEqual([companyLead.id]);
    expect(r.task).toHaveLength(1);
    const deleted = (await sandbox.inspect<Inspection & { deleted: { type: string }[] }>('close')).deleted;
    expect(deleted.map((d) => d.type).sort()).toEqual(['contact', 'contact', 'lead', 'task', 'task']);

    // Nobody left under either address; a refused key fails (retried by the next enrich forget).
    expect(await client().deletePerson('ada.q@gmail.com', ['s-3'])).toEqual([
      { kind: 'not_found', detail: 'no Close lead has a contact with this email' },
    ]);
    expect(await client('task', 'bad-key').deletePerson('ben@quorvalis.com', ['s-2'])).toMatchObject([
      { kind: 'failed', detail: expect.stringMatching(/HTTP 401/) as unknown },
    ]);
  });

  it("answers DELETE of an unknown id with 404, and GET /me/ with the key's user and organizations", async () => {
    const auth = { authorization: `Basic ${Buffer.from('sandbox-key:').toString('base64')}` };
    for (const type of ['lead', 'contact', 'task', 'opportunity']) {
      const res = await fetch(`${sandbox.url}/close/api/v1/${type}/${type}_nope/`, { method: 'DELETE', headers: auth });
      expect(res.status).toBe(404);
      expect(await res.json()).toHaveProperty('error');
    }
    const me = await fetch(`${sandbox.url}/close/api/v1/me/`, { headers: auth });
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({ organizations: [{ name: 'Sandbox Sales' }] });
    const refused = await fetch(`${sandbox.url}/close/api/v1/me/`, {
      headers: { authorization: `Basic ${Buffer.from('bad-key:').toString('base64')}` },
    });
    expect(refused.status).toBe(401);
  });

  it('answers bad input with 400 field-errors and an unknown lead with 404', async () => {
    const auth = { authorization: `Basic ${Buffer.from('sandbox-key:').toString('base64')}` };
    const post = (path: string, body: unknown) =>
      fetch(`${sandbox.url}/close/api/v1${path}`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const contact = await post('/contact/', { name: 'X' });
    expect(contact.status).toBe(400);
    expect(await contact.json()).toEqual({ errors: [], 'field-errors': { lead_id: 'This field is required.' } });
    const lead = await post('/lead/', { name: 'X', 'custom.cf_nope': 'v' });
    expect(lead.status).toBe(400);
    expect(((await lead.json()) as Record<string, Record<string, string>>)['field-errors']).toHaveProperty(
      'custom.cf_nope',
    );
    const missing = await fetch(`${sandbox.url}/close/api/v1/lead/${encodeURIComponent('lead_nope')}/`, {
      headers: auth,
    });
    expect(missing.status).toBe(404);
    const noAuth = await fetch(`${sandbox.url}/close/api/v1/lead/`);
    expect(noAuth.status).toBe(401);
  });
});
