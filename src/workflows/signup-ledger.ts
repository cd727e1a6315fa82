import { RetryState } from '@temporalio/common';
import {
  ActivityFailure,
  patched,
  proxyActivities,
  proxyLocalActivities,
  TimeoutFailure,
  type ActivityInterfaceFor,
} from '@temporalio/workflow';
import type { EnrichmentActivities } from '../activities/enrichment';
import type { LedgerActivities } from '../activities/ledger';
import { ledgerCall, localLedgerCall } from './activity-options';

/** Workflows started before the ledger calls ran as local activities replay them as activities. */
export const LOCAL_LEDGER_PATCH = 'ledger-local-activities-v1';

/** The ledger calls a signup makes: screening, the policy, the domain cache, the recorded outcome. */
export type LedgerCalls = Pick<LedgerActivities, 'screenSignup'> &
  Pick<EnrichmentActivities, 'getEnrichmentPolicy' | 'lookupCachedCompany' | 'saveEnrichment'>;

const ledgerCalls = (
  ledger: ActivityInterfaceFor<LedgerActivities>,
  enrichment: ActivityInterfaceFor<EnrichmentActivities>,
): LedgerCalls => ({
  screenSignup: ledger.screenSignup,
  getEnrichmentPolicy: enrichment.getEnrichmentPolicy,
  lookupCachedCompany: enrichment.lookupCachedCompany,
  saveEnrichment: enrichment.saveEnrichment,
});

const remoteLedger = ledgerCalls(
  proxyActivities<LedgerActivities>(ledgerCall),
  proxyActivities<EnrichmentActivities>(ledgerCall),
);

// A burst of one organization's signups is handled one after another: without a round trip through the server for
// each ledger call it goes several times faster, with fewer history events per signup. Provider calls stay activities
// and end the workflow task; signups that need none are cut into tasks by the workflow (endLongLocalChain).
const local = ledgerCalls(
  proxyLocalActivities<LedgerActivities>(localLedgerCall),
  proxyLocalActivities<EnrichmentActivities>(localLedgerCall),
);

/** A local call that timed out (a ledger outage) goes on as a regular activity. */
const orRemote =
  <A extends unknown[], R>(localCall: (...args: A) => Promise<R>, remoteCall: (...args: A) => Promise<R>) =>
  async (...args: A): Promise<R> => {
    try {
      return await localCall(...args);
    } catch (err) {
      const timedOut =
        err instanceof ActivityFailure &&
        (err.retryState === RetryState.TIMEOUT || err.cause instanceof TimeoutFailure);
      if (!timedOut) throw err;
      return remoteCall(...args);
    }
  };

const localLedger: LedgerCalls = {
  screenSignup: orRemote(local.screenSignup, remoteLedger.screenSignup),
  getEnrichmentPolicy: orRemote(local.getEnrichmentPolicy, remoteLedger.getEnrichmentPolicy),
  lookupCachedCompany: orRemote(local.lookupCachedCompany, remoteLedger.lookupCachedCompany),
  saveEnrichment: orRemote(local.saveEnrichment, remoteLedger.saveEnrichment),
};

/** The ledger calls: local activities, except in histories recorded before they were. */
export const signupLedger = (): LedgerCalls => (patched(LOCAL_LEDGER_PATCH) ? localLedger : remoteLedger);
