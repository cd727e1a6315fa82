import { setTimeout as sleep } from 'node:timers/promises';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { ErrorType } from '../domain/errors';
import { mergeFields, missingFields, type Provenance } from '../domain/enrichment/merge';
import { nextProvider, wantedFields, withCredit, withinBudget } from '../domain/enrichment/waterfall';
import { companyPart, type IcpFields } from '../domain/icp/fields';
import { scoreIcp, type ScoringConfig } from '../domain/icp/scoring';
import type { PosthogPort, ProviderClients, SalesforcePort, SlackPort, VitallyPort } from '../domain/ports';
import type { ProviderName } from '../domain/provider-outcome';
import { DAY_MS } from '../domain/time';
import { sha256 } from '../hash';
import { accountDomain, exclusionOf } from '../domain/account-domain';
import { type AccountOutcome, type AccountToRefresh, type ReEnrichmentPolicy } from '../domain/reenrichment';
import { outcomeOfError } from '../integrations/salesforce/client';
import { ACCOUNT_FIELD_OF } from '../integrations/salesforce/mapping';
import {
  accountUpdate,
  ENRICHED_AT,
  ENRICHMENT_RUN,
  ENRICHMENT_STATUS,
  selectionSoql,
  type SelectionOptions,
} from '../integrations/salesforce/reenrichment';
import type { Ledger } from '../ledger/ledger';
import {
  enrichedSignup,
  heartbeating,
  NO_SIGNUP,
  postAlertOnce,
  PROVIDER_JITTER,
  retryDelayMs,
  serverNow,
} from './support';

export interface ReEnrichmentDeps {
  ledger: Ledger;
  providers: ProviderClients;
  scoring: ScoringConfig;
  /** The policy of every run, from the configuration. */
  reenrichment: ReEnrichmentPolicy;
  /** Salesforce, PostHog and Vitally clients (a missing one: re-enrichment fails, or skips that propagation). */
  reenrichmentClients: { salesforce?: SalesforcePort; posthog?: PosthogPort; vitally?: VitallyPort };
  alerts: { slack: SlackPort; webhookUrl: string | undefined };
}

export interface AccountPage {
  accounts: AccountToRefresh[];
  /** Selected but never paid for: no usable domain, personal or excluded domains. */
  skipped: AccountOutcome[];
  totalSize: number;
  /** The query locator of the next page. */
  next: string | undefined;
}

export interface ReEnrichAccountsInput {
  runId: string;
  accounts: AccountToRefresh[];
  creditsLeft: number;
  dryRun: boolean;
  policy: ReEnrichmentPolicy;
  /** Providers out of credits earlier in the run: not asked again. */
  exhausted: string[];
}

export interface ReEnrichAccountsResult {
  outcomes: AccountOutcome[];
  creditsSpent: Record<string, number>;
  exhausted: string[];
  /** Accounts not looked at because the credit budget was spent (their ids, in order). */
  notReached: string[];
}

/** Heartbeat details of `reEnrichAccounts`: what is done, so a retry after a crash resumes after it. */
interface Checkpoint {
  outcomes: AccountOutcome[];
  creditsSpent: Record<string, number>;
  exhausted: string[];
}

/** How long a Bulk API 2.0 job is polled before the write-back attempt fails (and is retried). */
const BULK_POLL_TIMEOUT_MS = 4 * 60_000;

/** A Salesforce error as the failure the workflow understands (an outage is waited out, credentials fail the run). */
function salesforceFailure(err: unknown, what: string): ApplicationFailure {
  if ((err as { errorCode?: string }).errorCode === 'INVALID_QUERY_LOCATOR') {
    return ApplicationFailure.create({
      type: ErrorType.QueryLocatorExpired,
      message: `${what}: the query locator expired`,
      nonRetryable: true,
    });
  }
  const outcome = outcomeOfError(err, 0);
  switch (outcome.kind) {
    case 'auth_failed':
      return ApplicationFailure.create({
        type: ErrorType.DestinationAuthFailed,
        message: `${what}: ${outcome.detail}`,
        nonRetryable: true,
      });
    case 'rejected':
      return ApplicationFailure.create({
        type: ErrorType.DestinationRejected,
        message: `${what}: ${outcome.detail}`,
        nonRetryable: true,
      });
    default:
      return ApplicationFailure.create({
        type: ErrorType.DestinationUnavailable,
        message: `${what}: ${outcome.detail}`,
      });
  }
}

/** Tries of one lookup during an outage before the page's activity fails (and is retried by Temporal). */
const LOOKUP_ATTEMPTS = 3;

export const createReEnrichmentActivities = (deps: ReEnrichmentDeps) => {
  const salesforce = (): SalesforcePort => {
    const client = deps.reenrichmentClients.salesforce;
    if (!client) {
      throw ApplicationFailure.create({
        type: ErrorType.DestinationRejected,
        message: 'Salesforce is not configured (SALESFORCE_CLIENT_ID / SALESFORCE_CLIENT_SECRET)',
        nonRetryable: true,
      });
    }
    return client;
  };

  /**
   * One company lookup with throttling and outages handled here, by the one retry policy (`retryDelayMs`), because
   * the activity is long: a 429 waits its Retry-After, an outage is tried three times before the page's activity is
   * retried (resuming after its last recorded account); a rejected key fails the run.
   */
  const lookup = async (provider: ProviderName, domain: string, runId: string) => {
    const client = deps.providers[provider];
    if (!client) throw ApplicationFailure.nonRetryable(`${provider} is not configured`, ErrorType.ProviderAuthFailed);
    for (let attempt = 1; ; attempt++) {
      const outcome = await client.company(domain, { signupId: NO_SIGNUP, workflowId: runId });
      if (outcome.kind === 'rate_limited') {
        await sleep(retryDelayMs(outcome, attempt, PROVIDER_JITTER));
        continue;
      }
      if (outcome.kind === 'transient') {
        if (attempt >= LOOKUP_ATTEMPTS) {
          throw ApplicationFailure.create({
            type: ErrorType.ProviderUnavailable,
            message: `${provider} unavailable: ${outcome.detail}`,
          });
        }
        await sleep(retryDelayMs(outcome, attempt, PROVIDER_JITTER));
        continue;
      }
      if (outcome.kind === 'auth_failed') {
        throw ApplicationFailure.create({
          type: ErrorType.ProviderAuthFailed,
          message: `${provider} rejected the API key (HTTP ${outcome.status}); fix the credential`,
          nonRetryable: true,
        });
      }
      await deps.ledger.providerArchive.archiveProviderResponse({
        provider,
        lookup: 'company',
        lookupKey: domain,
        signupId: undefined,
        outcome: outcome.kind,
        httpStatus: undefined,
        body: outcome.kind === 'found' ? outcome.raw : outcome,
        receivedAt: serverNow(),
      });
      return outcome;
    }
  };

  return {
    /** The weekend run's policy, from this worker's configuration (read once per run: it is in the history). */
    getReEnrichmentPolicy(): Promise<ReEnrichmentPolicy> {
      return Promise.resolve(deps.reenrichment);
    },

    /**
     * One page of the selection: the first (`query`) or the next (`locator`). Accounts without a usable domain, and
     * personal or excluded domains, come back as skipped.
     */
    async fetchAccountPage(input: {
      query?: Omit<SelectionOptions, 'externalIdField'>;
      locator?: string;
      pageSize: number;
      excludedDomains: string[];
    }): Promise<AccountPage> {
      const sf = salesforce();
      const ext = sf.accountExternalIdField;
      let page;
      try {
        page = await heartbeating(() =>
          sf.queryPage<Record<string, unknown>>(
            input.locator
              ? { locator: input.locator }
              : { soql: selectionSoql({ ...input.query!, externalIdField: ext }) },
            input.pageSize,
          ),
        );
      } catch (err) {
        throw salesforceFailure(err, 'selecting accounts');
      }
      const accounts: AccountToRefresh[] = [];
      const skipped: AccountOutcome[] = [];
      for (const r of page.records) {
        const id = String(r.Id);
        const domain = accountDomain(r[ext], r.Website);
        const exclusion = domain ? exclusionOf(domain, input.excludedDomains) : 'no usable website';
        if (!domain || exclusion) {
          skipped.push({
            accountId: id,
            domain: domain ?? (typeof r.Website === 'string' ? r.Website : ''),
            kind: 'skipped',
            reason: exclusion!,
          });
          continue;
        }
        const current = Object.fromEntries(Object.values(ACCOUNT_FIELD_OF).map((f) => [f, r[f] ?? null]));
        accounts.push({ id, name: typeof r.Name === 'string' ? r.Name : undefined, domain, current });
      }
      return { accounts, skipped, totalSize: page.totalSize, next: page.next };
    },

    /**
     * The waterfall for a page of accounts: the domain cache first (a company a signup refreshed recently costs
     * nothing), then the providers in cost order while a required field is missing, never past the credit budget.
     * Heartbeats carry what is done: a retry after a worker crash resumes after the last account it recorded.
     */
    async reEnrichAccounts(input: ReEnrichAccountsInput): Promise<ReEnrichAccountsResult> {
      const { policy } = input;
      const ctx = Context.current();
      const resumed = ctx.info.heartbeatDetails as Checkpoint | undefined;
      const state: Checkpoint = resumed ?? { outcomes: [], creditsSpent: {}, exhausted: [...input.exhausted] };
      const notReached: string[] = [];
      const wanted = wantedFields(policy.requiredFields, true).company;

      await heartbeating(
        async () => {
          for (const account of input.accounts.slice(state.outcomes.length)) {
            const now = serverNow();
            const cached = await deps.ledger.companyCache.getCachedCompany(
              account.domain,
              new Date(Date.parse(now) - policy.domainCacheDays * DAY_MS).toISOString(),
            );
            let known: { fields: IcpFields; provenance: Provenance } = cached
              ? { fields: cached.fields, provenance: cached.provenance }
              : { fields: {}, provenance: {} };
            let foundByProvider = false;
            let budgetSpent = false;
            const missedBecause: string[] = [];
            if (!input.dryRun) {
              // In cost order while a wanted field is missing, each provider once (the signup waterfall's decision).
              const tried = new Set<ProviderName>();
              const next = () => nextProvider(policy.providers, known.fields, wanted, (p) => !tried.has(p));
              for (let provider = next(); provider; provider = next()) {
                tried.add(provider);
                if (state.exhausted.includes(provider)) {
                  missedBecause.push(`${provider} out of credits`);
                  continue;
                }
                if (!withinBudget(state.creditsSpent, input.creditsLeft)) {
                  budgetSpent = true;
                  break;
                }
                const outcome = await lookup(provider, account.domain, input.runId);
                if (outcome.kind === 'credits_exhausted') {
                  state.exhausted.push(provider);
                  missedBecause.push(`${provider} out of credits`);
                } else if (outcome.kind === 'found') {
                  known = mergeFields(known, outcome.fields, { source: provider, at: now }, policy.fieldPreference);
                  state.creditsSpent = withCredit(state.creditsSpent, provider);
                  foundByProvider = true;
                } else if (outcome.kind === 'queued') {
                  missedBecause.push(`${provider} still computing`);
                } else if (outcome.kind === 'rejected') {
                  missedBecause.push(
                    `${provider} rejected the lookup: ${outcome.errorType ?? `HTTP ${outcome.status}`}`,
                  );
                }
              }
            }
            if (budgetSpent && !foundByProvider) {
              // Budget gone before this account was paid for: it and the rest of the page are not reached.
              notReached.push(...input.accounts.slice(state.outcomes.length).map((a) => a.id));
              break;
            }
            if (foundByProvider) {
              await deps.ledger.companyCache.putCachedCompany(
                account.domain,
                companyPart(known.fields),
                companyPart(known.provenance),
                now,
              );
            }
            const complete = missingFields(known.fields, wanted).length === 0;
            state.outcomes.push(
              outcomeOf(account, known, { foundByProvider, missedBecause, fromCache: !!cached, complete }, input),
            );
          }
        },
        () => state,
      );
      return { outcomes: state.outcomes, creditsSpent: state.creditsSpent, exhausted: state.exhausted, notReached };
    },

    /**
     * Writes a page's updates through the sObject Collections endpoint (200 a call), or one Bulk API 2.0 job above
     * `bulkThreshold` updates; per-record errors collected.
     * It first reads which records already carry this run's stamp and does not write them again.
     */
    async writeBackAccounts(input: {
      runId: string;
      updates: Record<string, unknown>[];
      bulkThreshold: number;
    }): Promise<{
      written: number;
      alreadyWritten: number;
      errors: { accountId: string; error: string }[];
      api: 'collections' | 'bulk';
    }> {
      const sf = salesforce();
      try {
        return await heartbeating(async () => {
          // A retry (by Temporal, or by the workflow after an outage) may follow a write that reached Salesforce:
          // records already carrying this run's stamp are not written again.
          let updates = input.updates as ({ Id: string } & Record<string, unknown>)[];
          let alreadyWritten = 0;
          if (updates.length > 0) {
            const ids = updates.map((u) => `'${u.Id.replace(/[^A-Za-z0-9]/g, '')}'`).join(', ');
            const done = await sf.queryPage<{ Id: string }>(
              {
                soql: `SELECT Id FROM Account WHERE Id IN (${ids}) AND ${ENRICHMENT_RUN} = '${input.runId.replace(/[\\']/g, '')}'`,
              },
              2000,
            );
            const stamped = new Set(done.records.map((r) => r.Id.slice(0, 15)));
            alreadyWritten = stamped.size;
            updates = updates.filter((u) => !stamped.has(u.Id.slice(0, 15)));
          }
          const bulk = updates.length > input.bulkThreshold;
          const results = bulk
            ? await sf.updateRecordsBulk('Account', updates, BULK_POLL_TIMEOUT_MS)
            : await sf.updateRecords('Account', updates);
          const errors = results.flatMap((r) => (r.error ? [{ accountId: r.id, error: r.error }] : []));
          return {
            written: results.length - errors.length,
            alreadyWritten,
            errors,
            api: bulk ? 'bulk' : 'collections',
          };
        });
      } catch (err) {
        throw salesforceFailure(err, 'writing accounts back');
      }
    },

    /**
     * Changed company data reaches the organizations of that domain in PostHog (group properties) and Vitally
     * (account traits), rescored with the organization's person fields. Idempotent per run and organization.
     */
    async propagateToOrganizations(input: {
      runId: string;
      domains: string[];
    }): Promise<{ organizations: number; posthog: number; vitally: number }> {
      const { posthog, vitally } = deps.reenrichmentClients;
      const counts = { organizations: 0, posthog: 0, vitally: 0 };
      if (!posthog && !vitally) return counts;
      for (const domain of input.domains) {
        // The re-enriched company data is in the domain cache (written by reEnrichAccounts, or what it served).
        const company = await deps.ledger.companyCache.getCachedCompany(domain, new Date(0).toISOString());
        if (!company) continue;
        for (const record of await deps.ledger.signups.latestSignupPerOrganization(domain)) {
          const base = enrichedSignup(record);
          const fields = { ...base.fields, ...companyPart(company.fields) };
          const s = {
            ...base,
            fields,
            provenance: { ...base.provenance, ...companyPart(company.provenance) },
            score: scoreIcp(fields, deps.scoring, sha256),
            enrichedAt: serverNow(),
          };
          counts.organizations++;
          const key = `reenrich:${input.runId}:${record.organizationId}`;
          for (const [name, write] of [
            ['posthog', posthog && (() => posthog.writeOrganization(s, key))],
            ['vitally', vitally && (() => vitally.writeAccount(s))],
          ] as const) {
            if (!write) continue;
            const outcome = await write();
            if (outcome.kind === 'written') counts[name]++;
            else if (outcome.kind !== 'rejected' && outcome.kind !== 'auth_failed') {
              throw ApplicationFailure.create({
                type: ErrorType.DestinationUnavailable,
                message: `${name}: ${outcome.detail}`,
              });
            } else {
              Context.current().log.warn('organization not updated', { destination: name, detail: outcome.detail });
            }
          }
        }
      }
      return counts;
    },

    /** The run's summary to the alert channel, at most once per run. */
    postReEnrichmentSummary(input: { runId: string; text: string }): Promise<string> {
      return postAlertOnce(deps, `reenrich:${input.runId}`, input.text, 're-enrichment summary');
    },
  };
};

/** One account's outcome, with its Account update (none in a dry run). */
function outcomeOf(
  account: AccountToRefresh,
  known: { fields: IcpFields; provenance: Provenance },
  how: { foundByProvider: boolean; missedBecause: string[]; fromCache: boolean; complete: boolean },
  input: ReEnrichAccountsInput,
): AccountOutcome {
  const base = { accountId: account.id, domain: account.domain };
  const knownFields = Object.keys(known.fields).length > 0;
  if (input.dryRun) {
    // Would be re-enriched: free when the domain cache already has every required field.
    return { ...base, kind: 'refreshed', changed: [], update: undefined, fromCache: how.fromCache && how.complete };
  }
  if (!knownFields) {
    if (how.missedBecause.length > 0) return { ...base, kind: 'skipped', reason: how.missedBecause.join(', ') };
    return {
      ...base,
      kind: 'not_found',
      reason: 'no provider knows the domain',
      // Stamped, so it is not looked up again every weekend; `not_found` tells a rep why the fields stay empty.
      update: {
        Id: account.id,
        [ENRICHED_AT]: serverNow(),
        [ENRICHMENT_STATUS]: 'not_found',
        [ENRICHMENT_RUN]: input.runId,
      },
    };
  }
  const times = Object.values(known.provenance).map((p) => p.at);
  const at = times.length > 0 ? times.sort().at(-1)! : serverNow();
  const { update, changed } = accountUpdate(account.id, account.current, known.fields, known.provenance, {
    policy: input.policy.fieldPolicy,
    complete: how.complete,
    runId: input.runId,
    at,
  });
  return {
    ...base,
    kind: changed.length > 0 ? 'refreshed' : 'unchanged',
    changed,
    update,
    fromCache: how.fromCache && !how.foundByProvider,
  };
}

export type ReEnrichmentActivities = ReturnType<typeof createReEnrichmentActivities>;
