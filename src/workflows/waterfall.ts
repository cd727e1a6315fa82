import { condition, proxyActivities, workflowInfo, type ActivityOptions } from '@temporalio/workflow';
import type { EnrichmentActivities, EnrichmentPolicy, ProviderCallResult } from '../activities/enrichment';
import { mergeFields, missingFields, type Provenance } from '../domain/enrichment/merge';
import { COMPANY_FIELDS, PERSON_FIELDS, type IcpField, type IcpFields } from '../domain/icp/fields';
import { ErrorType } from '../domain/errors';
import type { ProviderName } from '../domain/provider-outcome';
import type { TraceEntry } from './messages';

/**
 * Provider calls: no attempt limit, because throttling and outages must never fail a signup — a 429 is retried after
 * the delay the provider advertised, 5xx and timeouts with a backoff capped at 10 s (the activity sets
 * `nextRetryDelay`, jittered). A rejected API key is the one failure that stops the signup: an operator must fix it.
 */
export const providerCall: ActivityOptions = {
  startToCloseTimeout: '30 seconds',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
    nonRetryableErrorTypes: [ErrorType.ProviderAuthFailed],
  },
};

const { callProvider } = proxyActivities<EnrichmentActivities>(providerCall);
const { recordAsyncOutcome } = proxyActivities<EnrichmentActivities>({
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute' },
});

const DAY_MS = 24 * 60 * 60 * 1000;
/** First wait for credits, doubled after each unsuccessful retry up to the cap. */
const FIRST_CREDIT_WAIT_MS = 15 * 60 * 1000;
const MAX_CREDIT_WAIT_MS = 12 * 60 * 60 * 1000;

export interface WaterfallInput {
  signupId: string;
  /** The company domain for work emails; undefined for free-mail and disposable signups (person-only). */
  domain: string | undefined;
  policy: EnrichmentPolicy;
  /** What the domain cache had, if anything. */
  cached: { fields: IcpFields; provenance: Provenance } | undefined;
  /** Wakes a credit wait early: returns how many `creditsRestored` signals arrived so far. */
  creditsRestoredCount: () => number;
  /** Resolves with an asynchronous provider's result for this signup, or undefined when none came in time. */
  awaitAsyncResult: (timeoutMs: number) => Promise<{ found: boolean; fields: IcpFields } | undefined>;
  /** Drops a result already received, before a row is (re-)sent: each row waits for its own answer. */
  forgetAsyncResult: () => void;
  onWaiting: (waiting: boolean, reason: string | undefined) => void;
  /** Resolves when providers may be called: holds while enrichment is paused on purpose. */
  whileUnpaused: () => Promise<void>;
}

export interface WaterfallResult {
  fields: IcpFields;
  provenance: Provenance;
  missing: IcpField[];
  creditsSpent: Record<string, number>;
  trace: TraceEntry[];
  /** A provider (not the cache) supplied company data: only then is the domain cache refreshed. */
  companyFoundByProvider: boolean;
  /** Company lookups the provider is still computing (Clearbit 202, Harmonic's urn), to follow up later. */
  queued: { provider: ProviderName; token: string | undefined }[];
  /** Providers still unavailable when the bounded wait ended, with why (`credits_exhausted`, `provider_silent`). */
  unavailable: { provider: ProviderName; outcome: string }[];
}

/**
 * The cost-ordered waterfall: each provider is asked only while a required field is still missing, and its answer
 * fills only what is missing (or what the field preference says it knows better). Providers out of credits (or
 * silent, like Clay when its credits or rows run out) are skipped and the rest continue; if required fields are then still missing because of them, the signup waits
 * durably — capped-backoff timers, woken early by `creditsRestored` — and retries those providers, until the
 * bounded wait (`creditsWaitMaxDays`) is over.
 */
export async function runWaterfall(input: WaterfallInput): Promise<WaterfallResult> {
  const { policy } = input;
  let known = { fields: {} as IcpFields, provenance: {} as Provenance };
  const trace: TraceEntry[] = [];
  const creditsSpent: Record<string, number> = {};
  let companyFoundByProvider = false;
  const queued = new Map<ProviderName, string | undefined>();

  if (input.cached) {
    known = { fields: input.cached.fields, provenance: input.cached.provenance };
    trace.push({ source: 'cache', lookup: 'cache', outcome: 'found', filled: Object.keys(input.cached.fields) });
  }

  const wantedCompany = input.domain ? policy.requiredFields.filter((f) => COMPANY_FIELDS.includes(f)) : [];
  const requiredPerson = policy.requiredFields.filter((f) => PERSON_FIELDS.includes(f));
  // Every signup gets a person lookup for its role (scoring reads it) even when no person field is required.
  const wantedPerson: IcpField[] = [...new Set<IcpField>([...requiredPerson, 'role'])];
  const pendingCompany = new Set(input.domain ? policy.companyProviders : []);
  const pendingPerson = new Set(policy.personProviders);

  const take = (provider: ProviderName, lookup: 'company' | 'person', fields: IcpFields, at: string) => {
    const merged = mergeFields(known, fields, { source: provider, at }, policy.fieldPreference);
    known = { fields: merged.fields, provenance: merged.provenance };
    creditsSpent[provider] = (creditsSpent[provider] ?? 0) + 1;
    if (lookup === 'company') companyFoundByProvider = true;
    trace.push({ source: provider, lookup, outcome: 'found', filled: merged.filled });
  };

  const ask = async (provider: ProviderName, lookup: 'company' | 'person') => {
    await input.whileUnpaused();
    if (provider === 'clay') input.forgetAsyncResult();
    const result: ProviderCallResult = await callProvider({
      provider,
      signupId: input.signupId,
      workflowId: workflowInfo().workflowId,
      lookup,
      domain: lookup === 'company' ? input.domain : undefined,
    });
    if (result.kind === 'found') {
      take(provider, lookup, result.fields, result.at);
      return 'found';
    }
    if (result.kind === 'queued' && provider === 'clay') {
      // Clay answers through POST /webhooks/clay; silence past the timeout means no credits or no rows left.
      const answer = await input.awaitAsyncResult(policy.asyncResultTimeoutMinutes * 60_000);
      if (answer === undefined) {
        await recordAsyncOutcome({ provider, signupId: input.signupId, domain: input.domain!, outcome: 'silent' });
        trace.push({ source: provider, lookup, outcome: 'provider_silent', filled: [] });
        return 'provider_silent';
      }
      if (answer.found) {
        take(provider, lookup, answer.fields, new Date().toISOString());
        return 'found';
      }
      trace.push({ source: provider, lookup, outcome: 'not_found', filled: [] });
      return 'not_found';
    }
    if (result.kind === 'queued' && lookup === 'company') queued.set(provider, result.pollToken);
    trace.push({ source: provider, lookup, outcome: result.kind, filled: [] });
    return result.kind;
  };
  const unavailable = (kind: string) => kind === 'credits_exhausted' || kind === 'provider_silent';

  const deadline = Date.now() + policy.creditsWaitMaxDays * DAY_MS;
  let nextWaitMs = FIRST_CREDIT_WAIT_MS;
  for (;;) {
    // A creditsRestored signal that arrives while this round is still asking providers (or waiting for Clay)
    // counts: the wait below then ends at once.
    const restoredBefore = input.creditsRestoredCount();
    const exhausted = new Map<ProviderName, string>();
    for (const provider of policy.companyProviders) {
      if (!pendingCompany.has(provider) || missingFields(known.fields, wantedCompany).length === 0) continue;
      pendingCompany.delete(provider);
      const outcome = await ask(provider, 'company');
      if (unavailable(outcome)) exhausted.set(provider, outcome);
    }
    for (const provider of policy.personProviders) {
      if (!pendingPerson.has(provider) || missingFields(known.fields, wantedPerson).length === 0) continue;
      pendingPerson.delete(provider);
      const outcome = await ask(provider, 'person');
      if (unavailable(outcome) && !exhausted.has(provider)) exhausted.set(provider, outcome);
    }

    const missing = missingFields(known.fields, [...wantedCompany, ...requiredPerson]);
    const remainingMs = deadline - Date.now();
    if (missing.length === 0 || exhausted.size === 0 || remainingMs <= 0) {
      input.onWaiting(false, undefined);
      const unavailableProviders = [...exhausted].map(([provider, outcome]) => ({ provider, outcome }));
      const stillQueued = [...queued].map(([provider, token]) => ({ provider, token }));
      return {
        ...known,
        missing,
        creditsSpent,
        trace,
        companyFoundByProvider,
        queued: stillQueued,
        unavailable: unavailableProviders,
      };
    }

    // Missing fields because providers ran dry: wait durably, then ask those providers again.
    const why = [...exhausted].map(
      ([p, outcome]) => `${p} ${outcome === 'provider_silent' ? 'silent' : 'out of credits'}`,
    );
    input.onWaiting(true, `${why.join(', ')}; missing ${missing.join(', ')}`);
    await condition(() => input.creditsRestoredCount() > restoredBefore, Math.min(nextWaitMs, remainingMs));
    nextWaitMs = Math.min(nextWaitMs * 2, MAX_CREDIT_WAIT_MS);
    for (const provider of exhausted.keys()) {
      if (policy.companyProviders.includes(provider) && input.domain) pendingCompany.add(provider);
      if (policy.personProviders.includes(provider)) pendingPerson.add(provider);
    }
  }
}
