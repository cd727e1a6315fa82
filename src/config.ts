import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { FieldPreference } from './domain/enrichment/merge';
import { ICP_FIELDS, type IcpField } from './domain/icp/fields';
import { scoringConfigSchema, type ScoringConfig } from './domain/icp/scoring';
import type { HealthRules } from './domain/health';
import { DESTINATIONS, type Destination, type HighValueRule } from './domain/fan-out';
import { COMPANY_PROVIDERS, type ProviderName } from './domain/provider-outcome';
import type { FieldWritePolicy } from './integrations/salesforce/mapping';
import { DEFAULT_TASK_QUEUE } from './workflows/messages';

const SYSTEMS = ['clearbit', 'harmonic', 'clay', 'posthog', 'salesforce', 'vitally', 'slack'] as const;
export type ExternalSystem = (typeof SYSTEMS)[number];

/** Real hosts, used in live mode when `<SYSTEM>_BASE_URL` is not set. */
const LIVE_BASE_URLS: Record<ExternalSystem, string> = {
  clearbit: 'https://company.clearbit.com',
  harmonic: 'https://api.harmonic.ai',
  clay: 'https://api.clay.com',
  posthog: 'https://us.i.posthog.com',
  salesforce: 'https://login.salesforce.com',
  vitally: 'https://rest.vitally.io',
  slack: 'https://hooks.slack.com',
};
const LIVE_CLEARBIT_PERSON_BASE_URL = 'https://person.clearbit.com';
const LIVE_POSTHOG_API_BASE_URL = 'https://us.posthog.com';

/** Sandbox-mode defaults, so `npm start` and `npx enrich` work with no setup; live mode refuses every one of them. */
export const DEV_WEBHOOK_SECRET = 'dev-webhook-secret';
export const DEV_ADMIN_TOKEN = 'dev-admin-token';
export const DEV_CLAY_CALLBACK_SECRET = 'dev-clay-callback-secret';
/** The shortest secret or token live mode accepts. */
export const MIN_SECRET_LENGTH = 24;
const DEFAULT_SANDBOX_URL = 'http://127.0.0.1:4010';

/** The sandbox's defaults, used only in sandbox mode. */
const SANDBOX_SLACK_PATH = '/services/T0SANDBOX/B0HIGHVALUE/sandbox-token';
const SANDBOX_WEBHOOK_SECRET = 'sandbox-webhook-secret';

const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

const optionalUrl = optionalString.pipe(z.url().optional());

const port = z.coerce.number().int().min(1).max(65535);

/** A comma-separated list, its entries trimmed. */
const commaList = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((v) => v.split(',').map((p) => p.trim()));

/** The same, empty entries dropped: an empty value is an empty list. */
const commaListOrNone = (fallback: string) => commaList(fallback).transform((entries) => entries.filter(Boolean));

/**
 * A group of variables, in the order `.env.example` and docs/configuration.md show them (`npm run config:docs` writes
 * both). Each variable's `.describe()` is its documentation there, and its zod default the default shown.
 */
const section = <Shape extends z.ZodRawShape>(title: string, note: string | undefined, shape: Shape) => ({
  title,
  note,
  variables: z.object(shape),
});

const waterfall = section('Mode and the enrichment waterfall', undefined, {
  ENRICHMENT_MODE: z
    .enum(['sandbox', 'live'])
    .default('sandbox')
    .describe(
      '`sandbox` (default: local simulators, no accounts) | `live` (the real services; every credential below is required)',
    ),
  ENRICHMENT_PROVIDERS: commaList(COMPANY_PROVIDERS.join(','))
    .pipe(z.array(z.enum(COMPANY_PROVIDERS)).min(1))
    .describe('Company providers in cost order, cheapest first'),
  ENRICHMENT_REQUIRED_FIELDS: commaList('companyName,employees,industry,country')
    .pipe(z.array(z.enum(ICP_FIELDS)).min(1))
    .describe(
      'A signup is `enriched` when these ICP fields are known; providers are asked (in cost order) only while one is missing',
    ),
  ENRICHMENT_FIELD_PREFERENCE: z
    .string()
    .default('industry=harmonic>clearbit>clay,industryTags=harmonic>clearbit>clay')
    .describe(
      "Per-field source ranking (`field=best>next>...`, comma-separated): a better-ranked provider's value replaces a worse one's when both answered",
    ),
  DOMAIN_CACHE_DAYS: z.coerce
    .number()
    .nonnegative()
    .default(30)
    .describe("A company enriched within this many days is served from the ledger's domain cache at zero credits"),
  CREDITS_WAIT_MAX_DAYS: z.coerce
    .number()
    .positive()
    .default(7)
    .describe(
      'How long a signup waits for credits (capped-backoff retries, or the creditsRestored signal) before ending `partial`',
    ),
  QUEUED_FOLLOW_UP_HOURS: z.coerce
    .number()
    .nonnegative()
    .default(48)
    .describe(
      "How long a lookup a provider is still computing (Clearbit 202, Harmonic's enrichment urn) is followed up",
    ),
  PROVIDER_FALLTHROUGH_MINUTES: z.coerce
    .number()
    .positive()
    .default(30)
    .describe(
      'How long one provider lookup may keep failing (5xx, timeouts, refused connections, 429s) before the signup skips ' +
        'that provider (`provider_outage` in its trace, an outage in `enrich health`) and asks the next one',
    ),
  CLAY_RESULT_TIMEOUT_MINUTES: z.coerce
    .number()
    .positive()
    .default(60)
    .describe("How long to wait for a Clay row's result (`POST /webhooks/clay`) before reporting Clay silent"),
});

const intake = section(
  'Intake: secrets and signup events',
  "Bearer secrets, one per caller; none opens another's endpoints. Live mode refuses a value that is unset, a sandbox " +
    `default, shorter than ${MIN_SECRET_LENGTH} characters or shared with another of them (generate: \`openssl rand -hex 32\`).`,
  {
    WEBHOOK_SECRET: optionalString.describe(
      `\`POST /webhooks/posthog\` and \`POST /signups\` only. Unset in sandbox mode: \`${DEV_WEBHOOK_SECRET}\`.`,
    ),
    ADMIN_TOKEN: optionalString.describe(
      `The operator API (\`/admin/*\`) and \`npx enrich\` (same value on both sides). Unset in sandbox mode: \`${DEV_ADMIN_TOKEN}\`.`,
    ),
    CLAY_CALLBACK_SECRET: optionalString.describe(
      "What our Clay table's HTTP API column sends to `POST /webhooks/clay` (`Authorization: Bearer ...`). Unset in " +
        `sandbox mode: \`${DEV_CLAY_CALLBACK_SECRET}\`. Required live when clay is in ENRICHMENT_PROVIDERS (else every ` +
        'callback gets 401).',
    ),
    METRICS_TOKEN: optionalString.describe(
      'Bearer token of `GET /metrics`. Unset: `/metrics` is open (counts only, no personal data; keep it on the internal network).',
    ),
    SIGNUP_EVENTS: commaList('user signed up,user_signed_up')
      .pipe(z.array(z.string().min(1)).min(1))
      .describe('PostHog events that count as a signup (comma-separated)'),
  },
);

const ledger = section('Ledger', undefined, {
  DATABASE_URL: optionalString
    .pipe(z.url({ protocol: /^postgres(ql)?$/ }).optional())
    .describe(
      'PostgreSQL URL of the ledger. Unset: the embedded PGlite database under `$DATA_DIR/ledger` (`npm start` only: ' +
        'a separately run worker or starter needs PostgreSQL).',
    ),
  DATA_DIR: z.string().default('.data').describe("Local state: the embedded ledger and the dev server's `temporal.db`"),
});

const temporal = section('Temporal', undefined, {
  TEMPORAL_ADDRESS: optionalString.describe(
    'Unset: `npm start` runs a Temporal dev server on 127.0.0.1 (TEMPORAL_DEV_PORT). Set: use that server instead.',
  ),
  TEMPORAL_DEV_PORT: port.default(7233).describe('The gRPC port of that dev server when TEMPORAL_ADDRESS is unset'),
  TEMPORAL_DEV_UI_PORT: port.default(8233).describe('The Web UI port of that dev server'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default').describe('The Temporal namespace of the workflows'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default(DEFAULT_TASK_QUEUE).describe('The task queue of the worker'),
});

const scoring = section('ICP scoring', undefined, {
  // Empty means the default, as for every optional variable (so an exported .env.example works as is).
  ICP_SCORING_CONFIG: optionalString
    .transform((v) => v ?? path.resolve(__dirname, '..', 'config', 'icp-scoring.json'))
    .describe(
      'ICP scoring rules (versioned JSON, validated at start-up). Unset: `config/icp-scoring.json` in this repository',
    ),
});

const starter = section('Starter (HTTP intake)', undefined, {
  HOST: z.string().default('127.0.0.1').describe("The address the starter's HTTP server listens on"),
  PORT: port.default(3000).describe("The starter's HTTP port"),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
    .default('info')
    .describe('`fatal` | `error` | `warn` | `info` | `debug` | `trace` | `silent`'),
});

const sandbox = section('Sandbox server', undefined, {
  SANDBOX_URL: z
    .url()
    .default(DEFAULT_SANDBOX_URL)
    .describe('In sandbox mode each `<SYSTEM>_BASE_URL` defaults to `$SANDBOX_URL/<system>`'),
});

const hosts = section('Base URLs', 'Unset: the real host in live mode, the sandbox in sandbox mode.', {
  CLEARBIT_BASE_URL: optionalUrl.describe(`Clearbit's Company API (live: ${LIVE_BASE_URLS.clearbit})`),
  HARMONIC_BASE_URL: optionalUrl.describe(`Harmonic (live: ${LIVE_BASE_URLS.harmonic})`),
  CLAY_BASE_URL: optionalUrl.describe(`Clay (live: ${LIVE_BASE_URLS.clay})`),
  POSTHOG_BASE_URL: optionalUrl.describe(`PostHog's capture host (live: ${LIVE_BASE_URLS.posthog})`),
  SALESFORCE_BASE_URL: optionalUrl.describe(
    `Salesforce's login host: your My Domain for client credentials (live: ${LIVE_BASE_URLS.salesforce})`,
  ),
  VITALLY_BASE_URL: optionalUrl.describe(`Vitally (live: ${LIVE_BASE_URLS.vitally})`),
  SLACK_BASE_URL: optionalUrl.describe(`Slack (live: ${LIVE_BASE_URLS.slack})`),
  CLEARBIT_PERSON_BASE_URL: optionalUrl.describe(
    `Clearbit's Person/Combined API host: live ${LIVE_CLEARBIT_PERSON_BASE_URL}, sandbox the Clearbit simulator`,
  ),
  PROVIDER_TIMEOUT_MS: z.coerce
    .number()
    .int()
    .positive()
    .default(10_000)
    .describe('Deadline of one provider HTTP call'),
});

const credentials = section(
  'Credentials',
  'Required in live mode (start-up names every missing one); a destination left out of DESTINATIONS needs none.',
  {
    CLEARBIT_API_KEY: optionalString.describe('Clearbit API key'),
    HARMONIC_API_KEY: optionalString.describe('Harmonic API key'),
    CLAY_WEBHOOK_URL: optionalString.describe("The Clay table's webhook source, where signup rows are sent"),
    CLAY_WEBHOOK_AUTH: optionalString.describe('The auth token of that webhook source'),
    POSTHOG_PROJECT_API_KEY: optionalString.describe("PostHog's project API key (capture)"),
    POSTHOG_PERSONAL_API_KEY: optionalString.describe('A PostHog personal API key (the query API)'),
    SALESFORCE_CLIENT_ID: optionalString.describe("The connected app's client id"),
    SALESFORCE_CLIENT_SECRET: optionalString.describe("The connected app's client secret"),
    SALESFORCE_USERNAME: optionalString.describe(
      'Fallback login (username-password flow) when client credentials are not available',
    ),
    SALESFORCE_PASSWORD: optionalString.describe('The password of that fallback login'),
    VITALLY_API_KEY: optionalString.describe('Vitally API key'),
    SLACK_WEBHOOK_URL: optionalString.describe(
      'Slack incoming webhook of the high-value signups. Unset in sandbox mode: the sandbox.',
    ),
  },
);

const fanOut = section('Fan-out', 'Where enriched signups are written, and how a write that fails is retried.', {
  DESTINATIONS: commaListOrNone(DESTINATIONS.join(','))
    .pipe(z.array(z.enum(DESTINATIONS)))
    .describe('Comma-separated; a destination left out needs no credentials'),
  DESTINATION_TIMEOUT_MS: z.coerce
    .number()
    .int()
    .positive()
    .default(15_000)
    .describe(
      "Deadline of one destination HTTP call, each of jsforce's Salesforce calls included (answers over 4 MiB are " +
        "cut off, except Salesforce's: jsforce reads them whole, within this deadline)",
    ),
  WRITE_RETRY_INITIAL_SECONDS: z.coerce
    .number()
    .positive()
    .default(30)
    .describe(
      "A write still failing after its activity's quick retries is tried again after this, doubling up to " +
        'WRITE_RETRY_MAX_MINUTES, until it is given up',
    ),
  WRITE_RETRY_MAX_MINUTES: z.coerce.number().positive().default(60).describe('The longest wait between two tries'),
  WRITE_GIVE_UP_HOURS: z.coerce
    .number()
    .positive()
    .default(72)
    .describe('How long a failing write is tried before it is given up (`failed`)'),
});

const posthog = section('PostHog', undefined, {
  POSTHOG_PROJECT_ID: optionalString.describe('The project id (a live credential). Unset in sandbox mode: project 1.'),
  POSTHOG_API_BASE_URL: optionalUrl.describe(
    `The query API host (live default ${LIVE_POSTHOG_API_BASE_URL}; the capture host is POSTHOG_BASE_URL, live ` +
      `default ${LIVE_BASE_URLS.posthog}). Unset in sandbox mode: the sandbox.`,
  ),
  POSTHOG_ORGANIZATION_GROUP_INDEX: z.coerce
    .number()
    .int()
    .min(0)
    .max(4)
    .default(0)
    .describe('Index PostHog gave the `organization` group type (0 when it was the first group type created)'),
});

const salesforce = section(
  'Salesforce',
  'The login host is SALESFORCE_BASE_URL: your My Domain for client credentials.',
  {
    SALESFORCE_API_VERSION: z
      .string()
      .regex(/^\d+\.0$/, 'like 62.0')
      .default('62.0')
      .describe('The REST API version'),
    SALESFORCE_ACCOUNT_EXTERNAL_ID_FIELD: z
      .string()
      .min(1)
      .default('Company_Domain__c')
      .describe("The Account's external id field (the company domain)"),
    SALESFORCE_CONTACT_EXTERNAL_ID_FIELD: z
      .string()
      .min(1)
      .default('Signup_Person_Id__c')
      .describe("The Contact's external id field (the person key)"),
    SALESFORCE_LEAD_EXTERNAL_ID_FIELD: z
      .string()
      .min(1)
      .default('Signup_Person_Id__c')
      .describe("The Lead's external id field (the person key)"),
    SALESFORCE_PERSONAL_EMAIL_POLICY: z
      .enum(['skip', 'lead'])
      .default('skip')
      .describe('Free-mail and disposable signups: `skip` (no CRM record) | `lead`'),
    SALESFORCE_ON_DUPLICATE: z
      .enum(['adopt', 'fail'])
      .default('adopt')
      .describe('A duplicate rule blocks a new record: `adopt` (stamp our external id on the matched record) | `fail`'),
    SALESFORCE_FIELD_POLICY: z
      .string()
      .default('')
      .describe(
        'Per-field overrides of the write policy, `Field=overwrite|fill_empty`, comma-separated, on top of the ' +
          'defaults (README, Fan-out > Salesforce)',
      ),
    SALESFORCE_REQUEST_LIMIT_WAIT_MINUTES: z.coerce
      .number()
      .positive()
      .default(60)
      .describe('REQUEST_LIMIT_EXCEEDED is waited out this long at a time'),
  },
);

const slack = section(
  'Slack',
  'High value = tier in the list, or total funding at least the amount; others go to the quiet webhook if set. ' +
    'SLACK_WEBHOOK_URL (credentials above) defaults to the sandbox in sandbox mode.',
  {
    SLACK_HIGH_VALUE_TIERS: commaListOrNone('A').describe('ICP tiers that are high value (comma-separated)'),
    SLACK_HIGH_VALUE_MIN_FUNDING_USD: optionalString
      .pipe(z.coerce.number<string | undefined>().nonnegative().default(20_000_000))
      .describe('Total funding (USD) that makes a signup high value'),
    SLACK_QUIET_WEBHOOK_URL: optionalUrl.describe(
      'Slack incoming webhook of the other signups; unset: they are not posted',
    ),
  },
);

const health = section(
  'Health and recovery',
  'The daily check (schedule `enrichment-health-daily`, 09:00 UTC) of the last complete UTC day.',
  {
    HEALTH_MIN_WRITES: z.coerce
      .number()
      .int()
      .nonnegative()
      .default(250)
      .describe(
        'Alert when writes (signups recorded with ICP fields) fall below this many while at least that many signups ' +
          'with a work email came in',
      ),
    HEALTH_MIN_WRITE_RATIO: z.coerce
      .number()
      .min(0)
      .max(1)
      .default(0.5)
      .describe('Alert too when writes fall below this fraction of the signups with a work email'),
    HEALTH_TRAFFIC_DROP_RATIO: z.coerce
      .number()
      .min(0)
      .max(1)
      .default(0.5)
      .describe(
        'Signups below this fraction of the median of the HEALTH_TRAILING_DAYS days before are a traffic drop: no alert',
      ),
    HEALTH_TRAILING_DAYS: z.coerce
      .number()
      .int()
      .min(1)
      .max(60)
      .default(7)
      .describe('The days before whose median that is'),
    HEALTH_POSTHOG_CHECK: z
      .enum(['auto', 'on', 'off'])
      .default('auto')
      .describe(
        "Compare with PostHog's own count of SIGNUP_EVENTS (catches a disabled webhook destination): " +
          '`auto` (live mode only) | `on` | `off`',
      ),
    HEALTH_AUTO_BACKFILL: z
      .enum(['true', 'false'])
      .default('true')
      .transform((v) => v === 'true')
      .describe(
        "When writes recover, backfill the incident's window at once (`true`) or only propose the command in the alert (`false`)",
      ),
    BACKFILL_CONCURRENCY: z.coerce
      .number()
      .int()
      .min(1)
      .max(100)
      .default(5)
      .describe(
        'Re-enqueued signups in flight at once during a backfill (`enrich backfill --concurrency` overrides it)',
      ),
    SLACK_ALERT_WEBHOOK_URL: optionalUrl.describe(
      'Slack incoming webhook of the health alerts. Unset: SLACK_WEBHOOK_URL; with neither, the worker only logs them.',
    ),
    ENRICH_API_URL: optionalUrl.describe(
      "The starter's operator API (`/admin/...`) that `npx enrich` health/pause/resume/snooze call. Unset: " +
        '`http://127.0.0.1:$PORT`',
    ),
  },
);

const reenrichment = section(
  'Weekend Salesforce re-enrichment',
  'Schedule `salesforce-weekend-reenrichment`, Saturday 02:00 UTC; `npx enrich reenrich`.',
  {
    REENRICH_STALE_DAYS: z.coerce
      .number()
      .int()
      .min(1)
      .default(90)
      .describe('Accounts enriched longer ago than this are stale'),
    REENRICH_INCOMPLETE_RETRY_DAYS: z.coerce
      .number()
      .int()
      .min(1)
      .default(6)
      .describe('Accounts missing a required ICP field are retried when their last attempt is older than this'),
    REENRICH_CREDIT_BUDGET: z.coerce
      .number()
      .int()
      .nonnegative()
      .default(500)
      .describe('Provider credits one run may spend (`npx enrich reenrich --budget N` overrides it)'),
    REENRICH_PAGE_SIZE: z.coerce
      .number()
      .int()
      .min(200)
      .max(2000)
      .default(200)
      .describe('Accounts per page (Sforce-Query-Options batchSize, 200..2000); one workflow run per page'),
    REENRICH_PROVIDERS: optionalString
      .transform((v) => v?.split(',').map((p) => p.trim()))
      .describe('Providers asked, in cost order. Unset: ENRICHMENT_PROVIDERS without clay (Clay answers by callback)'),
    REENRICH_EXCLUDED_DOMAINS: commaListOrNone('')
      .transform((domains) => domains.map((d) => d.toLowerCase()))
      .describe(
        'Comma-separated domains (and their subdomains) never re-enriched, besides personal-email and disposable ones',
      ),
    REENRICH_ORDER_BY: z
      .string()
      .trim()
      .min(1)
      .default(
        'Open_Opportunities__c DESC NULLS LAST, ICP_Tier__c ASC NULLS LAST, LastActivityDate DESC NULLS LAST, Id',
      )
      .describe('SOQL ORDER BY of the selection: most valuable first'),
    REENRICH_WHERE: z
      .string()
      .default('')
      .describe("An extra SOQL condition ANDed to the selection, e.g. `Type != 'Partner'`"),
    REENRICH_BULK_THRESHOLD: z.coerce
      .number()
      .int()
      .nonnegative()
      .default(1000)
      .describe(
        'A page with more updates than this is written back through one Bulk API 2.0 job instead of sObject Collections',
      ),
  },
);

const webhooks = section(
  'Signed outgoing webhooks',
  `Sandbox default: the sandbox's receiver \`/webhooks/default\` with secret \`${SANDBOX_WEBHOOK_SECRET}\`.`,
  {
    OUTGOING_WEBHOOK_URLS: commaListOrNone('')
      .pipe(z.array(z.url({ protocol: /^https?$/ })))
      .describe('Comma-separated URLs'),
    OUTGOING_WEBHOOK_SECRET: optionalString.describe('Required when URLs are set in live mode'),
  },
);

/** Every variable the pipeline reads, by section; `npm run config:docs` writes `.env.example` and the docs from it. */
export const ENV_SECTIONS = [
  waterfall,
  intake,
  ledger,
  temporal,
  scoring,
  starter,
  sandbox,
  hosts,
  credentials,
  fanOut,
  posthog,
  salesforce,
  slack,
  health,
  reenrichment,
  webhooks,
] as const;

const envSchema = z.object({
  ...waterfall.variables.shape,
  ...intake.variables.shape,
  ...ledger.variables.shape,
  ...temporal.variables.shape,
  ...scoring.variables.shape,
  ...starter.variables.shape,
  ...sandbox.variables.shape,
  ...hosts.variables.shape,
  ...credentials.variables.shape,
  ...fanOut.variables.shape,
  ...posthog.variables.shape,
  ...salesforce.variables.shape,
  ...slack.variables.shape,
  ...health.variables.shape,
  ...reenrichment.variables.shape,
  ...webhooks.variables.shape,
});
type Env = z.output<typeof envSchema>;

/**
 * Credentials each system needs in live mode; missing ones stop start-up, all named at once. A destination left out
 * of DESTINATIONS needs none (PostHog's stay required: the health check queries it).
 */
const LIVE_CREDENTIALS = {
  clearbit: ['CLEARBIT_API_KEY'],
  harmonic: ['HARMONIC_API_KEY'],
  clay: ['CLAY_WEBHOOK_URL', 'CLAY_WEBHOOK_AUTH'],
  posthog: ['POSTHOG_PROJECT_API_KEY', 'POSTHOG_PERSONAL_API_KEY', 'POSTHOG_PROJECT_ID'],
  salesforce: ['SALESFORCE_CLIENT_ID', 'SALESFORCE_CLIENT_SECRET'],
  vitally: ['VITALLY_API_KEY'],
  slack: ['SLACK_WEBHOOK_URL'],
} as const satisfies Record<ExternalSystem, readonly (keyof Env)[]>;

const isDestination = (system: string): system is Destination => DESTINATIONS.some((d) => d === system);
const isIcpField = (field: string): field is IcpField => ICP_FIELDS.some((f) => f === field);

/**
 * The configuration: the environment's variables, checked across each other (live credentials and secrets, the
 * field rules, the scoring file) and put in the shape the code reads.
 */
const configSchema = envSchema.transform((e, ctx) => {
  const live = e.ENRICHMENT_MODE === 'live';

  const problems: string[] = [];
  if (live) {
    const needed = SYSTEMS.filter(
      (system) => system === 'posthog' || !isDestination(system) || e.DESTINATIONS.includes(system),
    ).flatMap((system) => LIVE_CREDENTIALS[system]);
    const missing = needed.filter((name) => !e[name]);
    if (missing.length > 0) problems.push(`ENRICHMENT_MODE=live needs: ${missing.join(', ')}`);
    problems.push(...weakSecrets(e));
  }
  const fieldPreference = parsePreference(e.ENRICHMENT_FIELD_PREFERENCE, problems);
  const fieldPolicy = parseFieldPolicy(e.SALESFORCE_FIELD_POLICY, problems);
  const scoringConfig = loadScoringConfig(e.ICP_SCORING_CONFIG, problems);
  // Re-enrichment asks the synchronous providers: Clay answers by callback, row by row, and is left out by default.
  const synchronous = e.ENRICHMENT_PROVIDERS.filter((p) => p !== 'clay');
  const reenrichProviders: ProviderName[] = [];
  for (const name of e.REENRICH_PROVIDERS ?? synchronous) {
    const provider = synchronous.find((p) => p === name);
    if (provider) reenrichProviders.push(provider);
    else {
      problems.push(
        `REENRICH_PROVIDERS: "${name}" is not one of ENRICHMENT_PROVIDERS without clay (${synchronous.join(', ')})`,
      );
    }
  }
  if (problems.length > 0 || !scoringConfig) {
    for (const message of problems) ctx.issues.push({ code: 'custom', message, input: undefined });
    return z.NEVER;
  }

  const sandboxUrl = e.SANDBOX_URL.replace(/\/$/, '');
  const baseUrl = (system: ExternalSystem, explicit: string | undefined) => ({
    baseUrl: explicit ?? (live ? LIVE_BASE_URLS[system] : `${sandboxUrl}/${system}`),
  });
  const systems: Record<ExternalSystem, { baseUrl: string }> = {
    clearbit: baseUrl('clearbit', e.CLEARBIT_BASE_URL),
    harmonic: baseUrl('harmonic', e.HARMONIC_BASE_URL),
    clay: baseUrl('clay', e.CLAY_BASE_URL),
    posthog: baseUrl('posthog', e.POSTHOG_BASE_URL),
    salesforce: baseUrl('salesforce', e.SALESFORCE_BASE_URL),
    vitally: baseUrl('vitally', e.VITALLY_BASE_URL),
    slack: baseUrl('slack', e.SLACK_BASE_URL),
  };
  const slackWebhookUrl = e.SLACK_WEBHOOK_URL ?? (live ? undefined : `${systems.slack.baseUrl}${SANDBOX_SLACK_PATH}`);
  const highValue: HighValueRule = {
    tiers: e.SLACK_HIGH_VALUE_TIERS,
    minFundingUsd: e.SLACK_HIGH_VALUE_MIN_FUNDING_USD,
  };
  const healthRules: HealthRules = {
    minWrites: e.HEALTH_MIN_WRITES,
    minWriteRatio: e.HEALTH_MIN_WRITE_RATIO,
    trafficDropRatio: e.HEALTH_TRAFFIC_DROP_RATIO,
    trailingDays: e.HEALTH_TRAILING_DAYS,
  };
  const logLevel: string = e.LOG_LEVEL;
  const credentialNames = [
    ...SYSTEMS.flatMap((system) => LIVE_CREDENTIALS[system]),
    'SALESFORCE_USERNAME',
    'SALESFORCE_PASSWORD',
  ] as const;
  const credentialValues: Record<string, string | undefined> = Object.fromEntries(
    credentialNames.map((name) => [name, e[name]]),
  );

  return {
    mode: e.ENRICHMENT_MODE,
    providers: e.ENRICHMENT_PROVIDERS,
    /** Bearer secret of the signup endpoints (`/webhooks/posthog`, `/signups`) only. */
    webhookSecret: e.WEBHOOK_SECRET ?? DEV_WEBHOOK_SECRET,
    /** Bearer token of the operator API (`/admin/*`) and the `enrich` CLI. */
    adminToken: e.ADMIN_TOKEN ?? DEV_ADMIN_TOKEN,
    /** Bearer secret our Clay table's HTTP API column sends to `/webhooks/clay`; undefined (live, no Clay) refuses all. */
    clayCallbackSecret: e.CLAY_CALLBACK_SECRET ?? (live ? undefined : DEV_CLAY_CALLBACK_SECRET),
    /** Bearer token of `/metrics` when set; unset leaves it open (it holds counts, no personal data). */
    metricsToken: e.METRICS_TOKEN,
    signupEvents: e.SIGNUP_EVENTS,
    /** PostgreSQL URL; undefined means the embedded PGlite database under `dataDir`. */
    databaseUrl: e.DATABASE_URL,
    dataDir: e.DATA_DIR,
    temporal: {
      address: e.TEMPORAL_ADDRESS ?? `127.0.0.1:${e.TEMPORAL_DEV_PORT}`,
      namespace: e.TEMPORAL_NAMESPACE,
      taskQueue: e.TEMPORAL_TASK_QUEUE,
      external: e.TEMPORAL_ADDRESS !== undefined,
    },
    /** The dev server `npm start` runs unless `temporal.external` (TEMPORAL_DEV_PORT, TEMPORAL_DEV_UI_PORT). */
    devServer: { port: e.TEMPORAL_DEV_PORT, uiPort: e.TEMPORAL_DEV_UI_PORT },
    http: { host: e.HOST, port: e.PORT },
    /** The starter's operator API, for the `enrich` CLI (ENRICH_API_URL, else this host's PORT). */
    apiUrl: (e.ENRICH_API_URL ?? `http://127.0.0.1:${e.PORT}`).replace(/\/$/, ''),
    logLevel,
    /** The sandbox's address (sandbox mode); `npm start` runs it there when it is on this machine. */
    sandboxUrl,
    /** The ICP scoring rules (ICP_SCORING_CONFIG), validated at start-up. */
    scoring: scoringConfig,
    systems,
    /** Clearbit's Person/Combined API host (live: person.clearbit.com; sandbox: the Clearbit simulator). */
    clearbitPersonBaseUrl:
      e.CLEARBIT_PERSON_BASE_URL ?? (live ? LIVE_CLEARBIT_PERSON_BASE_URL : systems.clearbit.baseUrl),
    providerTimeoutMs: e.PROVIDER_TIMEOUT_MS,
    /** Where rows go (the table's webhook source) and how long to wait for the result before calling Clay silent. */
    clay: {
      webhookUrl:
        e.CLAY_WEBHOOK_URL ?? `${systems.clay.baseUrl}/v3/sources/webhook/pull-in-data-from-a-webhook-signups`,
      webhookAuth: e.CLAY_WEBHOOK_AUTH ?? 'sandbox-key',
      resultTimeoutMinutes: e.CLAY_RESULT_TIMEOUT_MINUTES,
    },
    enrichment: {
      requiredFields: e.ENRICHMENT_REQUIRED_FIELDS,
      fieldPreference,
      domainCacheDays: e.DOMAIN_CACHE_DAYS,
      creditsWaitMaxDays: e.CREDITS_WAIT_MAX_DAYS,
      queuedFollowUpHours: e.QUEUED_FOLLOW_UP_HOURS,
      /** A provider failing longer than this is skipped for the signup (recorded as `provider_outage`). */
      providerFallThroughMinutes: e.PROVIDER_FALLTHROUGH_MINUTES,
    },
    /** Where enriched signups are written, and how a write that fails is retried. */
    fanOut: {
      destinations: e.DESTINATIONS,
      timeoutMs: e.DESTINATION_TIMEOUT_MS,
      retry: {
        initialMs: e.WRITE_RETRY_INITIAL_SECONDS * 1000,
        maxMs: e.WRITE_RETRY_MAX_MINUTES * 60_000,
        giveUpMs: e.WRITE_GIVE_UP_HOURS * 3_600_000,
      },
    },
    posthog: {
      apiBaseUrl: e.POSTHOG_API_BASE_URL ?? (live ? LIVE_POSTHOG_API_BASE_URL : systems.posthog.baseUrl),
      projectId: e.POSTHOG_PROJECT_ID ?? '1',
      organizationGroupIndex: e.POSTHOG_ORGANIZATION_GROUP_INDEX,
    },
    salesforce: {
      apiVersion: e.SALESFORCE_API_VERSION,
      accountExternalIdField: e.SALESFORCE_ACCOUNT_EXTERNAL_ID_FIELD,
      contactExternalIdField: e.SALESFORCE_CONTACT_EXTERNAL_ID_FIELD,
      leadExternalIdField: e.SALESFORCE_LEAD_EXTERNAL_ID_FIELD,
      personalEmailPolicy: e.SALESFORCE_PERSONAL_EMAIL_POLICY,
      onDuplicate: e.SALESFORCE_ON_DUPLICATE,
      fieldPolicy,
      requestLimitWaitMs: e.SALESFORCE_REQUEST_LIMIT_WAIT_MINUTES * 60_000,
    },
    slack: {
      webhookUrl: slackWebhookUrl,
      quietWebhookUrl: e.SLACK_QUIET_WEBHOOK_URL,
      /** Where health alerts go (SLACK_ALERT_WEBHOOK_URL, else the high-value channel). */
      alertWebhookUrl: e.SLACK_ALERT_WEBHOOK_URL ?? slackWebhookUrl,
      highValue,
    },
    health: {
      rules: healthRules,
      /** Compare with PostHog's own signup counts (live mode by default). */
      posthogCheck: e.HEALTH_POSTHOG_CHECK === 'on' || (e.HEALTH_POSTHOG_CHECK === 'auto' && live),
      autoBackfill: e.HEALTH_AUTO_BACKFILL,
      backfillConcurrency: e.BACKFILL_CONCURRENCY,
    },
    /** The weekend Salesforce re-enrichment (REENRICH_*). */
    reenrichment: {
      staleDays: e.REENRICH_STALE_DAYS,
      incompleteRetryDays: e.REENRICH_INCOMPLETE_RETRY_DAYS,
      creditBudget: e.REENRICH_CREDIT_BUDGET,
      pageSize: e.REENRICH_PAGE_SIZE,
      providers: reenrichProviders,
      excludedDomains: e.REENRICH_EXCLUDED_DOMAINS,
      orderBy: e.REENRICH_ORDER_BY,
      extraWhere: e.REENRICH_WHERE,
      bulkThreshold: e.REENRICH_BULK_THRESHOLD,
    },
    webhooks: {
      urls: e.OUTGOING_WEBHOOK_URLS.length > 0 || live ? e.OUTGOING_WEBHOOK_URLS : [`${sandboxUrl}/webhooks/default`],
      secret: e.OUTGOING_WEBHOOK_SECRET ?? SANDBOX_WEBHOOK_SECRET,
    },
    /** Credentials by variable name; never logged. */
    credentials: credentialValues,
  };
});

export type Config = z.output<typeof configSchema>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Parses the environment once at start-up; throws a ConfigError naming every problem at once. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = configSchema.safeParse(env);
  if (!parsed.success) {
    // Only names and messages: a value could be a secret. The checks across variables name theirs in the message.
    throw new ConfigError(
      parsed.error.issues.map((i) => (i.path.length > 0 ? `${i.path.join('.')}: ${i.message}` : i.message)),
    );
  }
  return parsed.data;
}

/**
 * Live mode's secrets and tokens: each one needed must be set, at least MIN_SECRET_LENGTH characters and none of the
 * published sandbox defaults, and the three bearer credentials must differ (one leaked must not open the others).
 * Names only, never values.
 */
function weakSecrets(e: Env) {
  const published = new Set([DEV_WEBHOOK_SECRET, DEV_ADMIN_TOKEN, DEV_CLAY_CALLBACK_SECRET, SANDBOX_WEBHOOK_SECRET]);
  const clay = e.ENRICHMENT_PROVIDERS.includes('clay') || e.CLAY_CALLBACK_SECRET !== undefined;
  const needed = [
    'WEBHOOK_SECRET',
    'ADMIN_TOKEN',
    ...(clay ? ['CLAY_CALLBACK_SECRET' as const] : []),
    ...(e.METRICS_TOKEN !== undefined ? ['METRICS_TOKEN' as const] : []),
    ...(e.OUTGOING_WEBHOOK_URLS.length > 0 ? ['OUTGOING_WEBHOOK_SECRET' as const] : []),
  ] as const;
  const weak = needed.flatMap((name) => {
    const value = e[name];
    if (value === undefined) return [`${name} (unset)`];
    if (published.has(value)) return [`${name} (a sandbox default)`];
    if (value.length < MIN_SECRET_LENGTH) return [`${name} (shorter than ${MIN_SECRET_LENGTH} characters)`];
    return [];
  });
  const bearer = (['WEBHOOK_SECRET', 'ADMIN_TOKEN', 'CLAY_CALLBACK_SECRET', 'METRICS_TOKEN'] as const).filter(
    (name) => e[name] !== undefined,
  );
  const shared = bearer.filter((name, i) => bearer.some((other, j) => j !== i && e[other] === e[name]));
  return [
    ...(weak.length > 0
      ? [
          `ENRICHMENT_MODE=live needs secrets of at least ${MIN_SECRET_LENGTH} characters that are not a sandbox default: ${weak.join(', ')}`,
        ]
      : []),
    ...(shared.length > 0 ? [`ENRICHMENT_MODE=live needs a different value for each of ${shared.join(', ')}`] : []),
  ];
}

function loadScoringConfig(file: string, problems: string[]): ScoringConfig | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    problems.push(`ICP_SCORING_CONFIG: cannot read ${file}: ${err instanceof Error ? err.message : String(err)}`);
    return undefined;
  }
  const parsed = scoringConfigSchema.safeParse(raw);
  if (!parsed.success) {
    problems.push(...parsed.error.issues.map((i) => `ICP_SCORING_CONFIG (${file}) ${i.path.join('.')}: ${i.message}`));
    return undefined;
  }
  return parsed.data;
}

function parseFieldPolicy(value: string, problems: string[]): Record<string, FieldWritePolicy> {
  const policy: Record<string, FieldWritePolicy> = {};
  for (const entry of value
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean)) {
    const [field, mode] = entry.split('=').map((p) => p.trim());
    if (!field || !/^[A-Za-z][A-Za-z0-9_]*$/.test(field) || (mode !== 'overwrite' && mode !== 'fill_empty')) {
      problems.push(`SALESFORCE_FIELD_POLICY: "${entry}" is not Field=overwrite or Field=fill_empty`);
      continue;
    }
    policy[field] = mode;
  }
  return policy;
}

function parsePreference(value: string, problems: string[]): FieldPreference {
  const preference: FieldPreference = {};
  for (const entry of value
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean)) {
    const [field, ranking] = entry.split('=');
    const sources = ranking?.split('>').map((s) => s.trim()) ?? [];
    if (!field || !isIcpField(field) || sources.length === 0 || sources.some((s) => !s)) {
      problems.push(`ENRICHMENT_FIELD_PREFERENCE: "${entry}" is not field=provider>provider with a known field`);
      continue;
    }
    preference[field] = sources;
  }
  return preference;
}
