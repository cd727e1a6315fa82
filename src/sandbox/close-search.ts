import { createHash } from 'node:crypto';

/**
 * Close's search, as the sandbox simulates it: an index of leads built apart from the writes (what Close's "Search
 * Indexing Delays" incidents show), and the subset of the Advanced Filtering API's query language (developer.close.com
 * "Advanced Filtering", `POST /api/v1/data/search/`) that a client finding a lead by a custom field or by a contact's
 * email sends. Anything else in a request is refused with the path of the part not understood, so a client that
 * drifts from the documented shape fails here instead of matching nothing.
 *
 * Understood:
 * - queries `and` / `or` (`queries: [...]`), `object_type` (`lead` or `contact`; exactly one at the top level, or the
 *   top-level query itself), `field_condition` (`field`, `condition`, optional `negate`) and `has_related`
 *   (`this_object_type`, `related_object_type`, `related_query`, optional `negate`) along lead → contact,
 *   contact → contact_email and contact → lead;
 * - fields `{ type: "custom_field", custom_field_id }` (a lead custom field that exists) and `{ type: "regular_field",
 *   object_type, field_name }` with `object_type` the type being filtered: lead `id`, `name`, `display_name`, `url`;
 *   contact `id`, `name`, `title`, `lead_id`; contact_email `email`, `type`;
 * - condition `{ type: "term", values: [...] }`: equal to one of the values (text compared case-insensitively).
 * - request keys `query` (required), `_limit` (1..SEARCH_MAX_LIMIT, default 10), `cursor` (from a previous answer, or
 *   null), `_fields` (`{ lead: [...], contact: [...] }`: the fields of each result, besides `__object_type` and `id`),
 *   `results_limit` (at most that many results over all pages) and `sort` (only empty).
 * The answer: `{ data: [{ __object_type, id, ...fields }], cursor }`, oldest first, `cursor` null on the last page.
 */

type Json = Record<string, unknown>;

/** The most results one page of the sandbox's search returns; a larger `_limit` is refused. */
export const SEARCH_MAX_LIMIT = 200;
const SEARCH_DEFAULT_LIMIT = 10;

/** What the index holds of a lead: the searchable values as of one write. */
export interface IndexedLead {
  id: string;
  name: string;
  url: string;
  custom: Json;
  contacts: { id: string; name: string; title: string; emails: { email: string; type: string }[] }[];
}

/**
 * The search index: per lead, the versions written and when. The search reads, for each lead, the newest version
 * older than the delay; a deleted lead is a version of its own (`null`).
 */
export class SearchIndex {
  private readonly versions = new Map<string, { at: number; doc: IndexedLead | null }[]>();

  /** Records the lead's version if it differs from the last one recorded. */
  record(id: string, doc: IndexedLead | null, at: number): void {
    const list = this.versions.get(id) ?? [];
    const last = list[list.length - 1];
    if (last && JSON.stringify(last.doc) === JSON.stringify(doc)) return;
    if (!last && doc === null) return;
    list.push({ at, doc });
    this.versions.set(id, list);
  }

  /** Ids of the leads known to the index, written or deleted. */
  ids(): string[] {
    return [...this.versions.keys()];
  }

  /** The leads the search sees at `now` with `delayMs` of indexing delay, in creation order. */
  visible(now: number, delayMs: number): IndexedLead[] {
    const seen: IndexedLead[] = [];
    for (const list of this.versions.values()) {
      let doc: IndexedLead | null = null;
      for (const v of list) if (v.at <= now - delayMs) doc = v.doc;
      if (doc) seen.push(doc);
    }
    return seen;
  }
}

/** A request the sandbox does not understand: the path of the part (`query.queries[1].condition.type`) and why. */
export class SearchRequestError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(`${path}: ${message}`);
  }
}

type ObjectType = 'lead' | 'contact' | 'contact_email';
type Contact = IndexedLead['contacts'][number];
type Node =
  | { type: 'lead'; lead: IndexedLead }
  | { type: 'contact'; lead: IndexedLead; contact: Contact }
  | { type: 'contact_email'; email: Contact['emails'][number] };
type Matcher = (node: Node) => boolean;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function objectAt(value: unknown, path: string): Json {
  if (!isObject(value)) throw new SearchRequestError(path, 'must be an object');
  return value;
}

function only(value: Json, path: string, keys: string[]): void {
  for (const key of Object.keys(value)) {
    if (!keys.includes(key)) throw new SearchRequestError(`${path}.${key}`, 'is not supported by the sandbox');
  }
}

const REGULAR_FIELDS: Record<ObjectType, Record<string, (node: Node) => unknown>> = {
  lead: {
    id: (n) => (n.type === 'lead' ? n.lead.id : undefined),
    name: (n) => (n.type === 'lead' ? n.lead.name : undefined),
    display_name: (n) => (n.type === 'lead' ? n.lead.name : undefined),
    url: (n) => (n.type === 'lead' ? n.lead.url : undefined),
  },
  contact: {
    id: (n) => (n.type === 'contact' ? n.contact.id : undefined),
    name: (n) => (n.type === 'contact' ? n.contact.name : undefined),
    title: (n) => (n.type === 'contact' ? n.contact.title : undefined),
    lead_id: (n) => (n.type === 'contact' ? n.lead.id : undefined),
  },
  contact_email: {
    email: (n) => (n.type === 'contact_email' ? n.email.email : undefined),
    type: (n) => (n.type === 'contact_email' ? n.email.type : undefined),
  },
};

const RELATIONS: Record<string, (node: Node) => Node[]> = {
  'lead>contact': (n) =>
    n.type === 'lead' ? n.lead.contacts.map((contact) => ({ type: 'contact', lead: n.lead, contact })) : [],
  'contact>contact_email': (n) =>
    n.type === 'contact' ? n.contact.emails.map((email) => ({ type: 'contact_email', email })) : [],
  'contact>lead': (n) => (n.type === 'contact' ? [{ type: 'lead', lead: n.lead }] : []),
};

const sameValue = (actual: unknown, wanted: unknown): boolean => {
  if (typeof actual === 'string' && typeof wanted === 'string') return actual.toLowerCase() === wanted.toLowerCase();
  return (typeof actual === 'number' || typeof actual === 'string') && actual === wanted;
};

interface Compiler {
  customFieldExists(id: string): boolean;
}

function negated(q: Json, path: string): boolean {
  if (q.negate === undefined) return false;
  if (typeof q.negate !== 'boolean') throw new SearchRequestError(`${path}.negate`, 'must be true or false');
  return q.negate;
}

function compileField(raw: unknown, path: string, on: ObjectType, c: Compiler): (node: Node) => unknown {
  const field = objectAt(raw, path);
  if (field.type === 'custom_field') {
    only(field, path, ['type', 'custom_field_id']);
    const id = field.custom_field_id;
    if (typeof id !== 'string' || !id) throw new SearchRequestError(`${path}.custom_field_id`, 'is required');
    if (on !== 'lead') throw new SearchRequestError(path, `the sandbox knows lead custom fields only, not ${on}'s`);
    if (!c.customFieldExists(id)) throw new SearchRequestError(`${path}.custom_field_id`, `no lead custom field ${id}`);
    return (n) => (n.type === 'lead' ? n.lead.custom[id] : undefined);
  }
  if (field.type === 'regular_field') {
    only(field, path, ['type', 'object_type', 'field_name']);
    if (field.object_type !== on) {
      throw new SearchRequestError(`${path}.object_type`, `must be the type being filtered here (${on})`);
    }
    const read = typeof field.field_name === 'string' ? REGULAR_FIELDS[on][field.field_name] : undefined;
    if (!read) {
      throw new SearchRequestError(
        `${path}.field_name`,
        `${JSON.stringify(field.field_name)} is not a ${on} field the sandbox searches (${Object.keys(REGULAR_FIELDS[on]).join(', ')})`,
      );
    }
    return read;
  }
  throw new SearchRequestError(
    `${path}.type`,
    `field type ${JSON.stringify(field.type)} is not supported by the sandbox`,
  );
}

function compileCondition(raw: unknown, path: string): (value: unknown) => boolean {
  const condition = objectAt(raw, path);
  if (condition.type !== 'term') {
    throw new SearchRequestError(
      `${path}.type`,
      `condition type ${JSON.stringify(condition.type)} is not supported by the sandbox (term only)`,
    );
  }
  only(condition, path, ['type', 'values']);
  const values = condition.values;
  if (
    !Array.isArray(values) ||
    values.length === 0 ||
    !values.every((v) => typeof v === 'string' || typeof v === 'number')
  ) {
    throw new SearchRequestError(`${path}.values`, 'must be a non-empty list of strings or numbers');
  }
  return (value) => values.some((v) => sameValue(value, v));
}

function compile(raw: unknown, path: string, on: ObjectType, c: Compiler): Matcher {
  const q = objectAt(raw, path);
  switch (q.type) {
    case 'and':
    case 'or': {
      only(q, path, ['type', 'queries']);
      if (!Array.isArray(q.queries)) throw new SearchRequestError(`${path}.queries`, 'must be a list');
      const parts = q.queries.map((sub, i) => compile(sub, `${path}.queries[${i}]`, on, c));
      return q.type === 'and' ? (n) => parts.every((p) => p(n)) : (n) => parts.some((p) => p(n));
    }
    case 'object_type': {
      only(q, path, ['type', 'object_type']);
      return (n) => n.type === q.object_type;
    }
    case 'field_condition': {
      only(q, path, ['type', 'field', 'condition', 'negate']);
      const read = compileField(q.field, `${path}.field`, on, c);
      const test = compileCondition(q.condition, `${path}.condition`);
      const negate = negated(q, path);
      return (n) => test(read(n)) !== negate;
    }
    case 'has_related': {
      only(q, path, ['type', 'this_object_type', 'related_object_type', 'related_query', 'negate']);
      if (q.this_object_type !== on) {
        throw new SearchRequestError(`${path}.this_object_type`, `must be the type being filtered here (${on})`);
      }
      const relation = RELATIONS[`${on}>${String(q.related_object_type)}`];
      if (!relation) {
        throw new SearchRequestError(
          `${path}.related_object_type`,
          `${JSON.stringify(q.related_object_type)} is not a relation of ${on} the sandbox knows (${Object.keys(RELATIONS).join(', ')})`,
        );
      }
      const related = compile(q.related_query, `${path}.related_query`, q.related_object_type as ObjectType, c);
      const negate = negated(q, path);
      return (n) => relation(n).some(related) !== negate;
    }
    default:
      throw new SearchRequestError(
        `${path}.type`,
        `query type ${JSON.stringify(q.type)} is not supported by the sandbox`,
      );
  }
}

/** The object type a query returns: its top-level `object_type` query, or the one among its top-level `and`'s. */
function resultType(query: Json): 'lead' | 'contact' {
  const candidates =
    query.type === 'object_type' ? [query] : query.type === 'and' && Array.isArray(query.queries) ? query.queries : [];
  const types = candidates.filter((q) => isObject(q) && q.type === 'object_type').map((q) => (q as Json).object_type);
  if (types.length !== 1) {
    throw new SearchRequestError('query', 'must name the objects searched: one object_type query at the top level');
  }
  if (types[0] !== 'lead' && types[0] !== 'contact') {
    throw new SearchRequestError(
      'query',
      `object_type ${JSON.stringify(types[0])}: the sandbox searches lead or contact`,
    );
  }
  return types[0];
}

const encodeCursor = (offset: number, fingerprint: string) =>
  Buffer.from(JSON.stringify({ o: offset, f: fingerprint })).toString('base64url');

function decodeCursor(raw: unknown, fingerprint: string): number {
  if (raw === undefined || raw === null || raw === '') return 0;
  if (typeof raw !== 'string') throw new SearchRequestError('cursor', 'must be a string from a previous answer');
  try {
    const parsed = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as { o?: unknown; f?: unknown };
    if (typeof parsed.o === 'number' && Number.isInteger(parsed.o) && parsed.o >= 0 && parsed.f === fingerprint) {
      return parsed.o;
    }
  } catch {
    // Falls through to the refusal below.
  }
  throw new SearchRequestError('cursor', 'is not a cursor this query returned');
}

function positiveInteger(value: unknown, path: string, max?: number): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new SearchRequestError(path, 'must be a positive integer');
  }
  if (max !== undefined && value > max) throw new SearchRequestError(path, `must be at most ${max}`);
  return value;
}

/**
 * Runs one `POST /data/search/` body against the leads the index shows; `project` gives a result's requested fields
 * (read from the records, as Close returns the objects themselves).
 */
export function search(
  body: Json,
  leads: IndexedLead[],
  customFieldExists: (id: string) => boolean,
  project: (type: 'lead' | 'contact', id: string, fields: string[]) => Json,
): { data: Json[]; cursor: string | null } {
  only(body, '(body)', ['query', '_limit', 'cursor', '_fields', 'results_limit', 'sort']);
  if (body.query === undefined) throw new SearchRequestError('query', 'is required');
  const query = objectAt(body.query, 'query');
  const type = resultType(query);
  const matcher = compile(query, 'query', type, { customFieldExists });
  if (body.sort !== undefined && !(Array.isArray(body.sort) && body.sort.length === 0)) {
    throw new SearchRequestError('sort', 'is not supported by the sandbox (results come oldest first)');
  }
  const limit = positiveInteger(body._limit, '_limit', SEARCH_MAX_LIMIT) ?? SEARCH_DEFAULT_LIMIT;
  const resultsLimit = positiveInteger(body.results_limit, 'results_limit');
  const fields: Partial<Record<'lead' | 'contact', string[]>> = {};
  if (body._fields !== undefined) {
    const wanted = objectAt(body._fields, '_fields');
    for (const [t, list] of Object.entries(wanted)) {
      if (t !== 'lead' && t !== 'contact') throw new SearchRequestError(`_fields.${t}`, 'must be lead or contact');
      if (!Array.isArray(list) || !list.every((f) => typeof f === 'string')) {
        throw new SearchRequestError(`_fields.${t}`, 'must be a list of field names');
      }
      fields[t] = list;
    }
  }

  const nodes: Node[] =
    type === 'lead'
      ? leads.map((lead) => ({ type: 'lead', lead }))
      : leads.flatMap((lead) => lead.contacts.map((contact) => ({ type: 'contact' as const, lead, contact })));
  let matched = nodes
    .filter(matcher)
    .map((n) => (n.type === 'contact' ? n.contact.id : n.type === 'lead' ? n.lead.id : ''));
  if (resultsLimit !== undefined) matched = matched.slice(0, resultsLimit);
  const fingerprint = createHash('sha256').update(JSON.stringify(query)).digest('base64url').slice(0, 16);
  const offset = decodeCursor(body.cursor, fingerprint);
  const pageIds = matched.slice(offset, offset + limit);
  const next = offset + limit < matched.length ? encodeCursor(offset + limit, fingerprint) : null;
  return {
    data: pageIds.map((id) => ({ __object_type: type, id, ...project(type, id, fields[type] ?? []) })),
    cursor: next,
  };
}
