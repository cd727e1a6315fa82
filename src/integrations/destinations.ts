import type { DestinationClients } from '../activities/writes';
import type { Config } from '../config';
import { createPosthogClient } from './posthog/client';
import { createSalesforceClient, type SalesforceClient } from './salesforce/client';
import { createSlackClient } from './slack/client';
import { createVitallyClient } from './vitally/client';
import { createWebhookClient } from './webhooks/client';

// The sandbox accepts any key but `bad-key`; live mode has every key checked at start-up by loadConfig.
const SANDBOX_KEY = 'sandbox-key';

/** The destinations of DESTINATIONS, wired from the configuration. */
export function createDestinationClients(config: Config, fetchImpl?: typeof fetch): DestinationClients {
  const key = (name: string) => config.credentials[name] ?? SANDBOX_KEY;
  const enabled = new Set(config.fanOut.destinations);
  const timeoutMs = config.fanOut.timeoutMs;
  const clients: DestinationClients = {};
  if (enabled.has('posthog')) clients.posthog = createPosthog(config, fetchImpl);
  if (enabled.has('salesforce')) clients.salesforce = createSalesforce(config);
  if (enabled.has('vitally')) {
    clients.vitally = createVitallyClient({
      baseUrl: config.systems.vitally.baseUrl,
      apiKey: key('VITALLY_API_KEY'),
      timeoutMs,
      fetch: fetchImpl,
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
