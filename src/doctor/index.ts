import type { Client } from '@temporalio/client';
import { createSalesforce, SANDBOX_KEY } from '../composition';
import type { Config } from '../config';
import { SEARCH_ATTRIBUTES } from '../domain/search-attributes';
import { outcomeOfError } from '../integrations/salesforce/client';
import { writtenFields, type SalesforceObject } from '../integrations/salesforce/written-fields';
import { appApiUrl } from '../integrations/mixpanel/client';
import { createSlackClient } from '../integrations/slack/client';
import { MIGRATIONS } from '../ledger/migrations';
import { openPostgres } from '../ledger/sql';
import { scheduleDefinitions } from '../temporal/schedules';
import { fieldProblems } from './salesforce';
import { TemporalConnectionError } from '../temporal/connection';

/**
 * `enrich doctor`: every configured system checked with a cheap read — nothing is written, no credit is spent, no
 * message is posted unless asked — and one table of what was checked and what to fix. docs/deploy.md lists the checks.
 */

/** How long one check may take before it is reported as a failure. */
export const DOCTOR_CHECK_TIMEOUT_MS = 10_000;

export type CheckStatus = 'OK' | 'FAIL' | 'SKIP';

export interface CheckResult {
  system: string;
  check: string;
  status: CheckStatus;
  /** What was found, or what to fix. */
  detail: string;
}

export interface DoctorOptions {
  config: Config;
  /** A Temporal client on the configured namespace, and how to close it. */
  connectTemporal: () => Promise<{ client: Client; close: () => Promise<void> }>;
  /** Post a test message to SLACK_WEBHOOK_URL (off by default: the check only reads). */
  postTestMessage?: boolean;
  timeoutMs?: number;
}

/** Thrown by a check for a problem it can name: the message is the row's detail. */
class Problem extends Error {}

const ok = (system: string, check: string, detail: string): CheckResult => ({ system, check, status: 'OK', detail });
const skip = (system: string, check: string, detail: string): CheckResult => ({
  system,
  check,
  status: 'SKIP',
  detail,
});

export async function runDoctor(o: DoctorOptions): Promise<CheckResult[]> {
  const { config } = o;
  const timeoutMs = o.timeoutMs ?? DOCTOR_CHECK_TIMEOUT_MS;
  const secrets = secretValues(config);
  const key = (name: string) => config.credentials[name] ?? (config.mode === 'live' ? undefined : SANDBOX_KEY);
  const destinations = new Set<string>(config.fanOut.destinations);

  /** One check: its own deadline, and any error turned into a FAIL row without a secret in it. */
  const run = async (system: string, check: string, fn: (signal: AbortSignal) => Promise<CheckResult[] | string>) => {
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        controller.abort();
        reject(new Problem(`no answer within ${timeoutMs / 1000} s`));
      }, timeoutMs);
    });
    try {
      const out = await Promise.race([fn(controller.signal), deadline]);
      return typeof out === 'string' ? [ok(system, check, out)] : out;
    } catch (err) {
      const message = err instanceof Problem ? err.message : `${check} failed: ${errorText(err)}`;
      return [{ system, check, status: 'FAIL' as const, detail: redact(message, secrets) }];
    } finally {
      clearTimeout(timer);
    }
  };

  const http = async (url: string, init: RequestInit & { signal: AbortSignal }, what: string) => {
    try {
      return await fetch(url, init);
    } catch (err) {
      throw new Problem(`cannot reach ${what} at ${origin(url)}: ${errorText(err)}`);
    }
  };

  const checks: Promise<CheckResult[]>[] = [];

  // ---- Providers
  if (config.providers.includes('clearbit')) {
    checks.push(
      run('clearbit', 'API key (lookup of an unknown domain)', async (signal) => {
        const apiKey = key('CLEARBIT_API_KEY');
        if (!apiKey) throw new Problem('CLEARBIT_API_KEY is not set');
        // Clearbit charges lookups that return data: a domain that cannot exist proves the key and costs nothing.
        const res = await http(
          `${config.systems.clearbit.baseUrl}/v2/companies/find?domain=enrich-doctor.invalid`,
          { headers: { authorization: `Bearer ${apiKey}` }, signal },
          'Clearbit',
        );
        if (res.status === 404 || res.status === 422) return `key accepted (HTTP ${res.status}, no credit spent)`;
        if (res.status === 401 || res.status === 403)
          throw new Problem(`key refused (HTTP ${res.status}): set CLEARBIT_API_KEY to a valid secret key`);
        if (res.status === 402) throw new Problem('key accepted but over the plan quota (402): top up the plan');
        if (res.status === 200) return 'key accepted';
        throw new Problem(`unexpected HTTP ${res.status} from Clearbit (CLEARBIT_BASE_URL?)`);
      }),
    );
  }
  if (config.providers.includes('harmonic')) {
    checks.push(
      run('harmonic', 'API key (enrichment status poll)', async (signal) => {
        const apiKey = key('HARMONIC_API_KEY');
        if (!apiKey) throw new Problem('HARMONIC_API_KEY is not set');
        // Status polls are free and outside the quota; an unknown urn answers an empty list.
        const res = await http(
          `${config.systems.harmonic.baseUrl}/enrichment_status?urns=urn:harmonic:enrichment:00000000-0000-0000-0000-000000000000`,
          { headers: { apikey: apiKey }, signal },
          'Harmonic',
        );
        if (res.ok) return `key accepted (HTTP ${res.status}, no credit spent)`;
        if (res.status === 401 || res.status === 403)
          throw new Problem(`key refused (HTTP ${res.status}): set HARMONIC_API_KEY to a valid API key`);
        throw new Problem(`unexpected HTTP ${res.status} from Harmonic (HARMONIC_BASE_URL?)`);
      }),
    );
  }
  if (config.providers.includes('clay')) {
    checks.push(
      run('clay', 'webhook host reachable (HEAD, no row)', async (signal) => {
        // A POST would add a row to the table (and spend its credits): HEAD proves DNS, TLS and an HTTP answer only,
        // not the webhook id nor CLAY_WEBHOOK_AUTH.
        const res = await http(config.clay.webhookUrl, { method: 'HEAD', signal }, 'the Clay webhook');
        if (res.status >= 500) throw new Problem(`Clay answered HTTP ${res.status} (CLAY_WEBHOOK_URL)`);
        return `${origin(config.clay.webhookUrl)} answers (HTTP ${res.status}); webhook id and auth not exercised`;
      }),
    );
  }

  // ---- PostHog (always: the health check queries it)
  const personalKey = key('POSTHOG_PERSONAL_API_KEY');
  const posthogApi = `${config.posthog.apiBaseUrl}/api/projects/${encodeURIComponent(config.posthog.projectId)}`;
  checks.push(
    run('posthog', `project ${config.posthog.projectId} (personal API key)`, async (signal) => {
      if (!personalKey) throw new Problem('POSTHOG_PERSONAL_API_KEY is not set');
      const res = await http(
        `${posthogApi}/`,
        { headers: { authorization: `Bearer ${personalKey}` }, signal },
        'PostHog',
      );
      if (res.status === 401)
        throw new Problem(
          'personal API key refused (401): set POSTHOG_PERSONAL_API_KEY (scopes project:read, query:read)',
        );
      if (res.status === 403)
        throw new Problem('personal API key lacks the scope project:read, or access to this project (403)');
      if (res.status === 404)
        throw new Problem(`no project ${config.posthog.projectId} (404): check POSTHOG_PROJECT_ID`);
      if (!res.ok) throw new Problem(`unexpected HTTP ${res.status} from PostHog (POSTHOG_API_BASE_URL?)`);
      const project = (await res.json()) as { name?: string; api_token?: string };
      // The capture key of another project would send every event there without an error: compare (live only, the
      // sandbox's capture takes any key).
      const projectKey = config.credentials.POSTHOG_PROJECT_API_KEY;
      if (config.mode === 'live' && project.api_token !== undefined && project.api_token !== projectKey) {
        throw new Problem(
          `POSTHOG_PROJECT_API_KEY is not the API key of project ${config.posthog.projectId} (PostHog: Project settings → Project API key)`,
        );
      }
      return `project "${project.name ?? '?'}" readable${config.mode === 'live' ? ', POSTHOG_PROJECT_API_KEY is its key' : ''}`;
    }),
    run('posthog', 'HogQL query API (SELECT 1)', async (signal) => {
      if (!personalKey) throw new Problem('POSTHOG_PERSONAL_API_KEY is not set');
      const res = await http(
        `${posthogApi}/query/`,
        {
          method: 'POST',
          headers: { authorization: `Bearer ${personalKey}`, 'content-type': 'application/json' },
          body: JSON.stringify({ query: { kind: 'HogQLQuery', query: 'SELECT 1' } }),
          signal,
        },
        'PostHog',
      );
      if (res.status === 401) throw new Problem('personal API key refused (401): set POSTHOG_PERSONAL_API_KEY');
      if (res.status === 403) throw new Problem('personal API key lacks the scope query:read (403)');
      if (!res.ok) throw new Problem(`query refused (HTTP ${res.status})`);
      return 'query answered';
    }),
  );

  // ---- Salesforce
  if (destinations.has('salesforce')) {
    checks.push(
      run('salesforce', 'login, /limits, describe Account/Contact/Lead', async () => {
        const client = createSalesforce(config);
        if (!client) throw new Problem('SALESFORCE_CLIENT_ID and SALESFORCE_CLIENT_SECRET are not set');
        const salesforceError = (err: unknown) => {
          if (err instanceof Problem) return err;
          const outcome = outcomeOfError(err, 0);
          const fix =
            outcome.kind === 'auth_failed'
              ? ': check SALESFORCE_CLIENT_ID / SALESFORCE_CLIENT_SECRET, the connected app (client credentials, run-as user) and SALESFORCE_BASE_URL (the My Domain URL)'
              : '';
          return new Problem(`${outcome.detail}${fix}`);
        };
        let limit: { max: number; remaining: number };
        try {
          limit = await client.apiRequestLimit();
        } catch (err) {
          throw salesforceError(err);
        }
        const rows: CheckResult[] = [
          ok('salesforce', 'login and /limits', `${limit.remaining} of ${limit.max} daily API requests left`),
        ];
        const written = writtenFields(config.salesforce);
        const objects = [...new Set(written.map((f) => f.object))] as SalesforceObject[];
        for (const object of objects) {
          const check = `${object} fields we write (describe)`;
          let problems: string[];
          try {
            problems = fieldProblems(object, written, await client.describeFields(object));
          } catch (err) {
            rows.push({ system: 'salesforce', check, status: 'FAIL', detail: salesforceError(err).message });
            continue;
          }
          const count = written.filter((f) => f.object === object).length;
          rows.push(
            problems.length === 0
              ? ok('salesforce', check, `${count} fields present with compatible types`)
              : {
                  system: 'salesforce',
                  check,
                  status: 'FAIL',
                  detail: `${problems.join('; ')} (deploy deploy/salesforce: docs/deploy.md, "Salesforce org setup")`,
                },
          );
        }
        return rows;
      }),
    );
  } else checks.push(Promise.resolve([skip('salesforce', 'destination', 'not in DESTINATIONS')]));

  // ---- Vitally
  if (destinations.has('vitally')) {
    checks.push(
      run('vitally', 'API key (read of an unknown account)', async (signal) => {
        const apiKey = key('VITALLY_API_KEY');
        if (!apiKey) throw new Problem('VITALLY_API_KEY is not set');
        const res = await http(
          `${config.systems.vitally.baseUrl}/resources/accounts/enrich-doctor-check`,
          { headers: { authorization: `Basic ${Buffer.from(`${apiKey}:`).toString('base64')}` }, signal },
          'Vitally',
        );
        if (res.status === 401 || res.status === 403)
          throw new Problem(
            `key refused (HTTP ${res.status}): set VITALLY_API_KEY (Vitally: Settings → Integrations → REST API)`,
          );
        if (res.ok || res.status === 404) return `key accepted (HTTP ${res.status})`;
        throw new Problem(`unexpected HTTP ${res.status} from Vitally (VITALLY_BASE_URL?)`);
      }),
    );
  }

  // ---- Slack
  if (destinations.has('slack')) {
    checks.push(
      run('slack', o.postTestMessage ? 'webhook URLs, test message posted' : 'webhook URLs well-formed', async () => {
        const urls: [string, string | undefined][] = [
          ['SLACK_WEBHOOK_URL', config.slack.webhookUrl],
          ['SLACK_QUIET_WEBHOOK_URL', config.slack.quietWebhookUrl],
          ['SLACK_ALERT_WEBHOOK_URL', config.slack.alertWebhookUrl],
        ];
        const bad = urls.flatMap(([name, url]) => {
          if (url === undefined) return name === 'SLACK_WEBHOOK_URL' ? [`${name} is not set`] : [];
          const problem = webhookUrlProblem(url, config.mode === 'live');
          return problem ? [`${name} ${problem}`] : [];
        });
        if (bad.length > 0) throw new Problem(bad.join('; '));
        if (!o.postTestMessage) return 'well-formed (nothing posted; --post-test-message posts one)';
        const outcome = await createSlackClient({ timeoutMs }).post(config.slack.webhookUrl!, {
          text: 'enrich doctor: test message (the pipeline can post here)',
        });
        if (outcome.kind !== 'written') throw new Problem(outcome.detail);
        return 'test message posted to SLACK_WEBHOOK_URL';
      }),
    );
  }

  // ---- Close, Customer.io, Mixpanel, Humanic: one cheap read each, only when in DESTINATIONS
  const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  const notDestination = (system: string) => skip(system, 'destination', 'not in DESTINATIONS');

  if (destinations.has('close')) {
    checks.push(
      run('close', 'API key (GET /me/)', async (signal) => {
        const apiKey = key('CLOSE_API_KEY');
        if (!apiKey) throw new Problem('CLOSE_API_KEY is not set');
        const res = await http(
          `${config.close.apiUrl}/me/`,
          { headers: { authorization: basic(apiKey, '') }, signal },
          'Close',
        );
        if (res.status === 401)
          throw new Problem('CLOSE_API_KEY rejected (401): set an API key of Close (Settings → Developer → API Keys)');
        if (!res.ok) throw new Problem(`unexpected HTTP ${res.status} from Close (CLOSE_API_URL?)`);
        const me = (await res.json().catch(() => ({}))) as { organizations?: unknown };
        const organizations = Array.isArray(me.organizations) ? (me.organizations as { name?: unknown }[]) : [];
        const names = organizations.flatMap((o) => (typeof o.name === 'string' ? [`"${o.name.slice(0, 80)}"`] : []));
        return `key accepted: its user belongs to ${organizations.length} organization(s)${names.length > 0 ? ` (${names.join(', ')})` : ''}`;
      }),
    );
  } else checks.push(Promise.resolve([notDestination('close')]));

  if (destinations.has('customerio')) {
    checks.push(
      run('customerio', 'Track API credentials and region (GET /accounts/region)', async (signal) => {
        const siteId = key('CUSTOMERIO_SITE_ID');
        const apiKey = key('CUSTOMERIO_API_KEY');
        if (!siteId || !apiKey) throw new Problem('CUSTOMERIO_SITE_ID and CUSTOMERIO_API_KEY must both be set');
        const res = await http(
          `${config.customerio.trackUrl}/accounts/region`,
          { headers: { authorization: basic(siteId, apiKey) }, signal },
          'Customer.io',
        );
        if (res.status === 401)
          throw new Problem(
            'CUSTOMERIO_SITE_ID / CUSTOMERIO_API_KEY rejected (401): set a Track API site id and key of the workspace',
          );
        if (!res.ok) throw new Problem(`unexpected HTTP ${res.status} from Customer.io (CUSTOMERIO_TRACK_URL?)`);
        const answer = (await res.json().catch(() => ({}))) as { region?: unknown };
        const region = typeof answer.region === 'string' ? answer.region.toLowerCase() : undefined;
        if (region === undefined) return 'credentials accepted; Customer.io named no region';
        if (region !== config.customerio.region)
          throw new Problem(
            `credentials accepted, but the workspace is in region ${region} and CUSTOMERIO_REGION is ` +
              `${config.customerio.region}: set CUSTOMERIO_REGION=${region}`,
          );
        return `credentials accepted; the workspace's region ${region} matches CUSTOMERIO_REGION`;
      }),
    );
  } else checks.push(Promise.resolve([notDestination('customerio')]));

  if (destinations.has('mixpanel')) {
    const serviceAccount = config.mixpanel.importAuth === 'service_account';
    checks.push(
      run(
        'mixpanel',
        serviceAccount
          ? 'service account (GET /api/app/me), ingestion host reachable'
          : 'configuration, ingestion host reachable',
        async (signal) => {
          const needed = serviceAccount
            ? ['MIXPANEL_PROJECT_TOKEN', 'MIXPANEL_SERVICE_ACCOUNT_USERNAME', 'MIXPANEL_SERVICE_ACCOUNT_SECRET']
            : ['MIXPANEL_PROJECT_TOKEN', 'MIXPANEL_API_SECRET'];
          const missing = needed.filter((name) => !key(name));
          if (missing.length > 0) throw new Problem(`${missing.join(' and ')} not set`);
          const url = config.mixpanel.apiUrl;
          if (config.mode === 'live' && !url.startsWith('https://'))
            throw new Problem('MIXPANEL_API_URL must be https in live mode');
          let verified = '';
          if (serviceAccount) {
            // The Service Accounts reference's own example: a read of who the account is, on the application API.
            const me = `${appApiUrl(url)}/me`;
            const res = await http(
              me,
              {
                headers: {
                  authorization: basic(
                    key('MIXPANEL_SERVICE_ACCOUNT_USERNAME')!,
                    key('MIXPANEL_SERVICE_ACCOUNT_SECRET')!,
                  ),
                },
                signal,
              },
              'Mixpanel',
            );
            if (res.status === 401 || res.status === 403)
              throw new Problem(
                `MIXPANEL_SERVICE_ACCOUNT_USERNAME / MIXPANEL_SERVICE_ACCOUNT_SECRET rejected (${res.status}): set ` +
                  'the user name and secret of a service account (Organization Settings → Service Accounts)',
              );
            if (!res.ok)
              throw new Problem(`unexpected HTTP ${res.status} from ${origin(me)}/api/app/me (MIXPANEL_API_URL?)`);
            verified =
              `/import authentication: service account, accepted by ${origin(me)} (GET /api/app/me); ` +
              `MIXPANEL_PROJECT_ID ${config.mixpanel.projectId} and the account's role (Owner or Admin) are checked ` +
              'by /import only, and MIXPANEL_PROJECT_TOKEN by the first write (no read-only check of them)';
          }
          // Every ingestion endpoint writes (a profile, an event): a HEAD of the host proves DNS, TLS and an answer only.
          const res = await http(`${url}/`, { method: 'HEAD', signal }, 'Mixpanel');
          if (res.status >= 500) throw new Problem(`Mixpanel answered HTTP ${res.status} (MIXPANEL_API_URL?)`);
          const host = `${origin(url)} answers (HTTP ${res.status})`;
          return serviceAccount
            ? `${verified}; ${host}`
            : '/import authentication: the project API secret (legacy; Mixpanel recommends a service account: ' +
                `MIXPANEL_SERVICE_ACCOUNT_*), MIXPANEL_PROJECT_TOKEN and MIXPANEL_API_SECRET set, ${host}; neither ` +
                'verified: Mixpanel documents no read-only check of them (a refused one is auth_failed on the first write)';
        },
      ),
    );
  } else checks.push(Promise.resolve([notDestination('mixpanel')]));

  if (destinations.has('humanic')) {
    checks.push(
      run('humanic', 'webhook URL (https, HEAD: nothing sent)', async (signal) => {
        const url = config.humanic.webhookUrl;
        if (!url) throw new Problem('HUMANIC_WEBHOOK_URL is not set');
        if (config.mode === 'live' && !url.startsWith('https://'))
          throw new Problem('HUMANIC_WEBHOOK_URL must be https in live mode');
        // A POST would be a delivery: HEAD carries no body and no person, and proves DNS, TLS and an HTTP answer.
        const res = await http(url, { method: 'HEAD', signal }, 'the Humanic webhook');
        if (res.status >= 500) throw new Problem(`${origin(url)} answered HTTP ${res.status} (HUMANIC_WEBHOOK_URL)`);
        return `${origin(url)} accepts connections (HEAD answered HTTP ${res.status}, nothing sent); the webhook path and payload not exercised`;
      }),
    );
  } else checks.push(Promise.resolve([notDestination('humanic')]));

  // ---- Temporal
  checks.push(
    run('temporal', `namespace ${config.temporal.namespace}, search attributes, schedules`, async () => {
      let temporal: Awaited<ReturnType<DoctorOptions['connectTemporal']>>;
      try {
        temporal = await o.connectTemporal();
      } catch (err) {
        // The connection module's error names the address, the namespace, the TLS settings and what to fix.
        if (err instanceof TemporalConnectionError) throw new Problem(err.message);
        throw new Problem(`cannot connect to ${config.temporal.address}: ${errorText(err)} (TEMPORAL_ADDRESS)`);
      }
      try {
        const { client } = temporal;
        const namespace = config.temporal.namespace;
        try {
          await client.workflowService.describeNamespace({ namespace });
        } catch (err) {
          throw new Problem(`namespace ${namespace} not found or not allowed: ${errorText(err)} (TEMPORAL_NAMESPACE)`);
        }
        const rows = [ok('temporal', `namespace ${namespace}`, `reachable at ${config.temporal.address}`)];
        const listed = await client.connection.operatorService.listSearchAttributes({ namespace });
        const known = { ...listed.systemAttributes, ...listed.customAttributes };
        const missing = SEARCH_ATTRIBUTES.filter((a) => !(a.name in known)).map((a) => a.name);
        rows.push(
          missing.length === 0
            ? ok('temporal', 'search attributes', `${SEARCH_ATTRIBUTES.length} registered`)
            : {
                system: 'temporal',
                check: 'search attributes',
                status: 'FAIL',
                detail: `missing ${missing.join(', ')}: start the worker once, or create them (docs/deploy.md, "Connecting to Temporal")`,
              },
        );
        const absent: string[] = [];
        for (const { scheduleId } of scheduleDefinitions(config)) {
          try {
            await client.schedule.getHandle(scheduleId).describe();
          } catch {
            absent.push(scheduleId);
          }
        }
        rows.push(
          absent.length === 0
            ? ok(
                'temporal',
                'schedules',
                scheduleDefinitions(config)
                  .map((s) => s.scheduleId)
                  .join(', '),
              )
            : {
                system: 'temporal',
                check: 'schedules',
                status: 'FAIL',
                detail: `missing ${absent.join(', ')}: enrich schedules apply (the worker applies them at start-up)`,
              },
        );
        return rows;
      } finally {
        await temporal.close();
      }
    }),
  );

  // ---- Database
  const latest = Math.max(...MIGRATIONS.map((m) => m.id));
  if (config.databaseUrl === undefined) {
    checks.push(
      Promise.resolve([
        skip(
          'database',
          'ledger',
          `embedded PGlite in ${config.dataDir ?? 'memory'}: one process only; set DATABASE_URL to deploy`,
        ),
      ]),
    );
  } else {
    const url = config.databaseUrl;
    checks.push(
      run('database', `reachable, migrations up to ${latest}`, async () => {
        let sql;
        try {
          sql = await openPostgres(url, { connectMs: timeoutMs, queryMs: timeoutMs, statementMs: timeoutMs });
        } catch (err) {
          throw new Problem(`cannot connect: ${errorText(err)} (DATABASE_URL)`);
        }
        try {
          let applied: { id: number }[];
          try {
            applied = await sql.query<{ id: number }>('SELECT id FROM schema_migrations');
          } catch (err) {
            if ((err as { code?: string }).code === '42P01')
              throw new Problem('no migrations applied: start the worker or the starter once (they migrate)');
            throw new Problem(`cannot read schema_migrations: ${errorText(err)} (DATABASE_URL)`);
          }
          const done = new Set(applied.map((r) => r.id));
          const pending = MIGRATIONS.filter((m) => !done.has(m.id)).map((m) => m.id);
          if (pending.length > 0)
            throw new Problem(`migrations ${pending.join(', ')} not applied: start the new worker (it migrates)`);
          return `reachable, ${MIGRATIONS.length} migrations applied (latest ${latest})`;
        } finally {
          await sql.close();
        }
      }),
    );
  }

  return (await Promise.all(checks)).flat();
}

/** Empty when `url` is an incoming webhook URL (https://hooks.slack.com/services/T…/B…/…; any host in sandbox mode). */
export function webhookUrlProblem(url: string, live: boolean): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'is not a URL';
  }
  if (!/\/services\/[A-Z0-9]+\/[A-Z0-9]+\/[\w-]+$/.test(parsed.pathname))
    return 'is not an incoming webhook URL (…/services/T…/B…/<token>)';
  if (
    live &&
    (parsed.protocol !== 'https:' || parsed.hostname !== 'hooks.slack.com' || !parsed.pathname.startsWith('/services/'))
  )
    return 'must be https://hooks.slack.com/services/…';
  return undefined;
}

/** The table `enrich doctor` prints, one row per check. */
export function formatTable(results: CheckResult[]): string {
  const header = ['system', 'check', 'status', 'detail'];
  const rows = results.map((r) => [r.system, r.check, r.status, r.detail]);
  const widths = [0, 1, 2].map((i) => Math.max(header[i]!.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i < 3 ? c.padEnd(widths[i]!) : c))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

const origin = (url: string) => {
  try {
    return new URL(url).origin;
  } catch {
    return '(not a URL)';
  }
};

function errorText(err: unknown): string {
  const e = err as { message?: string; cause?: { code?: string; message?: string } };
  const cause = e.cause?.code ?? e.cause?.message;
  return `${(e.message ?? String(err)).split('\n', 1)[0]!.slice(0, 200)}${cause ? ` (${cause})` : ''}`;
}

/** Every secret the configuration holds, to be kept out of the table whatever an error message says. */
function secretValues(config: Config): string[] {
  const values = [
    ...Object.values(config.credentials),
    config.clay.webhookAuth,
    config.slack.webhookUrl,
    config.slack.quietWebhookUrl,
    config.slack.alertWebhookUrl,
    config.webhookSecret,
    config.adminToken,
    config.clayCallbackSecret,
    config.metricsToken,
    config.webhooks.secret,
    config.humanic.webhookUrl,
    config.humanic.apiKey,
  ];
  if (config.databaseUrl) {
    try {
      const password = new URL(config.databaseUrl).password;
      if (password) values.push(password, decodeURIComponent(password));
    } catch {
      // not a URL: nothing to pick out
    }
  }
  return values.filter((v): v is string => typeof v === 'string' && v.length >= 4);
}

function redact(text: string, secrets: string[]): string {
  let out = text;
  for (const secret of secrets.sort((a, b) => b.length - a.length)) out = out.split(secret).join('***');
  return out;
}
