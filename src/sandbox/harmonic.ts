import type { FastifyPluginCallback, FastifyReply, FastifyRequest } from 'fastify';
import {
  COUNTRIES,
  findCompanyByDomain,
  findPersonByEmail,
  findPersonByLinkedinUrl,
  normalizeDomain,
  uuidFrom,
  type Company,
  type FundingStage,
  type Person,
} from './dataset';
import type { EnrichmentStatus, HarmonicEnrichment, ProviderPluginOptions } from './state';

/**
 * Harmonic's REST API, written from its public documentation (support.harmonic.ai "API errors" and the enrich
 * endpoints) and public clients of it:
 *
 * - `POST /companies?website_domain=` (or `website_url=`), header `apikey` → 200 company object.
 * - `POST /persons?linkedin_url=` (or `email=`) → 200 person object.
 * - Not known yet → 404 `{"detail":{"message":"... scheduled for enrichment ...","enrichment_urn":"urn:harmonic:enrichment:<uuid>"}}`;
 *   `GET /enrichment_status?urns=<urn>&urns=<urn>` → 200 `[{"entity_urn","status","message","enriched_entity_urn"}]`
 *   with status IN_PROGRESS, then COMPLETE (enriched_entity_urn set; the lookup now answers 200) or NOT_FOUND.
 *   Unknown urns are left out of the list.
 * - 400 missing identifier, 402 over plan quota, 403 bad key, 429 over 10 requests/s (`Retry-After`), and 429 with
 *   `MONTHLY_QUOTA_INSUFFICIENT` in the body for the monthly quota (no `Retry-After`), 500 on failure.
 * - Error bodies are FastAPI-style `{"detail": ...}`, except the monthly-quota 429, which carries Harmonic's
 *   `{"error":"MONTHLY_QUOTA_INSUFFICIENT","needed","available","submitted"}` shape. Harmonic lists "422 - Validation
 *   error" without saying which input fails it: the `invalidKeys` control names domains and emails answered with
 *   FastAPI's validation shape `{"detail":[{"type","loc","msg","input"}]}` (the sandbox's choice of type:
 *   `value_error`), so a refusal can be provoked with input that passes the caller's own validation.
 *
 * Field names of the company and person objects follow Harmonic's REST output (snake_case, `entity_urn`,
 * `website.domain`, `headcount`, `funding.funding_total`, `tags_v2`); tag `type` values and `role_type` are the
 * sandbox's plausible choice where the docs list none. Countries are spelled out, as Harmonic does.
 * Status polls are free and not subject to the quota; they are rate limited like everything else.
 */

const COMPANY_NOT_FOUND =
  'Company not found; scheduled for enrichment, check back in a few hours. Use /enrichment_status endpoint to get status of the enrichment.';
const PERSON_NOT_FOUND =
  'Person not found; scheduled for enrichment, check back in a few hours. Use /enrichment_status endpoint to get status of the enrichment.';

const companyUrn = (company: Company) => `urn:harmonic:company:${harmonicCompanyId(company)}`;
const personUrn = (person: Person) => `urn:harmonic:person:${person.id + 5_000_000}`;
const harmonicCompanyId = (company: Company) => company.id + 1_000_000;

function queryParam(request: FastifyRequest, name: string): string | undefined {
  const value = (request.query as Record<string, unknown>)[name];
  const first = Array.isArray(value) ? (value[0] as unknown) : value;
  return typeof first === 'string' && first.trim() !== '' ? first.trim() : undefined;
}

function queryList(request: FastifyRequest, name: string): string[] {
  const value = (request.query as Record<string, unknown>)[name];
  const items = Array.isArray(value) ? value : value === undefined ? [] : [value];
  // Repeated parameters are the documented form; comma-separated lists are accepted too.
  return items
    .filter((v): v is string => typeof v === 'string')
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter((v) => v !== '');
}

export const harmonicPlugin: FastifyPluginCallback<ProviderPluginOptions> = (app, { state, dataset }, done) => {
  type Outcome = { status: number; body: unknown; charge?: boolean };

  /** Auth, latency, rate limit, injected failure, parameters, then (when `quota`) the plan quota; then `handle`. */
  const serve = async (
    request: FastifyRequest,
    reply: FastifyReply,
    key: string | null,
    options: { quota: boolean; missing?: Outcome },
    handle: () => Outcome,
  ) => {
    const sys = state.system('harmonic');
    const answer = (outcome: Outcome) => {
      const charged = outcome.charge ? sys.charge(1) : 0;
      sys.recordRequest(request, { key, status: outcome.status, creditsCharged: charged });
      return reply.code(outcome.status).send(outcome.body);
    };

    const apiKey = request.headers.apikey;
    if (typeof apiKey !== 'string' || apiKey.trim() === '' || apiKey === 'bad-key') {
      return answer({ status: 403, body: { detail: 'Forbidden: no valid API key provided.' } });
    }
    const gate = await sys.gate();
    if (gate.kind === 'rate_limited') {
      reply.header('retry-after', String(gate.retryAfterSeconds));
      return answer({
        status: 429,
        body: { detail: `Too many requests: the rate limit is ${sys.control.rateLimitPerSecond} requests per second.` },
      });
    }
    if (gate.kind === 'failure') return answer({ status: 500, body: { detail: 'Internal Server Error' } });
    if (options.missing) return answer(options.missing);
    if (options.quota && !sys.hasCredits()) {
      return answer(
        sys.control.quotaStyle === '429'
          ? { status: 429, body: { error: 'MONTHLY_QUOTA_INSUFFICIENT', needed: 1, available: 0, submitted: 1 } }
          : { status: 402, body: { detail: 'Over quota: over plan quota on this endpoint.' } },
      );
    }
    return answer(handle());
  };

  /** FastAPI's 422 for a query parameter that fails validation (a key named by the `invalidKeys` control). */
  const invalid = (param: string, key: string | undefined): Outcome | undefined =>
    key !== undefined && state.system('harmonic').isInvalidKey(key)
      ? {
          status: 422,
          body: {
            detail: [{ type: 'value_error', loc: ['query', param], msg: `Value error, invalid ${param}`, input: key }],
          },
        }
      : undefined;

  /** Harmonic schedules one enrichment per unknown identifier and hands out the same urn while it runs. */
  const scheduleEnrichment = (kind: 'company' | 'person', key: string): string => {
    const urn = `urn:harmonic:enrichment:${uuidFrom(`harmonic:${kind}:${key}`)}`;
    if (!state.harmonicEnrichments.has(urn)) state.harmonicEnrichments.set(urn, { urn, kind, key, polls: 0 });
    return urn;
  };

  const knowsCompany = (company: Company | undefined): company is Company =>
    company !== undefined && (company.knownBy.harmonic || state.harmonicCompleted.has(company.domain));

  app.post('/companies', async (request, reply) => {
    const raw = queryParam(request, 'website_domain') ?? queryParam(request, 'website_url');
    const domain = raw === undefined ? undefined : normalizeDomain(raw);
    return serve(
      request,
      reply,
      domain ?? null,
      {
        quota: true,
        missing: domain
          ? invalid('website_domain', domain)
          : { status: 400, body: { detail: 'Bad request: one of website_domain or website_url is required.' } },
      },
      () => {
        const company = findCompanyByDomain(dataset, domain ?? '');
        if (knowsCompany(company)) return { status: 200, body: harmonicCompany(company), charge: true };
        const urn = scheduleEnrichment('company', domain ?? '');
        return { status: 404, body: { detail: { message: COMPANY_NOT_FOUND, enrichment_urn: urn } } };
      },
    );
  });

  app.post('/persons', async (request, reply) => {
    const linkedinUrl = queryParam(request, 'linkedin_url');
    const email = queryParam(request, 'email')?.toLowerCase();
    const key = linkedinUrl ?? email;
    return serve(
      request,
      reply,
      key ?? null,
      {
        quota: true,
        missing: key
          ? invalid(linkedinUrl ? 'linkedin_url' : 'email', key)
          : { status: 400, body: { detail: 'Bad request: one of linkedin_url or email is required.' } },
      },
      () => {
        const found = linkedinUrl
          ? findPersonByLinkedinUrl(dataset, linkedinUrl)
          : findPersonByEmail(dataset, email ?? '');
        if (found?.person.knownBy.harmonic && knowsCompany(found.company)) {
          return { status: 200, body: harmonicPerson(found.person, found.company), charge: true };
        }
        const urn = scheduleEnrichment('person', key ?? '');
        return { status: 404, body: { detail: { message: PERSON_NOT_FOUND, enrichment_urn: urn } } };
      },
    );
  });

  app.get('/enrichment_status', async (request, reply) => {
    const urns = queryList(request, 'urns');
    return serve(
      request,
      reply,
      urns.join(',') || null,
      {
        quota: false,
        missing:
          urns.length > 0
            ? undefined
            : {
                status: 422,
                body: { detail: [{ loc: ['query', 'urns'], msg: 'Field required', type: 'missing' }] },
              },
      },
      () => ({
        status: 200,
        body: urns.flatMap((urn) => {
          const enrichment = state.harmonicEnrichments.get(urn);
          return enrichment ? [poll(enrichment)] : [];
        }),
      }),
    );
  });

  /** One status poll: IN_PROGRESS for `enrichmentPollsBeforeDone` polls, then the final answer. */
  const poll = (enrichment: HarmonicEnrichment) => {
    enrichment.polls++;
    const done = enrichment.polls > state.system('harmonic').control.enrichmentPollsBeforeDone;
    let status: EnrichmentStatus = 'IN_PROGRESS';
    let enriched: string | null = null;
    if (done) {
      if (enrichment.kind === 'company') {
        const company = findCompanyByDomain(dataset, enrichment.key);
        if (company?.quirks?.harmonicEnrichedAfterPoll) {
          state.harmonicCompleted.add(company.domain);
          enriched = companyUrn(company);
        }
      } else {
        const found = enrichment.key.includes('linkedin.com')
          ? findPersonByLinkedinUrl(dataset, enrichment.key)
          : findPersonByEmail(dataset, enrichment.key);
        if (found?.person.knownBy.harmonic && found.company.quirks?.harmonicEnrichedAfterPoll) {
          state.harmonicCompleted.add(found.company.domain);
          enriched = personUrn(found.person);
        }
      }
      status = enriched ? 'COMPLETE' : 'NOT_FOUND';
    }
    return {
      entity_urn: enrichment.urn,
      status,
      message:
        status === 'IN_PROGRESS'
          ? 'Enrichment in progress.'
          : status === 'COMPLETE'
            ? 'Enrichment complete.'
            : 'Could not find the requested entity.',
      enriched_entity_urn: enriched,
    };
  };

  done();
};

// ---------------------------------------------------------------------------------------------------------------
// Wire shapes

const HARMONIC_STAGES: Record<FundingStage, string> = {
  pre_seed: 'PRE_SEED',
  seed: 'SEED',
  series_a: 'SERIES_A',
  series_b: 'SERIES_B',
  series_c: 'SERIES_C',
  series_d_plus: 'SERIES_D',
  bootstrapped: 'BOOTSTRAPPED',
  public: 'PUBLIC',
};

export function harmonicCompany(company: Company) {
  const countryName = COUNTRIES[company.country]?.name ?? company.country;
  const stage = company.fundingStage ? HARMONIC_STAGES[company.fundingStage] : null;
  const rounds = company.fundingStage
    ? Math.max(
        0,
        ['pre_seed', 'seed', 'series_a', 'series_b', 'series_c', 'series_d_plus'].indexOf(company.fundingStage) + 1,
      )
    : 0;
  return {
    entity_urn: companyUrn(company),
    id: harmonicCompanyId(company),
    name: company.name,
    legal_name: company.companyType === 'nonprofit' ? company.name : `${company.name} Inc.`,
    description: company.description,
    short_description: company.description,
    website: { url: `https://${company.domain}`, domain: company.domain, is_broken: false },
    logo_url: null,
    customer_type: company.industryTags.includes('B2C') ? 'B2C' : 'B2B',
    company_type: company.companyType === 'nonprofit' ? 'NON_PROFIT' : 'STARTUP',
    ownership_status: company.companyType === 'public' ? 'PUBLIC' : 'PRIVATE',
    stage,
    headcount: company.employees,
    founding_date: { date: `${company.foundedYear}-01-01T00:00:00Z`, granularity: 'YEAR' },
    location: {
      address_formatted: `${company.city}, ${countryName}`,
      location: `${company.city}, ${countryName}`,
      street: null,
      city: company.city,
      state: null,
      zip: null,
      country: countryName,
    },
    funding: {
      funding_total: company.totalFundingUsd,
      num_funding_rounds: rounds,
      funding_stage: stage,
      last_funding_type: rounds > 0 ? stage : null,
      last_funding_at: null,
      investors: [],
    },
    tags: [{ type: 'INDUSTRY', display_value: company.industry, is_primary_tag: true }],
    tags_v2: [
      { type: 'MARKET_VERTICAL', display_value: company.industry },
      ...company.industryTags.map((tag) => ({ type: 'TECHNOLOGY_TYPE', display_value: tag })),
    ],
    socials: {
      LINKEDIN: { url: `https://www.linkedin.com/company/${company.name.toLowerCase().replace(/[^a-z0-9]+/g, '-')}` },
    },
  };
}

export function harmonicPerson(person: Person, company: Company) {
  const countryName = COUNTRIES[company.country]?.name ?? company.country;
  const roleType = person.role === 'founder' ? 'FOUNDER' : person.seniority === 'executive' ? 'EXECUTIVE' : 'EMPLOYEE';
  return {
    entity_urn: personUrn(person),
    id: person.id + 5_000_000,
    full_name: `${person.firstName} ${person.lastName}`,
    first_name: person.firstName,
    last_name: person.lastName,
    profile_picture_url: null,
    linkedin_headline: `${person.title} at ${company.name}`,
    contact: { emails: [person.email], primary_email: person.email, phone_numbers: [] },
    location: { location: `${company.city}, ${countryName}`, city: company.city, state: null, country: countryName },
    socials: { LINKEDIN: { url: `https://www.linkedin.com/in/${person.linkedinHandle}` } },
    experience: [
      {
        company: companyUrn(company),
        company_name: company.name,
        title: person.title,
        department: person.role === 'ceo' || person.role === 'founder' ? 'Executive' : titleCase(person.role),
        role_type: roleType,
        is_current_position: true,
        start_date: null,
        end_date: null,
      },
    ],
    current_company_urns: [companyUrn(company)],
    education: [],
    is_redacted: false,
  };
}

function titleCase(text: string): string {
  return text
    .split('_')
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join(' ');
}
