import type { CloseCompany, ClosePort, CloseWriteOutcome } from '../../domain/ports';
import type { DeletionOutcome } from '../../domain/erasure';
import type { EnrichedSignup, WriteOutcome } from '../../domain/fan-out';
import { enrichmentProperties } from '../posthog/properties';
import { writeOutcome, type DestinationWording } from '../destination-status';
import { destinationCall, pathSegment, retryAfterMs, type Fetch, type HttpAnswer } from '../http';

/** What a high-value signup adds to its lead (CLOSE_HIGH_VALUE_ACTION). */
export type CloseHighValueAction = 'task' | 'opportunity' | 'none';

export interface CloseClientOptions {
  /** REST API root: live https://api.close.com/api/v1. */
  baseUrl: string;
  apiKey: string;
  highValueAction: CloseHighValueAction;
  timeoutMs?: number;
  fetch?: Fetch;
}

/** The lead custom field that holds the company domain: what a company's lead is found by. */
export const CLOSE_DOMAIN_FIELD = 'Company Domain';

type Json = Record<string, unknown>;
type Failure = Exclude<WriteOutcome, { kind: 'written' }>;

/**
 * How long Close's 429 asks us to wait: the body's `error.rate_reset` (seconds, what Close's rate-limit page says to
 * sleep), else the `ratelimit` header's `reset=`, else `Retry-After`, else a minute.
 */
export function closeResetMs(body: unknown, headers: Headers): number {
  const error = (body as { error?: unknown } | undefined)?.error;
  const reset = typeof error === 'object' && error !== null ? (error as Json).rate_reset : undefined;
  if (typeof reset === 'number' && Number.isFinite(reset)) return Math.max(1000, Math.ceil(reset * 1000));
  const header = /reset=(\d+(?:\.\d+)?)/.exec(headers.get('ratelimit') ?? '')?.[1];
  if (header !== undefined) return Math.max(1000, Math.ceil(Number(header) * 1000));
  return Math.max(1000, retryAfterMs(headers, 60_000));
}

/** Close's error text: `error` (a string, or `{ message }` on a 429), else the first of `field-errors` / `errors`. */
export function closeMessage(body: unknown): string {
  if (typeof body === 'string') return body.slice(0, 200);
  if (!body || typeof body !== 'object') return '';
  const b = body as Json;
  if (typeof b.error === 'string') return b.error.slice(0, 200);
  if (b.error && typeof b.error === 'object' && typeof (b.error as Json).message === 'string') {
    return String((b.error as Json).message).slice(0, 200);
  }
  const fieldErrors = b['field-errors'];
  if (fieldErrors && typeof fieldErrors === 'object') {
    const [field, message] = Object.entries(fieldErrors as Json)[0] ?? [];
    if (field !== undefined) return `${field}: ${typeof message === 'string' ? message : JSON.stringify(message)}`;
  }
  if (Array.isArray(b.errors) && b.errors.length > 0) return String(b.errors[0]).slice(0, 200);
  return '';
}

const CLOSE: DestinationWording = {
  system: 'Close',
  refused: (what) => what,
  message: closeMessage,
  retryAfterMs: (headers) => closeResetMs(undefined, headers),
};

/** An answer as a write outcome; a 429 waits what its body's `rate_reset` says. */
function outcomeOf(a: HttpAnswer | { kind: 'transient'; detail: string }, what: string): WriteOutcome {
  if (!('kind' in a) && a.status === 429) {
    return { kind: 'rate_limited', retryAfterMs: closeResetMs(a.body, a.headers), detail: 'Close rate limit (429)' };
  }
  return writeOutcome(a, what, CLOSE);
}

/** A value as a Close custom field takes it: numbers stay numbers, lists become one line, objects JSON. */
function customValue(value: unknown): string | number {
  if (typeof value === 'number') return value;
  if (Array.isArray(value)) return value.map(String).join(', ');
  if (value && typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/**
 * The lead's custom fields by name: the company domain, then the enriched organization fields under the names PostHog
 * and Vitally get (`enrichment_industry`, `enrichment_icp_score`, ...).
 */
export function leadCustomFields(
  s: EnrichedSignup,
  company: CloseCompany | undefined,
): Record<string, string | number> {
  const fields: Record<string, string | number> = {};
  if (company) fields[CLOSE_DOMAIN_FIELD] = company.domain;
  if (company) {
    for (const [name, value] of Object.entries(enrichmentProperties(s, 'organization'))) {
      fields[name] = customValue(value);
    }
  }
  return fields;
}

/** The lead's name: the company's, else (no company) the person's. */
export function leadName(s: EnrichedSignup, company: CloseCompany | undefined): string {
  if (company) return company.name ?? s.fields.companyName ?? s.organizationName ?? company.domain;
  return s.name ?? s.email?.split('@')[0] ?? s.personKey;
}

/** The contact of the person: name, title and the email as an office address. */
export function contactBody(s: EnrichedSignup): Json {
  return {
    name: s.name ?? s.email?.split('@')[0] ?? s.personKey,
    ...(s.fields.personTitle ? { title: s.fields.personTitle } : {}),
    ...(s.email ? { emails: [{ type: 'office', email: s.email }] } : {}),
  };
}

/** What identifies this signup's follow-up on a lead (a task's text, an opportunity's note): no email, its ledger id. */
export const followUpMarker = (signupId: string) => `[signup ${signupId}]`;

export function followUpText(s: EnrichedSignup): string {
  const score = s.score?.score !== undefined ? `, ICP score ${s.score.score}` : '';
  const tier = s.score?.tier ? ` tier ${s.score.tier}` : '';
  return `High-value signup: ${s.name ?? 'new user'}${tier ? ` (${tier.trim()}${score})` : score} ${followUpMarker(s.signupId)}`;
}

/** The most a list page asks for: Close answers 400 beyond a resource's maximum `_limit` (the sandbox's: 100). */
export const CLOSE_PAGE_SIZE = 100;

/** Advanced Filtering: the leads whose lead custom field `fieldId` is `value`. */
export function leadByCustomFieldQuery(fieldId: string, value: string): Json {
  return {
    type: 'and',
    queries: [
      { type: 'object_type', object_type: 'lead' },
      {
        type: 'field_condition',
        field: { type: 'custom_field', custom_field_id: fieldId },
        condition: { type: 'term', values: [value] },
      },
    ],
  };
}

/** Advanced Filtering: the leads with a contact that has this email address. */
export function leadByContactEmailQuery(email: string): Json {
  return {
    type: 'and',
    queries: [
      { type: 'object_type', object_type: 'lead' },
      {
        type: 'has_related',
        this_object_type: 'lead',
        related_object_type: 'contact',
        related_query: {
          type: 'has_related',
          this_object_type: 'contact',
          related_object_type: 'contact_email',
          related_query: {
            type: 'field_condition',
            field: { type: 'regular_field', object_type: 'contact_email', field_name: 'email' },
            condition: { type: 'term', values: [email] },
          },
        },
      },
    ],
  };
}

interface CloseContact {
  id?: string;
  emails?: { email?: string }[];
}

interface CloseLead {
  id: string;
  contacts?: CloseContact[];
  [field: string]: unknown;
}

/**
 * Close's REST API (developer.close.com): a lead per company, found by its `Company Domain` custom field (the Advanced
 * Filtering API, `POST /data/search/`; the lead recorded for the company is read by id first, as the search may not
 * see a lead created moments ago) before one is created, with a contact per person (found by email on that lead
 * before one is created); a person without a known company gets a lead of their own, found by their contact's email. Enriched fields are lead custom fields, created in Close
 * when missing. A high-value signup adds a task or an opportunity, found by its signup marker before one is created.
 * Every step matches before it creates, so a retry or a backfill adds nothing.
 */
export function createCloseClient(o: CloseClientOptions): ClosePort & {
  customFieldIds(): Promise<Map<string, string> | Failure>;
  deletePerson(email: string, signupIds: string[], knownLeadIds?: string[]): Promise<DeletionOutcome[]>;
} {
  const auth = `Basic ${Buffer.from(`${o.apiKey}:`).toString('base64')}`;
  const call = (method: string, path: string, body?: unknown) =>
    destinationCall(`${o.baseUrl}${path}`, {
      method,
      headers: { authorization: auth },
      body,
      timeoutMs: o.timeoutMs,
      fetch: o.fetch,
    });

  /** `answer`'s JSON body when it is a 2xx, else the failure it means. */
  const ok = <T>(answer: HttpAnswer | { kind: 'transient'; detail: string }, what: string): T | Failure => {
    const outcome = outcomeOf(answer, what);
    if (outcome.kind !== 'written') return outcome;
    return (answer as HttpAnswer).body as T;
  };
  const failed = (value: unknown): value is Failure =>
    typeof value === 'object' && value !== null && 'kind' in value && typeof (value as Failure).detail === 'string';

  /**
   * Every item of a Close list, page by page (`_skip`/`_limit`, as Close's pagination docs say: a list has a
   * per-resource maximum `_limit`, and `has_more` says when to ask for the next page). `query` is the list's own filter.
   */
  const listAll = async <T>(path: string, query: string, what: string): Promise<T[] | Failure> => {
    const items: T[] = [];
    for (let skip = 0; ;) {
      const page = ok<{ data?: T[]; has_more?: boolean }>(
        await call('GET', `${path}?${query ? `${query}&` : ''}_skip=${skip}&_limit=${CLOSE_PAGE_SIZE}`),
        what,
      );
      if (failed(page)) return page;
      const data = page.data ?? [];
      items.push(...data);
      if (!page.has_more || data.length === 0) return items;
      skip += data.length;
    }
  };
  const onLead = (leadId: string) => `lead_id=${encodeURIComponent(leadId)}`;

  // Custom field ids by name, read once per worker (and completed as fields are created).
  let fieldIds: Map<string, string> | undefined;
  const customFieldIds = async (): Promise<Map<string, string> | Failure> => {
    if (fieldIds) return fieldIds;
    const list = await listAll<{ id: string; name: string }>('/custom_field/lead/', '', 'the custom field list');
    if (failed(list)) return list;
    fieldIds = new Map(list.map((f) => [f.name, f.id]));
    return fieldIds;
  };

  /** `custom.<id>` entries for the fields, creating the custom fields Close does not have yet. */
  const customEntries = async (fields: Record<string, string | number>): Promise<Json | Failure> => {
    let ids = await customFieldIds();
    if (failed(ids)) return ids;
    const entries: Json = {};
    for (const [name, value] of Object.entries(fields)) {
      let id = ids.get(name);
      if (!id) {
        const created = ok<{ id?: string }>(
          await call('POST', '/custom_field/lead/', { name, type: typeof value === 'number' ? 'number' : 'text' }),
          `the custom field "${name}"`,
        );
        if (failed(created)) {
          // Another worker may have created it since this one read the list: read it again before giving up.
          if (created.kind !== 'rejected') return created;
          fieldIds = undefined;
          const again = await customFieldIds();
          if (failed(again)) return again;
          if (!again.has(name)) return created;
          ids = again;
          id = again.get(name)!;
        } else {
          if (typeof created.id !== 'string')
            return { kind: 'transient', detail: 'Close answered a custom field without its id' };
          id = created.id;
          ids.set(name, id);
        }
      }
      entries[`custom.${id}`] = value;
    }
    return entries;
  };

  /**
   * The first lead an Advanced Filtering query finds (`POST /data/search/`), if any. Close's search reads an index
   * built apart from its writes: a lead created moments ago may not be found yet (hence the recorded lead id first).
   */
  const findLead = async (query: Json): Promise<CloseLead | undefined | Failure> => {
    const found = ok<{ data?: { id?: unknown }[] }>(
      await call('POST', '/data/search/', { query, _fields: { lead: ['id'] }, _limit: 1 }),
      'the lead search',
    );
    if (failed(found)) return found;
    const first = found.data?.[0];
    if (first === undefined) return undefined;
    if (typeof first.id !== 'string')
      return { kind: 'transient', detail: 'Close answered a search result without its id' };
    return { id: first.id };
  };

  /** The lead with this id, unless Close no longer has it (deleted, or merged into another). */
  const getLead = async (id: string): Promise<CloseLead | undefined | Failure> => {
    const answer = await call('GET', `/lead/${pathSegment(id)}/`);
    if (!('kind' in answer) && answer.status === 404) return undefined;
    return ok<CloseLead>(answer, 'the lead');
  };

  const write = async (
    s: EnrichedSignup,
    company: CloseCompany | undefined,
    highValue: boolean,
    knownLeadId: string | undefined,
  ): Promise<CloseWriteOutcome> => {
    const email = s.email?.toLowerCase();
    if (!company && !email) return { kind: 'written', detail: 'no company and no email: nothing to write to Close' };
    const custom = await customEntries(leadCustomFields(s, company));
    if (failed(custom)) return custom;
    const domainFieldId = company ? await customFieldIds() : undefined;
    if (failed(domainFieldId)) return domainFieldId;
    const query = company
      ? leadByCustomFieldQuery(domainFieldId!.get(CLOSE_DOMAIN_FIELD)!, company.domain)
      : leadByContactEmailQuery(email!);
    // The lead recorded for this company first: Close's search may not find a lead created moments ago.
    const known = knownLeadId ? await getLead(knownLeadId) : undefined;
    if (failed(known)) return known;
    const existing = known ?? (await findLead(query));
    if (failed(existing)) return existing;

    const done: string[] = [];
    let lead: CloseLead;
    if (!existing) {
      const created = ok<CloseLead>(
        await call('POST', '/lead/', {
          name: leadName(s, company),
          ...(company ? { url: `https://${company.domain}` } : {}),
          ...custom,
          contacts: email ? [contactBody(s)] : [],
        }),
        'the lead',
      );
      if (failed(created)) return created;
      if (typeof created.id !== 'string')
        return { kind: 'transient', detail: 'Close answered the lead without its id' };
      lead = created;
      done.push(`lead ${lead.id} created${email ? ' with its contact' : ''}`);
    } else {
      lead = existing;
      if (Object.keys(custom).length > 0) {
        const updated = ok<CloseLead>(await call('PUT', `/lead/${pathSegment(lead.id)}/`, custom), 'the lead');
        if (failed(updated)) return updated;
      }
      done.push(`lead ${lead.id} updated`);
      const contacts = await listAll<CloseContact>('/contact/', onLead(lead.id), 'the contact list');
      if (failed(contacts)) return contacts;
      const known = contacts.some((c) => c.emails?.some((e) => e.email?.toLowerCase() === email));
      if (email && !known) {
        const contact = ok<{ id?: string }>(
          await call('POST', '/contact/', { lead_id: lead.id, ...contactBody(s) }),
          'the contact',
        );
        if (failed(contact)) return contact;
        done.push(`contact ${contact.id ?? ''} created`.replace('  ', ' '));
      } else if (email) {
        done.push('contact already there');
      }
    }

    if (highValue && o.highValueAction !== 'none') {
      const followUp = await addFollowUp(s, lead.id, o.highValueAction);
      if (followUp.kind !== 'written') return followUp;
      done.push(followUp.detail);
    }
    return { kind: 'written', detail: done.join(', '), leadId: lead.id };
  };

  /** The signup's task or opportunity on the lead, unless one with its marker is already there. */
  const addFollowUp = async (
    s: EnrichedSignup,
    leadId: string,
    action: 'task' | 'opportunity',
  ): Promise<WriteOutcome> => {
    const path = action === 'task' ? '/task/' : '/opportunity/';
    const textField = action === 'task' ? 'text' : 'note';
    const list = await listAll<Json>(path, onLead(leadId), `the ${action} list`);
    if (failed(list)) return list;
    const marker = followUpMarker(s.signupId);
    if (list.some((x) => typeof x[textField] === 'string' && x[textField].includes(marker))) {
      return { kind: 'written', detail: `${action} already there` };
    }
    const body =
      action === 'task'
        ? { _type: 'lead', lead_id: leadId, text: followUpText(s) }
        : { lead_id: leadId, note: followUpText(s), confidence: s.score?.score ?? 50 };
    const created = ok<{ id?: string }>(await call('POST', path, body), `the ${action}`);
    if (failed(created)) return created;
    return { kind: 'written', detail: `${action} ${created.id ?? ''} created`.replace('  ', ' ') };
  };

  /** A DELETE as a deletion outcome: 200 deleted, 404 already gone, anything else failed. */
  const remove = async (path: string, what: string): Promise<DeletionOutcome> => {
    const answer = await call('DELETE', path);
    if (!('kind' in answer) && answer.status === 404) return { kind: 'not_found', detail: `${what} already gone` };
    const outcome = outcomeOf(answer, what);
    return outcome.kind === 'written'
      ? { kind: 'deleted', detail: `${what} deleted` }
      : { kind: 'failed', detail: outcome.detail };
  };

  /**
   * `enrich forget` in Close: on every lead with a contact of this email (the lead search, and `knownLeadIds`: the lead
   * recorded for the person's company, which a lagging search may miss), the follow-ups our writes
   * made for the person's signups (a task's text or an opportunity's note holding `followUpMarker`), then the person's
   * contact(s), then the lead itself when it was the person's own — no company domain on it and no other contact. A
   * company's lead stays, with its other people. A lead whose follow-ups could not all be deleted keeps its contact,
   * so that the next run finds it again by the email.
   */
  const deletePerson = async (
    rawEmail: string,
    signupIds: string[],
    knownLeadIds: string[] = [],
  ): Promise<DeletionOutcome[]> => {
    const email = rawEmail.toLowerCase();
    const failure = (f: Failure): DeletionOutcome[] => [{ kind: 'failed', detail: f.detail }];
    const found = ok<{ data?: { id?: unknown }[] }>(
      await call('POST', '/data/search/', {
        query: leadByContactEmailQuery(email),
        _fields: { lead: ['id'] },
        _limit: 100,
      }),
      'the lead search',
    );
    if (failed(found)) return failure(found);
    const leads: CloseLead[] = [];
    const searched = (found.data ?? []).map((r) => r.id).filter((id): id is string => typeof id === 'string');
    for (const id of new Set([...searched, ...knownLeadIds])) {
      const lead = await getLead(id);
      if (failed(lead)) return failure(lead);
      if (lead) leads.push(lead);
    }
    if (leads.length === 0) return [{ kind: 'not_found', detail: 'no Close lead has a contact with this email' }];
    const ids = await customFieldIds();
    if (failed(ids)) return failure(ids);
    const domainField = ids.get(CLOSE_DOMAIN_FIELD);
    const markers = signupIds.map(followUpMarker);
    const outcomes: DeletionOutcome[] = [];
    for (const lead of leads) {
      const followUps: DeletionOutcome[] = [];
      for (const [action, textField] of [
        ['task', 'text'],
        ['opportunity', 'note'],
      ] as const) {
        const list = await listAll<Json>(`/${action}/`, onLead(lead.id), `the ${action} list`);
        if (failed(list)) {
          followUps.push({ kind: 'failed', detail: list.detail });
          continue;
        }
        for (const item of list) {
          const text = item[textField];
          if (typeof item.id !== 'string' || typeof text !== 'string' || !markers.some((m) => text.includes(m)))
            continue;
          followUps.push(await remove(`/${action}/${pathSegment(item.id)}/`, `${action} ${item.id}`));
        }
      }
      outcomes.push(...followUps);
      if (followUps.some((o) => o.kind === 'failed')) continue;

      const all = await listAll<CloseContact>('/contact/', onLead(lead.id), 'the contact list');
      if (failed(all)) {
        outcomes.push({ kind: 'failed', detail: all.detail });
        continue;
      }
      const isPerson = (c: (typeof all)[number]) => c.emails?.some((e) => e.email?.toLowerCase() === email) === true;
      const theirs = all.filter(isPerson);
      // A recorded company lead the person is not on (nor any follow-up of theirs): nothing of theirs to report.
      if (theirs.length === 0 && followUps.length === 0) continue;
      const contactOutcomes: DeletionOutcome[] = [];
      for (const c of theirs) {
        if (typeof c.id === 'string')
          contactOutcomes.push(await remove(`/contact/${pathSegment(c.id)}/`, `contact ${c.id}`));
      }
      outcomes.push(...contactOutcomes);
      const company =
        domainField !== undefined && ![undefined, null, ''].includes(lead[`custom.${domainField}`] as never);
      const others = all.length - theirs.length;
      if (company || others > 0 || contactOutcomes.some((o) => o.kind === 'failed')) {
        outcomes.push({
          kind: 'not_found',
          detail: `lead ${lead.id} kept (${company ? "a company's lead" : 'not theirs alone'}${others > 0 ? `, ${others} other contact(s)` : ''})`,
        });
        continue;
      }
      outcomes.push(await remove(`/lead/${pathSegment(lead.id)}/`, `their own lead ${lead.id}`));
    }
    return outcomes.length > 0
      ? outcomes
      : [{ kind: 'not_found', detail: 'no Close lead has a contact with this email' }];
  };

  return {
    customFieldIds,
    deletePerson,
    // Writers of one company take turns in the caller (writeToClose's lease in the ledger), across workers too.
    writeEnrichment: (s, company, highValue, knownLeadId) => write(s, company, highValue, knownLeadId),
  };
}

export type CloseClient = ReturnType<typeof createCloseClient>;
