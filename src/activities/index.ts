import type { ScoringConfig } from '../domain/icp/scoring';
import type { DeliverabilityPort, DestinationClients, ProviderClients } from '../domain/ports';
import type { Ledger } from '../ledger/ledger';
import type { Redactor } from '../redact';
import { createEnrichmentActivities, type EnrichmentPolicy } from './enrichment';
import type { SettledObserver } from './support';
import { createHealthActivities, type HealthDeps } from './health';
import { createLedgerActivities } from './ledger';
import { createReEnrichmentActivities, type ReEnrichmentDeps } from './reenrichment';
import { createRetentionActivities, type RetentionDeps } from './retention';
import { createWriteActivities, type WriteRetryPolicy } from './writes';

export interface ActivityDeps {
  ledger: Ledger;
  providers: ProviderClients;
  scoring: ScoringConfig;
  enrichment: Omit<EnrichmentPolicy, 'companyProviders' | 'personProviders'>;
  destinations: DestinationClients;
  retry: WriteRetryPolicy;
  health: HealthDeps['health'];
  posthog: HealthDeps['posthog'];
  alerts: HealthDeps['alerts'];
  temporal: HealthDeps['temporal'];
  reenrichment: ReEnrichmentDeps['reenrichment'];
  reenrichmentClients: ReEnrichmentDeps['reenrichmentClients'];
  retention: RetentionDeps['retention'];
  /** `false` when payloads are encrypted: the clear-text `CompanyDomain` search attribute is left unset. */
  indexCompanyDomain?: boolean;
  /** Deliverability screening of work-email domains (SCREEN_DELIVERABILITY); absent: off. */
  deliverability?: DeliverabilityPort;
  /** The redaction of outside systems' error texts before failures and the ledger (src/redact.ts). */
  redact: Redactor;
  /** Each signup's first settled outcome, for the worker's metrics (absent: not observed). */
  onSettled?: SettledObserver;
}

/** Every activity the worker registers, wired once from its dependencies. */
export const createActivities = (deps: ActivityDeps) => ({
  ...createLedgerActivities(deps),
  ...createEnrichmentActivities(deps),
  ...createWriteActivities(deps),
  ...createHealthActivities(deps),
  ...createReEnrichmentActivities(deps),
  ...createRetentionActivities(deps),
});
