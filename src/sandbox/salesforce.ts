import { createHmac } from 'node:crypto';
import type { FastifyError, FastifyInstance, FastifyPluginCallback, FastifyReply, FastifyRequest } from 'fastify';
import { hash32, normalizeDomain } from './dataset';
import { SandboxState, sleep, type ProviderPluginOptions, type RecordStore, type StoredRecord } from './state';

/**
 * Salesforce's REST API (one org), written from Salesforce's public documentation: the REST API Developer Guide
 * (sObject rows, upsert by external id, sObject Collections, query / queryMore, status codes and error responses,
 * the Sforce-Query-Options, Sforce-Duplicate-Rule-Header and Sforce-Limit-Info headers), the SOQL reference and the
 * OAuth 2.0 client-credentials and username-password flows.
 *
 * - `POST /services/oauth2/token` (form-encoded) → `{ access_token, instance_url, id, token_type, issued_at,
 *   signature }`; errors `{ error, error_description }` with 400.
 * - `/services/data/vXX.X/...`: `sobjects/<Type>` (create), `sobjects/<Type>/<Id>` (get, update), `sobjects/<Type>/
 *   <ExtIdField>/<value>` (get, upsert), `composite/sobjects` (create and update up to 200), `composite/sobjects/
 *   <Type>/<ExtIdField>` (upsert up to 200), `composite/sobjects/<Type>` (retrieve many), `query`, `queryAll`,
 *   `query/<locator>`, `limits`, `jobs/ingest` (Bulk API 2.0 ingest: create, upload CSV, close, poll, results; processed
 *   at once on close). REST errors are arrays `[{ message, errorCode, fields? }]`; per-record errors in
 *   sObject Collections are `{ statusCode, message, fields }` (the documented difference: `statusCode`, not
 *   `errorCode`).
 *
 * Choices where the docs are silent, or where the sandbox simplifies:
 *
 * - `instance_url` is this plugin's own base as the caller reached it (request protocol + Host header + prefix), so
 *   a client following it comes back here.
 * - Access tokens never expire and are remembered for the plugin's lifetime, across `POST /_reset`: a client using
 *   the client-credentials flow gets no refresh token, so jsforce could not recover from a session the sandbox
 *   forgot between two tests. Any non-empty client id and secret, user name and password are accepted except the
 *   literal `bad-key`. A missing or `bad-key` client id answers Salesforce's `invalid_client_id` ("client identifier
 *   invalid"), a bad secret `invalid_client`, a bad password `invalid_grant` ("authentication failure").
 * - The token endpoint is the login service, not the org: `latencyMs` applies to it, the rate limit, the injected
 *   failures and the API request allowance do not.
 * - Salesforce has no 429 for REST calls. Over `rateLimitPerSecond` and on an injected failure the answer is 503
 *   `SERVER_UNAVAILABLE`, the status Salesforce documents for "server is unavailable", which jsforce (like most
 *   clients) treats as transient: jsforce itself retries GETs on 503 (up to 5 times, 0.5 s to 8 s apart), never
 *   POST or PATCH.
 * - Order of checks: session (401) → latency → rate limit / injected failure (503) → API request allowance (403
 *   `REQUEST_LIMIT_EXCEEDED`) → parameters → work. Salesforce counts every authenticated API call against the
 *   allowance, the ones refused for their parameters included, so the allowance is taken before the parameters are
 *   looked at. `Sforce-Limit-Info: api-usage=<used>/<max>` is on every REST answer after the session check; `max` is
 *   used + `apiRequestsRemaining`, or 100,000 (Enterprise Edition's base allowance) when that is `null`.
 * - No schema: any field name is accepted on any of the three sObjects (Account `001`, Contact `003`, Lead `00Q`);
 *   unset fields read as `null`. Field names, sObject names and external-id values match case-insensitively (an
 *   external-id text field is case-insensitive unless declared otherwise). Required fields: Account `Name`, Contact
 *   `LastName`, Lead `LastName` and `Company`. Read-only system fields written → `INVALID_FIELD_FOR_INSERT_UPDATE`.
 * - Relationships by external id (`"Account": { "Company_Domain__c": "acme.com" }`) resolve to the id field
 *   (`AccountId`); a value that matches nothing answers 400 `INVALID_FIELD` "Foreign key external ID: <v> not found
 *   for field <f> in entity <Type>", as Salesforce does. Known relationships: Contact.Account, Contact.ReportsTo,
 *   Account.Parent, Lead.ConvertedAccount/ConvertedContact, and any `X__r` whose value names `attributes.type`.
 * - Duplicate rules (control `duplicateRules`) run on inserts only (the standard rules' "on edit" action is Allow):
 *   Account by Website domain (`https://www.Acme.com/x` ≡ `acme.com`), Contact by Email. The standard rules are
 *   "Allow with alert" rules, which the API refuses unless `Sforce-Duplicate-Rule-Header: allowSave=true`; hence
 *   `duplicateResult.allowSave: true` in the error, as real answers from the standard rules show (a "Block" rule
 *   would say `false` and could not be bypassed). In sObject Collections the per-record error carries only
 *   `statusCode: 'DUPLICATES_DETECTED'`, message and fields, without `duplicateResult`, as Salesforce answers there.
 *   With `allOrNone: true`, records of one request are checked against what was stored before it, not against each
 *   other.
 * - Upsert by external id matches on the field's value, wherever the record came from; a record created by id and
 *   later upserted by an external id is re-keyed to that value in the RecordStore.
 * - Record ids: the key prefix, `SB`, a 10-digit sequence, and Salesforce's 3-character case-safe suffix (18
 *   characters); 15-character ids are accepted as well. `CreatedDate`, `LastModifiedDate` and `SystemModstamp` come
 *   from the RecordStore's timestamps (the one place here that reads the clock), in Salesforce's format
 *   `2026-11-24T09:00:00.000+0000`.
 * - SOQL subset (a tokenizer and a recursive-descent parser): `SELECT f, Rel.f | COUNT() FROM Type [WHERE ...]
 *   [ORDER BY f [ASC|DESC] [NULLS FIRST|LAST], ...] [LIMIT n] [OFFSET n]`; conditions `= != <> < > <= >=`, `IN`,
 *   `NOT IN`, `LIKE` (`%`, `_`, case-insensitive), `AND`, `OR`, `NOT`, parentheses; literals: strings with
 *   backslash escapes, numbers, `true`/`false`, `null`, date-times, dates, `TODAY`, `YESTERDAY`, `TOMORROW`,
 *   `LAST_N_DAYS:n`, `NEXT_N_DAYS:n` (days in UTC). As in SOQL: text compares case-insensitively, `!=` and
 *   `NOT IN` match records where the field is null, nulls sort first unless `NULLS LAST`, and `AND` and `OR` cannot be
 *   mixed without parentheses. Anything else (sub-queries, aggregates other than `COUNT()`, `GROUP BY`, `WITH`,
 *   `TYPEOF`) is `MALFORMED_QUERY`. Results are computed when the query runs; pages follow with
 *   `nextRecordsUrl: /services/data/vXX.X/query/01g...-<offset>` (batch 2,000 by default, `Sforce-Query-Options:
 *   batchSize=n` clamped to 200..2,000); the last 50 cursors are kept.
 *
 * Everything the org holds is `state.records.salesforce` (read at request time: `POST /_reset` replaces it). Ids,
 * API usage and query cursors live beside it, keyed by that store, so a reset forgets them too.
 */

const DAY_MS = 86_400_000;
const MAX_COLLECTION = 200;
const DEFAULT_BATCH = 2000;
const MIN_BATCH = 200;
const MAX_CURSORS = 50;
/** The daily allowance reported in Sforce-Limit-Info when `apiRequestsRemaining` is null (unlimited). */
const DEFAULT_DAILY_LIMIT = 100_000;
const VERSION_RANGE = { min: 20, max: 66 };

const SOBJECTS = {
  Account: { prefix: '001', required: ['Name'] },
  Contact: { prefix: '003', required: ['LastName'] },
  Lead: { prefix: '00Q', required: ['LastName', 'Company'] },
} as const satisfies Record<string, { prefix: string; required: readonly string[] }>;

export type SalesforceSObject = keyof typeof SOBJECTS;
const SOBJECT_NAMES = Object.keys(SOBJECTS) as SalesforceSObject[];

interface Relationship {
  name: string;
  field: string;
  target: SalesforceSObject;
}

const RELATIONSHIPS: Record<SalesforceSObject, Relationship[]> = {
  Account: [{ name: 'Parent', field: 'ParentId', target: 'Account' }],
  Contact: [
    { name: 'Account', field: 'AccountId', target: 'Account' },
    { name: 'ReportsTo', field: 'ReportsToId', target: 'Contact' },
  ],
  Lead: [
    { name: 'ConvertedAccount', field: 'ConvertedAccountId', target: 'Account' },
    { name: 'ConvertedContact', field: 'ConvertedContactId', target: 'Contact' },
  ],
};

/** System fields: read-only, computed from the stored record. */
const SYSTEM_FIELDS: Record<string, string> = {
  id: 'Id',
  createddate: 'CreatedDate',
  lastmodifieddate: 'LastModifiedDate',
  systemmodstamp: 'SystemModstamp',
  isdeleted: 'IsDeleted',
};
const READ_ONLY_FIELDS = new Set(['createddate', 'lastmodifieddate', 'systemmodstamp', 'isdeleted', 'createdbyid']);

const DUPLICATE_RULES = {
  Account: { rule: 'Standard_Account_Duplicate_Rule', matchRule: 'Standard_Account_Match_Rule_v1_0' },
  Contact: { rule: 'Standard_Contact_Duplicate_Rule', matchRule: 'Standard_Contact_Match_Rule_v1_1' },
} as const;

// ---------------------------------------------------------------------------------------------------------------
// Ids

/** Salesforce's case-safe suffix: one character per 5-character chunk, a bit per upper-case letter. */
function idSuffix(id15: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ012345';
  let suffix = '';
  for (let chunk = 0; chunk < 3; chunk++) {
    let bits = 0;
    for (let i = 0; i < 5; i++) {
      const c = id15.charAt(chunk * 5 + i);
      if (c >= 'A' && c <= 'Z') bits |= 1 << i;
    }
    suffix += alphabet.charAt(bits);
  }
  return suffix;
}

function sfId(prefix: string, sequence: number): string {
  const id15 = `${prefix}SB${String(sequence).padStart(10, '0')}`;
  return id15 + idSuffix(id15);
}

const ORG_ID = sfId('00D', 1);
const USER_ID = sfId('005', 1);
const ID_PATTERN = /^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$/;

/** `2026-11-24T09:00:00.000Z` → `2026-11-24T09:00:00.000+0000`, Salesforce's date-time format. */
function sfDate(iso: string): string {
  return iso.endsWith('Z') ? `${iso.slice(0, -1)}+0000` : iso;
}

// ---------------------------------------------------------------------------------------------------------------
// Org state beside the RecordStore

interface QueryCursor {
  rows: Record<string, unknown>[];
  batchSize: number;
}

interface OrgState {
  apiUsed: number;
  nextId: number;
  nextCursor: number;
  cursors: Map<string, QueryCursor>;
  /** First 15 characters of an id → record; rebuilt per type on a miss. */
  byId: Map<string, StoredRecord>;
  /** Ids (15 characters) of records locked by an approval process: updates answer ENTITY_IS_LOCKED. */
  locked: Set<string>;
  /** Bulk API 2.0 ingest jobs by id. */
  jobs: Map<string, IngestJob>;
}

interface IngestJob {
  id: string;
  object: SalesforceSObject;
  operation: 'insert' | 'update' | 'upsert';
  externalIdFieldName?: string;
  state: 'Open' | 'UploadComplete' | 'JobComplete' | 'Aborted' | 'Failed';
  createdDate: string;
  apiVersion: number;
  csv: string;
  columns: string[];
  successful: string[][];
  failed: string[][];
}

const orgs = new WeakMap<RecordStore, OrgState>();
/** The sandbox state per HTTP server, so that `seedSalesforceAccounts(app, ...)` works with the Fastify instance. */
const statesByServer = new WeakMap<object, SandboxState>();

function orgOf(store: RecordStore): OrgState {
  let org = orgs.get(store);
  if (!org) {
    org = {
      apiUsed: 0,
      nextId: 0,
      nextCursor: 0,
      cursors: new Map(),
      byId: new Map(),
      locked: new Set(),
      jobs: new Map(),
    };
    orgs.set(store, org);
  }
  return org;
}

function findById(store: RecordStore, type: SalesforceSObject, id: string): StoredRecord | undefined {
  const org = orgOf(store);
  const key = id.slice(0, 15);
  let record = org.byId.get(key);
  if (!record || record.type !== type || store.get(type, record.key) !== record) {
    for (const r of store.list(type)) org.byId.set(r.id.slice(0, 15), r);
    record = org.byId.get(key);
  }
  return record && record.type === type && store.get(type, record.key) === record ? record : undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// Fields

type Fields = Record<string, unknown>;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The stored name of a field, matched case-insensitively. */
function fieldKey(fields: Fields, name: string): string | undefined {
  if (Object.hasOwn(fields, name)) return name;
  const lower = name.toLowerCase();
  return Object.keys(fields).find((k) => k.toLowerCase() === lower);
}

function getField(fields: Fields, name: string): unknown {
  const key = fieldKey(fields, name);
  return key === undefined ? undefined : fields[key];
}

function isBlank(value: unknown): boolean {
  return value === undefined || value === null || (typeof value === 'string' && value.trim() === '');
}

function text(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value) ?? '';
}

function fieldValue(record: StoredRecord, name: string): unknown {
  switch (name.toLowerCase()) {
    case 'id':
      return record.id;
    case 'createddate':
      return sfDate(record.createdAt);
    case 'lastmodifieddate':
    case 'systemmodstamp':
      return sfDate(record.updatedAt);
    case 'isdeleted':
      return false;
    default: {
      const value = getField(record.fields, name);
      return value === undefined ? null : value;
    }
  }
}

/** The name a field is answered under: the system field's own spelling, the stored one, else as asked. */
function outputName(record: StoredRecord | undefined, name: string): string {
  return SYSTEM_FIELDS[name.toLowerCase()] ?? (record && fieldKey(record.fields, name)) ?? name;
}

function sobjectName(raw: string): SalesforceSObject | undefined {
  const lower = raw.toLowerCase();
  return SOBJECT_NAMES.find((n) => n.toLowerCase() === lower);
}

function relationshipOf(type: SalesforceSObject, name: string, targetType?: unknown): Relationship | undefined {
  const lower = name.toLowerCase();
  const standard = RELATIONSHIPS[type].find((r) => r.name.toLowerCase() === lower);
  if (standard) return standard;
  if (lower.endsWith('__r') && typeof targetType === 'string') {
    const target = sobjectName(targetType);
    if (target) return { name, field: `${name.slice(0, -3)}__c`, target };
  }
  return undefined;
}

/** Records whose `field` holds `value` (case-insensitive for text); `Id` looks up by id. */
function findByExternalId(store: RecordStore, type: SalesforceSObject, field: string, value: string): StoredRecord[] {
  if (field.toLowerCase() === 'id') {
    const record = ID_PATTERN.test(value) ? findById(store, type, value) : undefined;
    return record ? [record] : [];
  }
  const wanted = value.toLowerCase();
  // A scan, not `store.get(type, value)`: the record may be keyed by its Id (created by POST or seeded), and a
  // second holder of the value must be seen (300 / DUPLICATE_EXTERNAL_ID).
  return store.list(type).filter(matches);

  function matches(record: StoredRecord): boolean {
    const v = getField(record.fields, field);
    return v !== undefined && v !== null && text(v).toLowerCase() === wanted;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Errors

class SfFault extends Error {
  constructor(
    readonly status: number,
    readonly errorCode: string,
    message: string,
    readonly fields?: string[],
    readonly extra?: Record<string, unknown>,
    /** Answered instead of `[error]` (300 Multiple Choices). */
    readonly body?: unknown,
  ) {
    super(message);
  }

  /** REST shape: one element of the answered array. */
  rest(): Record<string, unknown> {
    return {
      message: this.message,
      errorCode: this.errorCode,
      ...(this.fields ? { fields: this.fields } : {}),
      ...this.extra,
    };
  }

  /** sObject Collections shape: `statusCode`, not `errorCode`. */
  collection(): Record<string, unknown> {
    return { statusCode: this.errorCode, message: this.message, fields: this.fields ?? [] };
  }
}

const notFound = () => new SfFault(404, 'NOT_FOUND', 'The requested resource does not exist');

// ---------------------------------------------------------------------------------------------------------------
// Writes

type WriteTarget =
  { kind: 'create' } | { kind: 'update'; id: string } | { kind: 'upsert'; field: string; value: string };

interface WriteContext {
  state: SandboxState;
  store: RecordStore;
  org: OrgState;
  /** `/services/data/v62.0` */
  base: string;
  /** `Sforce-Duplicate-Rule-Header: allowSave=true` */
  allowSave: boolean;
  /** Inside sObject Collections (per-record error codes differ a little). */
  collection: boolean;
}

interface PlannedWrite {
  type: SalesforceSObject;
  key: string;
  id: string;
  existing?: StoredRecord;
  fields: Fields;
  rekeyFrom?: string;
}

function recordUrl(base: string, type: string, id: string): string {
  return `${base}/sobjects/${type}/${id}`;
}

/** Validates one write and decides what it does; throws SfFault. Nothing is written until `commit`. */
function planWrite(ctx: WriteContext, type: SalesforceSObject, input: Fields, target: WriteTarget): PlannedWrite {
  const { store } = ctx;
  const readOnly: string[] = [];
  const incoming: Fields = {};
  for (const [name, value] of Object.entries(input)) {
    if (name === 'attributes' || name.toLowerCase() === 'id') continue;
    if (READ_ONLY_FIELDS.has(name.toLowerCase())) {
      readOnly.push(name);
      continue;
    }
    if (isPlainObject(value)) {
      const [idField, id] = resolveReference(store, type, name, value);
      incoming[idField] = id;
      continue;
    }
    if (value !== null && typeof value === 'object') {
      throw new SfFault(400, 'JSON_PARSER_ERROR', `Cannot deserialize instance of ${name} from START_ARRAY value`);
    }
    incoming[name] = value;
  }
  if (readOnly.length > 0) {
    throw new SfFault(
      400,
      'INVALID_FIELD_FOR_INSERT_UPDATE',
      `Unable to create/update fields: ${readOnly.join(', ')}. Please check the security settings of this field and verify that it is read/write for your profile or permission set.`,
      readOnly,
    );
  }

  let existing: StoredRecord | undefined;
  if (target.kind === 'update') {
    existing = findById(store, type, target.id);
    if (!existing) {
      throw ctx.collection
        ? new SfFault(400, 'INVALID_CROSS_REFERENCE_KEY', 'invalid cross reference id', [])
        : notFound();
    }
  } else if (target.kind === 'upsert') {
    const found = findByExternalId(store, type, target.field, target.value);
    if (found.length > 1) {
      const ids = found.map((r) => r.id);
      throw new SfFault(
        300,
        'DUPLICATE_EXTERNAL_ID',
        `${target.field}: more than one record found for external id field: [${ids.join(', ')}]`,
        [],
        undefined,
        found.map((r) => recordUrl(ctx.base, type, r.id)),
      );
    }
    existing = found[0];
    if (!existing && target.field.toLowerCase() === 'id') throw notFound();
    if (target.field.toLowerCase() !== 'id') incoming[target.field] = target.value;
  }

  if (existing && ctx.org.locked.has(existing.id.slice(0, 15))) {
    throw new SfFault(400, 'ENTITY_IS_LOCKED', 'the entity is locked for editing', []);
  }

  // Field names as already stored on the record, whatever case they come in.
  const fields: Fields = {};
  for (const [name, value] of Object.entries(incoming)) {
    fields[(existing && fieldKey(existing.fields, name)) ?? fieldKey(fields, name) ?? name] = value;
  }

  const merged = existing ? { ...existing.fields, ...fields } : fields;
  const missing = SOBJECTS[type].required.filter(
    (name) => isBlank(getField(merged, name)) && (!existing || fieldKey(fields, name) !== undefined),
  );
  if (missing.length > 0) {
    throw new SfFault(400, 'REQUIRED_FIELD_MISSING', `Required fields are missing: [${missing.join(', ')}]`, [
      ...missing,
    ]);
  }

  if (!existing && ctx.state.system('salesforce').control.duplicateRules && !ctx.allowSave) {
    const duplicates = duplicatesOf(store, type, fields);
    if (duplicates.length > 0) throw duplicatesDetected(ctx.base, type as keyof typeof DUPLICATE_RULES, duplicates);
  }

  if (existing) {
    const upsertKey = target.kind === 'upsert' && target.field.toLowerCase() !== 'id' ? target.value : undefined;
    const rekey =
      upsertKey !== undefined &&
      existing.key !== upsertKey &&
      existing.key === existing.id &&
      !store.get(type, upsertKey);
    return {
      type,
      key: rekey ? upsertKey : existing.key,
      id: existing.id,
      existing,
      fields,
      rekeyFrom: rekey ? existing.key : undefined,
    };
  }
  const id = sfId(SOBJECTS[type].prefix, ++ctx.org.nextId);
  const wantedKey = target.kind === 'upsert' ? target.value : id;
  return { type, key: store.get(type, wantedKey) ? id : wantedKey, id, fields };
}

function commitWrite(ctx: WriteContext, plan: PlannedWrite): { record: StoredRecord; created: boolean } {
  if (plan.rekeyFrom !== undefined) ctx.store.rekey(plan.type, plan.rekeyFrom, plan.key);
  const result = ctx.store.upsert(plan.type, plan.key, plan.fields, () => plan.id);
  ctx.org.byId.set(result.record.id.slice(0, 15), result.record);
  return result;
}

function resolveReference(
  store: RecordStore,
  type: SalesforceSObject,
  name: string,
  reference: Record<string, unknown>,
): [string, string] {
  const attributes = reference.attributes;
  const relationship = relationshipOf(type, name, isPlainObject(attributes) ? attributes.type : undefined);
  if (!relationship) throw new SfFault(400, 'INVALID_FIELD', `No such column '${name}' on sobject of type ${type}`, []);
  const keys = Object.keys(reference).filter((k) => k !== 'attributes');
  const [field] = keys;
  if (keys.length !== 1 || field === undefined) {
    throw new SfFault(
      400,
      'INVALID_FIELD',
      keys.length === 0
        ? `No external id field provided in an external foreign key reference in entity: ${relationship.target}`
        : `More than 1 field provided in an external foreign key reference in entity: ${relationship.target}`,
      [],
    );
  }
  const value = reference[field];
  const found = isBlank(value) ? [] : findByExternalId(store, relationship.target, field, text(value));
  if (found.length > 1) {
    throw new SfFault(
      400,
      'DUPLICATE_EXTERNAL_ID',
      `${field}: more than one record found for external id field: [${found.map((r) => r.id).join(', ')}]`,
      [],
    );
  }
  const [target] = found;
  if (!target) {
    throw new SfFault(
      400,
      'INVALID_FIELD',
      `Foreign key external ID: ${isBlank(value) ? '' : text(value)} not found for field ${field} in entity ${relationship.target}`,
      [],
    );
  }
  return [relationship.field, target.id];
}

function duplicatesOf(store: RecordStore, type: SalesforceSObject, fields: Fields): StoredRecord[] {
  if (type === 'Account') {
    const website = getField(fields, 'Website');
    const domain = typeof website === 'string' ? normalizeDomain(website) : '';
    if (!domain) return [];
    return store.list('Account').filter((r) => {
      const other = getField(r.fields, 'Website');
      return typeof other === 'string' && normalizeDomain(other) === domain;
    });
  }
  if (type === 'Contact') {
    const email = getField(fields, 'Email');
    const wanted = typeof email === 'string' ? email.trim().toLowerCase() : '';
    if (!wanted) return [];
    return store.list('Contact').filter((r) => {
      const other = getField(r.fields, 'Email');
      return typeof other === 'string' && other.trim().toLowerCase() === wanted;
    });
  }
  return [];
}

function duplicatesDetected(base: string, type: keyof typeof DUPLICATE_RULES, matches: StoredRecord[]): SfFault {
  const rule = DUPLICATE_RULES[type];
  return new SfFault(400, 'DUPLICATES_DETECTED', 'Use one of these records?', [], {
    duplicateResult: {
      allowSave: true,
      duplicateRule: rule.rule,
      duplicateRuleEntityType: type,
      errorMessage: "You're creating a duplicate record. We recommend you use an existing record instead.",
      matchResults: [
        {
          entityType: type,
          errors: [],
          matchEngine: 'FuzzyMatchEngine',
          matchRecords: matches.map((r) => ({
            additionalInformation: [],
            fieldDiffs: [],
            matchConfidence: 100,
            record: { attributes: { type, url: recordUrl(base, type, r.id) }, Id: r.id },
          })),
          rule: rule.matchRule,
          size: matches.length,
          success: true,
        },
      ],
    },
  });
}

// ---------------------------------------------------------------------------------------------------------------
// SOQL: tokenizer

type TokenKind = 'ident' | 'string' | 'number' | 'datetime' | 'date' | 'op' | 'punct' | 'eof';

interface Token {
  kind: TokenKind;
  /** The value: unescaped for strings. */
  text: string;
  /** Strings: the LIKE pattern, with `\%` and `\_` still escaped. */
  like?: string;
  /** As written, for error messages. */
  src: string;
  pos: number;
}

const STRING_ESCAPES: Record<string, string> = {
  n: '\n',
  N: '\n',
  r: '\r',
  R: '\r',
  t: '\t',
  T: '\t',
  b: '\b',
  B: '\b',
  f: '\f',
  F: '\f',
  '"': '"',
  "'": "'",
  '\\': '\\',
};

const DATETIME_RE = /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?(?:Z|[+-]\d{2}:?\d{2})/y;
const DATE_RE = /\d{4}-\d{2}-\d{2}(?![\w:])/y;
const NUMBER_RE = /-?\d+(?:\.\d+)?(?![\w.])/y;
const IDENT_RE = /[A-Za-z_][A-Za-z0-9_]*/y;
const LEXEMES: [TokenKind, RegExp][] = [
  ['datetime', DATETIME_RE],
  ['date', DATE_RE],
  ['number', NUMBER_RE],
  ['ident', IDENT_RE],
];

function malformed(soql: string, pos: number, detail: string): SfFault {
  const before = soql.slice(0, pos);
  const row = before.split('\n').length;
  const column = pos - (before.lastIndexOf('\n') + 1) + 1;
  const line = soql.split('\n')[row - 1] ?? '';
  return new SfFault(
    400,
    'MALFORMED_QUERY',
    `\n${line}\n${' '.repeat(column - 1)}^\nERROR at Row:${row}:Column:${column}\n${detail}`,
  );
}

function sticky(re: RegExp, input: string, pos: number): string | undefined {
  re.lastIndex = pos;
  return re.exec(input)?.[0];
}

function tokenize(soql: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < soql.length) {
    const c = soql.charAt(i);
    if (c === ' ' || c === '\n' || c === '\r' || c === '\t') {
      i++;
      continue;
    }
    const start = i;
    if (c === "'") {
      let value = '';
      let like = '';
      i++;
      for (;;) {
        if (i >= soql.length) throw malformed(soql, start, `unterminated string literal: ${soql.slice(start)}`);
        const ch = soql.charAt(i);
        if (ch === '\\') {
          const next = soql.charAt(i + 1);
          if (next === '%' || next === '_') {
            value += next;
            like += `\\${next}`;
          } else {
            const unescaped = STRING_ESCAPES[next];
            if (unescaped === undefined) {
              throw malformed(
                soql,
                i,
                `Invalid string literal '${soql.slice(start, i + 2)}'. Illegal character sequence '\\${next}' in string literal.`,
              );
            }
            value += unescaped;
            like += unescaped === '\\' ? '\\\\' : unescaped;
          }
          i += 2;
          continue;
        }
        i++;
        if (ch === "'") break;
        value += ch;
        like += ch;
      }
      tokens.push({ kind: 'string', text: value, like, src: soql.slice(start, i), pos: start });
      continue;
    }
    let word: Token | undefined;
    for (const [kind, re] of LEXEMES) {
      const m = sticky(re, soql, i);
      if (m !== undefined) {
        word = { kind, text: m, src: m, pos: start };
        break;
      }
    }
    if (word) {
      tokens.push(word);
      i += word.src.length;
      continue;
    }
    const two = soql.slice(i, i + 2);
    if (two === '<=' || two === '>=' || two === '!=' || two === '<>') {
      tokens.push({ kind: 'op', text: two, src: two, pos: start });
      i += 2;
      continue;
    }
    if (c === '=' || c === '<' || c === '>') {
      tokens.push({ kind: 'op', text: c, src: c, pos: start });
      i++;
      continue;
    }
    if (c === '(' || c === ')' || c === ',' || c === '.' || c === ':') {
      tokens.push({ kind: 'punct', text: c, src: c, pos: start });
      i++;
      continue;
    }
    throw malformed(soql, i, `line 1:${i} no viable alternative at character '${c}'`);
  }
  tokens.push({ kind: 'eof', text: '', src: '<EOF>', pos: soql.length });
  return tokens;
}

// ---------------------------------------------------------------------------------------------------------------
// SOQL: parser

interface FieldPath {
  parts: string[];
  text: string;
  pos: number;
}

type Literal =
  | { kind: 'string'; value: string }
  | { kind: 'number'; value: number }
  | { kind: 'boolean'; value: boolean }
  | { kind: 'null' }
  | { kind: 'datetime'; value: number }
  /** A date or a date literal: [start, end) in ms. */
  | { kind: 'range'; start: number; end: number };

type CompareOp = '=' | '!=' | '<' | '>' | '<=' | '>=';

type Condition =
  | { kind: 'and' | 'or'; items: Condition[] }
  | { kind: 'not'; item: Condition }
  | { kind: 'cmp'; field: FieldPath; op: CompareOp; value: Literal }
  | { kind: 'in'; field: FieldPath; negated: boolean; values: Literal[] }
  | { kind: 'like'; field: FieldPath; pattern: RegExp };

interface OrderItem {
  field: FieldPath;
  desc: boolean;
  nullsLast: boolean;
}

interface SoqlQuery {
  select: FieldPath[] | 'count';
  from: { name: string; pos: number };
  where?: Condition;
  orderBy: OrderItem[];
  limit?: number;
  offset?: number;
}

const RESERVED = new Set([
  'SELECT',
  'FROM',
  'WHERE',
  'AND',
  'OR',
  'NOT',
  'IN',
  'LIKE',
  'ORDER',
  'BY',
  'LIMIT',
  'OFFSET',
  'NULL',
  'TRUE',
  'FALSE',
  'GROUP',
  'HAVING',
  'WITH',
  'ASC',
  'DESC',
  'NULLS',
  'USING',
  'INCLUDES',
  'EXCLUDES',
  'TYPEOF',
]);

function likeRegex(pattern: string): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern.charAt(i);
    if (c === '\\' && i + 1 < pattern.length) {
      source += escapeRegex(pattern.charAt(++i));
      continue;
    }
    source += c === '%' ? '.*' : c === '_' ? '.' : escapeRegex(c);
  }
  return new RegExp(`^${source}$`, 'is');
}

function escapeRegex(c: string): string {
  return /[\\^$.*+?()[\]{}|/-]/.test(c) ? `\\${c}` : c;
}

function startOfDayUtc(ms: number): number {
  return Math.floor(ms / DAY_MS) * DAY_MS;
}

class SoqlParser {
  private i = 0;

  constructor(
    private readonly soql: string,
    private readonly tokens: Token[],
    private readonly now: number,
  ) {}

  parse(): SoqlQuery {
    this.expectKeyword('SELECT');
    let select: SoqlQuery['select'];
    if (this.isKeyword(this.peek(), 'COUNT') && this.isPunct(this.peek(1), '(')) {
      const count = this.next();
      this.next();
      if (!this.isPunct(this.peek(), ')')) {
        throw malformed(this.soql, count.pos, 'The sandbox supports COUNT() without a field only');
      }
      this.next();
      select = 'count';
    } else {
      select = [this.fieldPath()];
      while (this.acceptPunct(',')) select.push(this.fieldPath());
    }
    this.expectKeyword('FROM');
    const from = this.next();
    if (from.kind !== 'ident' || RESERVED.has(from.text.toUpperCase())) throw this.unexpected(from);
    let where: Condition | undefined;
    if (this.acceptKeyword('WHERE')) where = this.condition();
    const orderBy: OrderItem[] = [];
    if (this.acceptKeyword('ORDER')) {
      this.expectKeyword('BY');
      do orderBy.push(this.orderItem());
      while (this.acceptPunct(','));
    }
    const limit = this.acceptKeyword('LIMIT') ? this.integer() : undefined;
    const offset = this.acceptKeyword('OFFSET') ? this.integer() : undefined;
    const end = this.peek();
    if (end.kind !== 'eof') throw this.unexpected(end);
    return { select, from: { name: from.text, pos: from.pos }, where, orderBy, limit, offset };
  }

  private condition(): Condition {
    const first = this.unary();
    const token = this.peek();
    const op = this.isKeyword(token, 'AND') ? 'and' : this.isKeyword(token, 'OR') ? 'or' : undefined;
    if (!op) return first;
    const items = [first];
    while (this.acceptKeyword(op.toUpperCase())) items.push(this.unary());
    const after = this.peek();
    // SOQL refuses `a AND b OR c`: mixing needs parentheses.
    if (this.isKeyword(after, op === 'and' ? 'OR' : 'AND')) throw this.unexpected(after);
    return { kind: op, items };
  }

  private unary(): Condition {
    if (this.acceptKeyword('NOT')) return { kind: 'not', item: this.unary() };
    if (this.acceptPunct('(')) {
      const inner = this.condition();
      this.expectPunct(')');
      return inner;
    }
    return this.comparison();
  }

  private comparison(): Condition {
    const field = this.fieldPath();
    const token = this.next();
    if (token.kind === 'op') {
      const op = (token.text === '<>' ? '!=' : token.text) as CompareOp;
      return { kind: 'cmp', field, op, value: this.value() };
    }
    if (this.isKeyword(token, 'LIKE')) {
      const pattern = this.next();
      if (pattern.kind !== 'string') throw this.unexpected(pattern);
      return { kind: 'like', field, pattern: likeRegex(pattern.like ?? pattern.text) };
    }
    let negated = false;
    if (this.isKeyword(token, 'NOT')) {
      negated = true;
      const inToken = this.next();
      if (!this.isKeyword(inToken, 'IN')) throw this.unexpected(inToken);
    } else if (!this.isKeyword(token, 'IN')) {
      throw this.unexpected(token);
    }
    this.expectPunct('(');
    const values = [this.value()];
    while (this.acceptPunct(',')) values.push(this.value());
    this.expectPunct(')');
    return { kind: 'in', field, negated, values };
  }

  private value(): Literal {
    const token = this.next();
    switch (token.kind) {
      case 'string':
        return { kind: 'string', value: token.text };
      case 'number':
        return { kind: 'number', value: Number(token.text) };
      case 'datetime': {
        const value = Date.parse(token.text);
        if (Number.isNaN(value)) throw this.unexpected(token);
        return { kind: 'datetime', value };
      }
      case 'date': {
        const start = Date.parse(`${token.text}T00:00:00Z`);
        if (Number.isNaN(start)) throw this.unexpected(token);
        return { kind: 'range', start, end: start + DAY_MS };
      }
      case 'ident': {
        const word = token.text.toUpperCase();
        const today = startOfDayUtc(this.now);
        switch (word) {
          case 'NULL':
            return { kind: 'null' };
          case 'TRUE':
          case 'FALSE':
            return { kind: 'boolean', value: word === 'TRUE' };
          case 'TODAY':
            return { kind: 'range', start: today, end: today + DAY_MS };
          case 'YESTERDAY':
            return { kind: 'range', start: today - DAY_MS, end: today };
          case 'TOMORROW':
            return { kind: 'range', start: today + DAY_MS, end: today + 2 * DAY_MS };
          case 'LAST_N_DAYS':
          case 'NEXT_N_DAYS': {
            this.expectPunct(':');
            const n = this.integer();
            return word === 'LAST_N_DAYS'
              ? { kind: 'range', start: today - n * DAY_MS, end: today + DAY_MS }
              : { kind: 'range', start: today + DAY_MS, end: today + (n + 1) * DAY_MS };
          }
          default:
            throw this.unexpected(token);
        }
      }
      default:
        throw this.unexpected(token);
    }
  }

  private orderItem(): OrderItem {
    const field = this.fieldPath();
    let desc = false;
    if (this.acceptKeyword('DESC')) desc = true;
    else this.acceptKeyword('ASC');
    let nullsLast = false;
    if (this.acceptKeyword('NULLS')) {
      if (this.acceptKeyword('LAST')) nullsLast = true;
      else this.expectKeyword('FIRST');
    }
    return { field, desc, nullsLast };
  }

  private fieldPath(): FieldPath {
    const first = this.next();
    if (first.kind !== 'ident' || RESERVED.has(first.text.toUpperCase())) throw this.unexpected(first);
    if (this.isPunct(this.peek(), '(')) {
      throw malformed(this.soql, first.pos, `The sandbox does not support the function ${first.text}() in SOQL`);
    }
    const parts = [first.text];
    while (this.acceptPunct('.')) {
      const part = this.next();
      if (part.kind !== 'ident') throw this.unexpected(part);
      parts.push(part.text);
    }
    return { parts, text: parts.join('.'), pos: first.pos };
  }

  private integer(): number {
    const token = this.next();
    if (token.kind !== 'number' || !/^\d+$/.test(token.text)) throw this.unexpected(token);
    return Number(token.text);
  }

  private peek(offset = 0): Token {
    const last = this.tokens[this.tokens.length - 1] as Token;
    return this.tokens[this.i + offset] ?? last;
  }

  private next(): Token {
    const token = this.peek();
    if (token.kind !== 'eof') this.i++;
    return token;
  }

  private isKeyword(token: Token, keyword: string): boolean {
    return token.kind === 'ident' && token.text.toUpperCase() === keyword;
  }

  private isPunct(token: Token, punct: string): boolean {
    return token.kind === 'punct' && token.text === punct;
  }

  private acceptKeyword(keyword: string): boolean {
    if (!this.isKeyword(this.peek(), keyword)) return false;
    this.i++;
    return true;
  }

  private acceptPunct(punct: string): boolean {
    if (!this.isPunct(this.peek(), punct)) return false;
    this.i++;
    return true;
  }

  private expectKeyword(keyword: string): void {
    if (!this.acceptKeyword(keyword)) throw this.unexpected(this.peek());
  }

  private expectPunct(punct: string): void {
    if (!this.acceptPunct(punct)) throw this.unexpected(this.peek());
  }

  private unexpected(token: Token): SfFault {
    return malformed(this.soql, token.pos, `unexpected token: ${token.kind === 'eof' ? '<EOF>' : `'${token.src}'`}`);
  }
}

export function parseSoql(soql: string, now = Date.now()): SoqlQuery {
  return new SoqlParser(soql, tokenize(soql), now).parse();
}

// ---------------------------------------------------------------------------------------------------------------
// SOQL: execution

interface BoundPath {
  field: string;
  relationship?: Relationship;
}

function bindPath(type: SalesforceSObject, path: FieldPath): BoundPath {
  const [head, field, ...rest] = path.parts;
  if (head !== undefined && field === undefined) return { field: head };
  if (head !== undefined && field !== undefined && rest.length === 0) {
    const relationship = relationshipOf(type, head);
    if (relationship) return { field, relationship };
    if (head.toLowerCase() === type.toLowerCase()) return { field };
  }
  throw new SfFault(
    400,
    'INVALID_FIELD',
    `Didn't understand relationship '${head ?? ''}' in field path. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names.`,
  );
}

function pathsOf(condition: Condition | undefined): FieldPath[] {
  if (!condition) return [];
  switch (condition.kind) {
    case 'and':
    case 'or':
      return condition.items.flatMap(pathsOf);
    case 'not':
      return pathsOf(condition.item);
    default:
      return [condition.field];
  }
}

class QueryRunner {
  private readonly bound = new Map<FieldPath, BoundPath>();

  constructor(
    private readonly store: RecordStore,
    private readonly type: SalesforceSObject,
    private readonly base: string,
  ) {}

  bind(path: FieldPath): BoundPath {
    let bound = this.bound.get(path);
    if (!bound) {
      bound = bindPath(this.type, path);
      this.bound.set(path, bound);
    }
    return bound;
  }

  parentOf(record: StoredRecord, relationship: Relationship): StoredRecord | undefined {
    const parentId = getField(record.fields, relationship.field);
    return typeof parentId === 'string' && ID_PATTERN.test(parentId)
      ? findById(this.store, relationship.target, parentId)
      : undefined;
  }

  valueAt(record: StoredRecord, path: FieldPath): unknown {
    const bound = this.bind(path);
    if (!bound.relationship) return fieldValue(record, bound.field);
    const parent = this.parentOf(record, bound.relationship);
    return parent ? fieldValue(parent, bound.field) : null;
  }

  matches(record: StoredRecord, condition: Condition): boolean {
    switch (condition.kind) {
      case 'and':
        return condition.items.every((c) => this.matches(record, c));
      case 'or':
        return condition.items.some((c) => this.matches(record, c));
      case 'not':
        return !this.matches(record, condition.item);
      case 'cmp':
        return compareTo(this.valueAt(record, condition.field), condition.op, condition.value);
      case 'in': {
        const value = this.valueAt(record, condition.field);
        const found = condition.values.some((v) => compareTo(value, '=', v));
        return condition.negated ? !found : found;
      }
      case 'like': {
        const value = this.valueAt(record, condition.field);
        return value !== null && value !== undefined && condition.pattern.test(text(value));
      }
    }
  }

  sort(records: StoredRecord[], orderBy: OrderItem[]): StoredRecord[] {
    if (orderBy.length === 0) return records;
    return [...records].sort((a, b) => {
      for (const item of orderBy) {
        const va = this.valueAt(a, item.field);
        const vb = this.valueAt(b, item.field);
        const aNull = va === null || va === undefined;
        const bNull = vb === null || vb === undefined;
        if (aNull || bNull) {
          if (aNull && bNull) continue;
          // Nulls go first (or last) whatever the direction.
          return (aNull ? -1 : 1) * (item.nullsLast ? -1 : 1);
        }
        const c = sortCompare(va, vb);
        if (c !== 0) return item.desc ? -c : c;
      }
      return 0;
    });
  }

  render(record: StoredRecord, select: FieldPath[]): Record<string, unknown> {
    const row: Record<string, unknown> = {
      attributes: { type: this.type, url: recordUrl(this.base, this.type, record.id) },
    };
    for (const path of select) {
      const bound = this.bind(path);
      if (!bound.relationship) {
        row[outputName(record, bound.field)] = fieldValue(record, bound.field);
        continue;
      }
      const relationship = bound.relationship;
      const parent = this.parentOf(record, relationship);
      if (!parent) {
        row[relationship.name] = null;
        continue;
      }
      const existing = row[relationship.name];
      const nested: Record<string, unknown> = isPlainObject(existing)
        ? existing
        : { attributes: { type: relationship.target, url: recordUrl(this.base, relationship.target, parent.id) } };
      nested[outputName(parent, bound.field)] = fieldValue(parent, bound.field);
      row[relationship.name] = nested;
    }
    return row;
  }
}

function toTime(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const t = Date.parse(value);
  return Number.isNaN(t) ? undefined : t;
}

/** -1, 0, 1, or undefined when the value cannot be compared with the literal. */
function compareLiteral(value: unknown, literal: Literal): number | undefined {
  if (value === null || value === undefined) return undefined;
  switch (literal.kind) {
    case 'number': {
      const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() ? Number(value) : NaN;
      return Number.isNaN(n) ? undefined : Math.sign(n - literal.value);
    }
    case 'datetime': {
      const t = toTime(value);
      return t === undefined ? undefined : Math.sign(t - literal.value);
    }
    case 'boolean': {
      const b =
        typeof value === 'boolean' ? value : typeof value === 'string' ? value.toLowerCase() === 'true' : undefined;
      return b === undefined ? undefined : b === literal.value ? 0 : 1;
    }
    case 'string': {
      if (typeof value === 'object') return undefined;
      const a = text(value).toLowerCase();
      const b = literal.value.toLowerCase();
      return a < b ? -1 : a > b ? 1 : 0;
    }
    default:
      return undefined;
  }
}

function compareTo(value: unknown, op: CompareOp, literal: Literal): boolean {
  const isNull = value === null || value === undefined;
  if (literal.kind === 'null') return op === '=' ? isNull : op === '!=' ? !isNull : false;
  if (literal.kind === 'range') {
    const t = toTime(value);
    if (t === undefined) return op === '!=';
    const inside = t >= literal.start && t < literal.end;
    switch (op) {
      case '=':
        return inside;
      case '!=':
        return !inside;
      case '<':
        return t < literal.start;
      case '<=':
        return t < literal.end;
      case '>':
        return t >= literal.end;
      case '>=':
        return t >= literal.start;
    }
  }
  const c = compareLiteral(value, literal);
  // SOQL: `Field != 'x'` also matches records where Field is null.
  if (c === undefined) return op === '!=';
  switch (op) {
    case '=':
      return c === 0;
    case '!=':
      return c !== 0;
    case '<':
      return c < 0;
    case '<=':
      return c <= 0;
    case '>':
      return c > 0;
    case '>=':
      return c >= 0;
  }
}

function sortCompare(a: unknown, b: unknown): number {
  if (typeof a === 'number' && typeof b === 'number') return Math.sign(a - b);
  if (typeof a === 'boolean' && typeof b === 'boolean') return Number(a) - Number(b);
  const sa = text(a).toLowerCase();
  const sb = text(b).toLowerCase();
  return sa < sb ? -1 : sa > sb ? 1 : 0;
}

// ---------------------------------------------------------------------------------------------------------------
// Seeding (tests and the dev stack)

export interface SalesforceSeedOptions {
  /** Key the records by this field's value (as if upserted by it); records without it are keyed by their Id. */
  externalIdField?: string;
}

/** A seeded record with `[LOCKED]: true` is locked by an approval process: every update answers ENTITY_IS_LOCKED. */
export const LOCKED = '_lockedByApproval';

function stateOf(target: SandboxState | FastifyInstance): SandboxState {
  if (target instanceof SandboxState) return target;
  const state = statesByServer.get(target.server);
  if (!state) throw new Error('seedSalesforce: this Fastify instance has no Salesforce simulator registered');
  return state;
}

/**
 * Inserts records that already exist in the org, without the API's checks (required fields, duplicate rules) and
 * without counting API requests. `CreatedDate` / `LastModifiedDate` in a record set its timestamps. Returns the ids.
 * `target` is the sandbox state or the Fastify instance the simulator is registered on.
 */
export function seedSalesforceRecords(
  target: SandboxState | FastifyInstance,
  type: SalesforceSObject,
  records: readonly Record<string, unknown>[],
  options: SalesforceSeedOptions = {},
): string[] {
  const store = stateOf(target).records.salesforce;
  const org = orgOf(store);
  return records.map((input) => {
    const fields: Fields = {};
    let createdAt: string | undefined;
    let updatedAt: string | undefined;
    for (const [name, value] of Object.entries(input)) {
      const lower = name.toLowerCase();
      if (name === 'attributes' || lower === 'id' || name === LOCKED) continue;
      if (lower === 'createddate' || lower === 'lastmodifieddate') {
        const t = typeof value === 'string' ? Date.parse(value) : NaN;
        if (Number.isNaN(t)) throw new Error(`seedSalesforce: ${name} is not a date-time: ${text(value)}`);
        if (lower === 'createddate') createdAt = new Date(t).toISOString();
        else updatedAt = new Date(t).toISOString();
        continue;
      }
      fields[name] = value;
    }
    const id = sfId(SOBJECTS[type].prefix, ++org.nextId);
    const external = options.externalIdField ? getField(fields, options.externalIdField) : undefined;
    const key = isBlank(external) || store.get(type, text(external)) ? id : text(external);
    const { record } = store.upsert(type, key, fields, () => id);
    if (createdAt) record.createdAt = createdAt;
    if (updatedAt ?? createdAt) record.updatedAt = (updatedAt ?? createdAt) as string;
    org.byId.set(id.slice(0, 15), record);
    if (input[LOCKED] === true) org.locked.add(record.id.slice(0, 15));
    return record.id;
  });
}

/** Pre-existing Accounts (e.g. one with `Website: 'https://www.quorvalis.com'` to exercise the duplicate rule). */
export function seedSalesforceAccounts(
  target: SandboxState | FastifyInstance,
  accounts: readonly Record<string, unknown>[],
  options: SalesforceSeedOptions = {},
): string[] {
  return seedSalesforceRecords(target, 'Account', accounts, options);
}

// ---------------------------------------------------------------------------------------------------------------
// The plugin

interface Answer {
  status: number;
  body?: unknown;
  /** Default JSON; Bulk API 2.0 results are `text/csv`. */
  contentType?: string;
  /** Replaces the call log key decided before the work (e.g. the id of a created record). */
  key?: string | null;
  note?: string;
}

interface RestContext extends WriteContext {
  request: FastifyRequest;
}

function stringParams(source: unknown): Record<string, string> {
  if (!isPlainObject(source)) return {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(source)) if (typeof v === 'string') out[k] = v;
  return out;
}

function headerValue(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** `allowSave=true; includeRecordDetails=false` → { allowsave: 'true', ... } */
function headerOptions(value: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (value ?? '').split(/[;,]/)) {
    const [k, v] = part.split('=', 2);
    if (k && v !== undefined) out[k.trim().toLowerCase()] = v.trim().toLowerCase();
  }
  return out;
}

function batchSizeOf(request: FastifyRequest): number | undefined {
  const raw = headerOptions(headerValue(request, 'sforce-query-options')).batchsize;
  const n = raw === undefined ? NaN : Number.parseInt(raw, 10);
  return Number.isNaN(n) ? undefined : Math.min(DEFAULT_BATCH, Math.max(MIN_BATCH, n));
}

function bearerOf(request: FastifyRequest): string | undefined {
  const header = headerValue(request, 'authorization');
  if (!header) return undefined;
  const space = header.indexOf(' ');
  const scheme = header.slice(0, space).toLowerCase();
  return scheme === 'bearer' || scheme === 'oauth' ? header.slice(space + 1).trim() : undefined;
}

function objectBody(body: unknown): Fields {
  if (!isPlainObject(body)) throw new SfFault(400, 'JSON_PARSER_ERROR', 'The request body must be a JSON object');
  return body;
}

function collectionBody(body: unknown): { allOrNone: boolean; records: Fields[] } {
  const parsed = objectBody(body);
  const records = parsed.records;
  if (!Array.isArray(records) || !records.every(isPlainObject)) {
    throw new SfFault(400, 'JSON_PARSER_ERROR', 'The request body must have a records array of objects');
  }
  if (records.length > MAX_COLLECTION) {
    throw new SfFault(
      400,
      'EXCEEDED_ID_LIMIT',
      `record limit reached. cannot submit more than ${MAX_COLLECTION} records into this call`,
    );
  }
  return { allOrNone: parsed.allOrNone === true, records };
}

/** RFC 4180 CSV (quoted fields, doubled quotes, LF or CRLF line ends): rows of cells. */
function parseCsv(input: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < input.length; i++) {
    const c = input[i]!;
    if (quoted) {
      if (c === '"' && input[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') {
        quoted = false;
      } else {
        cell += c;
      }
    } else if (c === '"') {
      quoted = true;
    } else if (c === ',') {
      row.push(cell);
      cell = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && input[i + 1] === '\n') i++;
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
    } else {
      cell += c;
    }
  }
  if (cell !== '' || row.length > 0) {
    row.push(cell);
    rows.push(row);
  }
  return rows;
}

/** Salesforce quotes every cell of a Bulk API 2.0 result. */
const csvCell = (value: string) => `"${value.replace(/"/g, '""')}"`;

function collectionType(record: Fields): SalesforceSObject {
  const attributes = record.attributes;
  const raw = isPlainObject(attributes) ? attributes.type : undefined;
  const type = typeof raw === 'string' ? sobjectName(raw) : undefined;
  if (!type) {
    throw new SfFault(
      400,
      'INVALID_TYPE',
      typeof raw === 'string' ? `sObject type '${raw}' is not supported.` : 'Must send a concrete entity type.',
      [],
    );
  }
  return type;
}

/**
 * Runs the writes of an sObject Collections request in order. allOrNone: every record is validated first; one failure
 * fails them all (the others with ALL_OR_NONE_OPERATION_ROLLED_BACK) and nothing is written.
 */
function runCollection(
  ctx: WriteContext,
  records: Fields[],
  allOrNone: boolean,
  plan: (record: Fields, index: number) => PlannedWrite,
  success: (result: { record: StoredRecord; created: boolean }) => Record<string, unknown>,
): Record<string, unknown>[] {
  const failed = (fault: SfFault) => ({ success: false, errors: [fault.collection()] });
  const attempt = (record: Fields, index: number): { plan: PlannedWrite } | { fault: SfFault } => {
    try {
      return { plan: plan(record, index) };
    } catch (err) {
      if (err instanceof SfFault) return { fault: err };
      throw err;
    }
  };
  if (!allOrNone) {
    return records.map((record, index) => {
      const planned = attempt(record, index);
      return 'fault' in planned ? failed(planned.fault) : success(commitWrite(ctx, planned.plan));
    });
  }
  const planned = records.map(attempt);
  if (planned.some((p) => 'fault' in p)) {
    const rolledBack = new SfFault(
      400,
      'ALL_OR_NONE_OPERATION_ROLLED_BACK',
      'Record rolled back because not all records were valid and the request was using AllOrNone header',
      [],
    );
    return planned.map((p) => failed('fault' in p ? p.fault : rolledBack));
  }
  return planned.map((p) => success(commitWrite(ctx, (p as { plan: PlannedWrite }).plan)));
}

export const salesforcePlugin: FastifyPluginCallback<ProviderPluginOptions> = (app, { state }, done) => {
  statesByServer.set(app.server, state);
  /** Access tokens issued; kept across resets (see the comment at the top). */
  const tokens = new Set<string>();
  let tokenSequence = 0;

  if (!app.hasContentTypeParser('application/x-www-form-urlencoded')) {
    app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, parsed) => {
      parsed(null, Object.fromEntries(new URLSearchParams(body as string)));
    });
  }

  const pathOf = (request: FastifyRequest) => request.url.split('?', 1)[0] ?? request.url;

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const status = error.statusCode === 415 ? 415 : error.statusCode && error.statusCode < 500 ? 400 : 500;
    const body =
      status === 415
        ? [
            {
              message: `Content type '${request.headers['content-type'] ?? ''}' not supported`,
              errorCode: 'UNSUPPORTED_MEDIA_TYPE',
            },
          ]
        : status === 400
          ? [{ message: error.message, errorCode: 'JSON_PARSER_ERROR' }]
          : [
              {
                message: 'An unexpected error occurred. Please include this ErrorId if you contact support.',
                errorCode: 'UNKNOWN_EXCEPTION',
              },
            ];
    if (status === 500) request.log.error(error);
    state.system('salesforce').record({
      kind: 'request',
      method: request.method,
      path: pathOf(request),
      key: null,
      status,
      creditsCharged: 0,
      note: error.message.slice(0, 200),
    });
    return reply.code(status).send(body);
  });

  // ---- OAuth 2.0 token endpoint (the login service)

  app.post('/services/oauth2/token', async (request, reply) => {
    const sys = state.system('salesforce');
    const params = { ...stringParams(request.query), ...stringParams(request.body) };
    const grant = params.grant_type ?? '';
    const key = (grant === 'password' ? params.username : params.client_id) ?? null;
    const answer = (status: number, body: unknown, note?: string) => {
      sys.record({ kind: 'request', method: 'POST', path: pathOf(request), key, status, creditsCharged: 0, note });
      return reply.code(status).header('cache-control', 'no-cache,no-store').send(body);
    };
    const refuse = (error: string, description: string) =>
      answer(400, { error, error_description: description }, error);

    if (sys.control.latencyMs > 0) await sleep(sys.control.latencyMs);
    if (grant === 'refresh_token') return refuse('invalid_grant', 'expired access/refresh token');
    if (grant === 'authorization_code') return refuse('invalid_grant', 'invalid authorization code');
    if (grant !== 'client_credentials' && grant !== 'password') {
      return refuse('unsupported_grant_type', 'grant type not supported');
    }
    if (!params.client_id || params.client_id === 'bad-key') {
      return refuse('invalid_client_id', 'client identifier invalid');
    }
    const secret = params.client_secret;
    if (!secret || secret === 'bad-key') return refuse('invalid_client', 'invalid client credentials');
    if (grant === 'password' && (!params.username || !params.password || params.password === 'bad-key')) {
      return refuse('invalid_grant', 'authentication failure');
    }

    const instanceUrl = `${request.protocol}://${request.host}${app.prefix}`;
    const id = `${instanceUrl}/id/${ORG_ID}/${USER_ID}`;
    const issuedAt = String(Date.now());
    const sequence = ++tokenSequence;
    const token = `${ORG_ID.slice(0, 15)}!AQ${hash32(`${sequence}:${params.client_id}:${params.username ?? ''}`).toString(36)}.${sequence.toString(36)}`;
    tokens.add(token);
    return answer(200, {
      access_token: token,
      signature: createHmac('sha256', secret)
        .update(id + issuedAt)
        .digest('base64'),
      ...(grant === 'client_credentials' ? { scope: 'api' } : {}),
      instance_url: instanceUrl,
      id,
      token_type: 'Bearer',
      issued_at: issuedAt,
    });
  });

  // ---- REST pipeline

  const rest = async (
    request: FastifyRequest,
    reply: FastifyReply,
    key: string | null,
    version: string | undefined,
    work: (ctx: RestContext) => Answer,
  ) => {
    const sys = state.system('salesforce');
    let logKey = key;
    const answer = (status: number, body: unknown, note?: string, contentType?: string) => {
      if (contentType) reply.header('content-type', contentType);
      sys.record({
        kind: 'request',
        method: request.method,
        path: pathOf(request),
        key: logKey === null ? null : logKey.slice(0, 200),
        status,
        creditsCharged: 0,
        note,
      });
      reply.code(status);
      return body === undefined ? reply.send() : reply.send(body);
    };

    const token = bearerOf(request);
    if (!token || !tokens.has(token)) {
      reply.header('www-authenticate', 'Token');
      return answer(401, [{ message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' }]);
    }
    const gate = await sys.gate();
    if (gate.kind !== 'ok') {
      // No 429 in Salesforce's REST API: see the comment at the top.
      return answer(
        503,
        [{ message: 'Server is temporarily unavailable', errorCode: 'SERVER_UNAVAILABLE' }],
        gate.kind === 'rate_limited' ? 'rate limited' : 'injected failure',
      );
    }

    const store = state.records.salesforce;
    const org = orgOf(store);
    const remaining = sys.control.apiRequestsRemaining;
    const limitHeader = () => {
      const left = sys.control.apiRequestsRemaining;
      reply.header(
        'sforce-limit-info',
        `api-usage=${org.apiUsed}/${left === null ? DEFAULT_DAILY_LIMIT : org.apiUsed + left}`,
      );
    };
    if (remaining === 0) {
      limitHeader();
      return answer(403, [{ message: 'TotalRequests Limit exceeded.', errorCode: 'REQUEST_LIMIT_EXCEEDED' }]);
    }
    org.apiUsed++;
    if (remaining !== null) sys.update({ apiRequestsRemaining: remaining - 1 });
    limitHeader();

    try {
      const major = version === undefined ? NaN : Number(/^v(\d+)\.0$/.exec(version)?.[1]);
      if (version !== undefined && !(major >= VERSION_RANGE.min && major <= VERSION_RANGE.max)) throw notFound();
      const ctx: RestContext = {
        request,
        state,
        store,
        org,
        base: `/services/data/${version ?? `v${VERSION_RANGE.max}.0`}`,
        allowSave: headerOptions(headerValue(request, 'sforce-duplicate-rule-header')).allowsave === 'true',
        collection: false,
      };
      const result = work(ctx);
      if (result.key !== undefined) logKey = result.key;
      return answer(result.status, result.body, result.note, result.contentType);
    } catch (err) {
      if (err instanceof SfFault) return answer(err.status, err.body ?? [err.rest()], err.errorCode);
      request.log.error(err);
      return answer(500, [
        {
          message: 'An unexpected error occurred. Please include this ErrorId if you contact support.',
          errorCode: 'UNKNOWN_EXCEPTION',
        },
      ]);
    }
  };

  const typeOf = (raw: string): SalesforceSObject => {
    const type = sobjectName(raw);
    if (!type) throw notFound();
    return type;
  };

  /** A record by id on the single-record routes; a malformed id reads as an unknown external-id field there. */
  const recordById = (ctx: WriteContext, type: SalesforceSObject, id: string): StoredRecord => {
    if (!ID_PATTERN.test(id) || !id.startsWith(SOBJECTS[type].prefix)) {
      throw new SfFault(404, 'NOT_FOUND', `Provided external ID field does not exist or is not accessible: ${id}`);
    }
    const record = findById(ctx.store, type, id);
    if (!record) throw notFound();
    return record;
  };

  const fullRecord = (ctx: WriteContext, record: StoredRecord, only?: string[]) => {
    const type = record.type;
    const out: Record<string, unknown> = { attributes: { type, url: recordUrl(ctx.base, type, record.id) } };
    if (only) {
      out.Id = record.id;
      for (const name of only) out[outputName(record, name)] = fieldValue(record, name);
      return out;
    }
    return {
      ...out,
      Id: record.id,
      IsDeleted: false,
      ...record.fields,
      CreatedDate: sfDate(record.createdAt),
      LastModifiedDate: sfDate(record.updatedAt),
      SystemModstamp: sfDate(record.updatedAt),
    };
  };

  const fieldsParam = (query: unknown): string[] | undefined => {
    const raw = stringParams(query).fields;
    return raw
      ?.split(',')
      .map((f) => f.trim())
      .filter(Boolean);
  };

  type P<T> = { Params: T };

  app.get('/services/data', (request, reply) => {
    const versions = [];
    for (let v = VERSION_RANGE.min; v <= VERSION_RANGE.max; v++) {
      versions.push({ label: `v${v}.0`, url: `/services/data/v${v}.0`, version: `${v}.0` });
    }
    state.system('salesforce').record({
      kind: 'request',
      method: 'GET',
      path: pathOf(request),
      key: null,
      status: 200,
      creditsCharged: 0,
    });
    return reply.send(versions);
  });

  app.get<P<{ version: string }>>('/services/data/:version/limits', (request, reply) =>
    rest(request, reply, null, request.params.version, () => {
      const sys = state.system('salesforce');
      const org = orgOf(state.records.salesforce);
      const left = sys.control.apiRequestsRemaining;
      const max = left === null ? DEFAULT_DAILY_LIMIT : org.apiUsed + left;
      return { status: 200, body: { DailyApiRequests: { Max: max, Remaining: max - org.apiUsed } } };
    }),
  );

  // ---- sObject rows

  app.post<P<{ version: string; type: string }>>('/services/data/:version/sobjects/:type', (request, reply) =>
    rest(request, reply, null, request.params.version, (ctx) => {
      const type = typeOf(request.params.type);
      const body = objectBody(request.body);
      if (Object.keys(body).some((k) => k.toLowerCase() === 'id')) {
        throw new SfFault(400, 'INVALID_FIELD_FOR_INSERT_UPDATE', 'Unable to create/update fields: Id.', ['Id']);
      }
      const { record } = commitWrite(ctx, planWrite(ctx, type, body, { kind: 'create' }));
      return { status: 201, body: { id: record.id, success: true, errors: [] }, key: record.id };
    }),
  );

  app.get<P<{ version: string; type: string; id: string }>>(
    '/services/data/:version/sobjects/:type/:id',
    (request, reply) =>
      rest(request, reply, request.params.id, request.params.version, (ctx) => {
        const type = typeOf(request.params.type);
        const record = recordById(ctx, type, request.params.id);
        return { status: 200, body: fullRecord(ctx, record, fieldsParam(request.query)) };
      }),
  );

  app.patch<P<{ version: string; type: string; id: string }>>(
    '/services/data/:version/sobjects/:type/:id',
    (request, reply) =>
      rest(request, reply, request.params.id, request.params.version, (ctx) => {
        const type = typeOf(request.params.type);
        const record = recordById(ctx, type, request.params.id);
        commitWrite(ctx, planWrite(ctx, type, objectBody(request.body), { kind: 'update', id: record.id }));
        return { status: 204 };
      }),
  );

  app.get<P<{ version: string; type: string; field: string; value: string }>>(
    '/services/data/:version/sobjects/:type/:field/:value',
    (request, reply) =>
      rest(request, reply, request.params.value, request.params.version, (ctx) => {
        const type = typeOf(request.params.type);
        const found = findByExternalId(ctx.store, type, request.params.field, request.params.value);
        if (found.length > 1) {
          return { status: 300, body: found.map((r) => recordUrl(ctx.base, type, r.id)) };
        }
        const [record] = found;
        if (!record) throw notFound();
        return { status: 200, body: fullRecord(ctx, record, fieldsParam(request.query)) };
      }),
  );

  app.patch<P<{ version: string; type: string; field: string; value: string }>>(
    '/services/data/:version/sobjects/:type/:field/:value',
    (request, reply) =>
      rest(request, reply, request.params.value, request.params.version, (ctx) => {
        const type = typeOf(request.params.type);
        const { field, value } = request.params;
        const plan = planWrite(ctx, type, objectBody(request.body), { kind: 'upsert', field, value });
        const { record, created } = commitWrite(ctx, plan);
        return {
          status: created ? 201 : 200,
          body: { id: record.id, success: true, errors: [], created },
          note: created ? 'created' : 'updated',
        };
      }),
  );

  // ---- sObject Collections

  app.post<P<{ version: string }>>('/services/data/:version/composite/sobjects', (request, reply) =>
    rest(request, reply, null, request.params.version, (ctx) => {
      const { allOrNone, records } = collectionBody(request.body);
      const wctx = { ...ctx, collection: true };
      const results = runCollection(
        wctx,
        records,
        allOrNone,
        (record) => {
          const type = collectionType(record);
          if (Object.keys(record).some((k) => k.toLowerCase() === 'id')) {
            throw new SfFault(400, 'INVALID_FIELD_FOR_INSERT_UPDATE', 'cannot specify Id in an insert call', ['Id']);
          }
          return planWrite(wctx, type, record, { kind: 'create' });
        },
        ({ record }) => ({ id: record.id, success: true, errors: [] }),
      );
      return collectionAnswer(results, results.map((r) => (typeof r.id === 'string' ? r.id : '-')).join(','));
    }),
  );

  app.patch<P<{ version: string }>>('/services/data/:version/composite/sobjects', (request, reply) =>
    rest(request, reply, null, request.params.version, (ctx) => {
      const { allOrNone, records } = collectionBody(request.body);
      const wctx = { ...ctx, collection: true };
      const idOf = (record: Fields) => {
        const id = getField(record, 'Id');
        return typeof id === 'string' ? id : '';
      };
      const results = runCollection(
        wctx,
        records,
        allOrNone,
        (record) => {
          const type = collectionType(record);
          const id = idOf(record);
          if (!id) throw new SfFault(400, 'MISSING_ARGUMENT', 'Id not specified in an update call', []);
          if (!ID_PATTERN.test(id) || !id.startsWith(SOBJECTS[type].prefix)) {
            throw new SfFault(400, 'MALFORMED_ID', `${type} ID: id value of incorrect type: ${id}`, ['Id']);
          }
          return planWrite(wctx, type, record, { kind: 'update', id });
        },
        ({ record }) => ({ id: record.id, success: true, errors: [] }),
      );
      return collectionAnswer(results, records.map(idOf).join(','));
    }),
  );

  app.patch<P<{ version: string; type: string; field: string }>>(
    '/services/data/:version/composite/sobjects/:type/:field',
    (request, reply) =>
      rest(request, reply, null, request.params.version, (ctx) => {
        const type = typeOf(request.params.type);
        const { field } = request.params;
        const { allOrNone, records } = collectionBody(request.body);
        const wctx = { ...ctx, collection: true };
        const valueOf = (record: Fields) => {
          const v = getField(record, field);
          return isBlank(v) ? '' : text(v);
        };
        const counts = new Map<string, number>();
        for (const record of records) {
          const v = valueOf(record).toLowerCase();
          if (v) counts.set(v, (counts.get(v) ?? 0) + 1);
        }
        const results = runCollection(
          wctx,
          records,
          allOrNone,
          (record) => {
            const attributes = record.attributes;
            const declared = isPlainObject(attributes) ? attributes.type : undefined;
            if (typeof declared === 'string' && sobjectName(declared) !== type) {
              throw new SfFault(
                400,
                'INVALID_TYPE',
                `Records of type ${declared} are not allowed in this request: ${type} only`,
                [],
              );
            }
            const value = valueOf(record);
            if (!value) throw new SfFault(400, 'MISSING_ARGUMENT', `${field} not specified`, [field]);
            if ((counts.get(value.toLowerCase()) ?? 0) > 1) {
              throw new SfFault(400, 'DUPLICATE_EXTERNAL_ID', `Duplicate external id specified: ${value}`, [field]);
            }
            try {
              return planWrite(wctx, type, record, { kind: 'upsert', field, value });
            } catch (err) {
              // 300 Multiple Choices is a single-record answer; in a collection it is a record error.
              if (err instanceof SfFault && err.status === 300) {
                throw new SfFault(400, err.errorCode, err.message, [field]);
              }
              throw err;
            }
          },
          ({ record, created }) => ({ id: record.id, success: true, errors: [], created }),
        );
        return collectionAnswer(results, records.map(valueOf).join(','));
      }),
  );

  app.post<P<{ version: string; type: string }>>('/services/data/:version/composite/sobjects/:type', (request, reply) =>
    rest(request, reply, null, request.params.version, (ctx) => {
      const type = typeOf(request.params.type);
      const body = objectBody(request.body);
      const { ids, fields } = body;
      if (!Array.isArray(ids) || !Array.isArray(fields) || ids.length > 2000) {
        throw new SfFault(400, 'JSON_PARSER_ERROR', 'The request body must have ids (up to 2,000) and fields arrays');
      }
      const names = fields.map(text);
      const records = ids.map((id) => {
        const record = typeof id === 'string' && ID_PATTERN.test(id) ? findById(ctx.store, type, id) : undefined;
        return record ? fullRecord(ctx, record, names) : null;
      });
      return { status: 200, body: records, key: ids.map(text).join(',') };
    }),
  );

  function collectionAnswer(results: Record<string, unknown>[], key: string): Answer {
    const failures = results.filter((r) => r.success !== true).length;
    return {
      status: 200,
      body: results,
      key,
      note: `${results.length} records, ${results.length - failures} saved, ${failures} failed`,
    };
  }

  // ---- Bulk API 2.0 ingest (insert, update, upsert of CSV data)

  if (!app.hasContentTypeParser('text/csv')) {
    app.addContentTypeParser('text/csv', { parseAs: 'string' }, (_request, body, parsed) => parsed(null, body));
  }

  const jobInfo = (job: IngestJob) => ({
    id: job.id,
    operation: job.operation,
    object: job.object,
    createdById: USER_ID,
    createdDate: sfDate(job.createdDate),
    systemModstamp: sfDate(job.createdDate),
    state: job.state,
    ...(job.externalIdFieldName ? { externalIdFieldName: job.externalIdFieldName } : {}),
    concurrencyMode: 'Parallel',
    contentType: 'CSV',
    apiVersion: job.apiVersion,
    jobType: 'V2Ingest',
    contentUrl: `services/data/v${job.apiVersion.toFixed(1)}/jobs/ingest/${job.id}/batches`,
    lineEnding: 'LF',
    columnDelimiter: 'COMMA',
    numberRecordsProcessed: job.successful.length + job.failed.length,
    numberRecordsFailed: job.failed.length,
    retries: 0,
    totalProcessingTime: 0,
    apiActiveProcessingTime: 0,
    apexProcessingTime: 0,
  });
  const jobOf = (ctx: RestContext, id: string): IngestJob => {
    const job = ctx.org.jobs.get(id);
    if (!job) throw new SfFault(404, 'NOT_FOUND', 'The requested resource does not exist');
    return job;
  };

  /** Runs an uploaded job's rows, each like a single-record write; `#N/A` sets a field to null, empty leaves it. */
  const processJob = (ctx: RestContext, job: IngestJob) => {
    const rows = parseCsv(job.csv);
    const [header, ...data] = rows;
    job.columns = header ?? [];
    for (const row of data) {
      const record: Fields = {};
      job.columns.forEach((column, i) => {
        const value = row[i] ?? '';
        if (value === '') return;
        record[column] = value === '#N/A' ? null : value;
      });
      try {
        const id = text(getField(record, 'Id'));
        const target: WriteTarget =
          job.operation === 'update'
            ? { kind: 'update', id }
            : job.operation === 'upsert'
              ? {
                  kind: 'upsert',
                  field: job.externalIdFieldName ?? 'Id',
                  value: text(getField(record, job.externalIdFieldName ?? 'Id')),
                }
              : { kind: 'create' };
        if (job.operation === 'update' && !ID_PATTERN.test(id)) {
          throw new SfFault(400, 'MALFORMED_ID', `${job.object} ID: id value of incorrect type: ${id}`, ['Id']);
        }
        const result = commitWrite(ctx, planWrite(ctx, job.object, record, target));
        job.successful.push([result.record.id, String(result.created), ...row]);
      } catch (err) {
        if (!(err instanceof SfFault)) throw err;
        job.failed.push(['', `${err.errorCode}:${err.message}:--`, ...row]);
      }
    }
    job.state = 'JobComplete';
  };

  const csvAnswer = (head: string[], rows: string[][], key: string): Answer => ({
    status: 200,
    body: [head, ...rows].map((r) => r.map(csvCell).join(',')).join('\n') + '\n',
    contentType: 'text/csv',
    key,
  });

  app.post<P<{ version: string }>>('/services/data/:version/jobs/ingest', (request, reply) =>
    rest(request, reply, null, request.params.version, (ctx) => {
      const body = objectBody(request.body);
      const operation = text(body.operation);
      if (!['insert', 'update', 'upsert'].includes(operation)) {
        throw new SfFault(400, 'INVALIDJOB', `InvalidJob : Invalid operation: ${operation}`, []);
      }
      const object = typeOf(text(body.object));
      if (operation === 'upsert' && !text(body.externalIdFieldName)) {
        throw new SfFault(400, 'INVALIDJOB', 'InvalidJob : External ID was blank for ' + object, []);
      }
      const job: IngestJob = {
        id: sfId('750', ++ctx.org.nextId),
        object,
        operation: operation as IngestJob['operation'],
        externalIdFieldName: body.externalIdFieldName ? text(body.externalIdFieldName) : undefined,
        state: 'Open',
        createdDate: new Date().toISOString(),
        apiVersion: Number(ctx.base.replace(/^.*\/v/, '')),
        csv: '',
        columns: [],
        successful: [],
        failed: [],
      };
      ctx.org.jobs.set(job.id, job);
      return { status: 200, body: jobInfo(job), key: job.id, note: `${operation} ${object}` };
    }),
  );

  app.put<P<{ version: string; id: string }>>('/services/data/:version/jobs/ingest/:id/batches', (request, reply) =>
    rest(request, reply, request.params.id, request.params.version, (ctx) => {
      const job = jobOf(ctx, request.params.id);
      if (job.state !== 'Open') {
        throw new SfFault(409, 'INVALIDJOBSTATE', `Job ${job.id} is not open for data upload`, []);
      }
      if (typeof request.body !== 'string') {
        throw new SfFault(400, 'INVALIDJOB', 'Content-Type must be text/csv', []);
      }
      job.csv += job.csv ? request.body.replace(/^[^\n]*\n/, '') : request.body;
      return { status: 201 };
    }),
  );

  app.patch<P<{ version: string; id: string }>>('/services/data/:version/jobs/ingest/:id', (request, reply) =>
    rest(request, reply, request.params.id, request.params.version, (ctx) => {
      const job = jobOf(ctx, request.params.id);
      const wanted = text(objectBody(request.body).state);
      if (wanted === 'Aborted' && job.state === 'Open') {
        job.state = 'Aborted';
      } else if (wanted === 'UploadComplete' && job.state === 'Open') {
        job.state = 'UploadComplete';
        const answer = jobInfo(job);
        // The org processes the job at once: the next status read says JobComplete.
        processJob(ctx, job);
        return { status: 200, body: answer, note: `${job.successful.length} saved, ${job.failed.length} failed` };
      } else {
        throw new SfFault(
          400,
          'INVALIDJOBSTATE',
          `Cannot change state of job ${job.id} from ${job.state} to ${wanted}`,
          [],
        );
      }
      return { status: 200, body: jobInfo(job) };
    }),
  );

  app.get<P<{ version: string; id: string }>>('/services/data/:version/jobs/ingest/:id', (request, reply) =>
    rest(request, reply, request.params.id, request.params.version, (ctx) => ({
      status: 200,
      body: jobInfo(jobOf(ctx, request.params.id)),
    })),
  );

  app.get<P<{ version: string; id: string; kind: string }>>(
    '/services/data/:version/jobs/ingest/:id/:kind',
    (request, reply) =>
      rest(request, reply, request.params.id, request.params.version, (ctx) => {
        const job = jobOf(ctx, request.params.id);
        switch (request.params.kind) {
          case 'successfulResults':
            return csvAnswer(['sf__Id', 'sf__Created', ...job.columns], job.successful, job.id);
          case 'failedResults':
            return csvAnswer(['sf__Id', 'sf__Error', ...job.columns], job.failed, job.id);
          case 'unprocessedrecords':
            return csvAnswer(job.columns, job.state === 'JobComplete' ? [] : parseCsv(job.csv).slice(1), job.id);
          default:
            throw notFound();
        }
      }),
  );

  // ---- Query

  const runQuery = (ctx: RestContext, soql: string): Answer => {
    const query = parseSoql(soql);
    const type = sobjectName(query.from.name);
    if (!type) {
      throw new SfFault(
        400,
        'INVALID_TYPE',
        `\n${soql}\n${' '.repeat(query.from.pos)}^\nERROR at Row:1:Column:${query.from.pos + 1}\nsObject type '${query.from.name}' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.`,
      );
    }
    const runner = new QueryRunner(ctx.store, type, ctx.base);
    const selected = query.select === 'count' ? [] : query.select;
    const seen = new Set<string>();
    for (const path of selected) {
      const name = path.text.toLowerCase();
      if (seen.has(name)) throw malformed(soql, path.pos, `duplicate field selected: ${path.text}`);
      seen.add(name);
    }
    for (const path of [...selected, ...pathsOf(query.where), ...query.orderBy.map((o) => o.field)]) runner.bind(path);

    const where = query.where;
    let records = ctx.store.list(type).filter((r) => !where || runner.matches(r, where));
    records = runner.sort(records, query.orderBy);
    const offset = query.offset ?? 0;
    records = records.slice(offset, query.limit === undefined ? undefined : offset + query.limit);
    if (query.select === 'count') return { status: 200, body: { totalSize: records.length, done: true, records: [] } };
    const select = query.select;
    const rows = records.map((r) => runner.render(r, select));
    return { status: 200, body: page(ctx, { rows, batchSize: batchSizeOf(ctx.request) ?? DEFAULT_BATCH }, 0) };
  };

  const page = (ctx: RestContext, cursor: QueryCursor, offset: number, cursorId?: string) => {
    const { rows } = cursor;
    const batchSize = batchSizeOf(ctx.request) ?? cursor.batchSize;
    const records = rows.slice(offset, offset + batchSize);
    const next = offset + records.length;
    if (next >= rows.length) return { totalSize: rows.length, done: true, records };
    let id = cursorId;
    if (!id) {
      id = sfId('01g', ++ctx.org.nextCursor);
      ctx.org.cursors.set(id, cursor);
      for (const old of ctx.org.cursors.keys()) {
        if (ctx.org.cursors.size <= MAX_CURSORS) break;
        ctx.org.cursors.delete(old);
      }
    }
    return { totalSize: rows.length, done: false, nextRecordsUrl: `${ctx.base}/query/${id}-${next}`, records };
  };

  for (const resource of ['query', 'queryAll']) {
    app.get<P<{ version: string }>>(`/services/data/:version/${resource}`, (request, reply) => {
      const q = stringParams(request.query).q;
      return rest(request, reply, q ?? null, request.params.version, (ctx) => {
        if (!q?.trim()) throw new SfFault(400, 'MALFORMED_QUERY', 'A query string has to be specified');
        return runQuery(ctx, q);
      });
    });

    app.get<P<{ version: string; locator: string }>>(`/services/data/:version/${resource}/:locator`, (request, reply) =>
      rest(request, reply, request.params.locator, request.params.version, (ctx) => {
        const m = /^(01g[A-Za-z0-9]{15,18})-(\d+)$/.exec(request.params.locator);
        const cursor = m?.[1] ? ctx.org.cursors.get(m[1]) : undefined;
        if (!m?.[1] || !cursor) throw new SfFault(400, 'INVALID_QUERY_LOCATOR', 'invalid query locator');
        return { status: 200, body: page(ctx, cursor, Number(m[2]), m[1]) };
      }),
    );
  }

  // ---- Anything else under the REST API: Salesforce's 404, after the session check.

  app.all('/services/data/*', (request, reply) =>
    rest(request, reply, null, undefined, () => {
      throw notFound();
    }),
  );

  done();
};
