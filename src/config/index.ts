import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { FieldPreference } from '../domain/enrichment/merge';
import type { PersonLookupRule } from '../domain/enrichment/waterfall';
import { ICP_FIELDS, type IcpField } from '../domain/icp/fields';
import { scoringConfigSchema, type ScoringConfig } from '../domain/icp/scoring-schema';
import type { HealthRules } from '../domain/health';
import { DESTINATIONS, type Destination, type HighValueRule } from '../domain/fan-out';
import type { ProviderName } from '../domain/provider-outcome';
import type { FieldWritePolicy } from '../integrations/salesforce/mapping';
import { parseCodecKeys } from '../temporal/codec';
import { resolveTemporal } from '../temporal/connection';
import {
  DEV_ADMIN_TOKEN,
  DEV_CLAY_CALLBACK_SECRET,
  DEV_PII_HASH_KEY,
  DEV_WEBHOOK_SECRET,
  envSchema,
  isSecretVariable,
  LIVE_BASE_URLS,
  LIVE_CLEARBIT_PERSON_BASE_URL,
  LIVE_CUSTOMERIO_TRACK_URLS,
  LIVE_MIXPANEL_API_URL,
  LIVE_CLOSE_API_URL,
  LIVE_POSTHOG_API_BASE_URL,
  MIN_SECRET_LENGTH,
  SANDBOX_SLACK_PATH,
  SANDBOX_WEBHOOK_SECRET,
  SYSTEMS,
  type Env,
  type ExternalSystem,
} from './variables';

export {
  DEV_ADMIN_TOKEN,
  DEV_CLAY_CALLBACK_SECRET,
  DEV_PII_HASH_KEY,
  DEV_WEBHOOK_SECRET,
  ENV_SECTIONS,
  MIN_SECRET_LENGTH,
  type ExternalSystem,
} from './variables';

/**
 * Credentials each system needs in live mode; missing ones stop start-up, all named at once. A destination left out
 * of DESTINATIONS needs none (PostHog's stay required: the health check queries it).
 */
export const LIVE_CREDENTIALS = {
  clearbit: ['CLEARBIT_API_KEY'],
  harmonic: ['HARMONIC_API_KEY'],
  clay: ['CLAY_WEBHOOK_URL', 'CLAY_WEBHOOK_AUTH'],
  posthog: ['POSTHOG_PROJECT_API_KEY', 'POSTHOG_PERSONAL_API_KEY', 'POSTHOG_PROJECT_ID'],
  salesforce: ['SALESFORCE_CLIENT_ID', 'SALESFORCE_CLIENT_SECRET'],
  vitally: ['VITALLY_API_KEY'],
  slack: ['SLACK_WEBHOOK_URL'],
} as const satisfies Record<ExternalSystem, readonly (keyof Env)[]>;

/** Credentials of the destinations that are not SYSTEMS (their URLs have variables of their own). */
export const LIVE_DESTINATION_CREDENTIALS = {
  customerio: ['CUSTOMERIO_SITE_ID', 'CUSTOMERIO_API_KEY'],
  // And its `/import` credential, either of two (mixpanelImportAuth).
  mixpanel: ['MIXPANEL_PROJECT_TOKEN'],
  close: ['CLOSE_API_KEY'],
} as const satisfies Partial<Record<Destination, readonly (keyof Env)[]>>;

/** A service account of the Mixpanel project (Mixpanel's recommended `/import` authentication), all three or none. */
export const MIXPANEL_SERVICE_ACCOUNT = [
  'MIXPANEL_SERVICE_ACCOUNT_USERNAME',
  'MIXPANEL_SERVICE_ACCOUNT_SECRET',
  'MIXPANEL_PROJECT_ID',
] as const satisfies readonly (keyof Env)[];

/**
 * How `/import` is authenticated: the service account when its three variables are set, else the legacy API secret
 * (the sandbox's key in sandbox mode). A partial service account is a problem in any mode (it would silently fall back
 * to the secret); live mode with `mixpanel` in DESTINATIONS needs one of the two complete.
 */
function mixpanelImportAuth(e: Env, live: boolean, problems: string[]): 'service_account' | 'api_secret' {
  const set = MIXPANEL_SERVICE_ACCOUNT.filter((name) => e[name] !== undefined);
  if (set.length === MIXPANEL_SERVICE_ACCOUNT.length) return 'service_account';
  if (set.length > 0) {
    const missing = MIXPANEL_SERVICE_ACCOUNT.filter((name) => e[name] === undefined);
    problems.push(
      `a Mixpanel service account needs ${MIXPANEL_SERVICE_ACCOUNT.join(', ')}: ${set.join(', ')} set, ` +
        `${missing.join(', ')} missing`,
    );
  } else if (live && e.DESTINATIONS.includes('mixpanel') && e.MIXPANEL_API_SECRET === undefined) {
    problems.push(
      `ENRICHMENT_MODE=live needs a Mixpanel credential for /import (DESTINATIONS has mixpanel): a service account ` +
        `(${MIXPANEL_SERVICE_ACCOUNT.join(', ')}) or, the legacy way, MIXPANEL_API_SECRET`,
    );
  }
  return 'api_secret';
}

const isDestination = (system: string): system is Destination => DESTINATIONS.some((d) => d === system);
const isIcpField = (field: string): field is IcpField => ICP_FIELDS.some((f) => f === field);

/**
 * The configuration: the environment's variables, checked across each other (live credentials and secrets, the
 * field rules, the scoring file, the Temporal connection and its temporal.toml profile) and put in the shape the code
 * reads. The whole environment goes along: @temporalio/envconfig also reads TEMPORAL_GRPC_META_* and HOME.
 */
const configSchema = (env: NodeJS.ProcessEnv) => envSchema.transform((e, ctx) => toConfig(e, ctx, env));

function toConfig(e: Env, ctx: z.core.$RefinementCtx<Env>, env: NodeJS.ProcessEnv) {
  const live = e.ENRICHMENT_MODE === 'live';

  const problems: string[] = [];
  if (live) {
    const needed: (keyof Env)[] = SYSTEMS.filter(
      (system) => system === 'posthog' || !isDestination(system) || e.DESTINATIONS.includes(system),
    ).flatMap((system) => LIVE_CREDENTIALS[system]);
    const missing = [
      ...needed,
      ...Object.entries(LIVE_DESTINATION_CREDENTIALS)
        .filter(([destination]) => e.DESTINATIONS.some((d) => d === destination))
        .flatMap(([, names]) => names),
    ].filter((name) => !e[name]);
    if (missing.length > 0) problems.push(`ENRICHMENT_MODE=live needs: ${missing.join(', ')}`);
    problems.push(...weakSecrets(e));
    if (e.DESTINATIONS.includes('humanic') && e.HUMANIC_WEBHOOK_URL === undefined) {
      problems.push('ENRICHMENT_MODE=live needs HUMANIC_WEBHOOK_URL (DESTINATIONS has humanic)');
    }
    if (e.PAYLOAD_CODEC_KEYS === undefined) {
      problems.push(
        'ENRICHMENT_MODE=live needs PAYLOAD_CODEC_KEYS (<keyId>:<base64 of 32 bytes>; a key: openssl rand -base64 32)',
      );
    }
  }
  const mixpanelAuth = mixpanelImportAuth(e, live, problems);
  const codecKeys = e.PAYLOAD_CODEC_KEYS === undefined ? undefined : parseCodecKeys(e.PAYLOAD_CODEC_KEYS, problems);
  const fieldPreference = parsePreference(e.ENRICHMENT_FIELD_PREFERENCE, problems);
  const fieldPolicy = parseFieldPolicy(e.SALESFORCE_FIELD_POLICY, problems);
  const scoringConfig = loadScoringConfig(e.ICP_SCORING_CONFIG, problems);
  const temporal = resolveTemporal(env, `127.0.0.1:${e.TEMPORAL_DEV_PORT}`, problems);
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
  // A signup followed up (or waiting for Clay) reads the answers it archived: they must outlive the follow-up.
  const followUpHours = Math.max(e.QUEUED_FOLLOW_UP_HOURS, e.CLAY_RESULT_TIMEOUT_MINUTES / 60);
  if (e.RAW_DATA_RETENTION_DAYS * 24 <= followUpHours) {
    problems.push(
      `RAW_DATA_RETENTION_DAYS (${e.RAW_DATA_RETENTION_DAYS}) must be longer than QUEUED_FOLLOW_UP_HOURS and ` +
        `CLAY_RESULT_TIMEOUT_MINUTES (${followUpHours} hours): the purge would remove answers a follow-up still reads`,
    );
  }
  if (e.VITALLY_ACCOUNTS === 'salesforce_sync' && e.DESTINATIONS.includes('vitally')) {
    if (!e.DESTINATIONS.includes('salesforce')) {
      problems.push('VITALLY_ACCOUNTS=salesforce_sync needs salesforce in DESTINATIONS (the sync reads its Accounts)');
    }
  }
  if (problems.length > 0 || !scoringConfig || !temporal) {
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
    ...Object.values(LIVE_DESTINATION_CREDENTIALS).flat(),
    'SALESFORCE_USERNAME',
    'SALESFORCE_PASSWORD',
    'CLOSE_API_KEY',
    'MIXPANEL_API_SECRET',
    'MIXPANEL_SERVICE_ACCOUNT_USERNAME',
    'MIXPANEL_SERVICE_ACCOUNT_SECRET',
  ] as const;
  const credentialValues: Record<string, string | undefined> = Object.fromEntries(
    credentialNames.map((name) => [name, e[name]]),
  );

  const webhookSecret = e.WEBHOOK_SECRET ?? DEV_WEBHOOK_SECRET;
  const adminToken = e.ADMIN_TOKEN ?? DEV_ADMIN_TOKEN;
  const clayCallbackSecret = e.CLAY_CALLBACK_SECRET ?? (live ? undefined : DEV_CLAY_CALLBACK_SECRET);
  const piiHashKey = e.PII_HASH_KEY ?? DEV_PII_HASH_KEY;
  const clayWebhookAuth = e.CLAY_WEBHOOK_AUTH ?? 'sandbox-key';
  const outgoingWebhookSecret = e.OUTGOING_WEBHOOK_SECRET ?? SANDBOX_WEBHOOK_SECRET;
  // Every secret variable of the schema, the defaults that stand in for them, and the secrets of the Temporal
  // connection (its profile's API key and gRPC metadata) and of DATABASE_URL (its password).
  const secrets = [
    ...Object.keys(envSchema.shape)
      .filter(isSecretVariable)
      .flatMap((name) => {
        const value: unknown = e[name as keyof Env];
        return typeof value === 'string' ? [value] : Array.isArray(value) ? value.map(String) : [];
      }),
    webhookSecret,
    adminToken,
    clayCallbackSecret,
    piiHashKey,
    clayWebhookAuth,
    outgoingWebhookSecret,
    slackWebhookUrl,
    temporal.connection.apiKey,
    ...Object.values(temporal.connection.metadata ?? {}),
    ...databasePassword(e.DATABASE_URL),
    // Each payload codec key as written (base64), besides the whole PAYLOAD_CODEC_KEYS value.
    ...(codecKeys ?? []).map((k) => k.key.toString('base64')),
  ].filter((value): value is string => typeof value === 'string' && value !== '');

  return {
    mode: e.ENRICHMENT_MODE,
    providers: e.ENRICHMENT_PROVIDERS,
    /** Bearer secret of the signup endpoints (`/webhooks/posthog`, `/signups`) only. */
    webhookSecret,
    /** Bearer token of the operator API (`/admin/*`) and the `enrich` CLI. */
    adminToken,
    /** Bearer secret our Clay table's HTTP API column sends to `/webhooks/clay`; undefined (live, no Clay) refuses all. */
    clayCallbackSecret,
    /** Bearer token of `/metrics` when set; unset leaves it open (it holds counts, no personal data). */
    metricsToken: e.METRICS_TOKEN,
    /** Key of the keyed hashes that stand for a person (PII_HASH_KEY; the published dev key in sandbox mode). */
    piiHashKey,
    /** How long raw data (payloads, provider answers) is kept: RAW_DATA_RETENTION_DAYS. */
    retention: { rawDataDays: e.RAW_DATA_RETENTION_DAYS },
    /**
     * Encryption of Temporal payloads (PAYLOAD_CODEC_KEYS): the first key encrypts, all decrypt; undefined: off.
     * Holds keys: never logged. Every client and worker takes it through src/temporal/codec.ts's `dataConverter`.
     */
    payloadCodec: codecKeys && codecKeys.length > 0 ? { keys: codecKeys } : undefined,
    /** Origins of the Web UI allowed to call the codec endpoint from the browser (CODEC_CORS_ORIGINS). */
    codecCorsOrigins: (e.CODEC_CORS_ORIGINS.length > 0
      ? e.CODEC_CORS_ORIGINS
      : live
        ? []
        : [`http://127.0.0.1:${e.TEMPORAL_DEV_UI_PORT}`, `http://localhost:${e.TEMPORAL_DEV_UI_PORT}`]
    ).map((o) => new URL(o).origin),
    signupEvents: e.SIGNUP_EVENTS,
    /** PostgreSQL URL; undefined means the embedded PGlite database under `dataDir`. */
    databaseUrl: e.DATABASE_URL,
    dataDir: e.DATA_DIR,
    temporal: {
      address: temporal.connection.address,
      namespace: temporal.connection.namespace,
      taskQueue: e.TEMPORAL_TASK_QUEUE,
      /** An address was configured (TEMPORAL_ADDRESS or the profile): `npm start` runs no dev server. */
      external: temporal.configured,
      /** Everything a connection needs (TLS, API key, metadata): src/temporal/connection.ts. Holds secrets: never logged. */
      connection: temporal.connection,
      /** Where the settings came from, for messages. */
      source: temporal.source,
      /** The Web UI the dashboard links to (TEMPORAL_UI_URL; sandbox: the dev server's); undefined: no links. */
      uiUrl: (e.TEMPORAL_UI_URL ?? (live ? undefined : `http://127.0.0.1:${e.TEMPORAL_DEV_UI_PORT}`))?.replace(
        /\/+$/,
        '',
      ),
      /** Register missing search attributes (operator API), or only check them (TEMPORAL_REGISTER_SEARCH_ATTRIBUTES). */
      registerSearchAttributes: e.TEMPORAL_REGISTER_SEARCH_ATTRIBUTES,
    },
    /** WORKFLOW_BUNDLE_PATH: the prebuilt workflow bundle; undefined: the build's, when there is one (src/worker.ts). */
    workflowBundlePath: e.WORKFLOW_BUNDLE_PATH,
    /** The dev server `npm start` runs unless `temporal.external` (TEMPORAL_DEV_PORT, TEMPORAL_DEV_UI_PORT). */
    devServer: { port: e.TEMPORAL_DEV_PORT, uiPort: e.TEMPORAL_DEV_UI_PORT },
    http: { host: e.HOST, port: e.PORT },
    /** The worker's Prometheus endpoint (WORKER_METRICS_PORT, WORKER_METRICS_HOST); port undefined: the entry point's default. */
    workerMetrics: { port: e.WORKER_METRICS_PORT, host: e.WORKER_METRICS_HOST },
    /** The starter's operator API, for the `enrich` CLI (ENRICH_API_URL, else this host's PORT). */
    apiUrl: (e.ENRICH_API_URL ?? `http://127.0.0.1:${e.PORT}`).replace(/\/$/, ''),
    logLevel,
    /** LOG_FORMAT: the starter's log lines; undefined: the entry point decides (`npm start` pretty, others JSON). */
    logFormat: e.LOG_FORMAT,
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
      webhookAuth: clayWebhookAuth,
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
      personLookup: personLookup(e.ENRICHMENT_PERSON_LOOKUP, highValue, scoringConfig),
    },
    /** Deliverability screening (SCREEN_DELIVERABILITY): the DNS servers asked (empty: the system's) and the timeout. */
    deliverability: {
      enabled: e.SCREEN_DELIVERABILITY,
      servers: e.DNS_SERVERS.length > 0 || live ? e.DNS_SERVERS : [`127.0.0.1:${e.SANDBOX_DNS_PORT}`],
      timeoutMs: e.DNS_TIMEOUT_MS,
    },
    /** The sandbox DNS server's UDP port (`npm start` starts it there). */
    sandboxDnsPort: e.SANDBOX_DNS_PORT,
    /**
     * Calls per second each provider's task queue dispatches (documented limit × margin), enforced by the Temporal
     * server across all workers (src/worker.ts); absent: not limited.
     */
    providerRates: Object.fromEntries(
      e.PROVIDER_RATE_LIMITS.map(([provider, rate]) => [provider, rate * e.PROVIDER_RATE_LIMIT_MARGIN]),
    ) as Partial<Record<ProviderName, number>>,
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
      /** The rolling check: the window it assesses, and how often it runs (schedule `enrichment-health-hourly`). */
      rollingWindowHours: e.HEALTH_ROLLING_WINDOW_HOURS,
      checkIntervalMinutes: e.HEALTH_CHECK_INTERVAL_MINUTES,
      /** Settled signups with a work email in the latest interval it takes to open an incident from it alone. */
      recentMinSignups: e.HEALTH_RECENT_MIN_SIGNUPS,
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
    /** Customer.io's Track API: CUSTOMERIO_TRACK_URL, else the region's host (live) or the sandbox's. */
    customerio: {
      /** CUSTOMERIO_REGION: the workspace's region as configured (`enrich doctor` compares it with Customer.io's). */
      region: e.CUSTOMERIO_REGION,
      trackUrl: (
        e.CUSTOMERIO_TRACK_URL ??
        (live ? LIVE_CUSTOMERIO_TRACK_URLS[e.CUSTOMERIO_REGION] : `${sandboxUrl}/customerio/api/v1`)
      ).replace(/\/+$/, ''),
    },
    /** Mixpanel's ingestion host: MIXPANEL_API_URL, else api.mixpanel.com (live) or the sandbox's. */
    mixpanel: {
      apiUrl: (e.MIXPANEL_API_URL ?? (live ? LIVE_MIXPANEL_API_URL : `${sandboxUrl}/mixpanel`)).replace(/\/+$/, ''),
      /** MIXPANEL_ID_MERGE: how the pre-signup anonymous id is linked (the project's ID management version). */
      idMerge: e.MIXPANEL_ID_MERGE,
      /**
       * How `/import` authenticates: `service_account` (MIXPANEL_SERVICE_ACCOUNT_USERNAME and _SECRET, in
       * `credentials`, with `projectId`) or `api_secret` (MIXPANEL_API_SECRET, the legacy way).
       */
      importAuth: mixpanelAuth,
      /** MIXPANEL_PROJECT_ID: the `project_id` of `/import` with the service account. */
      projectId: e.MIXPANEL_PROJECT_ID,
    },
    webhooks: {
      urls: e.OUTGOING_WEBHOOK_URLS.length > 0 || live ? e.OUTGOING_WEBHOOK_URLS : [`${sandboxUrl}/webhooks/default`],
      secret: outgoingWebhookSecret,
    },
    /** The `humanic` destination: where (sandbox: the sandbox's receiver) and with which optional bearer key. */
    humanic: {
      webhookUrl: e.HUMANIC_WEBHOOK_URL ?? (live ? undefined : `${sandboxUrl}/humanic/webhook`),
      apiKey: e.HUMANIC_API_KEY,
    },
    /**
     * VITALLY_ACCOUNTS: `salesforce_sync` leaves accounts to Vitally's Salesforce sync (users only), found by
     * VITALLY_SYNC_ACCOUNT_KEY.
     */
    vitally: { accounts: e.VITALLY_ACCOUNTS, syncAccountKey: e.VITALLY_SYNC_ACCOUNT_KEY },
    /** Credentials by variable name; never logged. */
    credentials: credentialValues,
    /** Close (`close` in DESTINATIONS): its REST API and what a high-value signup adds to its lead. */
    close: {
      apiUrl: (e.CLOSE_API_URL ?? (live ? LIVE_CLOSE_API_URL : `${sandboxUrl}/close/api/v1`)).replace(/\/$/, ''),
      highValueAction: e.CLOSE_HIGH_VALUE_ACTION,
    },
    /** Every secret value this process knows: masked in every log line and error text (src/redact.ts). */
    secrets,
  };
}

/** The password of a database URL, as written and decoded. */
function databasePassword(url: string | undefined): string[] {
  if (url === undefined) return [];
  const password = new URL(url).password;
  return password === '' ? [] : [password, decodeURIComponent(password)];
}

/** ENRICHMENT_PERSON_LOOKUP as the waterfall reads it: `high_value` carries the rule and the scoring it judges by. */
const personLookup = (
  when: 'always' | 'high_value',
  highValue: HighValueRule,
  scoring: ScoringConfig,
): PersonLookupRule => (when === 'always' ? { when } : { when, highValue, scoring });

export type Config = z.output<ReturnType<typeof configSchema>>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Parses the environment once at start-up; throws a ConfigError naming every problem at once. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = configSchema(env).safeParse(env);
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
  const published = new Set([
    DEV_WEBHOOK_SECRET,
    DEV_ADMIN_TOKEN,
    DEV_CLAY_CALLBACK_SECRET,
    DEV_PII_HASH_KEY,
    SANDBOX_WEBHOOK_SECRET,
  ]);
  const clay = e.ENRICHMENT_PROVIDERS.includes('clay') || e.CLAY_CALLBACK_SECRET !== undefined;
  const needed = [
    'WEBHOOK_SECRET',
    'ADMIN_TOKEN',
    'PII_HASH_KEY',
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
