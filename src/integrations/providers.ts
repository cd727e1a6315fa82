import type { CompanyProvider, ProviderClients } from '../activities/enrichment';
import type { Config } from '../config';
import type { ProviderOutcome } from '../domain/provider-outcome';
import { createClayClient } from './clay/client';
import { createClearbitClient } from './clearbit/client';
import { createHarmonicClient } from './harmonic/client';

// The sandbox accepts any key but `bad-key`; live mode has every key checked at start-up by loadConfig.
const SANDBOX_KEY = 'sandbox-key';

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
