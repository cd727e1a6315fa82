// The worker bundles this file: export every workflow type here, and nothing that performs I/O.
export { SignupEnrichmentWorkflow } from './signup-enrichment';
export { CreditExhaustionDetectorWorkflow } from './credit-exhaustion-detector';
export { BackfillOutageWindowWorkflow } from './backfill-outage-window';
export { SalesforceReEnrichmentWorkflow } from './salesforce-reenrichment';
export { PurgeExpiredRawDataWorkflow } from './purge-expired-raw-data';
export { RollingHealthCheckWorkflow } from './rolling-health-check';
