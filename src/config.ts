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

/**
 * Credentials each system needs in live mode; missing ones stop start-up, all named at once. A destination left out
 * of DESTINATIONS needs none (PostHog's stay required: the health check queries it).
 */
const LIVE_CREDENTIALS: Record<ExternalSystem, readonly string[]> = {
  clearbit: ['CLEARBIT_API_KEY'],
  harmonic: ['HARMONIC_API_KEY'],
  clay: ['CLAY_WEBHOOK_URL', 'CLAY_WEBHOOK_AUTH'],
  posthog: ['POSTHOG_PROJECT_API_KEY', 'POSTHOG_PERSONAL_API_KEY', 'POSTHOG_PROJECT_ID'],
  salesforce: ['SALESFORCE_CLIENT_ID', 'SALESFORCE_CLIENT_SECRET'],
  vitally: ['VITALLY_API_KEY'],
  slack: ['SLACK_WEBHOOK_URL'],
};

/** Sandbox-mode defaults, so `npm start` and `npx enrich` work with no setup; live mode refuses every one of them. */
export const DEV_WEBHOOK_SECRET = 'dev-webhook-secret';
export const DEV_ADMIN_TOKEN = 'dev-admin-token';
export const DEV_CLAY_CALLBACK_SECRET = 'dev-clay-callback-secret';
/** The shortest secret or token live mode accepts. */
export const MIN_SECRET_LENGTH = 24;
const DEFAULT_SANDBOX_URL = 'http://127.0.0.1:4010';

const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

const port = z.coerce.number().int().min(1).max(65535);

const envSchema = z.object({
  ENRICHMENT_MODE: z.enum(['sandbox', 'live']).default('sandbox'),
  ENRICHMENT_PROVIDERS: z
    .string()
    .default('clearbit,harmonic,clay')
    .transform((v) => v.split(',').map((p) => p.trim()))
    .pipe(z.array(z.enum(COMPANY_PROVIDERS)).min(1)),
  WEBHOOK_SECRET: optionalString,
  ADMIN_TOKEN: optionalString,
  CLAY_CALLBACK_SECRET: optionalString,
  METRICS_TOKEN: optionalString,
  SIGNUP_EVENTS: z
    .string()
    .default('user signed up,user_signed_up')
    .transform((v) => v.split(',').map((e) => e.trim()))
    .pipe(z.array(z.string().min(1)).min(1)),
  DATABASE_URL: optionalString.pipe(z.url({ protocol: /^postgres(ql)?$/ }).optional()),
  DATA_DIR: z.string().default('.data'),
  TEMPORAL_ADDRESS: optionalString,
  // The dev server `npm start` runs when TEMPORAL_ADDRESS is unset: its gRPC and Web UI ports on 127.0.0.1.
  TEMPORAL_DEV_PORT: port.default(7233),
  TEMPORAL_DEV_UI_PORT: port.default(8233),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default(DEFAULT_TASK_QUEUE),
  HOST: z.string().default('127.0.0.1'),
  PORT: port.default(3000),
  SANDBOX_URL: z.url().default(DEFAULT_SANDBOX_URL),
  // Empty means the default, as for every optional variable (so an exported .env.example works as is).
  ICP_SCORING_CONFIG: optionalString.transform((v) => v ?? path.resolve(__dirname, '..', 'config', 'icp-scoring.json')),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  ...Object.fromEntries(SYSTEMS.map((s) => [`${s.toUpperCase()}_BASE_URL`, optionalString.pipe(z.url().optional())])),
  ...Object.fromEntries(Object.values(LIVE_CREDENTIALS).flatMap((names) => names.map((n) => [n, optionalString]))),
  CLEARBIT_PERSON_BASE_URL: optionalString.pipe(z.url().optional()),
  ENRICHMENT_REQUIRED_FIELDS: z
    .string()
    .default('companyName,employees,industry,country')
    .transform((v) => v.split(',').map((f) => f.trim()))
    .pipe(z.array(z.enum(ICP_FIELDS as [IcpField, ...IcpField[]])).min(1)),
  // field=best>next>..., comma-separated
  ENRICHMENT_FIELD_PREFERENCE: z
    .string()
    .default('industry=harmonic>clearbit>clay,industryTags=harmonic>clearbit>clay'),
  DOMAIN_CACHE_DAYS: z.coerce.number().nonnegative().default(30),
  CREDITS_WAIT_MAX_DAYS: z.coerce.number().positive().default(7),
  QUEUED_FOLLOW_UP_HOURS: z.coerce.number().nonnegative().default(48),
  // How long a provider may keep failing (5xx, timeouts, 429s) before a signup skips it for the next provider.
  PROVIDER_FALLTHROUGH_MINUTES: z.coerce.number().positive().default(30),
  CLAY_RESULT_TIMEOUT_MINUTES: z.coerce.number().positive().default(60),
  PROVIDER_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),
  SALESFORCE_USERNAME: optionalString,
  SALESFORCE_PASSWORD: optionalString,
  DESTINATIONS: z
    .string()
    .default(DESTINATIONS.join(','))
    .transform((v) =>
      v
        .split(',')
        .map((d) => d.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.enum(DESTINATIONS))),
  DESTINATION_TIMEOUT_MS: z.coerce.number().int().positive().default(15_000),
  WRITE_RETRY_INITIAL_SECONDS: z.coerce.number().positive().default(30),
  WRITE_RETRY_MAX_MINUTES: z.coerce.number().positive().default(60),
  WRITE_GIVE_UP_HOURS: z.coerce.number().positive().default(72),
  POSTHOG_API_BASE_URL: optionalString.pipe(z.url().optional()),
  POSTHOG_ORGANIZATION_GROUP_INDEX: z.coerce.number().int().min(0).max(4).default(0),
  SALESFORCE_API_VERSION: z
    .string()
    .regex(/^\d+\.0$/, 'like 62.0')
    .default('62.0'),
  SALESFORCE_ACCOUNT_EXTERNAL_ID_FIELD: z.string().min(1).default('Company_Domain__c'),
  SALESFORCE_CONTACT_EXTERNAL_ID_FIELD: z.string().min(1).default('Signup_Person_Id__c'),
  SALESFORCE_LEAD_EXTERNAL_ID_FIELD: z.string().min(1).default('Signup_Person_Id__c'),
  ENRICH_API_URL: optionalString.pipe(z.url().optional()),
  HEALTH_MIN_WRITES: z.coerce.number().int().nonnegative().default(250),
  HEALTH_MIN_WRITE_RATIO: z.coerce.number().min(0).max(1).default(0.5),
  HEALTH_TRAFFIC_DROP_RATIO: z.coerce.number().min(0).max(1).default(0.5),
  HEALTH_TRAILING_DAYS: z.coerce.number().int().min(1).max(60).default(7),
  HEALTH_AUTO_BACKFILL: z
    .enum(['true', 'false'])
    .default('true')
    .transform((v) => v === 'true'),
  HEALTH_POSTHOG_CHECK: z.enum(['auto', 'on', 'off']).default('auto'),
  BACKFILL_CONCURRENCY: z.coerce.number().int().min(1).max(100).default(5),
  SLACK_ALERT_WEBHOOK_URL: optionalString.pipe(z.url().optional()),
  REENRICH_STALE_DAYS: z.coerce.number().int().min(1).default(90),
  REENRICH_INCOMPLETE_RETRY_DAYS: z.coerce.number().int().min(1).default(6),
  REENRICH_CREDIT_BUDGET: z.coerce.number().int().nonnegative().default(500),
  REENRICH_PAGE_SIZE: z.coerce.number().int().min(200).max(2000).default(200),
  REENRICH_PROVIDERS: optionalString.transform((v) => v?.split(',').map((p) => p.trim())),
  REENRICH_EXCLUDED_DOMAINS: z
    .string()
    .default('')
    .transform((v) =>
      v
        .split(',')
        .map((d) => d.trim().toLowerCase())
        .filter(Boolean),
    ),
  REENRICH_ORDER_BY: z
    .string()
    .trim()
    .min(1)
    .default('Open_Opportunities__c DESC NULLS LAST, ICP_Tier__c ASC NULLS LAST, LastActivityDate DESC NULLS LAST, Id'),
  REENRICH_WHERE: z.string().default(''),
  REENRICH_BULK_THRESHOLD: z.coerce.number().int().nonnegative().default(1000),
  SALESFORCE_PERSONAL_EMAIL_POLICY: z.enum(['skip', 'lead']).default('skip'),
  SALESFORCE_ON_DUPLICATE: z.enum(['adopt', 'fail']).default('adopt'),
  // Field=overwrite|fill_empty, comma-separated, on top of the documented defaults
  SALESFORCE_FIELD_POLICY: z.string().default(''),
  SALESFORCE_REQUEST_LIMIT_WAIT_MINUTES: z.coerce.number().positive().default(60),
  SLACK_QUIET_WEBHOOK_URL: optionalString.pipe(z.url().optional()),
  SLACK_HIGH_VALUE_TIERS: z
    .string()
    .default('A')
    .transform((v) =>
      v
        .split(',')
        .map((t) => t.trim())
        .filter(Boolean),
    ),
  SLACK_HIGH_VALUE_MIN_FUNDING_USD: optionalString.pipe(
    z.coerce.number<string | undefined>().nonnegative().default(20_000_000),
  ),
  OUTGOING_WEBHOOK_URLS: z
    .string()
    .optional()
    .transform((v) =>
      (v ?? '')
        .split(',')
        .map((u) => u.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.url({ protocol: /^https?$/ }))),
  OUTGOING_WEBHOOK_SECRET: optionalString,
});

export interface Config {
  mode: 'sandbox' | 'live';
  providers: ProviderName[];
  /** Bearer secret of the signup endpoints (`/webhooks/posthog`, `/signups`) only. */
  webhookSecret: string;
  /** Bearer token of the operator API (`/admin/*`) and the `enrich` CLI. */
  adminToken: string;
  /** Bearer secret our Clay table's HTTP API column sends to `/webhooks/clay`; undefined (live, no Clay) refuses all. */
  clayCallbackSecret: string | undefined;
  /** Bearer token of `/metrics` when set; unset leaves it open (it holds counts, no personal data). */
  metricsToken: string | undefined;
  signupEvents: string[];
  /** PostgreSQL URL; undefined means the embedded PGlite database under `dataDir`. */
  databaseUrl: string | undefined;
  dataDir: string;
  temporal: { address: string; namespace: string; taskQueue: string; external: boolean };
  /** The dev server `npm start` runs unless `temporal.external` (TEMPORAL_DEV_PORT, TEMPORAL_DEV_UI_PORT). */
  devServer: { port: number; uiPort: number };
  http: { host: string; port: number };
  /** The starter's operator API, for the `enrich` CLI (ENRICH_API_URL, else this host's PORT). */
  apiUrl: string;
  logLevel: string;
  /** The sandbox's address (sandbox mode); `npm start` runs it there when it is on this machine. */
  sandboxUrl: string;
  /** The ICP scoring rules (ICP_SCORING_CONFIG), validated at start-up. */
  scoring: ScoringConfig;
  systems: Record<ExternalSystem, { baseUrl: string }>;
  /** Clearbit's Person/Combined API host (live: person.clearbit.com; sandbox: the Clearbit simulator). */
  clearbitPersonBaseUrl: string;
  providerTimeoutMs: number;
  /** Where rows go (the table's webhook source) and how long to wait for the result before calling Clay silent. */
  clay: { webhookUrl: string; webhookAuth: string; resultTimeoutMinutes: number };
  enrichment: {
    requiredFields: IcpField[];
    fieldPreference: FieldPreference;
    domainCacheDays: number;
    creditsWaitMaxDays: number;
    queuedFollowUpHours: number;
    /** A provider failing longer than this is skipped for the signup (recorded as `provider_outage`). */
    providerFallThroughMinutes: number;
  };
  /** Where enriched signups are written, and how a write that fails is retried. */
  fanOut: {
    destinations: Destination[];
    timeoutMs: number;
    retry: { initialMs: number; maxMs: number; giveUpMs: number };
  };
  posthog: { apiBaseUrl: string; projectId: string; organizationGroupIndex: number };
  salesforce: {
    apiVersion: string;
    accountExternalIdField: string;
    contactExternalIdField: string;
    leadExternalIdField: string;
    personalEmailPolicy: 'skip' | 'lead';
    onDuplicate: 'adopt' | 'fail';
    fieldPolicy: Record<string, FieldWritePolicy>;
    requestLimitWaitMs: number;
  };
  slack: {
    webhookUrl: string | undefined;
    quietWebhookUrl: string | undefined;
    /** Where health alerts go (SLACK_ALERT_WEBHOOK_URL, else the high-value channel). */
    alertWebhookUrl: string | undefined;
    highValue: HighValueRule;
  };
  health: {
    rules: HealthRules;
    /** Compare with PostHog's own signup counts (live mode by default). */
    posthogCheck: boolean;
    autoBackfill: boolean;
    backfillConcurrency: number;
  };
  /** The weekend Salesforce re-enrichment (REENRICH_*). */
  reenrichment: {
    staleDays: number;
    incompleteRetryDays: number;
    creditBudget: number;
    pageSize: number;
    providers: ProviderName[];
    excludedDomains: string[];
    orderBy: string;
    extraWhere: string;
    bulkThreshold: number;
  };
  webhooks: { urls: string[]; secret: string };
  /** Credentials by variable name; never logged. */
  credentials: Record<string, string | undefined>;
}

/** The sandbox's defaults, used only in sandbox mode. */
const SANDBOX_SLACK_PATH = '/services/T0SANDBOX/B0HIGHVALUE/sandbox-token';
const SANDBOX_WEBHOOK_SECRET = 'sandbox-webhook-secret';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Parses the environment once at start-up; throws a ConfigError naming every problem at once. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    // Only names and messages: a value could be a secret.
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  }
  const e = parsed.data as z.infer<typeof envSchema> & Record<string, string | undefined>;
  const live = e.ENRICHMENT_MODE === 'live';

  const problems: string[] = [];
  if (live) {
    const needed = (Object.entries(LIVE_CREDENTIALS) as [ExternalSystem, readonly string[]][])
      .filter(
        ([system]) =>
          system === 'posthog' ||
          !(DESTINATIONS as readonly string[]).includes(system) ||
          e.DESTINATIONS.includes(system as Destination),
      )
      .flatMap(([, names]) => names);
    const missing = needed.filter((name) => !e[name]);
    if (missing.length > 0) problems.push(`ENRICHMENT_MODE=live needs: ${missing.join(', ')}`);
    problems.push(...weakSecrets(e));
  }
  const fieldPreference = parsePreference(e.ENRICHMENT_FIELD_PREFERENCE, problems);
  const fieldPolicy = parseFieldPolicy(e.SALESFORCE_FIELD_POLICY, problems);
  const scoring = loadScoringConfig(e.ICP_SCORING_CONFIG, problems);
  // Re-enrichment asks the synchronous providers: Clay answers by callback, row by row, and is left out by default.
  const reenrichProviders = (e.REENRICH_PROVIDERS ??
    e.ENRICHMENT_PROVIDERS.filter((p) => p !== 'clay')) as ProviderName[];
  for (const p of reenrichProviders) {
    if (!e.ENRICHMENT_PROVIDERS.includes(p) || p === 'clay') {
      problems.push(
        `REENRICH_PROVIDERS: "${p}" is not one of ENRICHMENT_PROVIDERS without clay (${e.ENRICHMENT_PROVIDERS.filter((x) => x !== 'clay').join(', ')})`,
      );
    }
  }
  if (problems.length > 0 || !scoring) throw new ConfigError(problems);

  const sandboxUrl = e.SANDBOX_URL.replace(/\/$/, '');
  const systems = Object.fromEntries(
    SYSTEMS.map((s) => [
      s,
      { baseUrl: e[`${s.toUpperCase()}_BASE_URL`] ?? (live ? LIVE_BASE_URLS[s] : `${sandboxUrl}/${s}`) },
    ]),
  ) as Config['systems'];

  const slackWebhookUrl = e.SLACK_WEBHOOK_URL ?? (live ? undefined : `${systems.slack.baseUrl}${SANDBOX_SLACK_PATH}`);
  return {
    mode: e.ENRICHMENT_MODE,
    providers: e.ENRICHMENT_PROVIDERS,
    webhookSecret: e.WEBHOOK_SECRET ?? DEV_WEBHOOK_SECRET,
    adminToken: e.ADMIN_TOKEN ?? DEV_ADMIN_TOKEN,
    clayCallbackSecret: e.CLAY_CALLBACK_SECRET ?? (live ? undefined : DEV_CLAY_CALLBACK_SECRET),
    metricsToken: e.METRICS_TOKEN,
    signupEvents: e.SIGNUP_EVENTS,
    databaseUrl: e.DATABASE_URL,
    dataDir: e.DATA_DIR,
    temporal: {
      address: e.TEMPORAL_ADDRESS ?? `127.0.0.1:${e.TEMPORAL_DEV_PORT}`,
      namespace: e.TEMPORAL_NAMESPACE,
      taskQueue: e.TEMPORAL_TASK_QUEUE,
      external: e.TEMPORAL_ADDRESS !== undefined,
    },
    devServer: { port: e.TEMPORAL_DEV_PORT, uiPort: e.TEMPORAL_DEV_UI_PORT },
    http: { host: e.HOST, port: e.PORT },
    apiUrl: (e.ENRICH_API_URL ?? `http://127.0.0.1:${e.PORT}`).replace(/\/$/, ''),
    logLevel: e.LOG_LEVEL,
    sandboxUrl,
    scoring,
    systems,
    clearbitPersonBaseUrl:
      e.CLEARBIT_PERSON_BASE_URL ?? (live ? 'https://person.clearbit.com' : systems.clearbit.baseUrl),
    providerTimeoutMs: e.PROVIDER_TIMEOUT_MS,
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
      providerFallThroughMinutes: e.PROVIDER_FALLTHROUGH_MINUTES,
    },
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
      apiBaseUrl: e.POSTHOG_API_BASE_URL ?? (live ? 'https://us.posthog.com' : systems.posthog.baseUrl),
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
      alertWebhookUrl: e.SLACK_ALERT_WEBHOOK_URL ?? slackWebhookUrl,
      highValue: { tiers: e.SLACK_HIGH_VALUE_TIERS, minFundingUsd: e.SLACK_HIGH_VALUE_MIN_FUNDING_USD },
    },
    health: {
      rules: {
        minWrites: e.HEALTH_MIN_WRITES,
        minWriteRatio: e.HEALTH_MIN_WRITE_RATIO,
        trafficDropRatio: e.HEALTH_TRAFFIC_DROP_RATIO,
        trailingDays: e.HEALTH_TRAILING_DAYS,
      },
      posthogCheck: e.HEALTH_POSTHOG_CHECK === 'on' || (e.HEALTH_POSTHOG_CHECK === 'auto' && live),
      autoBackfill: e.HEALTH_AUTO_BACKFILL,
      backfillConcurrency: e.BACKFILL_CONCURRENCY,
    },
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
    credentials: Object.fromEntries(
      [...Object.values(LIVE_CREDENTIALS).flat(), 'SALESFORCE_USERNAME', 'SALESFORCE_PASSWORD'].map((n) => [n, e[n]]),
    ),
  };
}

/**
 * Live mode's secrets and tokens: each one needed must be set, at least MIN_SECRET_LENGTH characters and none of the
 * published sandbox defaults, and the three bearer credentials must differ (one leaked must not open the others).
 * Names only, never values.
 */
function weakSecrets(e: Record<string, unknown> & { ENRICHMENT_PROVIDERS: string[]; OUTGOING_WEBHOOK_URLS: string[] }) {
  const published = new Set([DEV_WEBHOOK_SECRET, DEV_ADMIN_TOKEN, DEV_CLAY_CALLBACK_SECRET, SANDBOX_WEBHOOK_SECRET]);
  const clay = e.ENRICHMENT_PROVIDERS.includes('clay') || e.CLAY_CALLBACK_SECRET !== undefined;
  const needed = [
    'WEBHOOK_SECRET',
    'ADMIN_TOKEN',
    ...(clay ? ['CLAY_CALLBACK_SECRET'] : []),
    ...(e.METRICS_TOKEN !== undefined ? ['METRICS_TOKEN'] : []),
    ...(e.OUTGOING_WEBHOOK_URLS.length > 0 ? ['OUTGOING_WEBHOOK_SECRET'] : []),
  ];
  const weak = needed.flatMap((name) => {
    const value = e[name] as string | undefined;
    if (value === undefined) return [`${name} (unset)`];
    if (published.has(value)) return [`${name} (a sandbox default)`];
    if (value.length < MIN_SECRET_LENGTH) return [`${name} (shorter than ${MIN_SECRET_LENGTH} characters)`];
    return [];
  });
  const bearer = ['WEBHOOK_SECRET', 'ADMIN_TOKEN', 'CLAY_CALLBACK_SECRET', 'METRICS_TOKEN'].filter(
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
    problems.push(`ICP_SCORING_CONFIG: cannot read ${file}: ${(err as Error).message}`);
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
    if (!field || !(ICP_FIELDS as string[]).includes(field) || sources.length === 0 || sources.some((s) => !s)) {
      problems.push(`ENRICHMENT_FIELD_PREFERENCE: "${entry}" is not field=provider>provider with a known field`);
      continue;
    }
    preference[field as IcpField] = sources;
  }
  return preference;
}
