import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  CLOSE_DOMAIN_FIELD,
  closeMessage,
  closeResetMs,
  contactBody,
  createCloseClient,
  followUpMarker,
  leadByContactEmailQuery,
  leadByCustomFieldQuery,
  leadCustomFields,
  leadName,
  type CloseHighValueAction,
} from '../../src/integrations/close/client';
import { startSandbox, type Inspection, type RunningSandbox } from '../support/sandbox';
import { enrichedSignupFixture } from '../support/enriched';

const signup = enrichedSignupFixture({
  fields: { companyName: 'Quorvalis Systems', employees: 640, industry: 'Software', personTitle: 'CTO' },
  provenance: { companyName: { source: 'clearbit', at: '2026-11-24T08:00:01.000Z' } },
});
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

  const client = (highValueAction: CloseHighValueAction = 'task', apiKey = 'sandbox-key', f?: typeof fetch) =>
    createCloseClient({ baseUrl: `${sandbox.url}/close/api/v1`, apiKey, highValueAction, timeoutMs: 5000, fetch: f });
  const records = async () => (await sandbox.inspect<Inspection>('close')).records ?? {};
  const auth = { authorization: `Basic ${Buffer.from('sandbox-key:').toString('base64')}` };
  const api = (method: string, path: string, body?: unknown) =>
    fetch(`${sandbox.url}/close/api/v1${path}`, {
      method,
      headers: { ...auth, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  const searchLeads = async (query: unknown, extra: Record<string, unknown> = {}) => {
    const res = await api('POST', '/data/search/', { query, ...extra });
    return {
      status: res.status,
      body: (await res.json()) as { data: Record<string, unknown>[]; cursor: string | null },
    };
  };
  const domainFieldId = async () =>
    (await records()).custom_field?.find((f) => f.fields.name === CLOSE_DOMAIN_FIELD)?.id ?? '';

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

  it('erases a contact written moments ago, which the lagging search misses, on the lead recorded for the company', async () => {
    await sandbox.control('close', { searchIndexDelayMs: 60_000 });
    try {
      const written = await client().writeEnrichment(signup, company, false);
      expect(written).toMatchObject({ kind: 'written' });
      const leadId = (written as { leadId?: string }).leadId!;
      // The search alone does not see the new lead yet: it would report nothing to delete.
      expect(await client().deletePerson(signup.email!, [signup.signupId])).toEqual([
        { kind: 'not_found', detail: 'no Close lead has a contact with this email' },
      ]);
      const erased = await client().deletePerson(signup.email!, [signup.signupId], [leadId]);
      expect(erased.map((o) => o.kind)).toEqual(['deleted', 'not_found']);
      expect((await records()).contact ?? []).toEqual([]);
      // The company's lead stays; a known lead the person is not on reports nothing.
      expect(await client().deletePerson('nobody@quorvalis.com', ['s-9'], [leadId])).toEqual([
        { kind: 'not_found', detail: 'no Close lead has a contact with this email' },
      ]);
    } finally {
      await sandbox.control('close', { searchIndexDelayMs: 0 });
    }
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

  it('finds the company lead by its domain custom field and a person lead by a contact email, with data/search', async () => {
    const c = client();
    const personal = { ...signup, signupId: 's-9', email: 'Zed.Q@gmail.com', emailKind: 'free_mail' as const };
    await c.writeEnrichment(signup, company, false);
    await c.writeEnrichment(personal, undefined, false);
    const r = await records();
    const [companyLead, personLead] = r.lead ?? [];
    expect(await searchLeads(leadByCustomFieldQuery(await domainFieldId(), 'quorvalis.com'))).toEqual({
      status: 200,
      body: { data: [{ __object_type: 'lead', id: companyLead?.id }], cursor: null },
    });
    // The email is matched whatever its case; `_fields` adds the fields asked for.
    const byEmail = await searchLeads(leadByContactEmailQuery('zed.q@gmail.com'), {
      _fields: { lead: ['id', 'display_name'] },
    });
    expect(byEmail.body.data).toEqual([{ __object_type: 'lead', id: personLead?.id, display_name: 'Ada Quillon' }]);
    expect((await searchLeads(leadByCustomFieldQuery(await domainFieldId(), 'other.com'))).body.data).toEqual([]);

    // Found again by the client (no second lead), through data/search only: the deprecated query= is not used.
    await client().writeEnrichment({ ...signup, signupId: 's-3' }, company, false);
    await client().writeEnrichment({ ...personal, signupId: 's-4' }, undefined, false);
    const inspection = await sandbox.inspect<Inspection>('close');
    expect(inspection.records?.lead).toHaveLength(2);
    const searches = inspection.calls.filter((call) => call.path.endsWith('/data/search/'));
    expect(searches.length).toBeGreaterThanOrEqual(4);
    expect(inspection.calls.some((call) => call.method === 'GET' && call.path === '/close/api/v1/lead/')).toBe(false);
  });

  it('pages data/search results with its cursor and refuses what it does not understand, naming it', async () => {
    const c = client();
    for (const domain of ['a.example', 'b.example', 'c.example']) {
      await c.writeEnrichment({ ...signup, signupId: domain, email: `x@${domain}` }, { domain, name: domain }, false);
    }
    const all = { type: 'object_type', object_type: 'lead' };
    const first = await searchLeads(all, { _limit: 2 });
    expect(first.body.data).toHaveLength(2);
    expect(typeof first.body.cursor).toBe('string');
    const second = await searchLeads(all, { _limit: 2, cursor: first.body.cursor });
    expect(second.body).toEqual({
      data: [expect.objectContaining({ __object_type: 'lead' }) as unknown],
      cursor: null,
    });
    expect(new Set([...first.body.data, ...second.body.data].map((d) => d.id)).size).toBe(3);
    expect((await searchLeads(all, { results_limit: 1 })).body.data).toHaveLength(1);

    const refused = async (body: unknown, pattern: RegExp) => {
      const res = await api('POST', '/data/search/', body);
      expect(res.status).toBe(400);
      const answer = (await res.json()) as { errors: string[] };
      expect(answer.errors[0]).toMatch(pattern);
    };
    const fieldId = await domainFieldId();
    const textCondition = {
      type: 'and',
      queries: [
        all,
        {
          type: 'field_condition',
          field: { type: 'custom_field', custom_field_id: fieldId },
          condition: { type: 'text', mode: 'full_words', value: 'a.example' },
        },
      ],
    };
    await refused({ query: textCondition }, /query\.queries\[1\]\.condition\.type: condition type "text"/);
    await refused({ query: { type: 'and', queries: [] } }, /^query: must name the objects searched/);
    await refused({ query: leadByCustomFieldQuery('cf_missing', 'x') }, /custom_field_id: no lead custom field/);
    await refused({ query: all, _limit: 201 }, /^_limit: must be at most 200/);
    await refused({ query: all, cursor: 'nonsense' }, /^cursor: /);
    await refused({ query: all, sort: [{ field: 'x' }] }, /^sort: /);
    await refused({ query: all, extra: 1 }, /\(body\)\.extra: is not supported/);
  });

  it("demonstrates Close's search index delay: another worker misses a new lead unless given its recorded id", async () => {
    await sandbox.control('close', { searchIndexDelayMs: 60_000 });
    const first = await client().writeEnrichment(signup, company, false);
    expect(first).toMatchObject({ kind: 'written', leadId: expect.stringMatching(/^lead_/) as unknown });
    const leadId = first.kind === 'written' ? first.leadId : undefined;
    // The search does not see the lead created a moment ago; GET by id does.
    expect((await searchLeads(leadByCustomFieldQuery(await domainFieldId(), 'quorvalis.com'))).body.data).toEqual([]);
    expect((await api('GET', `/lead/${leadId}/`)).status).toBe(200);

    // Another worker (a second client) given the recorded lead id writes to it: one lead, two contacts.
    const colleague = { ...signup, signupId: 's-2', personKey: 'p-2', email: 'ben@quorvalis.com', name: 'Ben Ode' };
    expect(await client().writeEnrichment(colleague, company, false, leadId)).toMatchObject({
      kind: 'written',
      leadId,
    });
    let r = await records();
    expect(r.lead).toHaveLength(1);
    expect(r.contact?.map((x) => x.fields.lead_id)).toEqual([leadId, leadId]);

    // Without it, the second worker cannot find the lead and makes another: the race the recorded id prevents.
    const third = { ...signup, signupId: 's-3', personKey: 'p-3', email: 'cy@quorvalis.com', name: 'Cy Ode' };
    await client().writeEnrichment(third, company, false);
    r = await records();
    expect(r.lead).toHaveLength(2);

    // Once the index catches up, the search finds both leads.
    await sandbox.control('close', { searchIndexDelayMs: 0 });
    expect((await searchLeads(leadByCustomFieldQuery(await domainFieldId(), 'quorvalis.com'))).body.data).toHaveLength(
      2,
    );
  });

  it('reads every custom field page by page (_skip/_limit) under the list maximum of 100', async () => {
    for (let i = 0; i < 105; i++) {
      expect((await api('POST', '/custom_field/lead/', { name: `field ${i}`, type: 'text' })).status).toBe(200);
    }
    const urls: string[] = [];
    const recording: typeof fetch = (input, init) => {
      urls.push(input instanceof Request ? input.url : String(input));
      return fetch(input, init);
    };
    const ids = await client('task', 'sandbox-key', recording).customFieldIds();
    expect(ids instanceof Map ? ids.size : ids).toBe(105);
    expect(ids instanceof Map && ids.has('field 104')).toBe(true);
    expect(urls.map((u) => new URL(u).search)).toEqual(['?_skip=0&_limit=100', '?_skip=100&_limit=100']);
    // Beyond the maximum the list answers 400, naming the limit.
    const over = await api('GET', '/custom_field/lead/?_limit=1000');
    expect(over.status).toBe(400);
    expect(((await over.json()) as { errors: string[] }).errors[0]).toMatch(/_limit must be at most 100/);
  });

  it("finds a person's contact on a later page of a big company's lead, and adds no second one", async () => {
    const first = await client().writeEnrichment(signup, company, false);
    const leadId = (first as { leadId?: string }).leadId!;
    // 120 colleagues already on the lead: the person's contact is on the second page of the contact list.
    for (let i = 0; i < 120; i++) {
      const res = await api('POST', '/contact/', { lead_id: leadId, name: `Colleague ${i}` });
      expect(res.status).toBe(200);
    }
    const late = { ...signup, signupId: 's-late', personKey: 'p-late', email: 'late@quorvalis.com', name: 'Late' };
    await api('POST', '/contact/', { lead_id: leadId, name: 'Late', emails: [{ email: 'late@quorvalis.com' }] });
    expect(await client().writeEnrichment(late, company, false, leadId)).toMatchObject({
      kind: 'written',
      detail: expect.stringMatching(/contact already there/) as unknown,
    });
    const contacts = (await records()).contact ?? [];
    expect(contacts.filter((c) => JSON.stringify(c.fields.emails ?? []).includes('late@quorvalis.com'))).toHaveLength(
      1,
    );
  });

  it('creates the task types the docs allow (lead, outgoing_call) and refuses others', async () => {
    const lead = (await (await api('POST', '/lead/', { name: 'T' })).json()) as { id: string };
    const call = await api('POST', '/task/', { _type: 'outgoing_call', lead_id: lead.id, text: 'Call back' });
    expect(call.status).toBe(200);
    expect(await call.json()).toMatchObject({ _type: 'outgoing_call', lead_id: lead.id });
    const other = await api('POST', '/task/', { _type: 'voicemail', lead_id: lead.id, text: 'x' });
    expect(other.status).toBe(400);
    expect(((await other.json()) as Record<string, Record<string, string>>)['field-errors']).toHaveProperty('_type');
  });
});
