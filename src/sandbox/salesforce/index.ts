import type { FastifyError, FastifyPluginCallback } from 'fastify';
import type { ProviderPluginOptions } from '../state';
import { registerBulkRoutes } from './bulk';
import { notFound } from './errors';
import { registerOAuthRoutes } from './oauth';
import { registerQueryRoutes } from './query';
import { createRest } from './rest';
import { registerSObjectRoutes } from './sobject-routes';

export { accountTable, type AccountTableOptions, type SandboxAccountKind } from './accounts';
export { LOCKED, seedSalesforceAccounts, seedSalesforceRecords, type SalesforceSeedOptions } from './seed';
export type { SalesforceSObject } from './sobjects';
export { parseSoql, type SoqlQuery } from './soql/parser';

/**
 * Salesforce's REST API (one org), written from Salesforce's public documentation: the REST API Developer Guide
 * (sObject rows, upsert by external id, sObject Collections, query / queryMore, status codes and error responses,
 * the Sforce-Query-Options, Sforce-Duplicate-Rule-Header and Sforce-Limit-Info headers), the SOQL reference and the
 * OAuth 2.0 client-credentials and username-password flows.
 *
 * - `POST /services/oauth2/token` (form-encoded) → `{ access_token, instance_url, id, token_type, issued_at,
 *   signature }`; errors `{ error, error_description }` with 400.
 * - `/services/data/vXX.X/...`: `sobjects/<Type>` (create), `sobjects/<Type>/<Id>` (get, update, delete),
 *   `sobjects/<Type>/<ExtIdField>/<value>` (get, upsert, delete: "Delete Records Using sObject Rows [by External
 *   ID]", 204 without a body; 404 `NOT_FOUND` when nothing matches, so a second delete is a 404 too — the sandbox
 *   forgets a deleted record instead of keeping it in a recycle bin, so `ENTITY_IS_DELETED` never comes back), `composite/sobjects` (create and update up to 200), `composite/sobjects/
 *   <Type>/<ExtIdField>` (upsert up to 200), `composite/sobjects/<Type>` (retrieve many), `query`, `queryAll`,
 *   `query/<locator>`, `limits`, `sobjects/<Type>/describe` (./describe.ts: the org as deploy/salesforce/ sets it up), `jobs/ingest` (Bulk API 2.0 ingest: create, upload CSV, close, poll, results; processed
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
 * API usage, query cursors, locks and Bulk jobs live beside it in `state.salesforceOrg` (./org.ts), made anew with it,
 * so a reset forgets them too.
 *
 * Layout: ./index.ts the plugin; ./rest.ts the REST pipeline; ./oauth.ts, ./sobject-routes.ts, ./query.ts, ./bulk.ts
 * the routes; ./writes.ts and ./duplicates.ts what a write does; ./soql/ the SOQL lexer, parser and runner;
 * ./sobjects.ts, ./fields.ts, ./records.ts, ./ids.ts, ./errors.ts the model; ./seed.ts and ./accounts.ts seeding.
 */
export const salesforcePlugin: FastifyPluginCallback<ProviderPluginOptions> = (app, { state }, done) => {
  /** Access tokens issued; kept across resets (see the comment above). */
  const tokens = new Set<string>();

  if (!app.hasContentTypeParser('application/x-www-form-urlencoded')) {
    app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, parsed) => {
      parsed(null, Object.fromEntries(new URLSearchParams(body as string)));
    });
  }

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
    state.system('salesforce').recordRequest(request, {
      key: null,
      status,
      creditsCharged: 0,
      note: error.message.slice(0, 200),
    });
    return reply.code(status).send(body);
  });

  registerOAuthRoutes(app, state, tokens);
  const rest = createRest(state, tokens);
  registerSObjectRoutes(app, state, rest);
  registerBulkRoutes(app, rest);
  registerQueryRoutes(app, rest);

  // ---- Anything else under the REST API: Salesforce's 404, after the session check.

  app.all('/services/data/*', (request, reply) =>
    rest(request, reply, null, undefined, () => {
      throw notFound();
    }),
  );

  done();
};
