import type { ScoringConfig } from '../domain/icp/scoring';
import type { Ledger } from '../ledger/ledger';
import { createEnrichmentActivities, type EnrichmentPolicy, type ProviderClients } from './enrichment';
import { createLedgerActivities } from './ledger';

export interface ActivityDeps {
  ledger: Ledger;
  providers: ProviderClients;
  scoring: ScoringConfig;
  enrichment: Omit<EnrichmentPolicy, 'companyProviders' | 'personProviders'>;
}

/** Every activity the worker registers, wired once from its dependencies. */
export const createActivities = (deps: ActivityDeps) => ({
  ...createLedgerActivities(deps),
  ...createEnrichmentActivities(deps),
});
