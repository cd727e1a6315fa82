import { RetryState, TimeoutType } from '@temporalio/common';
import {
  ActivityFailure,
  ApplicationFailure,
  condition,
  patched,
  proxyActivities,
  TimeoutFailure,
  workflowInfo,
} from '@temporalio/workflow';
import type {
  EnrichmentActivities,
  EnrichmentPolicy,
  ProviderCallInput,
  ProviderCallResult,
} from '../activities/enrichment';
import { mergeFields, missingFields, type Provenance } from '../domain/enrichment/merge';
import {
  FIRST_CREDIT_WAIT_MS,
  mayAnswerLater,
  nextCreditWaitMs,
  nextProvider,
  wantedFields,
  wantsPersonLookup,
  withCredit,
  type Shortfall,
} from '../domain/enrichment/waterfall';
import type { IcpField, IcpFields } from '../domain/icp/fields';
import type { ProviderName } from '../domain/provider-outcome';
import { DAY_MS } from '../domain/time';
import { archiveCall, providerCall } from './activity-options';
import { providerTaskQueue, type TraceEntry } from './messages';

const unbounded = proxyActivities<EnrichmentActivities>(providerCall);
const { recordAsyncOutcome, findArchivedClayResult } = proxyActivities<EnrichmentActivities>(archiveCall);

/**
 * A Clay result that came while Temporal was unreachable is archived but never signalled: when the wait for it
 * ends, newer executions read the archive before calling Clay silent; older ones replay without that read.
 */
const ARCHIVED_CLAY_RESULT_PATCH = 'archived-clay-result-v1';

/**
 * Executions that started before the fall-through window existed replay their provider calls without it (and a
 * policy recorded back then has no window: those calls keep retrying as they did).
 */
const PROVIDER_FALL_THROUGH_PATCH = 'provider-fall-through-v1';

/** A status poll's outage is archived too (a command after the timed-out activity). */
const SCHEDULED_OUTAGE_PATCH = 'scheduled-check-outage-v1';

/**
 * Provider calls go to their provider's own task queue (`providerTaskQueue`), rate-limited by the server. Older
 * executions replay scheduling them on the workflow's queue, whose worker still has the provider activities.
 */
const PROVIDER_TASK_QUEUES_PATCH = 'provider-task-queues-v1';

/** A provider call given up after failing for the whole fall-through window; `detail` is its last failure. */
export interface ProviderOutage {
  kind: 'provider_outage';
  detail: string;
}

/**
 * The provider activities for calls made under `policy`: each call may keep retrying (outages and 429s alike) for
 * the policy's fall-through window, then fails with a timeout, which `callProviderWithin` turns into an outage. A 429
 * storm that lasts the whole window falls through too: a provider throttling every call for that long is as
 * unavailable to this signup as one that is down, and each single 429 still waits its Retry-After (seconds).
 */
function providerActivities(policy: EnrichmentPolicy, provider: ProviderName) {
  const minutes = policy.providerFallThroughMinutes;
  const bounded = minutes !== undefined && patched(PROVIDER_FALL_THROUGH_PATCH);
  const ownQueue = patched(PROVIDER_TASK_QUEUES_PATCH);
  if (!bounded && !ownQueue) return unbounded;
  return proxyActivities<EnrichmentActivities>({
    ...providerCall,
    ...(bounded ? { scheduleToCloseTimeout: minutes * 60_000 } : {}),
    ...(ownQueue ? { taskQueue: providerTaskQueue(workflowInfo().taskQueue, provider) } : {}),
  });
}

/** The fall-through window running out, told apart from every other failure (those are rethrown as they are). */
function outageOf(err: unknown): ProviderOutage | undefined {
  if (!(err instanceof ActivityFailure)) return undefined;
  const timedOut =
    err.retryState === RetryState.TIMEOUT ||
    (err.cause instanceof TimeoutFailure && err.cause.timeoutType === TimeoutType.SCHEDULE_TO_CLOSE);
  if (!timedOut) return undefined;
  // The last attempt's failure: the server puts it under the timeout, or reports it directly.
  const last = err.cause instanceof TimeoutFailure && err.cause.cause ? err.cause.cause : err.cause;
  const what =
    last instanceof ApplicationFailure
      ? `${last.type ?? 'failure'}: ${last.message}`
      : last instanceof TimeoutFailure
        ? `${last.timeoutType ?? 'timeout'} timeout`
        : (last?.message ?? 'no answer');
  return { kind: 'provider_outage', detail: what.slice(0, 300) };
}

/**
 * One provider call under `policy`'s fall-through window: its result, or the outage that ended it — archived as an
 * `outage` answer, which the health check counts (waterfall and follow-up calls alike).
 */
export async function callProviderWithin(
  policy: EnrichmentPolicy,
  input: ProviderCallInput,
): Promise<ProviderCallResult | ProviderOutage> {
  try {
    return await providerActivities(policy, input.provider).callProvider(input);
  } catch (err) {
    const outage = outageOf(err);
    if (!outage) throw err;
    await recordAsyncOutcome({
      provider: input.provider,
      signupId: input.signupId,
      lookup: input.lookup,
      domain: input.lookup === 'company' ? input.domain : undefined,
      outcome: 'outage',
      detail: outage.detail,
    });
    return outage;
  }
}

/**
 * Where a provider's scheduled enrichment stands, under `policy`'s fall-through window: an outage ends it, archived
 * like `callProviderWithin`'s (under the token, and the signup when the caller names it) for the health check.
 */
export async function checkScheduledWithin(
  policy: EnrichmentPolicy,
  input: { provider: ProviderName; token: string; signupId?: string },
): Promise<'pending' | 'complete' | 'not_found' | 'provider_outage'> {
  try {
    return await providerActivities(policy, input.provider).checkScheduledEnrichment({
      provider: input.provider,
      token: input.token,
    });
  } catch (err) {
    const outage = outageOf(err);
    if (!outage) throw err;
    // Only the fall-through window (itself patched) ends a status poll this way; executions that got here before the
    // outage was archived replay without the call.
    if (patched(SCHEDULED_OUTAGE_PATCH)) {
      await recordAsyncOutcome({
        provider: input.provider,
        signupId: input.signupId,
        domain: undefined,
        lookup: 'enrichment_status',
        token: input.token,
        outcome: 'outage',
        detail: outage.detail,
      });
    }
    return 'provider_outage';
  }
}

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

export interface WaterfallResult extends Shortfall {
  fields: IcpFields;
  provenance: Provenance;
  missing: IcpField[];
  creditsSpent: Record<string, number>;
  trace: TraceEntry[];
  /** A provider (not the cache) supplied company data: only then is the domain cache refreshed. */
  companyFoundByProvider: boolean;
  /** Company lookups the provider is still computing (Clearbit 202, Harmonic's urn), to follow up later. */
  queued: { provider: ProviderName; token: string | undefined }[];
  // `unavailable` (Shortfall): providers that could not answer, with why — still out of credits or silent when the
  // bounded wait ended (`credits_exhausted`, `provider_silent`), or failing for the whole fall-through window
  // (`provider_outage`); a backfill re-runs signups recorded with any. `rejected`: lookups a provider refused for good
  // (an unmodelled 4xx), with its error type — asking again would not help.
  /**
   * A work signup none of whose company providers answered — each was down for the whole window or refused the
   * lookup — and which the cache did not cover: nothing is known, and "not found" would be untrue.
   */
  noCompanyAnswer: boolean;
  /** The fall-through window the calls ran under, for the reason (undefined: unbounded, an older policy). */
  fallThroughMinutes: number | undefined;
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
  let creditsSpent: Record<string, number> = {};
  let companyFoundByProvider = false;
  const queued = new Map<ProviderName, string | undefined>();
  /** Providers skipped for this signup after failing for the whole window; not asked again in a later round. */
  const outages = new Map<ProviderName, string>();
  const rejected: WaterfallResult['rejected'] = [];
  /** Company providers that gave an answer (found, not found, queued, out of credits, silent). */
  const companyAnswered = new Set<ProviderName>();

  if (input.cached) {
    known = { fields: input.cached.fields, provenance: input.cached.provenance };
    trace.push({ source: 'cache', lookup: 'cache', outcome: 'found', filled: Object.keys(input.cached.fields) });
  }

  const wanted = wantedFields(policy.requiredFields, input.domain !== undefined);
  const pendingCompany = new Set(input.domain ? policy.companyProviders : []);
  const pendingPerson = new Set(policy.personProviders);

  const take = (provider: ProviderName, lookup: 'company' | 'person', fields: IcpFields, at: string) => {
    const merged = mergeFields(known, fields, { source: provider, at }, policy.fieldPreference);
    known = { fields: merged.fields, provenance: merged.provenance };
    creditsSpent = withCredit(creditsSpent, provider);
    if (lookup === 'company') companyFoundByProvider = true;
    trace.push({ source: provider, lookup, outcome: 'found', filled: merged.filled });
  };

  const ask = async (provider: ProviderName, lookup: 'company' | 'person') => {
    await input.whileUnpaused();
    if (provider === 'clay') input.forgetAsyncResult();
    const result = await callProviderWithin(policy, {
      provider,
      signupId: input.signupId,
      workflowId: workflowInfo().workflowId,
      lookup,
      domain: lookup === 'company' ? input.domain : undefined,
    });
    if (result.kind === 'provider_outage') {
      outages.set(provider, result.detail);
      trace.push({ source: provider, lookup, outcome: 'provider_outage', filled: [], detail: result.detail });
      return result.kind;
    }
    if (result.kind === 'rejected') {
      const errorType = result.errorType ?? `HTTP ${result.status}`;
      rejected.push({ provider, lookup, errorType });
      trace.push({ source: provider, lookup, outcome: 'rejected', filled: [], errorType, detail: result.detail });
      return result.kind;
    }
    if (lookup === 'company') companyAnswered.add(provider);
    if (result.kind === 'found') {
      take(provider, lookup, result.fields, result.at);
      return 'found';
    }
    if (result.kind === 'queued' && provider === 'clay') {
      // Clay answers through POST /webhooks/clay; silence past the timeout means no credits or no rows left.
      const answer =
        (await input.awaitAsyncResult(policy.asyncResultTimeoutMinutes * 60_000)) ??
        (patched(ARCHIVED_CLAY_RESULT_PATCH) ? await findArchivedClayResult({ signupId: input.signupId }) : undefined);
      if (answer === undefined) {
        await recordAsyncOutcome({ provider, signupId: input.signupId, domain: input.domain, outcome: 'silent' });
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
  // Providers are asked in cost order while a wanted field is missing, each once a round, never after an outage.
  const askable = (pending: Set<ProviderName>) => (provider: ProviderName) =>
    pending.has(provider) && !outages.has(provider);
  const nextCompany = () =>
    nextProvider(policy.companyProviders, known.fields, wanted.company, askable(pendingCompany));
  // Under ENRICHMENT_PERSON_LOOKUP=high_value a company that cannot be high value gets no person lookup. A policy
  // recorded before that setting existed has no rule, which means always: its replay asks as it did.
  let personSkipped = false;
  const nextPerson = () => {
    const provider = nextProvider(policy.personProviders, known.fields, wanted.person, askable(pendingPerson));
    if (provider === undefined || wantsPersonLookup(policy.personLookup, known.fields, wanted.requiredPerson)) {
      return provider;
    }
    if (!personSkipped) trace.push({ source: 'policy', lookup: 'person', outcome: 'not_high_value', filled: [] });
    personSkipped = true;
    return undefined;
  };

  const deadline = Date.now() + policy.creditsWaitMaxDays * DAY_MS;
  let nextWaitMs = FIRST_CREDIT_WAIT_MS;
  for (;;) {
    // A creditsRestored signal that arrives while this round is still asking providers (or waiting for Clay)
    // counts: the wait below then ends at once.
    const restoredBefore = input.creditsRestoredCount();
    const exhausted = new Map<ProviderName, string>();
    for (let provider = nextCompany(); provider; provider = nextCompany()) {
      pendingCompany.delete(provider);
      const outcome = await ask(provider, 'company');
      if (mayAnswerLater(outcome)) exhausted.set(provider, outcome);
    }
    for (let provider = nextPerson(); provider; provider = nextPerson()) {
      pendingPerson.delete(provider);
      const outcome = await ask(provider, 'person');
      if (mayAnswerLater(outcome) && !exhausted.has(provider)) exhausted.set(provider, outcome);
    }

    const missing = missingFields(known.fields, [...wanted.company, ...wanted.requiredPerson]);
    const remainingMs = deadline - Date.now();
    if (missing.length === 0 || exhausted.size === 0 || remainingMs <= 0) {
      input.onWaiting(false, undefined);
      const unavailableProviders = [
        ...[...exhausted].map(([provider, outcome]) => ({ provider, outcome })),
        ...[...outages.keys()]
          .filter((provider) => !exhausted.has(provider))
          .map((provider) => ({ provider, outcome: 'provider_outage' })),
      ];
      const stillQueued = [...queued].map(([provider, token]) => ({ provider, token }));
      const askedCompany = trace.some((t) => t.lookup === 'company');
      return {
        ...known,
        missing,
        creditsSpent,
        trace,
        companyFoundByProvider,
        queued: stillQueued,
        unavailable: unavailableProviders,
        rejected,
        noCompanyAnswer: input.cached === undefined && askedCompany && companyAnswered.size === 0,
        fallThroughMinutes: policy.providerFallThroughMinutes,
      };
    }

    // Missing fields because providers ran dry: wait durably, then ask those providers again.
    const why = [...exhausted].map(
      ([p, outcome]) => `${p} ${outcome === 'provider_silent' ? 'silent' : 'out of credits'}`,
    );
    input.onWaiting(true, `${why.join(', ')}; missing ${missing.join(', ')}`);
    await condition(() => input.creditsRestoredCount() > restoredBefore, Math.min(nextWaitMs, remainingMs));
    nextWaitMs = nextCreditWaitMs(nextWaitMs);
    for (const provider of exhausted.keys()) {
      if (policy.companyProviders.includes(provider) && input.domain) pendingCompany.add(provider);
      if (policy.personProviders.includes(provider)) pendingPerson.add(provider);
    }
  }
}
