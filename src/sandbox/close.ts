import type { FastifyPluginCallback, FastifyReply, FastifyRequest } from 'fastify';
import { SearchIndex, SearchRequestError, search, type IndexedLead } from './close-search';
import { uuidFrom } from './dataset';
import type { ProviderPluginOptions, RecordStore, StoredRecord } from './state';

/**
 * Close's REST API (real root https://api.close.com/api/v1), written from Close's developer documentation: "API
 * Overview" (auth, JSON, PUT as a patch), "Pagination", "Rate Limits", "HTTP Response Codes", "Leads", "Contacts",
 * "Custom Fields", "Tasks", "Opportunities" and "Advanced Filtering". Mounted at `/close/api/v1`.
 *
 * - Auth: HTTP Basic with the API key as the user name and an empty password. Missing header, another scheme, an empty
 *   key or the key `bad-key` → 401 `{ error }`.
 * - Rate limit (`rateLimitPerSecond`): 429 with the documented body `{ error: { rate_reset, message, rate_limit,
 *   rate_window, rate_limit_type: "key" } }` (`rate_reset`: seconds to wait), the `ratelimit: limit=N, remaining=0,
 *   reset=S` header and `Retry-After`. Injected failures (`failureRate`): 500 `{ error }`.
 * - Bad input → 400 `{ errors: [], "field-errors": { <field>: <message> } }`, nothing written; an unknown id in a path
 *   → 404 `{ error }`.
 * - Lists (`GET /custom_field/lead/`, `/contact/`, `/task/`, `/opportunity/`, `/lead/`) page with `_skip` and `_limit`
 *   (default 100), answering `{ has_more, total_results, data }`; the custom field list's maximum `_limit` is 100 (Close:
 *   "a maximum limit that can vary per resource", 400 beyond it).
 * - `GET /custom_field/lead/` `{ has_more, data: [{ id, name, type, ... }] }`; `POST /custom_field/lead/` `{ name,
 *   type }` (type one of text, number, date, datetime, choices, user, contact, hidden; a name already used → 400).
 * - `POST /lead/` `{ name?, url?, description?, contacts?: [{ name?, title?, emails?: [{ email, type? }] }],
 *   "custom.<field id>": value }` → the lead, with its contacts created inside it. A `custom.<x>` whose `<x>` is not a
 *   lead custom field id → 400 (the docs deprecate names there: the sandbox takes ids only).
 * - `GET /lead/:id/`, `PUT /lead/:id/` (a patch: only the fields sent change; `custom.<id>` set to null clears it).
 * - `POST /data/search/` — the Advanced Filtering API (./close-search.ts: the query subset understood, 400 naming the
 *   part that is not), answering `{ data: [{ __object_type, id, ...fields }], cursor }`.
 * - `GET /lead/?query=...` — the lead search Close deprecated in favour of the Advanced Filtering API (changelog
 *   2022-02-14), still answered: `{ has_more, total_results, data }` (oldest first). The sandbox understands the query
 *   terms `custom.<field id>:"value"` (equal, case-insensitive), `email_address:"value"` (a contact of the lead has that
 *   email) and `name:"value"`, combined with spaces (AND); any other term → 400.
 * - Both searches read the search index, not the records: a write (any POST, PUT or DELETE) is indexed
 *   `searchIndexDelayMs` later (control, default 0), as Close's index lags its writes; `GET /lead/:id/` is never delayed.
 * - `GET /contact/?lead_id=` `{ has_more, data }`; `POST /contact/` `{ lead_id, name?, title?, emails? }` (lead_id
 *   required and existing, else 400).
 * - `GET /task/?lead_id=`, `POST /task/` `{ lead_id, text, _type?: "lead" | "outgoing_call", contact_id?, date? }`
 *   ("Currently only tasks of type lead and outgoing_call can be created"); `GET /opportunity/?lead_id=`,
 *   `POST /opportunity/` `{ lead_id, note?, confidence? (0..100), value?, value_period? }`.
 * - `DELETE /contact/:id/`, `DELETE /task/:id/`, `DELETE /opportunity/:id/` ("Delete a contact", "Delete a task",
 *   "Delete an opportunity") → 200 `{}`; `DELETE /lead/:id/` ("Delete a lead") → 200 `{}`, and the lead's contacts,
 *   tasks and opportunities go with it, as Close deletes everything that belongs to a lead. An unknown id → 404 `{ error
 *   }`. Each deletion is listed in `/_inspect/close`'s `deleted` (type and id).
 * - `GET /me/` ("Fetch your user info": the user the API key belongs to) → `{ id, first_name, last_name, email,
 *   organizations: [{ id, name }] }`, a fixed fictional user of the fictional organization "Sandbox Sales".
 *
 * RecordStore `state.records.close`: `custom_field`, `lead`, `contact`, `task` and `opportunity`, each keyed by its
 * Close id (`cf_…`, `lead_…`, `cont_…`, `task_…`, `oppo_…`, from the store's sequence: the same requests give the
 * same ids); a lead's `custom` fields are stored by field id.
 */

type Json = Record<string, unknown>;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

/** The custom field list's maximum `_limit` (Close: "a maximum limit that can vary per resource", 400 beyond it). */
export const CUSTOM_FIELD_MAX_LIMIT = 100;

/** The task types Close's API creates ("Currently only tasks of type lead and outgoing_call can be created"). */
const TASK_TYPES = ['lead', 'outgoing_call'];

const CUSTOM_FIELD_TYPES = ['text', 'number', 'date', 'datetime', 'choices', 'user', 'contact', 'hidden'];

function apiKeyOf(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (!header) return undefined;
  const space = header.indexOf(' ');
  if (space < 0 || header.slice(0, space).toLowerCase() !== 'basic') return undefined;
  const decoded = Buffer.from(header.slice(space + 1).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? decoded : decoded.slice(0, colon);
}

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function parseBody(raw: unknown): Json {
  if (typeof raw !== 'string' || raw.trim() === '') throw new HttpError(400, 'Request body must be a JSON object');
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new HttpError(400, 'Request body is not valid JSON');
  }
  if (!isObject(parsed)) throw new HttpError(400, 'Request body must be a JSON object');
  return parsed;
}

function optionalText(body: Json, field: string): string | undefined {
  const v = body[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new HttpError(400, 'Not a valid string.', field);
  return v;
}

/** A Close-style id: its prefix and 22 characters drawn from the store's sequence. */
function closeId(prefix: string, seq: number): string {
  return `${prefix}_${uuidFrom(`close:${prefix}:${seq}`).replace(/-/g, '').slice(0, 22)}`;
}

function emailsOf(body: Json, field = 'emails'): { email: string; type: string }[] {
  const v = body[field];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new HttpError(400, 'Not a valid list.', field);
  return v.map((e) => {
    if (!isObject(e) || typeof e.email !== 'string' || !/^[^@\s]+@[^@\s]+$/.test(e.email)) {
      throw new HttpError(400, 'Invalid email address.', field);
    }
    return { email: e.email, type: typeof e.type === 'string' ? e.type : 'office' };
  });
}

export const closePlugin: FastifyPluginCallback<ProviderPluginOptions> = (app, { state }, done) => {
  // Bodies are parsed by the handlers, after auth: a bad key gets 401 even with a broken body.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, parsed) => parsed(null, body));

  const store = () => state.records.close;
  let sequence = 0;
  let index = new SearchIndex();
  let generation: RecordStore | undefined;
  const current = () => {
    // A reset brings a new store: the sequence and the search index start again with it.
    if (generation !== store()) {
      generation = store();
      sequence = 0;
      index = new SearchIndex();
    }
  };
  const nextId = (prefix: string) => {
    current();
    return closeId(prefix, ++sequence);
  };
  /** The index as of now; the search sees each lead as it was `searchIndexDelayMs` ago. */
  const searchIndex = () => {
    current();
    return index;
  };

  const serve = async (
    request: FastifyRequest,
    reply: FastifyReply,
    key: string | null,
    work: (store: RecordStore) => { status?: number; body: unknown; note?: string },
  ) => {
    const sys = state.system('close');
    const answer = (status: number, body: unknown, note?: string) => {
      sys.recordRequest(request, { key, status, creditsCharged: 0, note });
      return reply.code(status).send(body);
    };
    const apiKey = apiKeyOf(request);
    if (!apiKey || apiKey === 'bad-key') return answer(401, { error: 'The API key is invalid or missing.' });
    const gate = await sys.gate();
    if (gate.kind === 'rate_limited') {
      const limit = sys.control.rateLimitPerSecond;
      reply
        .header('ratelimit', `limit=${limit}, remaining=0, reset=${gate.retryAfterSeconds}`)
        .header('retry-after', String(gate.retryAfterSeconds));
      return answer(429, {
        error: {
          rate_reset: gate.retryAfterSeconds,
          message: 'API call count exceeded for this period',
          rate_limit: limit,
          rate_window: 1,
          rate_limit_type: 'key',
        },
      });
    }
    if (gate.kind === 'failure') return answer(500, { error: 'Internal server error' });
    try {
      const result = work(store());
      // Every write is indexed for the search (which sees it searchIndexDelayMs later), whatever it touched.
      if (request.method !== 'GET') reindex(store());
      return answer(result.status ?? 200, result.body, result.note);
    } catch (error) {
      if (error instanceof SearchRequestError) {
        return answer(400, { errors: [error.message], 'field-errors': {} });
      }
      if (!(error instanceof HttpError)) throw error;
      if (error.status === 400) {
        return answer(400, {
          errors: error.field ? [] : [error.message],
          'field-errors': error.field ? { [error.field]: error.message } : {},
        });
      }
      return answer(error.status, { error: error.message });
    }
  };

  /**
   * One page of a list (`_skip`, `_limit`, default 100), as Close pages its lists; `max`: the resource's maximum
   * `_limit`, beyond which Close answers 400.
   */
  const page = (items: unknown[], query: { _limit?: string; _skip?: string }, max?: number) => {
    const limit = query._limit === undefined ? 100 : Number(query._limit);
    if (!Number.isInteger(limit) || limit < 1) throw new HttpError(400, '_limit must be a positive integer.');
    if (max !== undefined && limit > max) throw new HttpError(400, `_limit must be at most ${max} for this resource.`);
    const skip = query._skip === undefined ? 0 : Number(query._skip);
    if (!Number.isInteger(skip) || skip < 0) throw new HttpError(400, '_skip must be a non-negative integer.');
    return {
      has_more: items.length > skip + limit,
      total_results: items.length,
      data: items.slice(skip, skip + limit),
    };
  };

  // ---- Custom fields

  const fieldObject = (r: StoredRecord) => ({
    id: r.id,
    ...r.fields,
    date_created: r.createdAt,
    date_updated: r.updatedAt,
  });

  app.get<{ Querystring: { _limit?: string; _skip?: string } }>('/custom_field/lead/', async (request, reply) =>
    serve(request, reply, null, (s) => ({
      body: page(s.list('custom_field').map(fieldObject), request.query, CUSTOM_FIELD_MAX_LIMIT),
    })),
  );

  app.post('/custom_field/lead/', async (request, reply) =>
    serve(request, reply, null, (s) => {
      const body = parseBody(request.body);
      const name = optionalText(body, 'name');
      if (!name?.trim()) throw new HttpError(400, 'This field is required.', 'name');
      const type = optionalText(body, 'type');
      if (!type || !CUSTOM_FIELD_TYPES.includes(type)) throw new HttpError(400, 'Not a valid choice.', 'type');
      if (s.list('custom_field').some((f) => f.fields.name === name)) {
        throw new HttpError(400, 'A custom field with this name already exists.', 'name');
      }
      const id = nextId('cf');
      const { record } = s.upsert('custom_field', id, { name, type, accepts_multiple_values: false }, () => id);
      return { body: fieldObject(record), note: 'created' };
    }),
  );

  // ---- Leads and contacts

  const contactsOf = (s: RecordStore, leadId: string) => s.list('contact').filter((c) => c.fields.lead_id === leadId);
  const contactObject = (r: StoredRecord) => ({
    id: r.id,
    ...r.fields,
    date_created: r.createdAt,
    date_updated: r.updatedAt,
  });
  const leadObject = (s: RecordStore, r: StoredRecord) => {
    const custom = (r.fields.custom ?? {}) as Json;
    return {
      id: r.id,
      name: r.fields.name ?? null,
      url: r.fields.url ?? null,
      description: r.fields.description ?? '',
      display_name: r.fields.name ?? '',
      status_label: 'Potential',
      contacts: contactsOf(s, r.id).map(contactObject),
      tasks: s
        .list('task')
        .filter((t) => t.fields.lead_id === r.id)
        .map(contactObject),
      opportunities: s
        .list('opportunity')
        .filter((t) => t.fields.lead_id === r.id)
        .map(contactObject),
      ...Object.fromEntries(Object.entries(custom).map(([id, v]) => [`custom.${id}`, v])),
      date_created: r.createdAt,
      date_updated: r.updatedAt,
    };
  };

  /** The `custom.<id>` entries of a body, checked against the lead custom fields. */
  const customOf = (s: RecordStore, body: Json): Json => {
    const custom: Json = {};
    for (const [k, v] of Object.entries(body)) {
      if (!k.startsWith('custom.')) continue;
      const id = k.slice('custom.'.length);
      const field = s.get('custom_field', id);
      if (!field) throw new HttpError(400, 'Unknown custom field id.', k);
      if (v !== null && field.fields.type === 'number' && typeof v !== 'number') {
        throw new HttpError(400, 'A valid number is required.', k);
      }
      custom[id] = v;
    }
    if (isObject(body.custom)) throw new HttpError(400, 'Use custom.FIELD_ID keys.', 'custom');
    return custom;
  };

  const contactFields = (body: Json, leadId: string) => ({
    lead_id: leadId,
    name: optionalText(body, 'name') ?? '',
    title: optionalText(body, 'title') ?? '',
    emails: emailsOf(body),
  });

  /** A lead as the search index holds it: the values the search matches on. */
  const indexed = (s: RecordStore, lead: StoredRecord): IndexedLead => ({
    id: lead.id,
    name: typeof lead.fields.name === 'string' ? lead.fields.name : '',
    url: typeof lead.fields.url === 'string' ? lead.fields.url : '',
    custom: { ...((lead.fields.custom ?? {}) as Json) },
    contacts: contactsOf(s, lead.id).map((c) => ({
      id: c.id,
      name: typeof c.fields.name === 'string' ? c.fields.name : '',
      title: typeof c.fields.title === 'string' ? c.fields.title : '',
      emails: ((c.fields.emails ?? []) as { email: string; type: string }[]).map((e) => ({ ...e })),
    })),
  });

  /** Records a new index version of every lead a write changed (or deleted). */
  const reindex = (s: RecordStore) => {
    const idx = searchIndex();
    const now = Date.now();
    const live = new Set<string>();
    for (const lead of s.list('lead')) {
      live.add(lead.id);
      idx.record(lead.id, indexed(s, lead), now);
    }
    for (const id of idx.ids()) if (!live.has(id)) idx.record(id, null, now);
  };

  const visibleLeads = () => searchIndex().visible(Date.now(), state.system('close').control.searchIndexDelayMs);

  const leadById = (s: RecordStore, id: string) => {
    const lead = s.get('lead', id);
    if (!lead) throw new HttpError(404, 'Empty query: Lead matching query does not exist.');
    return lead;
  };

  /** The deprecated `query=` syntax, matched against a lead as the search index holds it. */
  const matches = (lead: IndexedLead, query: string): boolean => {
    const terms = query.match(/[^\s:]+:("[^"]*"|\S+)/g);
    if (!terms || terms.join(' ').length !== query.trim().replace(/\s+/g, ' ').length) {
      throw new HttpError(400, `Unsupported query: ${query}`);
    }
    return terms.every((term) => {
      const colon = term.indexOf(':');
      const field = term.slice(0, colon);
      const value = term
        .slice(colon + 1)
        .replace(/^"|"$/g, '')
        .toLowerCase();
      if (field === 'name') return lead.name.toLowerCase() === value;
      if (field === 'email_address') {
        return lead.contacts.some((c) => c.emails.some((e) => e.email.toLowerCase() === value));
      }
      if (field.startsWith('custom.')) {
        const v = lead.custom[field.slice('custom.'.length)];
        return (typeof v === 'string' || typeof v === 'number') && String(v).toLowerCase() === value;
      }
      throw new HttpError(400, `Unsupported query field: ${field}`);
    });
  };

  app.get<{ Querystring: { query?: string; _limit?: string; _skip?: string } }>('/lead/', async (request, reply) =>
    serve(request, reply, request.query.query ?? null, (s) => {
      const query = request.query.query?.trim();
      // With a query it is a search (deprecated by Close in favour of /data/search/), delayed like it.
      const leads = query
        ? visibleLeads()
            .filter((l) => matches(l, query))
            .flatMap((l) => s.get('lead', l.id) ?? [])
        : s.list('lead');
      return {
        body: page(
          leads.map((l) => leadObject(s, l)),
          request.query,
        ),
      };
    }),
  );

  app.post('/data/search/', async (request, reply) =>
    serve(request, reply, null, (s) => {
      const body = parseBody(request.body);
      const project = (type: 'lead' | 'contact', id: string, fields: string[]): Json => {
        const record = s.get(type, id);
        if (!record || fields.length === 0) return {};
        const object: Json = type === 'lead' ? leadObject(s, record) : contactObject(record);
        return Object.fromEntries(fields.filter((f) => f in object && f !== 'id').map((f) => [f, object[f]]));
      };
      const answer = search(body, visibleLeads(), (id) => s.get('custom_field', id) !== undefined, project);
      return { body: answer, note: `${answer.data.length} result(s)` };
    }),
  );

  app.post('/lead/', async (request, reply) =>
    serve(request, reply, null, (s) => {
      const body = parseBody(request.body);
      const name = optionalText(body, 'name');
      const url = optionalText(body, 'url');
      const description = optionalText(body, 'description');
      const custom = customOf(s, body);
      const contacts = body.contacts ?? [];
      if (!Array.isArray(contacts) || !contacts.every(isObject))
        throw new HttpError(400, 'Not a valid list.', 'contacts');
      const leadId = nextId('lead');
      const contactRows = contacts.map((c) => contactFields(c, leadId));
      const { record } = s.upsert('lead', leadId, { name, url, description, custom }, () => leadId);
      for (const c of contactRows) {
        const id = nextId('cont');
        s.upsert('contact', id, c, () => id);
      }
      return { body: leadObject(s, record), note: `created with ${contactRows.length} contact(s)` };
    }),
  );

  app.get<{ Params: { id: string } }>('/lead/:id/', async (request, reply) =>
    serve(request, reply, request.params.id, (s) => ({ body: leadObject(s, leadById(s, request.params.id)) })),
  );

  app.put<{ Params: { id: string } }>('/lead/:id/', async (request, reply) =>
    serve(request, reply, request.params.id, (s) => {
      const lead = leadById(s, request.params.id);
      const body = parseBody(request.body);
      const custom = { ...((lead.fields.custom ?? {}) as Json), ...customOf(s, body) };
      for (const [k, v] of Object.entries(custom)) if (v === null) delete custom[k];
      const { record } = s.upsert('lead', lead.key, {
        name: optionalText(body, 'name'),
        url: optionalText(body, 'url'),
        description: optionalText(body, 'description'),
        custom,
      });
      return { body: leadObject(s, record), note: 'updated' };
    }),
  );

  const leadIdOf = (s: RecordStore, body: Json): string => {
    const leadId = optionalText(body, 'lead_id');
    if (!leadId) throw new HttpError(400, 'This field is required.', 'lead_id');
    if (!s.get('lead', leadId)) throw new HttpError(400, 'Lead not found.', 'lead_id');
    return leadId;
  };

  const listByLead = (type: string) =>
    app.get<{ Querystring: { lead_id?: string; _limit?: string; _skip?: string } }>(
      `/${type}/`,
      async (request, reply) =>
        serve(request, reply, request.query.lead_id ?? null, (s) => {
          const rows = s.list(type).filter((r) => !request.query.lead_id || r.fields.lead_id === request.query.lead_id);
          return { body: page(rows.map(contactObject), request.query) };
        }),
    );
  listByLead('contact');
  listByLead('task');
  listByLead('opportunity');

  app.post('/contact/', async (request, reply) =>
    serve(request, reply, null, (s) => {
      const body = parseBody(request.body);
      const fields = contactFields(body, leadIdOf(s, body));
      const id = nextId('cont');
      const { record } = s.upsert('contact', id, fields, () => id);
      return { body: contactObject(record), note: 'created' };
    }),
  );

  app.post('/task/', async (request, reply) =>
    serve(request, reply, null, (s) => {
      const body = parseBody(request.body);
      const leadId = leadIdOf(s, body);
      const text = optionalText(body, 'text');
      if (!text) throw new HttpError(400, 'This field is required.', 'text');
      const type = body._type ?? 'lead';
      if (typeof type !== 'string' || !TASK_TYPES.includes(type)) {
        throw new HttpError(400, `Not a valid choice (${TASK_TYPES.join(', ')}).`, '_type');
      }
      const id = nextId('task');
      const { record } = s.upsert(
        'task',
        id,
        {
          _type: type,
          lead_id: leadId,
          contact_id: optionalText(body, 'contact_id') ?? null,
          text,
          date: optionalText(body, 'date') ?? null,
          is_complete: false,
        },
        () => id,
      );
      return { body: contactObject(record), note: 'created' };
    }),
  );

  // ---- Deletions

  const deletion = (type: string, what: string) =>
    app.delete<{ Params: { id: string } }>(`/${type}/:id/`, async (request, reply) =>
      serve(request, reply, request.params.id, (s) => {
        const id = request.params.id;
        if (!s.get(type, id)) throw new HttpError(404, `Empty query: ${what} matching query does not exist.`);
        if (type === 'lead') {
          for (const child of ['contact', 'task', 'opportunity']) {
            for (const r of s.list(child).filter((x) => x.fields.lead_id === id)) s.remove(child, r.key);
          }
        }
        s.remove(type, id);
        return { body: {}, note: 'deleted' };
      }),
    );
  deletion('lead', 'Lead');
  deletion('contact', 'Contact');
  deletion('task', 'Task');
  deletion('opportunity', 'Opportunity');

  // ---- The API key's user

  app.get('/me/', async (request, reply) =>
    serve(request, reply, null, () => ({
      body: {
        id: 'user_sandbox0000000000000000',
        first_name: 'Sandra',
        last_name: 'Box',
        email: 'sandra.box@sandbox-sales.invalid',
        organizations: [{ id: 'orga_sandbox000000000000000', name: 'Sandbox Sales' }],
      },
    })),
  );

  app.post('/opportunity/', async (request, reply) =>
    serve(request, reply, null, (s) => {
      const body = parseBody(request.body);
      const leadId = leadIdOf(s, body);
      const confidence = body.confidence ?? 0;
      if (typeof confidence !== 'number' || confidence < 0 || confidence > 100) {
        throw new HttpError(400, 'Ensure this value is between 0 and 100.', 'confidence');
      }
      const value = body.value ?? null;
      if (value !== null && (typeof value !== 'number' || !Number.isInteger(value))) {
        throw new HttpError(400, 'A valid integer is required.', 'value');
      }
      const id = nextId('oppo');
      const { record } = s.upsert(
        'opportunity',
        id,
        {
          lead_id: leadId,
          note: optionalText(body, 'note') ?? '',
          confidence,
          value,
          value_period: optionalText(body, 'value_period') ?? 'one_time',
          status_type: 'active',
        },
        () => id,
      );
      return { body: contactObject(record), note: 'created' };
    }),
  );

  done();
};
