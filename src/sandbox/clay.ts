import { postCallback } from './callback';
import type { FastifyPluginCallback } from 'fastify';
import {
  findCompanyByDomain,
  findCompanyByEmail,
  findPersonByEmail,
  normalizeDomain,
  type Company,
  type Dataset,
  type Person,
} from './dataset';
import type { ClayCounters, ProviderPluginOptions, SandboxState, SystemState } from './state';

/**
 * A Clay table fed by its webhook source, written from Clay University's "Webhooks in Clay" page:
 *
 * - Rows come in as JSON POSTed to the table's webhook URL,
 *   `POST /v3/sources/webhook/pull-in-data-from-a-webhook-<id>` on api.clay.com, optionally authenticated with the
 *   header `x-clay-webhook-auth: <token>`. The sandbox always requires the header (any non-empty token except
 *   `bad-key`; otherwise 401 `{"error","message"}`). One JSON object is one row; an array of objects is accepted as
 *   several rows (the docs are silent on arrays).
 * - The answer is 200 as soon as the row is stored. The docs do not show the body; the sandbox sends `{}`, and a
 *   client should rely on the status only.
 * - A webhook takes 50,000 submissions (`rowLimit`). When that is reached or the workspace is out of credits, rows are
 *   still accepted with 200 and simply never enriched: no error, no callback. That silence is Clay's real failure
 *   mode, and the pipeline must notice it by the missing result.
 * - Otherwise the table's enrichment columns run and its "HTTP API" column POSTs the row to `callbackUrl` after
 *   `resultDelayMs`, with `Authorization: Bearer <callbackAuth>` and `Content-Type: application/json`. The body is
 *   what that column's template says; the sandbox's template is: the row's own fields echoed back (for example a
 *   `signup_id` or `request_id` the caller sent), plus the columns in ClayEnrichedRow. A row whose company Clay does
 *   not know still gets its callback, with `company_found: false` and null columns, and costs no credit.
 * - The callback is sent once, not retried; its outcome is logged as a `callback` entry of the call log.
 * - Rate limit: 429 with `Retry-After`; injected failures: 500. Neither stores the row.
 *
 * The row's company is found from `company_domain`, `domain`, `website` or `website_url`, else from `email`; the
 * person from `email`.
 */

export interface ClayEnrichedColumns {
  company_found: boolean;
  company_name: string | null;
  company_domain: string | null;
  company_employee_count: number | null;
  company_industry: string | null;
  company_industry_tags: string[] | null;
  /** ISO 3166-1 alpha-2. */
  company_country: string | null;
  company_city: string | null;
  company_total_funding_usd: number | null;
  company_funding_stage: string | null;
  company_founded_year: number | null;
  company_type: string | null;
  person_found: boolean;
  person_first_name: string | null;
  person_last_name: string | null;
  person_title: string | null;
  person_role: string | null;
  person_seniority: string | null;
}

const DOMAIN_FIELDS = ['company_domain', 'domain', 'website', 'website_url'] as const;

export const clayPlugin: FastifyPluginCallback<ProviderPluginOptions> = (app, { state, dataset }, done) => {
  app.post('/v3/sources/webhook/:webhookId', async (request, reply) => {
    const sys = state.system('clay');
    const answer = (status: number, body: unknown, key: string | null, creditsCharged = 0, note?: string) => {
      sys.recordRequest(request, { key, status, creditsCharged, note });
      return reply.code(status).send(body);
    };

    // A deleted source is gone before its token can be checked. The body is the sandbox's choice: Clay documents none.
    if (sys.control.sourceDeleted)
      return answer(404, { error: 'Not Found', message: 'Webhook source not found.' }, null);
    const token = request.headers['x-clay-webhook-auth'];
    if (typeof token !== 'string' || token.trim() === '' || token === 'bad-key') {
      return answer(401, { error: 'Unauthorized', message: 'Invalid or missing x-clay-webhook-auth token.' }, null);
    }
    const gate = await sys.gate();
    if (gate.kind === 'rate_limited') {
      reply.header('retry-after', String(gate.retryAfterSeconds));
      return answer(429, { error: 'Too Many Requests', message: 'Rate limit exceeded.' }, null);
    }
    if (gate.kind === 'failure') return answer(500, { error: 'Internal Server Error' }, null);

    const body = request.body;
    const rows = Array.isArray(body) ? body : [body];
    if (rows.length === 0 || !rows.every(isRecord)) {
      return answer(400, { error: 'Bad Request', message: 'The body must be a JSON object (one row).' }, null);
    }

    let charged = 0;
    const notes: string[] = [];
    for (const row of rows) {
      const outcome = acceptRow(state, dataset, row);
      charged += outcome.charged;
      notes.push(outcome.note);
    }
    return answer(200, {}, rows.map(rowKey).join(',') || null, charged, notes.join('; '));
  });

  done();
};

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function rowKey(row: Record<string, unknown>): string {
  for (const field of [...DOMAIN_FIELDS, 'email'] as const) {
    const value = row[field];
    if (typeof value === 'string' && value.trim() !== '') return value.trim().toLowerCase();
  }
  return '(no key)';
}

/** Stores one row: silently when out of credits or rows, otherwise enriched and called back later. */
function acceptRow(
  state: SandboxState,
  dataset: Dataset,
  row: Record<string, unknown>,
): { charged: number; note: string } {
  const sys = state.system('clay');
  state.clay.rowsReceived++;
  const { rowLimit } = sys.control;
  if (rowLimit !== null && state.clay.rowsReceived > rowLimit) {
    state.clay.rowsSilent++;
    return { charged: 0, note: 'silent: row limit reached' };
  }
  if (!sys.hasCredits()) {
    state.clay.rowsSilent++;
    return { charged: 0, note: 'silent: out of credits' };
  }

  const { company, person } = lookup(dataset, row);
  let charged = 0;
  if (company) {
    charged = sys.charge(1);
    state.clay.rowsEnriched++;
  } else {
    state.clay.rowsNotFound++;
  }
  const enriched = { ...row, ...enrichedColumns(company, person) };

  const { callbackUrl, callbackAuth, resultDelayMs } = sys.control;
  if (callbackUrl === null) return { charged, note: `${company ? 'enriched' : 'not found'}; no HTTP API column` };
  // The log and counters of this generation: a callback landing after a reset must not count in the fresh state.
  const counters = state.clay;
  state.schedule(resultDelayMs, () => deliver(sys, counters, callbackUrl, callbackAuth, rowKey(row), enriched));
  return { charged, note: company ? 'enriched' : 'not found' };
}

function lookup(dataset: Dataset, row: Record<string, unknown>): { company?: Company; person?: Person } {
  const email = typeof row.email === 'string' ? row.email : undefined;
  let company: Company | undefined;
  for (const field of DOMAIN_FIELDS) {
    const value = row[field];
    if (typeof value === 'string' && value.trim() !== '') {
      company = findCompanyByDomain(dataset, normalizeDomain(value));
      break;
    }
  }
  company ??= email ? findCompanyByEmail(dataset, email) : undefined;
  const found = email ? findPersonByEmail(dataset, email) : undefined;
  const known = company?.knownBy.clay ? company : undefined;
  const person = found && found.company === known && found.person.knownBy.clay ? found.person : undefined;
  return { company: known, person };
}

export function enrichedColumns(company: Company | undefined, person: Person | undefined): ClayEnrichedColumns {
  return {
    company_found: company !== undefined,
    company_name: company?.name ?? null,
    company_domain: company?.domain ?? null,
    company_employee_count: company?.employees ?? null,
    company_industry: company?.industry ?? null,
    company_industry_tags: company ? [...company.industryTags] : null,
    company_country: company?.country ?? null,
    company_city: company?.city ?? null,
    company_total_funding_usd: company?.totalFundingUsd ?? null,
    company_funding_stage: company?.fundingStage ?? null,
    company_founded_year: company?.foundedYear ?? null,
    company_type: company?.companyType ?? null,
    person_found: person !== undefined,
    person_first_name: person?.firstName ?? null,
    person_last_name: person?.lastName ?? null,
    person_title: person?.title ?? null,
    person_role: person?.role ?? null,
    person_seniority: person?.seniority ?? null,
  };
}

/** The HTTP API column's call. Never throws: an unreachable or failing receiver is logged and counted. */
async function deliver(
  sys: SystemState<'clay'>,
  counters: ClayCounters,
  url: string,
  auth: string | null,
  key: string,
  body: Record<string, unknown>,
): Promise<void> {
  if (await postCallback(sys, { url, auth, key }, body)) counters.callbacksDelivered++;
  else counters.callbacksFailed++;
}
