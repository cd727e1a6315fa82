import type { ActivityDeps } from './activities';
import type { Config } from './config';
import type { CompanyProvider, DestinationClients, ProviderClients } from './domain/ports';
import type { ProviderOutcome } from './domain/provider-outcome';
import { createClayClient } from './integrations/clay/client';
import { createCloseClient } from './integrations/close/client';
import { createClearbitClient } from './integrations/clearbit/client';
import { createCustomerioClient } from './integrations/customerio/client';
import { dnsDeliverability } from './integrations/dns/deliverability';
import { createHarmonicClient } from './integrations/harmonic/client';
import { createMixpanelClient, type MixpanelImportAuth } from './integrations/mixpanel/client';
import { createHumanicClient } from './integrations/humanic/client';
import { createPosthogClient } from './integrations/posthog/client';
import { createSalesforceClient, type SalesforceClient } from './integrations/salesforce/client';
import { createSlackClient } from './integrations/slack/client';
import { createVitallyClient } from './integrations/vitally/client';
import { createWebhookClient } from './integrations/webhooks/client';
import type { Ledger } from './ledger/ledger';
import type { ErasureClients } from './privacy/forget';
import { createRedactor } from './redact';

/*
 * The composition root: the one place that reads the configuration to build the clients of the outside systems and
 * hands them, as the domain's ports, to the activity factories.
 */

// The sandbox accepts any key but `bad-key`; live mode has every key checked at start-up by loadConfig.
/** The key every sandbox simulator accepts (sandbox mode, credential unset). */
export const SANDBOX_KEY = 'sandbox-key';

/** Every activity dependency of the worker, from the configuration. */
export function createActivityDeps(
  config: Config,
  deps: { ledger: Ledger; temporal: ActivityDeps['temporal']; onSettled?: ActivityDeps['onSettled'] },
): ActivityDeps {
  const destinations = createDestinationClients(config);
  return {
    ledger: deps.ledger,
    indexCompanyDomain: config.payloadCodec === undefined,
    ...(config.deliverability.enabled
      ? {
          deliverability: dnsDeliverability({
            servers: config.deliverability.servers,
            timeoutMs: config.deliverability.timeoutMs,
          }),
        }
      : {}),
    providers: createProviderClients(config),
    scoring: config.scoring,
    enrichment: { ...config.enrichment, asyncResultTimeoutMinutes: config.clay.resultTimeoutMinutes },
    destinations,
    retry: config.fanOut.retry,
    health: {
      rules: config.health.rules,
      posthogSignupEvents: config.health.posthogCheck ? config.signupEvents : undefined,
      autoBackfill: config.health.autoBackfill,
      backfillConcurrency: config.health.backfillConcurrency,
      rollingWindowHours: config.health.rollingWindowHours,
      recent: { minutes: config.health.checkIntervalMinutes, minSignups: config.health.recentMinSignups },
      piiHashKey: config.piiHashKey,
    },
    posthog: config.health.posthogCheck ? (destinations.posthog ?? createPosthog(config)) : undefined,
    alerts: {
      slack: createSlackClient({ timeoutMs: config.fanOut.timeoutMs }),
      webhookUrl: config.slack.alertWebhookUrl,
    },
    temporal: deps.temporal,
    ...(deps.onSettled ? { onSettled: deps.onSettled } : {}),
    redact: createRedactor(config.secrets),
    reenrichment: {
      ...config.reenrichment,
      requiredFields: config.enrichment.requiredFields,
      fieldPreference: config.enrichment.fieldPreference,
      domainCacheDays: config.enrichment.domainCacheDays,
      fieldPolicy: config.salesforce.fieldPolicy,
      outageRetry: { initialMs: config.fanOut.retry.initialMs, maxMs: config.fanOut.retry.maxMs },
    },
    retention: config.retention,
    // Changed company data reaches the organizations in the destinations the fan-out writes to.
    reenrichmentClients: {
      salesforce: destinations.salesforce ?? createSalesforce(config),
      posthog: destinations.posthog,
      vitally: destinations.vitally,
    },
  };
}

/** The enrichment providers of ENRICHMENT_PROVIDERS that have a client, wired from the configuration. */
export function createProviderClients(config: Config, fetchImpl?: typeof fetch): ProviderClients {
  const key = (name: string) => config.credentials[name] ?? SANDBOX_KEY;
  const clearbit = createClearbitClient({
    companyBaseUrl: config.systems.clearbit.baseUrl,
    personBaseUrl: config.clearbitPersonBaseUrl,
    apiKey: key('CLEARBIT_API_KEY'),
    timeoutMs: config.providerTimeoutMs,
    fetch: fetchImpl,
  });
  const harmonic = createHarmonicClient({
    baseUrl: config.systems.harmonic.baseUrl,
    apiKey: key('HARMONIC_API_KEY'),
    timeoutMs: config.providerTimeoutMs,
    fetch: fetchImpl,
  });
  const clay = createClayClient({
    webhookUrl: config.clay.webhookUrl,
    webhookAuth: config.clay.webhookAuth,
    timeoutMs: config.providerTimeoutMs,
    fetch: fetchImpl,
  });
  const all: ProviderClients = {
    clay: {
      company: (d, ctx) => clay.addRow({ request_id: ctx.signupId, workflow_id: ctx.workflowId, company_domain: d }),
    },
    clearbit: { company: (d) => clearbit.findCompany(d), person: (e) => clearbit.findPerson(e) },
    harmonic: {
      company: (d) => harmonic.enrichCompany(d),
      person: (e) => harmonic.enrichPerson(e),
      poll: async (urn) => {
        const states = await harmonic.enrichmentStatus([urn]);
        return 'kind' in states ? (states as ProviderOutcome) : (states[urn] ?? 'pending');
      },
    },
  };
  return Object.fromEntries(
    config.providers.filter((p) => all[p] !== undefined).map((p) => [p, all[p] as CompanyProvider]),
  );
}

/**
 * Mixpanel's `/import` credential as configured (config.mixpanel.importAuth): the service account, or the API secret.
 * `key` reads a credential by variable name (the sandbox's key standing in for a missing one in sandbox mode).
 */
export function mixpanelImportAuth(config: Config, key: (name: string) => string): MixpanelImportAuth {
  return config.mixpanel.importAuth === 'service_account' && config.mixpanel.projectId !== undefined
    ? {
        serviceAccount: {
          username: key('MIXPANEL_SERVICE_ACCOUNT_USERNAME'),
          secret: key('MIXPANEL_SERVICE_ACCOUNT_SECRET'),
          projectId: config.mixpanel.projectId,
        },
      }
    : { apiSecret: key('MIXPANEL_API_SECRET') };
}

/** The destinations of DESTINATIONS, wired from the configuration. */
export function createDestinationClients(config: Config, fetchImpl?: typeof fetch): DestinationClients {
  const key = (name: string) => config.credentials[name] ?? SANDBOX_KEY;
  const enabled = new Set(config.fanOut.destinations);
  const timeoutMs = config.fanOut.timeoutMs;
  const clients: DestinationClients = {};
  if (enabled.has('posthog')) clients.posthog = createPosthog(config, fetchImpl);
  if (enabled.has('salesforce')) clients.salesforce = createSalesforce(config);
  if (enabled.has('vitally')) {
    const salesforce = clients.salesforce ?? createSalesforce(config);
    clients.vitally = createVitallyClient({
      baseUrl: config.systems.vitally.baseUrl,
      apiKey: key('VITALLY_API_KEY'),
      timeoutMs,
      fetch: fetchImpl,
      ...(config.vitally.accounts === 'salesforce_sync'
        ? {
            salesforceSync: {
              accountKey: config.vitally.syncAccountKey,
              salesforceAccountId: async (domain: string) =>
                salesforce
                  ? salesforce.accountIdByDomain(domain)
                  : {
                      kind: 'rejected' as const,
                      detail: 'VITALLY_ACCOUNTS=salesforce_sync needs Salesforce credentials',
                    },
            },
          }
        : {}),
    });
  }
  if (enabled.has('slack')) {
    clients.slack = {
      client: createSlackClient({ timeoutMs, fetch: fetchImpl }),
      webhookUrl: config.slack.webhookUrl,
      quietWebhookUrl: config.slack.quietWebhookUrl,
      highValue: config.slack.highValue,
    };
  }
  if (enabled.has('webhooks')) {
    clients.webhooks = {
      client: createWebhookClient({ secret: config.webhooks.secret, timeoutMs, fetch: fetchImpl }),
      urls: config.webhooks.urls,
    };
  }
  if (enabled.has('customerio')) {
    clients.customerio = createCustomerioClient({
      trackUrl: config.customerio.trackUrl,
      siteId: key('CUSTOMERIO_SITE_ID'),
      apiKey: key('CUSTOMERIO_API_KEY'),
      timeoutMs,
      fetch: fetchImpl,
    });
  }
  if (enabled.has('mixpanel')) {
    clients.mixpanel = createMixpanelClient({
      apiUrl: config.mixpanel.apiUrl,
      idMerge: config.mixpanel.idMerge,
      projectToken: key('MIXPANEL_PROJECT_TOKEN'),
      ...mixpanelImportAuth(config, key),
      timeoutMs,
      fetch: fetchImpl,
    });
  }
  if (enabled.has('close')) {
    clients.close = {
      client: createCloseClient({
        baseUrl: config.close.apiUrl,
        apiKey: key('CLOSE_API_KEY'),
        highValueAction: config.close.highValueAction,
        timeoutMs,
        fetch: fetchImpl,
      }),
      highValue: config.slack.highValue,
    };
  }
  if (enabled.has('humanic') && config.humanic.webhookUrl) {
    const projectId = Number(config.posthog.projectId);
    clients.humanic = createHumanicClient({
      webhookUrl: config.humanic.webhookUrl,
      apiKey: config.humanic.apiKey,
      project: {
        id: Number.isInteger(projectId) ? projectId : 0,
        name: `PostHog project ${config.posthog.projectId}`,
        url: `${config.posthog.apiBaseUrl.replace(/\/$/, '')}/project/${encodeURIComponent(config.posthog.projectId)}`,
      },
      organizationGroupIndex: config.posthog.organizationGroupIndex,
      timeoutMs,
      fetch: fetchImpl,
    });
  }
  return clients;
}

/**
 * The Salesforce client (the fan-out's and the weekend re-enrichment's); undefined in live mode without a client id,
 * which only a configuration without Salesforce in DESTINATIONS allows.
 */
export function createSalesforce(config: Config): SalesforceClient | undefined {
  const key = (name: string) => config.credentials[name] ?? (config.mode === 'live' ? undefined : SANDBOX_KEY);
  const clientId = key('SALESFORCE_CLIENT_ID');
  const clientSecret = key('SALESFORCE_CLIENT_SECRET');
  if (!clientId || !clientSecret) return undefined;
  return createSalesforceClient({
    ...config.salesforce,
    loginUrl: config.systems.salesforce.baseUrl,
    clientId,
    clientSecret,
    username: config.credentials.SALESFORCE_USERNAME,
    password: config.credentials.SALESFORCE_PASSWORD,
    timeoutMs: config.fanOut.timeoutMs,
  });
}

/** PostHog's capture and query client (the health check uses the query API even when PostHog is not written to). */
export function createPosthog(config: Config, fetchImpl?: typeof fetch) {
  return createPosthogClient({
    captureBaseUrl: config.systems.posthog.baseUrl,
    apiBaseUrl: config.posthog.apiBaseUrl,
    projectApiKey: config.credentials.POSTHOG_PROJECT_API_KEY ?? SANDBOX_KEY,
    personalApiKey: config.credentials.POSTHOG_PERSONAL_API_KEY ?? SANDBOX_KEY,
    projectId: config.posthog.projectId,
    organizationGroupIndex: config.posthog.organizationGroupIndex,
    timeoutMs: config.fanOut.timeoutMs,
    fetch: fetchImpl,
  });
}

/**
 * The deletion clients of `enrich forget`, for the destinations of DESTINATIONS (the fan-out's clients and
 * credentials): PostHog's persons API takes the personal API key.
 */
export function createErasureClients(config: Config, fetchImpl?: typeof fetch): ErasureClients {
  const d = createDestinationClients(config, fetchImpl);
  const enabled = new Set(config.fanOut.destinations);
  const salesforce = enabled.has('salesforce') ? createSalesforce(config) : undefined;
  return {
    posthog: enabled.has('posthog') ? createPosthog(config, fetchImpl) : undefined,
    salesforce,
    vitally: enabled.has('vitally')
      ? createVitallyClient({
          baseUrl: config.systems.vitally.baseUrl,
          apiKey: config.credentials.VITALLY_API_KEY ?? SANDBOX_KEY,
          timeoutMs: config.fanOut.timeoutMs,
          fetch: fetchImpl,
        })
      : undefined,
    webhooks: d.webhooks,
    slack: d.slack !== undefined,
    customerio: d.customerio,
    mixpanel: d.mixpanel,
    close: enabled.has('close')
      ? createCloseClient({
          baseUrl: config.close.apiUrl,
          apiKey: config.credentials.CLOSE_API_KEY ?? SANDBOX_KEY,
          highValueAction: config.close.highValueAction,
          timeoutMs: config.fanOut.timeoutMs,
          fetch: fetchImpl,
        })
      : undefined,
    humanic: d.humanic !== undefined,
  };
}
