import type { FastifyPluginCallback, FastifyReply, FastifyRequest } from 'fastify';
import {
  COUNTRIES,
  findCompanyByDomain,
  findCompanyByEmail,
  findPersonByEmail,
  normalizeDomain,
  uuidFrom,
  type Company,
  type Industry,
  type Person,
} from './dataset';
import type { ProviderPluginOptions } from './state';

/**
 * Clearbit's Enrichment API, written from its public documentation (dashboard.clearbit.com/docs and the help-centre
 * articles on 202 and 402):
 *
 * - `GET /v2/companies/find?domain=` (company.clearbit.com) → 200 company object.
 * - `GET /v2/combined/find?email=` (person.clearbit.com) → 200 `{ person, company }`, either may be null.
 * - 202 queued (lookup running; "retry the call after a few minutes"), 404 unknown record, 422 invalid parameters,
 *   401 bad key, 402 over plan quota, 429 rate limited (600/min), 5xx API error.
 * - Errors are JSON `{ "error": { "type", "message" } }`; the documented types are params_invalid, unknown_record,
 *   unknown_route, queued, rate_limit, api_error. The docs name no type for 401 or 402: `unauthorized` and
 *   `over_quota` are the sandbox's choice. The 202 body is not documented either: the sandbox sends the `queued`
 *   error object.
 * - Auth: HTTP Basic with the key as user name, or `Authorization: Bearer <key>`.
 * - What Clearbit refuses as invalid beyond a malformed domain or email is not listed: the `invalidKeys` control names
 *   domains and emails to answer with the same documented 422 (`params_invalid` for a domain, `email_invalid` for an
 *   email), so a refusal can be provoked with input that passes the caller's own validation.
 *
 * Both hosts live under the one `/clearbit` prefix of the sandbox.
 */

/** Clearbit's record timestamps are fixed in the sandbox: the data set has no clock. */
const INDEXED_AT = '2024-09-01T00:00:00.000Z';

type ClearbitError = { status: number; type: string; message: string };

function errorBody(type: string, message: string) {
  return { error: { type, message } };
}

function apiKeyOf(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (!header) return undefined;
  const space = header.indexOf(' ');
  const scheme = header.slice(0, space).toLowerCase();
  const value = header.slice(space + 1).trim();
  if (scheme === 'bearer') return value;
  if (scheme === 'basic') return Buffer.from(value, 'base64').toString('utf8').split(':', 1)[0];
  return undefined;
}

export const clearbitPlugin: FastifyPluginCallback<ProviderPluginOptions> = (app, { state, dataset }, done) => {
  /**
   * The pipeline every lookup goes through: auth, latency, rate limit, injected failure, parameters, quota; then
   * `lookup` decides between 202, 200 (one credit) and 404.
   */
  const serve = async (
    request: FastifyRequest,
    reply: FastifyReply,
    key: string | null,
    validate: () => ClearbitError | undefined,
    lookup: () => { status: 200 | 202 | 404; body: unknown },
  ) => {
    const sys = state.system('clearbit');
    const answer = (status: number, body: unknown, creditsCharged = 0, note?: string) => {
      sys.recordRequest(request, { key, status, creditsCharged, note });
      return reply.code(status).send(body);
    };

    const apiKey = apiKeyOf(request);
    if (!apiKey || apiKey === 'bad-key') {
      reply.header('www-authenticate', 'Basic realm="Clearbit"');
      return answer(401, errorBody('unauthorized', 'Invalid or missing API key.'));
    }
    const gate = await sys.gate();
    if (gate.kind === 'rate_limited') {
      const limit = sys.control.rateLimitPerSecond ?? 0;
      reply
        .header('retry-after', String(gate.retryAfterSeconds))
        .header('x-ratelimit-limit', String(limit))
        .header('x-ratelimit-remaining', '0')
        .header('x-ratelimit-reset', String(gate.retryAfterSeconds));
      return answer(
        429,
        errorBody(
          'rate_limit',
          `Rate limit exceeded. Limit is ${limit} requests per second. Rate limit will be reset in ${gate.retryAfterSeconds} seconds.`,
        ),
      );
    }
    if (gate.kind === 'failure') return answer(500, errorBody('api_error', 'Internal API error.'));
    const invalid = validate();
    if (invalid) return answer(invalid.status, errorBody(invalid.type, invalid.message));
    if (!sys.hasCredits()) return answer(402, errorBody('over_quota', 'Over plan quota on this endpoint.'));

    const result = lookup();
    if (result.status === 200) return answer(200, result.body, sys.charge(1));
    return answer(result.status, result.body);
  };

  /** The queued fixture answers 202 to its first `queuedLookups` lookups (by either endpoint), 200 afterwards. */
  const queuedNow = (company: Company | undefined): boolean => {
    if (!company?.quirks?.clearbitQueuedOnce) return false;
    const limit = state.system('clearbit').control.queuedLookups;
    const answered = state.clearbitQueued.get(company.domain) ?? 0;
    if (limit !== null && answered >= limit) return false;
    state.clearbitQueued.set(company.domain, answered + 1);
    return true;
  };
  const queued = {
    status: 202 as const,
    body: errorBody('queued', 'Lookup queued. Try this request again in a few minutes.'),
  };

  app.get('/v2/companies/find', async (request, reply) => {
    const raw = (request.query as Record<string, unknown>).domain;
    const domain = typeof raw === 'string' ? normalizeDomain(raw) : '';
    return serve(
      request,
      reply,
      domain || null,
      () =>
        domain && domain.includes('.') && !state.system('clearbit').isInvalidKey(domain)
          ? undefined
          : { status: 422, type: 'params_invalid', message: 'Missing or invalid parameter: domain' },
      () => {
        const company = findCompanyByDomain(dataset, domain);
        if (queuedNow(company)) return queued;
        if (company?.knownBy.clearbit) return { status: 200, body: clearbitCompany(company) };
        return { status: 404, body: errorBody('unknown_record', 'Unknown domain.') };
      },
    );
  });

  app.get('/v2/combined/find', async (request, reply) => {
    const raw = (request.query as Record<string, unknown>).email;
    const email = typeof raw === 'string' ? raw.trim().toLowerCase() : '';
    return serve(
      request,
      reply,
      email || null,
      () =>
        /^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email) && !state.system('clearbit').isInvalidKey(email)
          ? undefined
          : { status: 422, type: 'email_invalid', message: 'Invalid email.' },
      () => {
        const company = findCompanyByEmail(dataset, email);
        if (queuedNow(company)) return queued;
        const found = findPersonByEmail(dataset, email);
        const person = found?.person.knownBy.clearbit ? clearbitPerson(found.person, found.company) : null;
        const companyBody = company?.knownBy.clearbit ? clearbitCompany(company) : null;
        if (!person && !companyBody) return { status: 404, body: errorBody('unknown_record', 'Unknown person.') };
        return { status: 200, body: { person, company: companyBody } };
      },
    );
  });

  done();
};

// ---------------------------------------------------------------------------------------------------------------
// Wire shapes (Clearbit's "What does an enrichment payload look like" attribute list)

const CATEGORIES: Record<Industry, [sector: string, industryGroup: string, industry: string, subIndustry: string]> = {
  Software: [
    'Information Technology',
    'Software & Services',
    'Internet Software & Services',
    'Internet Software & Services',
  ],
  'Financial Services': [
    'Financials',
    'Diversified Financials',
    'Diversified Financial Services',
    'Financial Services',
  ],
  Healthcare: [
    'Health Care',
    'Health Care Equipment & Services',
    'Health Care Providers & Services',
    'Health Care Services',
  ],
  Biotechnology: ['Health Care', 'Pharmaceuticals, Biotechnology & Life Sciences', 'Biotechnology', 'Biotechnology'],
  'E-commerce': ['Consumer Discretionary', 'Retailing', 'Internet & Catalog Retail', 'Internet & Catalog Retail'],
  Education: ['Consumer Discretionary', 'Consumer Services', 'Diversified Consumer Services', 'Education Services'],
  'Media & Entertainment': ['Consumer Discretionary', 'Media', 'Media', 'Movies & Entertainment'],
  Gaming: ['Information Technology', 'Software & Services', 'Software', 'Home Entertainment Software'],
  Cybersecurity: ['Information Technology', 'Software & Services', 'IT Services', 'Internet Software & Services'],
  'Marketing & Advertising': ['Consumer Discretionary', 'Media', 'Media', 'Advertising'],
  'Logistics & Supply Chain': ['Industrials', 'Transportation', 'Air Freight & Logistics', 'Air Freight & Logistics'],
  Manufacturing: ['Industrials', 'Capital Goods', 'Machinery', 'Industrial Machinery'],
  'Energy & Climate': ['Utilities', 'Utilities', 'Renewable Electricity', 'Renewable Electricity'],
  'Real Estate': ['Real Estate', 'Real Estate', 'Real Estate Management & Development', 'Real Estate Services'],
  'Human Resources': [
    'Industrials',
    'Commercial & Professional Services',
    'Professional Services',
    'Human Resource & Employment Services',
  ],
  Nonprofit: [
    'Consumer Discretionary',
    'Consumer Services',
    'Diversified Consumer Services',
    'Specialized Consumer Services',
  ],
};

/** Clearbit's documented employee ranges. */
export function employeesRange(employees: number): string {
  const ranges: [number, string][] = [
    [10, '1-10'],
    [50, '11-50'],
    [250, '51-250'],
    [1000, '251-1K'],
    [5000, '1K-5K'],
    [10_000, '5K-10K'],
    [50_000, '10K-50K'],
    [100_000, '50K-100K'],
  ];
  return ranges.find(([max]) => employees <= max)?.[1] ?? '100K+';
}

function estimatedAnnualRevenue(employees: number): string {
  const revenue = employees * 150_000;
  const ranges: [number, string][] = [
    [1e6, '$0-$1M'],
    [10e6, '$1M-$10M'],
    [50e6, '$10M-$50M'],
    [100e6, '$50M-$100M'],
    [250e6, '$100M-$250M'],
    [500e6, '$250M-$500M'],
    [1e9, '$500M-$1B'],
    [10e9, '$1B-$10B'],
  ];
  return ranges.find(([max]) => revenue <= max)?.[1] ?? '$10B+';
}

const slug = (text: string) => text.toLowerCase().replace(/[^a-z0-9]+/g, '');

export function clearbitCompany(company: Company) {
  const category = company.clearbitHasIndustry ? CATEGORIES[company.industry] : undefined;
  const place = placeOf(company);
  return {
    id: uuidFrom(`clearbit:company:${company.domain}`),
    name: company.name,
    legalName: company.companyType === 'nonprofit' ? company.name : `${company.name} Inc.`,
    domain: company.domain,
    domainAliases: [],
    site: { phoneNumbers: [], emailAddresses: [] },
    category: {
      sector: category?.[0] ?? null,
      industryGroup: category?.[1] ?? null,
      industry: category?.[2] ?? null,
      subIndustry: category?.[3] ?? null,
      gicsCode: null,
      sicCode: null,
      sic4Codes: [],
      naicsCode: null,
      naics6Codes: [],
      naics6Codes2022: [],
    },
    // Clearbit's tags are coarser than Harmonic's: at most two.
    tags: company.clearbitHasIndustry ? company.industryTags.slice(0, 2) : [],
    description: company.description,
    foundedYear: company.foundedYear,
    location: place.location,
    timeZone: null,
    utcOffset: null,
    geo: {
      streetNumber: null,
      streetName: null,
      subPremise: null,
      streetAddress: null,
      city: company.city,
      postalCode: null,
      ...place.region,
    },
    logo: `https://logo.clearbit.com/${company.domain}`,
    facebook: { handle: null, likes: null },
    linkedin: { handle: `company/${slug(company.name)}` },
    twitter: {
      handle: null,
      id: null,
      bio: null,
      followers: null,
      following: null,
      location: null,
      site: null,
      avatar: null,
    },
    crunchbase: { handle: null },
    emailProvider: false,
    type: company.companyType === 'startup' ? 'private' : company.companyType,
    ticker: company.companyType === 'public' ? company.name.slice(0, 4).toUpperCase() : null,
    identifiers: { usEIN: null },
    phone: null,
    metrics: {
      alexaUsRank: null,
      alexaGlobalRank: null,
      trafficRank: null,
      employees: company.employees,
      employeesRange: employeesRange(company.employees),
      marketCap: null,
      raised: company.totalFundingUsd,
      annualRevenue: null,
      estimatedAnnualRevenue: estimatedAnnualRevenue(company.employees),
      fiscalYearEnd: null,
    },
    indexedAt: INDEXED_AT,
    tech: [],
    techCategories: [],
    parent: { domain: null },
    ultimateParent: { domain: null },
  };
}

/**
 * Where a company is, as both of Clearbit's objects say it (a person is placed at their company): the `location` line
 * and the `geo` fields after the city. Only city and country are known; the rest stays null.
 */
function placeOf(company: Company) {
  const country = COUNTRIES[company.country]?.name;
  return {
    location: `${company.city}, ${country ?? company.country}`,
    region: {
      state: null,
      stateCode: null,
      country: country ?? null,
      countryCode: company.country,
      lat: null,
      lng: null,
    },
  };
}

export function clearbitPerson(person: Person, company: Company) {
  const place = placeOf(company);
  return {
    id: uuidFrom(`clearbit:person:${person.email}`),
    name: {
      fullName: `${person.firstName} ${person.lastName}`,
      givenName: person.firstName,
      familyName: person.lastName,
    },
    email: person.email,
    location: place.location,
    timeZone: null,
    utcOffset: null,
    geo: {
      city: company.city,
      ...place.region,
    },
    bio: null,
    site: null,
    avatar: null,
    employment: {
      domain: company.domain,
      name: company.name,
      title: person.title,
      role: person.role,
      subRole: null,
      // Clearbit's seniority vocabulary stops at manager: individual contributors have none.
      seniority: person.seniority === 'individual_contributor' ? null : person.seniority,
    },
    facebook: { handle: null },
    github: { handle: null, id: null, avatar: null, company: null, blog: null, followers: null, following: null },
    twitter: {
      handle: null,
      id: null,
      bio: null,
      followers: null,
      following: null,
      statuses: null,
      favorites: null,
      location: null,
      site: null,
      avatar: null,
    },
    linkedin: { handle: `in/${person.linkedinHandle}` },
    googleplus: { handle: null },
    gravatar: { handle: null, urls: [], avatar: null, avatars: [] },
    fuzzy: false,
    emailProvider: false,
    indexedAt: INDEXED_AT,
  };
}
