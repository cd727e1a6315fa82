import { Connection } from 'jsforce';
import type { DeletionOutcome } from '../../domain/erasure';
import type { EnrichedSignup, WriteOutcome } from '../../domain/fan-out';
import { pathSegment, UnsafePathSegmentError } from '../http';
import { accountFields, personFields, policyOf, type FieldWritePolicy } from './mapping';

export interface SalesforceClientOptions {
  /** Login host: live https://login.salesforce.com, or the org's My Domain (required for client credentials). */
  loginUrl: string;
  apiVersion: string;
  clientId: string;
  clientSecret: string;
  /** Set both for the username-password flow (a fallback); otherwise the client-credentials flow is used. */
  username: string | undefined;
  password: string | undefined;
  accountExternalIdField: string;
  contactExternalIdField: string;
  leadExternalIdField: string;
  /** Personal-email signups: `skip` (no CRM record) or `lead`. */
  personalEmailPolicy: 'skip' | 'lead';
  /**
   * A duplicate rule blocks a new record that matches one we did not create: `adopt` stamps our external id on the
   * matched record and upserts again (no duplicate, the rep's record is enriched); `fail` leaves it to an operator.
   */
  onDuplicate: 'adopt' | 'fail';
  fieldPolicy: Record<string, FieldWritePolicy>;
  /** How long REQUEST_LIMIT_EXCEEDED is waited out (the allowance is a rolling 24 h). */
  requestLimitWaitMs: number;
  /**
   * The deadline of each HTTP call jsforce makes (DESTINATION_TIMEOUT_MS), its own GET retries included; without it
   * jsforce waits 30 minutes for an answer.
   */
  timeoutMs: number;
}

/** A field of an sObject's describe, the parts `enrich doctor` checks. */
export interface DescribedField {
  name: string;
  /** Salesforce's field type: string, textarea, picklist, url, int, double, currency, datetime, ... */
  type: string;
  externalId: boolean;
  unique: boolean;
  createable: boolean;
  updateable: boolean;
}

/** What jsforce throws for an API error: `errorCode` and the raw error in `data`. */
interface SalesforceApiError {
  errorCode?: string;
  name?: string;
  message?: string;
  data?: {
    error?: string;
    error_description?: string;
    duplicateResult?: { matchResults?: { matchRecords?: { record?: { Id?: string } }[] }[] };
  };
}

/** A CSV cell, quoted (empty leaves the field unchanged; `#N/A` sets it to null). */
const csvCell = (value: unknown): string => {
  if (value === undefined || value === '#N/A') return value ?? '';
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return `"${text.replace(/"/g, '""')}"`;
};

/** sObject Collections take at most 200 records a call. */
const COLLECTION_LIMIT = 200;

const AUTH_ERRORS = new Set(['invalid_client', 'invalid_grant', 'invalid_client_id', 'unsupported_grant_type']);

/**
 * jsforce takes its HTTP deadline only per request (`options.timeout`, default 30 minutes) or process-wide
 * (HTTP_TIMEOUT at import); none of its sObject, query or OAuth methods passes one. Every request goes through the
 * connection's and the OAuth client's transport, so that is where the deadline is set.
 */
function withDeadline(transport: Connection['_transport'], timeoutMs: number): void {
  const httpRequest = transport.httpRequest.bind(transport);
  transport.httpRequest = (req, options) => httpRequest(req, { ...options, timeout: timeoutMs });
}

/**
 * Salesforce through jsforce: Account upserted by the company-domain external id, Contact by the person external id
 * and linked to its Account by that same domain key (no Id lookup), Lead for personal-email signups under the `lead`
 * policy. Fields under `fill_empty` are sent only when the existing record leaves them empty.
 */
export function createSalesforceClient(o: SalesforceClientOptions) {
  let connecting: Promise<Connection> | undefined;

  const login = async (): Promise<Connection> => {
    const conn = new Connection({
      oauth2: { loginUrl: o.loginUrl, clientId: o.clientId, clientSecret: o.clientSecret },
      loginUrl: o.loginUrl,
      version: o.apiVersion,
      // Client credentials hand out no refresh token: an expired session is renewed with the same grant.
      refreshFn: (c, callback) => {
        c.oauth2.requestToken({ grant_type: 'client_credentials' }).then(
          (res) => {
            callback(null, res.access_token, res);
          },
          (err: Error) => {
            callback(err);
          },
        );
      },
    });
    withDeadline(conn._transport, o.timeoutMs);
    withDeadline(conn.oauth2._transport, o.timeoutMs);
    if (o.username && o.password) await conn.login(o.username, o.password);
    else await conn.authorize({ grant_type: 'client_credentials' });
    return conn;
  };

  const connection = (): Promise<Connection> => {
    connecting ??= login().catch((err: unknown) => {
      connecting = undefined;
      throw err;
    });
    return connecting;
  };

  /** Runs `fn` on the shared session; an expired session is renewed once. */
  const withSession = async <T>(fn: (conn: Connection) => Promise<T>): Promise<T> => {
    for (let attempt = 0; ; attempt++) {
      const conn = await connection();
      try {
        return await fn(conn);
      } catch (err) {
        if ((err as SalesforceApiError).errorCode !== 'INVALID_SESSION_ID' || attempt > 0) throw err;
        connecting = undefined;
      }
    }
  };

  const soqlString = (v: string) => `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

  /** Drops `fill_empty` fields the existing record (found by external id) already has a value for. */
  const applyPolicy = async (
    conn: Connection,
    type: string,
    extIdField: string,
    extId: string,
    fields: Record<string, unknown>,
  ): Promise<Record<string, unknown>> => {
    const defined = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
    const fillEmpty = Object.keys(defined).filter((f) => policyOf(f, o.fieldPolicy) === 'fill_empty');
    if (fillEmpty.length === 0) return defined;
    const found = await conn.query<Record<string, unknown>>(
      `SELECT Id, ${fillEmpty.join(', ')} FROM ${type} WHERE ${extIdField} = ${soqlString(extId)} LIMIT 1`,
    );
    const existing = found.records[0];
    if (!existing) return defined;
    return Object.fromEntries(
      Object.entries(defined).filter(
        ([f]) => !fillEmpty.includes(f) || existing[f] === null || existing[f] === undefined || existing[f] === '',
      ),
    );
  };

  /**
   * `PATCH sobjects/<type>/<id>` (an update) or `sobjects/<type>/<field>/<value>` (an upsert by external id) with every
   * segment encoded. Not jsforce's `sobject().upsert`: it puts the external id into the path as it is, so a domain
   * `victim.com?x=1` upserted victim.com's Account.
   */
  const patchSObject = (conn: Connection, segments: string[], body: Record<string, unknown>) =>
    conn.request<{ id?: string; created?: boolean }>(
      {
        method: 'PATCH',
        url: `/sobjects/${segments.map(pathSegment).join('/')}`,
        body: JSON.stringify(body),
        headers: { 'content-type': 'application/json' },
      },
      // Updates answer 204 without a body before API 46.0.
      { noContentResponse: { success: true, errors: [] } },
    );

  /** Upserts by external id; under the `adopt` duplicate policy a record the duplicate rule matched is adopted. */
  const upsert = async (
    conn: Connection,
    type: string,
    extIdField: string,
    extId: string,
    fields: Record<string, unknown>,
  ): Promise<string> => {
    // Refused before any call: the fill_empty query would otherwise run for a record that can never be written.
    pathSegment(extId);
    const record = await applyPolicy(conn, type, extIdField, extId, fields);
    try {
      const r = await patchSObject(conn, [type, extIdField, extId], record);
      return `${type} ${r.id ?? ''} ${r.created ? 'created' : 'updated'}`.replace('  ', ' ');
    } catch (err) {
      const e = err as SalesforceApiError;
      if (e.errorCode !== 'DUPLICATES_DETECTED' || o.onDuplicate !== 'adopt') throw err;
      const matchId = e.data?.duplicateResult?.matchResults?.[0]?.matchRecords?.[0]?.record?.Id;
      if (!matchId) throw err;
      // Only a record without our external id is adopted: one that carries another value of it is another company's
      // (or person's) record, and re-keying it would move that record to this signup.
      const matched = await conn.query<Record<string, unknown>>(
        `SELECT Id, ${extIdField} FROM ${type} WHERE Id = ${soqlString(matchId)} LIMIT 1`,
      );
      const owner = matched.records[0]?.[extIdField];
      if (owner !== null && owner !== undefined && owner !== '') throw err;
      await patchSObject(conn, [type, matchId], { [extIdField]: extId });
      const again = await applyPolicy(conn, type, extIdField, extId, fields);
      await patchSObject(conn, [type, extIdField, extId], again);
      return `${type} ${matchId} adopted (duplicate rule match)`;
    }
  };

  return {
    personalEmailPolicy: o.personalEmailPolicy,
    accountExternalIdField: o.accountExternalIdField,

    /**
     * One page of a SOQL query: the first (`soql`) or the next (`locator`, the previous page's `nextRecordsUrl`).
     * `batchSize` (200..2,000) goes in `Sforce-Query-Options`; Salesforce may return fewer. Throws what jsforce throws.
     */
    async queryPage<T extends Record<string, unknown>>(
      from: { soql: string } | { locator: string },
      batchSize: number,
    ): Promise<{ records: T[]; totalSize: number; next: string | undefined }> {
      return withSession(async (conn) => {
        const options: NonNullable<Parameters<Connection['queryMore']>[1]> = {
          headers: { 'Sforce-Query-Options': `batchSize=${batchSize}` },
          autoFetch: false,
          maxFetch: 2000,
          scanAll: false,
          responseTarget: 'QueryResult',
        };
        const page =
          'soql' in from ? await conn.query<T>(from.soql, options) : await conn.queryMore<T>(from.locator, options);
        return {
          records: page.records.map(({ attributes: _, ...r }) => r as unknown as T),
          totalSize: page.totalSize,
          next: page.done ? undefined : page.nextRecordsUrl,
        };
      });
    },

    /**
     * Updates records through one Bulk API 2.0 ingest job (CSV upload, then the job polled until complete): for
     * write-backs too large for sObject Collections calls. Per-record errors come from the job's failed results.
     */
    async updateRecordsBulk(
      type: string,
      records: ({ Id: string } & Record<string, unknown>)[],
      pollTimeoutMs: number,
    ): Promise<{ id: string; error: string | undefined }[]> {
      if (records.length === 0) return [];
      const columns = ['Id', ...new Set(records.flatMap((r) => Object.keys(r).filter((k) => k !== 'Id')))];
      const csv = [
        columns.map(csvCell).join(','),
        // Bulk API 2.0: an empty cell leaves the field as it is, #N/A sets it to null.
        ...records.map((r) => columns.map((c) => csvCell(r[c] === null ? '#N/A' : r[c])).join(',')),
      ].join('\n');
      const failed = await withSession(async (conn) => {
        // The documented flow, through jsforce's request (paths relative to the instance): create the job, upload the
        // CSV, mark the upload complete, poll the job, read the failed and unprocessed records.
        const job = await conn.request<{ id: string }>({
          method: 'POST',
          url: '/jobs/ingest',
          body: JSON.stringify({ object: type, operation: 'update', contentType: 'CSV', lineEnding: 'LF' }),
          headers: { 'content-type': 'application/json' },
        });
        const jobUrl = `/jobs/ingest/${pathSegment(job.id)}`;
        await conn.request({
          method: 'PUT',
          url: `${jobUrl}/batches`,
          body: csv,
          headers: { 'content-type': 'text/csv' },
        });
        await conn.request({
          method: 'PATCH',
          url: jobUrl,
          body: JSON.stringify({ state: 'UploadComplete' }),
          headers: { 'content-type': 'application/json' },
        });
        const deadline = Date.now() + pollTimeoutMs;
        for (;;) {
          const info = await conn.request<{ state: string; errorMessage?: string }>(jobUrl);
          if (info.state === 'JobComplete') break;
          if (info.state === 'Failed' || info.state === 'Aborted') {
            throw Object.assign(new Error(`Bulk API job ${job.id} ${info.state}: ${info.errorMessage ?? ''}`), {
              errorCode: 'BULK_JOB_FAILED',
            });
          }
          if (Date.now() > deadline) throw new Error(`Bulk API job ${job.id} still ${info.state} after the timeout`);
          await new Promise((r) => setTimeout(r, 1000));
        }
        const csvRows = async (kind: string) => {
          const rows = await conn.request<Record<string, string>[] | string>({
            method: 'GET',
            url: `${jobUrl}/${kind}`,
            headers: { accept: 'text/csv' },
          });
          // jsforce hands back the text when it cannot parse it: never read that as "no failures".
          if (typeof rows === 'string') {
            if (rows.trim().split('\n').length <= 1) return [];
            throw new Error(`Bulk API job ${job.id}: unreadable ${kind} CSV`);
          }
          return rows;
        };
        const errors = new Map<string, string>();
        for (const r of await csvRows('failedResults')) {
          // `CODE:message:fields`
          const [code, ...rest] = String(r.sf__Error).split(':');
          const message = (rest.length > 1 ? rest.slice(0, -1) : rest).join(':');
          errors.set(String(r.Id).slice(0, 15), `${code}: ${message}`.trim());
        }
        for (const r of await csvRows('unprocessedrecords')) {
          errors.set(String(r.Id).slice(0, 15), 'UNPROCESSED: the job did not process it');
        }
        return errors;
      });
      return records.map((r) => ({ id: r.Id, error: failed.get(r.Id.slice(0, 15)) }));
    },

    /**
     * Updates up to 200 records a call through the sObject Collections endpoint (`allOrNone: false`): one record's
     * error never blocks the others; per-record errors come back with Salesforce's status code and message.
     */
    async updateRecords(
      type: string,
      records: ({ Id: string } & Record<string, unknown>)[],
    ): Promise<{ id: string; error: string | undefined }[]> {
      const results: { id: string; error: string | undefined }[] = [];
      for (let i = 0; i < records.length; i += COLLECTION_LIMIT) {
        const chunk = records.slice(i, i + COLLECTION_LIMIT);
        const saved = await withSession((conn) => conn.sobject(type).update(chunk, { allOrNone: false }));
        chunk.forEach((record, n) => {
          const r = saved[n] as { success?: boolean; errors?: { statusCode?: string; message?: string }[] };
          const e = r?.success ? undefined : r?.errors?.[0];
          results.push({
            id: record.Id,
            error: r?.success
              ? undefined
              : `${e?.statusCode ?? 'UNKNOWN'}: ${e?.message ?? 'no result for the record'}`,
          });
        });
      }
      return results;
    },

    /** The org's daily API request allowance (`/limits`): a read that proves the login (`enrich doctor`). */
    async apiRequestLimit(): Promise<{ max: number; remaining: number }> {
      const daily = (await withSession((conn) => conn.limits())).DailyApiRequests;
      if (!daily) throw new Error('Salesforce /limits answered without DailyApiRequests');
      return { max: daily.Max, remaining: daily.Remaining };
    },

    /** The fields of an sObject as the org describes them (`sobjects/<Type>/describe`). */
    async describeFields(type: string): Promise<DescribedField[]> {
      const described = await withSession((conn) => conn.describe(type));
      return described.fields.map((f) => ({
        name: f.name,
        type: f.type,
        externalId: f.externalId,
        unique: f.unique,
        createable: f.createable,
        updateable: f.updateable,
      }));
    },

    /**
     * Deletes the person's Contact and Lead by their external id (erasure; `DELETE sobjects/<Type>/<field>/<value>`).
     * The company's Account stays: it is not personal data.
     */
    async deletePerson(personKey: string): Promise<DeletionOutcome[]> {
      const remove = async (type: string, field: string): Promise<DeletionOutcome> => {
        try {
          await withSession((conn) =>
            conn.request(
              { method: 'DELETE', url: `/sobjects/${[type, field, personKey].map(pathSegment).join('/')}` },
              { noContentResponse: { success: true, errors: [] } },
            ),
          );
          return { kind: 'deleted', detail: `Salesforce ${type} deleted` };
        } catch (err) {
          const e = err as SalesforceApiError;
          if (e.errorCode === 'NOT_FOUND' || e.errorCode === 'ENTITY_IS_DELETED') {
            return { kind: 'not_found', detail: `no Salesforce ${type} with that external id` };
          }
          return { kind: 'failed', detail: `${type}: ${outcomeOfError(err, o.requestLimitWaitMs).detail}` };
        }
      };
      return [await remove('Contact', o.contactExternalIdField), await remove('Lead', o.leadExternalIdField)];
    },

    /** The company's Account and the person's Contact (or Lead), idempotent by their external ids. */
    async writeEnrichment(s: EnrichedSignup): Promise<WriteOutcome> {
      try {
        return await withSession(async (conn) => {
          if (s.emailKind === 'work' && s.domain) {
            const account = await upsert(conn, 'Account', o.accountExternalIdField, s.domain, accountFields(s));
            const contact = await upsert(conn, 'Contact', o.contactExternalIdField, s.personKey, {
              ...personFields(s, 'Contact'),
              Account: { [o.accountExternalIdField]: s.domain },
            });
            return { kind: 'written', detail: `${account}, ${contact}` };
          }
          if (o.personalEmailPolicy === 'skip') {
            return {
              kind: 'written',
              detail: 'personal email: no Salesforce record (SALESFORCE_PERSONAL_EMAIL_POLICY=skip)',
            };
          }
          const lead = await upsert(conn, 'Lead', o.leadExternalIdField, s.personKey, personFields(s, 'Lead'));
          return { kind: 'written', detail: lead };
        });
      } catch (err) {
        return outcomeOfError(err, o.requestLimitWaitMs);
      }
    },

    /** The Id of the company's Account (found by the Account external id = domain); `id` undefined when none. */
    async accountIdByDomain(domain: string): Promise<{ id: string | undefined } | WriteOutcome> {
      try {
        return await withSession(async (conn) => {
          const found = await conn.query<{ Id: string }>(
            `SELECT Id FROM Account WHERE ${o.accountExternalIdField} = ${soqlString(domain)} LIMIT 1`,
          );
          return { id: found.records[0]?.Id };
        });
      } catch (err) {
        return outcomeOfError(err, o.requestLimitWaitMs);
      }
    },
  };
}

/** Maps what jsforce threw to a write outcome; per-record errors carry Salesforce's code and message. */
export function outcomeOfError(err: unknown, requestLimitWaitMs: number): WriteOutcome {
  if (err instanceof UnsafePathSegmentError) return { kind: 'rejected', detail: `Salesforce: ${err.message}` };
  const e = err as SalesforceApiError;
  // jsforce's own message for its deadline names a fixed "10 minutes", whatever the deadline was.
  if (e.name === 'AbortError') {
    return { kind: 'transient', detail: 'Salesforce unavailable (no answer within DESTINATION_TIMEOUT_MS)' };
  }
  const code = e.data?.error ?? e.errorCode ?? e.name ?? 'Error';
  const message = (e.data?.error_description ?? e.message ?? String(err)).split('\n', 1)[0]!.slice(0, 300);
  // A duplicate rule's message ("Use one of these records?") does not say which: the operator needs the matched ids.
  const matched = (e.data?.duplicateResult?.matchResults ?? []).flatMap((m) =>
    (m.matchRecords ?? []).flatMap((r) => (r.record?.Id ? [r.record.Id] : [])),
  );
  if (AUTH_ERRORS.has(code) || code === 'INVALID_SESSION_ID' || code === 'INVALID_AUTH_HEADER') {
    return { kind: 'auth_failed', detail: `Salesforce rejected the credentials (${code}: ${message})` };
  }
  if (code === 'REQUEST_LIMIT_EXCEEDED') {
    return {
      kind: 'quota_exceeded',
      waitMs: requestLimitWaitMs,
      detail: `Salesforce API request limit exceeded (${message})`,
    };
  }
  if (
    code === 'SERVER_UNAVAILABLE' ||
    code === 'UNABLE_TO_LOCK_ROW' ||
    code === 'DUPLICATE_VALUE' ||
    /^ERROR_HTTP_5\d\d$/.test(code) ||
    !e.errorCode
  ) {
    // DUPLICATE_VALUE: two concurrent upserts of one new external id; the retry finds the record and updates it.
    return { kind: 'transient', detail: `Salesforce unavailable (${code}: ${message})` };
  }
  const matches = matched.length > 0 ? `; matched ${matched.join(', ')}` : '';
  return { kind: 'rejected', detail: `Salesforce refused the record (${code}: ${message}${matches})` };
}

export type SalesforceClient = ReturnType<typeof createSalesforceClient>;
