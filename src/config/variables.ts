import path from 'node:path';
import { z } from 'zod';
import { ICP_FIELDS } from '../domain/icp/fields';
import { DEFAULT_DESTINATIONS, DESTINATIONS } from '../domain/fan-out';
import { COMPANY_PROVIDERS } from '../domain/provider-outcome';
import { PROJECT_ROOT } from '../tools/paths';
import { DEFAULT_TASK_QUEUE } from '../workflows/messages';

/**
 * Every environment variable the pipeline reads, by section, each with its description and default: the one source
 * of `loadConfig` (./index.ts), `.env.example` and the variables table of docs/configuration.md (`npm run config:docs`).
 */

export const SYSTEMS = ['clearbit', 'harmonic', 'clay', 'posthog', 'salesforce', 'vitally', 'slack'] as const;
export type ExternalSystem = (typeof SYSTEMS)[number];

/** Real hosts, used in live mode when `<SYSTEM>_BASE_URL` is not set. */
export const LIVE_BASE_URLS: Record<ExternalSystem, string> = {
  clearbit: 'https://company.clearbit.com',
  harmonic: 'https://api.harmonic.ai',
  clay: 'https://api.clay.com',
  posthog: 'https://us.i.posthog.com',
  salesforce: 'https://login.salesforce.com',
  vitally: 'https://rest.vitally.io',
  slack: 'https://hooks.slack.com',
};
export const LIVE_CLEARBIT_PERSON_BASE_URL = 'https://person.clearbit.com';
export const LIVE_POSTHOG_API_BASE_URL = 'https://us.posthog.com';

/** Sandbox-mode defaults, so `npm start` and `npx enrich` work with no setup; live mode refuses every one of them. */
export const DEV_WEBHOOK_SECRET = 'dev-webhook-secret';
export const DEV_ADMIN_TOKEN = 'dev-admin-token';
export const DEV_CLAY_CALLBACK_SECRET = 'dev-clay-callback-secret';
export const DEV_PII_HASH_KEY = 'dev-pii-hash-key';
/** The shortest secret or token live mode accepts. */
export const MIN_SECRET_LENGTH = 24;
export const DEFAULT_SANDBOX_URL = 'http://127.0.0.1:4010';

/** The sandbox's defaults, used only in sandbox mode. */
export const SANDBOX_SLACK_PATH = '/services/T0SANDBOX/B0HIGHVALUE/sandbox-token';
export const SANDBOX_WEBHOOK_SECRET = 'sandbox-webhook-secret';

/**
 * The variables whose values are secrets, by name: tokens, API keys, passwords, webhook secrets and auth, key
 * material, and webhook URLs (Slack's carry their token in the path). A variable added under such a name is redacted
 * from every log line and error text without further ado (src/redact.ts, `Config.secrets`).
 */
export const isSecretVariable = (name: string): boolean =>
  /(SECRET|TOKEN|PASSWORD|_KEYS?|_AUTH|_KEY_DATA|WEBHOOK_URLS?)$/.test(name);

export const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

export const optionalUrl = optionalString.pipe(z.url().optional());

export const port = z.coerce.number().int().min(1).max(65535);

/** A comma-separated list, its entries trimmed. */
export const commaList = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((v) => v.split(',').map((p) => p.trim()));

/** The same, empty entries dropped: an empty value is an empty list. */
export const commaListOrNone = (fallback: string) =>
  commaList(fallback).transform((entries) => entries.filter(Boolean));

/**
 * A group of variables, in the order `.env.example` and docs/configuration.md show them (`npm run config:docs` writes
 * both). Each variable's `.describe()` is its documentation there, and its zod default the default shown.
 */
export const section = <Shape extends z.ZodRawShape>(title: string, note: string | undefined, shape: Shape) => ({
  title,
  note,
  variables: z.object(shape),
});

export const waterfall = section('Mode and the enrichment waterfall', undefined, {
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
  ENRICHMENT_PERSON_LOOKUP: z
    .enum(['always', 'high_value'])
    .default('always')
    .describe(
      'When a signup pays for a person lookup (title, role, seniority): `always`, or `high_value` — only when its company, known from the company lookups or the cache, could be high value (SLACK_HIGH_VALUE_*, scored with the best role); others are scored without a role',
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
  PROVIDER_RATE_LIMITS: commaListOrNone('clearbit:10,harmonic:10')
    .pipe(
      z.array(
        z
          .string()
          .regex(/^[a-z]+:\d+(\.\d+)?$/, 'expected provider:requests-per-second')
          .transform((entry) => {
            const [provider, rate] = entry.split(':');
            return [provider, Number(rate)] as const;
          })
          .pipe(z.tuple([z.enum(COMPANY_PROVIDERS), z.number().positive()])),
      ),
    )
    .describe(
      "Each provider's documented rate limit in requests per second (`provider:rate`, comma-separated; Clearbit " +
        '600/min, Harmonic 10/s). Its calls run on a task queue of their own that the Temporal server holds to this ' +
        'rate × PROVIDER_RATE_LIMIT_MARGIN across all workers; a provider not listed (Clay) is not limited',
    ),
  PROVIDER_RATE_LIMIT_MARGIN: z.coerce
    .number()
    .positive()
    .max(1)
    .default(0.9)
    .describe('The share of each rate in PROVIDER_RATE_LIMITS the pipeline uses, so bursts stay under the real limit'),
  CLAY_RESULT_TIMEOUT_MINUTES: z.coerce
    .number()
    .positive()
    .default(60)
    .describe("How long to wait for a Clay row's result (`POST /webhooks/clay`) before reporting Clay silent"),
  SCREEN_DELIVERABILITY: z
    .enum(['true', 'false'])
    .default('true')
    .transform((v) => v === 'true')
    .describe(
      "Screen a work email's domain in DNS before any paid lookup: no MX record and no A/AAAA record to fall back on " +
        '(or NXDOMAIN) ends the signup `undeliverable` at zero credits. A DNS failure (timeout, SERVFAIL) never rejects a signup',
    ),
  DNS_SERVERS: commaListOrNone('')
    .pipe(z.array(z.string().regex(/^(\[[0-9a-fA-F:.]+\]|[0-9.]+)(:\d{1,5})?$/, 'expected ip[:port] or [ipv6][:port]')))
    .describe(
      'The DNS servers deliverability screening asks (`ip:port`, comma-separated). Unset: in sandbox mode the ' +
        "sandbox's DNS server (`127.0.0.1:$SANDBOX_DNS_PORT`), in live mode the system's resolvers",
    ),
  DNS_TIMEOUT_MS: z.coerce
    .number()
    .int()
    .min(100)
    .max(5000)
    .default(2000)
    .describe('How long one DNS query may take before it is sent once more (then given up on: the signup goes on)'),
});

export const intake = section(
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
      "Bearer token of `GET /metrics` (the starter's, and the worker's on WORKER_METRICS_PORT). Unset: `/metrics` is open (counts only, no personal data; keep it on the internal network).",
    ),
    SIGNUP_EVENTS: commaList('user signed up,user_signed_up')
      .pipe(z.array(z.string().min(1)).min(1))
      .describe('PostHog events that count as a signup (comma-separated)'),
  },
);

export const personalData = section(
  'Personal data',
  'Encryption of workflow payloads, retention of raw data and erasure (docs/personal-data.md).',
  {
    PII_HASH_KEY: optionalString.describe(
      'Key of the keyed hashes (HMAC-SHA256) that stand for a person where their email must not appear: the workflow ' +
        `id of a signup without an organization, the record of an erasure. Unset in sandbox mode: \`${DEV_PII_HASH_KEY}\`; ` +
        'live mode requires one of its own (`openssl rand -hex 32`). Changing it gives a person-only signup a new workflow id.',
    ),
    RAW_DATA_RETENTION_DAYS: z.coerce
      .number()
      .int()
      .min(1)
      .default(90)
      .describe(
        'Days the raw PostHog payload of a settled signup and each archived provider answer are kept; the daily ' +
          'schedule `raw-data-retention-daily` purges older ones (derived fields and provenance stay). Re-deriving ' +
          'fields from the archive works only within this window. Must be longer than QUEUED_FOLLOW_UP_HOURS and ' +
          'CLAY_RESULT_TIMEOUT_MINUTES.',
      ),
    PAYLOAD_CODEC_KEYS: optionalString.describe(
      'Encryption of Temporal payloads (AES-256-GCM): `<keyId>:<base64 of 32 bytes>[,<keyId>:<key>…]`; the first key ' +
        'encrypts, every listed key decrypts (rotation: put the new key first, keep the old ones while histories ' +
        'hold them). Key ids: 1 to 64 of `A-Z a-z 0-9 . _ -`; a key: `openssl rand -base64 32`. Required in live mode; ' +
        'sandbox mode encrypts only when it is set. The worker, starter and `enrich` CLI need the same value. Never logged.',
    ),
    CODEC_CORS_ORIGINS: commaListOrNone('')
      .pipe(z.array(z.url({ protocol: /^https?$/ })))
      .describe(
        "Origins of the Temporal Web UI allowed to call the starter's codec endpoint (`/codec/encode`, `/codec/decode`) " +
          'from the browser, comma-separated (e.g. `https://temporal.example.com`). Unset in sandbox mode: the dev ' +
          "server's UI (`http://127.0.0.1:$TEMPORAL_DEV_UI_PORT`, `http://localhost:$TEMPORAL_DEV_UI_PORT`); live: none",
      ),
  },
);

export const ledger = section('Ledger', undefined, {
  DATABASE_URL: optionalString
    .pipe(z.url({ protocol: /^postgres(ql)?$/ }).optional())
    .describe(
      'PostgreSQL URL of the ledger. Unset: the embedded PGlite database under `$DATA_DIR/ledger` (`npm start` only: ' +
        'a separately run worker or starter needs PostgreSQL).',
    ),
  DATA_DIR: z.string().default('.data').describe("Local state: the embedded ledger and the dev server's `temporal.db`"),
});

/** `true`/`1` or `false`/`0`, as the `temporal` CLI reads its boolean variables. */
const cliBoolean = optionalString.pipe(z.enum(['true', 'false', '1', '0']).optional());

export const temporal = section(
  'Temporal',
  'Read as the `temporal` CLI reads them (`@temporalio/envconfig`): a temporal.toml profile, overridden by these ' +
    'variables; `TEMPORAL_GRPC_META_<NAME>` adds a gRPC header. docs/deploy.md, Connecting to Temporal.',
  {
    TEMPORAL_ADDRESS: optionalString.describe(
      'host:port of the Temporal frontend. Unset (and no address in the profile): `npm start` runs a Temporal dev server on 127.0.0.1 (TEMPORAL_DEV_PORT); set: that server is used instead.',
    ),
    TEMPORAL_DEV_PORT: port.default(7233).describe('The gRPC port of that dev server when no address is configured'),
    TEMPORAL_DEV_UI_PORT: port.default(8233).describe('The Web UI port of that dev server'),
    TEMPORAL_UI_URL: optionalString
      .pipe(z.url({ protocol: /^https?$/ }).optional())
      .describe(
        "The Temporal Web UI's address, for the links of `/dashboard` (workflow lists filtered by EnrichmentStatus). " +
          "Unset in sandbox mode: the dev server's UI, `http://127.0.0.1:$TEMPORAL_DEV_UI_PORT`; live: no links",
      ),
    TEMPORAL_NAMESPACE: optionalString.describe(
      "The Temporal namespace of the workflows (Temporal Cloud: `<name>.<account>`). Unset: the profile's, else `default`",
    ),
    TEMPORAL_TASK_QUEUE: z.string().min(1).default(DEFAULT_TASK_QUEUE).describe('The task queue of the worker'),
    TEMPORAL_API_KEY: optionalString.describe(
      'API key (Temporal Cloud), sent as `Authorization: Bearer`; turns TLS on. Never logged.',
    ),
    TEMPORAL_TLS: cliBoolean.describe(
      '`true`: TLS with the system roots; `false`: plaintext even when a profile or an API key would turn TLS on. ' +
        'Unset: TLS when an API key or a TEMPORAL_TLS_* setting is given.',
    ),
    TEMPORAL_TLS_SERVER_CA_CERT_PATH: optionalString.describe(
      "PEM file of the CA that signed the server's certificate (a private CA). Unset: the system roots",
    ),
    TEMPORAL_TLS_SERVER_CA_CERT_DATA: optionalString.describe('The same CA as PEM text, instead of a file'),
    TEMPORAL_TLS_SERVER_NAME: optionalString.describe(
      "The name the server's certificate is checked against, when it differs from the host of TEMPORAL_ADDRESS",
    ),
    TEMPORAL_TLS_CLIENT_CERT_PATH: optionalString.describe(
      'PEM file of our client certificate (mTLS, e.g. Temporal Cloud with certificates); with TEMPORAL_TLS_CLIENT_KEY_PATH',
    ),
    TEMPORAL_TLS_CLIENT_KEY_PATH: optionalString.describe("PEM file of the client certificate's private key"),
    TEMPORAL_TLS_CLIENT_CERT_DATA: optionalString.describe('The client certificate as PEM text, instead of a file'),
    TEMPORAL_TLS_CLIENT_KEY_DATA: optionalString.describe(
      'Its private key as PEM text, instead of a file. Never logged.',
    ),
    TEMPORAL_TLS_DISABLE_HOST_VERIFICATION: cliBoolean.describe(
      'Refused when `true`: the TypeScript SDK always verifies the server; use TEMPORAL_TLS_SERVER_NAME instead',
    ),
    TEMPORAL_CONFIG_FILE: optionalString.describe(
      'The temporal.toml to read profiles from. Unset: `~/.config/temporalio/temporal.toml` when it exists',
    ),
    TEMPORAL_PROFILE: optionalString.describe('The profile of that file to use. Unset: `default`'),
    TEMPORAL_REGISTER_SEARCH_ATTRIBUTES: z
      .enum(['true', 'false'])
      .default('true')
      .transform((v) => v === 'true')
      .describe(
        'The worker registers missing search attributes through the operator API (`true`), or only checks them and ' +
          'stops naming the commands that create them (`false`: Temporal Cloud, or a cluster where we are no admin)',
      ),
  },
);

export const scoring = section('ICP scoring', undefined, {
  // Empty means the default, as for every optional variable (so an exported .env.example works as is).
  ICP_SCORING_CONFIG: optionalString
    .transform((v) => v ?? path.join(PROJECT_ROOT, 'config', 'icp-scoring.json'))
    .describe(
      'ICP scoring rules (versioned JSON, validated at start-up). Unset: `config/icp-scoring.json` in this repository',
    ),
});

export const worker = section('Worker', undefined, {
  WORKFLOW_BUNDLE_PATH: optionalString.describe(
    'The prebuilt workflow bundle the worker loads (`npm run build` writes `dist/workflow-bundle.js`). Unset: that ' +
      'file when the worker runs from `dist/` and it exists, else the workflows are bundled from the sources at start-up',
  ),
  WORKER_METRICS_PORT: optionalString
    .transform((v) => (v === undefined || v === 'off' ? v : Number(v)))
    .pipe(
      z
        .union([z.literal('off'), z.number().int().min(1).max(65535)], { error: 'expected a port (1-65535) or off' })
        .optional(),
    )
    .describe(
      "The worker's Prometheus endpoint (`GET /metrics`: the Temporal SDK's metrics and the pipeline's, " +
        'docs/observability.md). Unset: off for `npm run worker`, 9464 under `npm start`; `off`: off everywhere',
    ),
  WORKER_METRICS_HOST: z
    .string()
    .default('127.0.0.1')
    .describe('The address that endpoint listens on (`0.0.0.0` in a container, for Prometheus on its network)'),
});

export const starter = section('Starter (HTTP intake)', undefined, {
  HOST: z.string().default('127.0.0.1').describe("The address the starter's HTTP server listens on"),
  PORT: port.default(3000).describe("The starter's HTTP port"),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
    .default('info')
    .describe(
      "The starter's, the worker's and `npm start`'s log level: `fatal` | `error` | `warn` | `info` | `debug` | " +
        '`trace` | `silent`. Emails and secret values are masked in every line (docs/personal-data.md)',
    ),
  LOG_FORMAT: optionalString
    .pipe(z.enum(['json', 'pretty']).optional())
    .describe(
      "The starter's log lines: `json` (one JSON object a line, for log shippers) or `pretty` (one readable line " +
        'each, coloured on a terminal). Unset: `pretty` under `npm start`, `json` for `npm run starter`, `npm run ' +
        "worker` and the Docker image. The worker's Temporal lines are text in both (docs/observability.md)",
    ),
});

export const sandbox = section('Sandbox server', undefined, {
  SANDBOX_URL: z
    .url()
    .default(DEFAULT_SANDBOX_URL)
    .describe('In sandbox mode each `<SYSTEM>_BASE_URL` defaults to `$SANDBOX_URL/<system>`'),
  SANDBOX_DNS_PORT: port
    .default(4053)
    .describe(
      "The UDP port of the sandbox's DNS server on 127.0.0.1 (started by `npm start` and `src/sandbox/server.ts`)",
    ),
});

export const hosts = section('Base URLs', 'Unset: the real host in live mode, the sandbox in sandbox mode.', {
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

export const credentials = section(
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
    CLOSE_API_KEY: optionalString.describe(
      'Close API key (Settings → Developer → API Keys); needed when `close` is in DESTINATIONS',
    ),
  },
);

export const fanOut = section('Fan-out', 'Where enriched signups are written, and how a write that fails is retried.', {
  DESTINATIONS: commaListOrNone(DEFAULT_DESTINATIONS.join(','))
    .pipe(z.array(z.enum(DESTINATIONS)))
    .describe(
      `Comma-separated, of ${DESTINATIONS.join(', ')}; a destination left out needs no credentials, and those not in ` +
        'the default are off unless named',
    ),
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

export const posthog = section('PostHog', undefined, {
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

export const salesforce = section(
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

export const slack = section(
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

export const health = section(
  'Health and recovery',
  'The daily check (schedule `enrichment-health-daily`, 09:00 UTC) of the last complete UTC day, and the rolling check ' +
    '(schedule `enrichment-health-hourly`) of the last HEALTH_ROLLING_WINDOW_HOURS, with the same rules.',
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
    HEALTH_ROLLING_WINDOW_HOURS: z.coerce
      .number()
      .int()
      .min(1)
      .max(168)
      .default(24)
      .describe(
        'The rolling check assesses the last this many hours (HEALTH_MIN_WRITES scaled to them; the baseline is the ' +
          'HEALTH_TRAILING_DAYS windows of the same length before): shorter notices an outage sooner, but is noisier',
      ),
    HEALTH_CHECK_INTERVAL_MINUTES: z.coerce
      .number()
      .int()
      .min(5)
      .max(1440)
      .default(60)
      .describe(
        'How often the rolling check runs (schedule `enrichment-health-hourly`): an outage the rules see is alerted ' +
          'within this long, once per incident. Each run also judges the signups of its last interval on their own ' +
          '(see HEALTH_RECENT_MIN_SIGNUPS), so a steady outage is alerted by the first run after it starts',
      ),
    HEALTH_RECENT_MIN_SIGNUPS: z.coerce
      .number()
      .int()
      .min(1)
      .default(10)
      .describe(
        'The rolling check opens an incident from its last HEALTH_CHECK_INTERVAL_MINUTES alone when at least this many ' +
          'signups with a work email arrived in it and settled (or a provider reported a problem with them), fewer ' +
          'than HEALTH_MIN_WRITE_RATIO of them were written, and a provider or destination reported a failure. ' +
          'Fewer: a quiet interval, left to the window',
      ),
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

export const reenrichment = section(
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

export const webhooks = section(
  'Signed outgoing webhooks',
  `Sandbox default: the sandbox's receiver \`/webhooks/default\` with secret \`${SANDBOX_WEBHOOK_SECRET}\`.`,
  {
    OUTGOING_WEBHOOK_URLS: commaListOrNone('')
      .pipe(z.array(z.url({ protocol: /^https?$/ })))
      .describe('Comma-separated URLs'),
    OUTGOING_WEBHOOK_SECRET: optionalString.describe('Required when URLs are set in live mode'),
  },
);

export const LIVE_CUSTOMERIO_TRACK_URLS = {
  us: 'https://track.customer.io/api/v1',
  eu: 'https://track-eu.customer.io/api/v1',
} as const;
export const LIVE_MIXPANEL_API_URL = 'https://api.mixpanel.com';
/** The project id of the sandbox's Mixpanel project: `/import` with a service account wants it as `project_id`. */
export const SANDBOX_MIXPANEL_PROJECT_ID = '2195193';

export const customerio = section(
  'Customer.io',
  'Written when `customerio` is in DESTINATIONS (docs/destinations.md, "Customer.io").',
  {
    CUSTOMERIO_REGION: z
      .enum(['us', 'eu'])
      .default('us')
      .describe(
        `The workspace's region: \`us\` (${LIVE_CUSTOMERIO_TRACK_URLS.us}) or \`eu\` (${LIVE_CUSTOMERIO_TRACK_URLS.eu})`,
      ),
    CUSTOMERIO_TRACK_URL: optionalUrl.describe(
      "The Track API's base URL, overriding CUSTOMERIO_REGION. Unset in sandbox mode: the sandbox's `/customerio/api/v1`",
    ),
    CUSTOMERIO_SITE_ID: optionalString.describe('The Track API site id (the user name of its Basic auth)'),
    CUSTOMERIO_API_KEY: optionalString.describe('The Track API key (the password of its Basic auth)'),
  },
);

export const mixpanel = section(
  'Mixpanel',
  'Written when `mixpanel` is in DESTINATIONS (docs/destinations.md, "Mixpanel").',
  {
    MIXPANEL_API_URL: optionalUrl.describe(
      `The ingestion host: live ${LIVE_MIXPANEL_API_URL} (EU residency: https://api-eu.mixpanel.com). Unset in ` +
        "sandbox mode: the sandbox's `/mixpanel`",
    ),
    MIXPANEL_PROJECT_TOKEN: optionalString.describe('The project token (`$token` of profile and group updates)'),
    MIXPANEL_SERVICE_ACCOUNT_USERNAME: optionalString.describe(
      'The user name of an Owner or Admin service account of the project (Mixpanel: Organization Settings → Service ' +
        'Accounts): with MIXPANEL_SERVICE_ACCOUNT_SECRET and MIXPANEL_PROJECT_ID, the Basic auth of `/import`, where ' +
        "the event linking the pre-signup anonymous id is sent (Mixpanel's recommended authentication)",
    ),
    MIXPANEL_SERVICE_ACCOUNT_SECRET: optionalString.describe(
      "The service account's secret (shown once, when the account is created). Never logged",
    ),
    MIXPANEL_PROJECT_ID: optionalString
      .pipe(z.string().regex(/^\d+$/, 'a Mixpanel project id is a number (Project Settings → Overview)').optional())
      .describe(
        "The project's id (Project Settings → Overview), sent as `project_id` with the service account; the sandbox's " +
          `project is \`${SANDBOX_MIXPANEL_PROJECT_ID}\``,
      ),
    MIXPANEL_API_SECRET: optionalString.describe(
      "The project's API secret, the legacy Basic auth of `/import` (Mixpanel deprecates it for service accounts), " +
        'used when the service account is not configured. Live mode needs either MIXPANEL_SERVICE_ACCOUNT_USERNAME, ' +
        'MIXPANEL_SERVICE_ACCOUNT_SECRET and MIXPANEL_PROJECT_ID, or this one',
    ),
    MIXPANEL_ID_MERGE: z
      .enum(['simplified', 'original'])
      .default('simplified')
      .describe(
        "The project's ID management version (Mixpanel: Project Settings → Identity Merge): `simplified` (Mixpanel's " +
          'recommendation for new projects; the anonymous id is linked by a `signed_up` event carrying `$device_id` ' +
          'and `$user_id`) or `original` (a `$merge` event, which does nothing in a simplified project)',
      ),
  },
);

export const humanic = section(
  'Humanic (PostHog-shaped webhooks)',
  "Destination `humanic` (off unless in DESTINATIONS): each enriched signup POSTed in the shape of PostHog's webhook " +
    'destination payload, for Humanic or any consumer of a PostHog webhook destination (docs/destinations.md).',
  {
    HUMANIC_WEBHOOK_URL: optionalUrl.describe(
      'The webhook URL Humanic shows under Integrations → PostHog (or any endpoint that takes a PostHog webhook ' +
        "destination's payload). Required in live mode when DESTINATIONS has humanic; unset in sandbox mode: the " +
        "sandbox's receiver `$SANDBOX_URL/humanic/webhook`. Treated as a secret (never logged)",
    ),
    HUMANIC_API_KEY: optionalString.describe(
      "Sent as `Authorization: Bearer <key>` when set, for a receiver that checks a token; Humanic's PostHog webhook " +
        'URL needs none (the URL identifies the workspace). Never logged',
    ),
  },
);

export const vitally = section('Vitally', undefined, {
  VITALLY_ACCOUNTS: z
    .enum(['direct', 'salesforce_sync'])
    .default('direct')
    .describe(
      'Who owns Vitally accounts: `direct` (we create and update them, externalId = organization id) or ' +
        "`salesforce_sync` (Vitally's Salesforce integration syncs Accounts: we write only users, linked to the " +
        "account the sync made from the company's Salesforce Account, and never create or update an account; needs " +
        'salesforce in DESTINATIONS)',
    ),
  VITALLY_SYNC_ACCOUNT_KEY: z
    .enum(['domain', 'salesforce_id', 'organization_id'])
    .default('domain')
    .describe(
      "With VITALLY_ACCOUNTS=salesforce_sync: the Salesforce Account field chosen as the primary id in Vitally's " +
        "Salesforce account sync, i.e. what the synced account's externalId holds and how we find it: `domain` (the " +
        'field SALESFORCE_ACCOUNT_EXTERNAL_ID_FIELD, the company domain our Account writes key on), `salesforce_id` ' +
        '(the Account `Id`; we read it from Salesforce by the domain) or `organization_id` (a field your own process ' +
        'fills with the product organization id; our writes do not)',
    ),
});

/** Every variable the pipeline reads, by section; `npm run config:docs` writes `.env.example` and the docs from it. */
export const LIVE_CLOSE_API_URL = 'https://api.close.com/api/v1';

export const close = section('Close', 'Written only when `close` is in DESTINATIONS (docs/destinations.md).', {
  CLOSE_API_URL: optionalUrl.describe(
    `Close's REST API (live: ${LIVE_CLOSE_API_URL}; sandbox: \`$SANDBOX_URL/close/api/v1\`)`,
  ),
  CLOSE_HIGH_VALUE_ACTION: z
    .enum(['task', 'opportunity', 'none'])
    .default('task')
    .describe(
      'What a high-value signup (the SLACK_HIGH_VALUE_* rule) adds to its Close lead: a task, an opportunity, or nothing',
    ),
});

export const ENV_SECTIONS = [
  waterfall,
  intake,
  personalData,
  ledger,
  temporal,
  scoring,
  worker,
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
  customerio,
  mixpanel,
  close,
  humanic,
  vitally,
] as const;

export const envSchema = z.object({
  ...waterfall.variables.shape,
  ...intake.variables.shape,
  ...personalData.variables.shape,
  ...ledger.variables.shape,
  ...temporal.variables.shape,
  ...scoring.variables.shape,
  ...worker.variables.shape,
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
  ...customerio.variables.shape,
  ...mixpanel.variables.shape,
  ...close.variables.shape,
  ...humanic.variables.shape,
  ...vitally.variables.shape,
});
export type Env = z.output<typeof envSchema>;
