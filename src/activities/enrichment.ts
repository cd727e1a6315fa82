import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { isPersonField } from '../domain/erasure';
import { ErrorType } from '../domain/errors';
import type { FieldPreference, Provenance } from '../domain/enrichment/merge';
import type { PersonLookupRule } from '../domain/enrichment/waterfall';
import { companyPart, type IcpField, type IcpFields } from '../domain/icp/fields';
import { scoreIcp, type IcpScore, type ScoringConfig } from '../domain/icp/scoring';
import type { ProviderClients } from '../domain/ports';
import type { ProviderName, ProviderOutcome } from '../domain/provider-outcome';
import { SETTLED_STATUSES } from '../domain/retention';
import { HOUR_MS } from '../domain/time';
import { sha256 } from '../hash';
import { clayCompanyFields, clayResultSchema } from '../integrations/clay/result';
import type { EnrichmentStatus } from '../domain/status';
import type { Ledger } from '../ledger/ledger';
import { emailRedactor, type Redactor } from '../redact';
import { PROVIDER_JITTER, retryDelayMs, serverNow, withoutEmails, type SettledObserver } from './support';

export { withoutEmails };

export interface ProviderCallInput {
  provider: ProviderName;
  signupId: string;
  /** Asynchronous providers (Clay) send it with the row, so that their result can signal this workflow. */
  workflowId?: string;
  lookup: 'company' | 'person';
  /** The company domain of a `company` lookup. A `person` lookup reads the email from the ledger: emails stay out
   * of workflow histories. */
  domain?: string;
}

/** What the workflow learns from a call: the outcome without the raw payload, which stays in the ledger. */
export type ProviderCallResult =
  | { kind: 'found'; fields: IcpFields; at: string }
  | { kind: 'not_found' }
  | { kind: 'queued'; pollToken: string | undefined; retryAfterMs: number | undefined }
  | { kind: 'credits_exhausted'; detail: string }
  /** A 4xx the client does not model: the provider refuses this lookup for good (its error type, when it names one). */
  | { kind: 'rejected'; status: number; errorType: string | undefined; detail: string };

/** How the waterfall runs, from the worker's configuration (read once per signup, so it is in the history). */
export interface EnrichmentPolicy {
  /** Company providers in cost order, cheapest first. */
  companyProviders: ProviderName[];
  /** Providers that can look a person up by email, in cost order. */
  personProviders: ProviderName[];
  /** A signup is `enriched` when these are known; a provider is asked only while one of them is missing. */
  requiredFields: IcpField[];
  fieldPreference: FieldPreference;
  domainCacheDays: number;
  creditsWaitMaxDays: number;
  /** How long to wait for an asynchronous provider's result (Clay) before calling it silent. */
  asyncResultTimeoutMinutes: number;
  /** How long a lookup the provider is still computing (Clearbit 202, Harmonic's urn) is followed up. */
  queuedFollowUpHours: number;
  /**
   * How long one provider call may keep failing (5xx, timeouts, connection refused, 429s) before the waterfall skips
   * that provider for the signup (PROVIDER_FALLTHROUGH_MINUTES). Absent in policies recorded before it existed:
   * those calls keep retrying as they did.
   */
  providerFallThroughMinutes?: number;
  /**
   * When a person lookup is paid for (ENRICHMENT_PERSON_LOOKUP). Absent in policies recorded before it existed:
   * always, as then.
   */
  personLookup?: PersonLookupRule;
  /** Enrichment paused on purpose (`enrich pause`) when the policy was read. */
  paused?: { reason: string | undefined };
}

const isSettled = (status: EnrichmentStatus): boolean => SETTLED_STATUSES.some((s) => s === status);

export interface SaveEnrichmentInput {
  signupId: string;
  /** Set for work emails: the company part is cached under it for later signups. */
  domain: string | undefined;
  status: EnrichmentStatus;
  reason: string | undefined;
  fields: IcpFields;
  provenance: Provenance;
  creditsSpent: Record<string, number>;
  /** Whether this signup's company data is worth caching (found by a provider, not served from the cache). */
  cacheCompany: boolean;
  /** Providers out of credits or silent when it was recorded: a backfill of its day retries it. */
  unavailableProviders?: string[];
  /** The workflow's time of the outcome: the day the health check counts this write on. */
  recordedAt?: string;
}

/**
 * Throttling and outages become retryable failures with the delay of our one retry policy (`retryDelayMs`). A
 * rejected key is non-retryable.
 */
function throwIfFailure(provider: ProviderName, outcome: ProviderOutcome): void {
  switch (outcome.kind) {
    case 'rate_limited':
      throw ApplicationFailure.create({
        type: ErrorType.ProviderRateLimited,
        message: `${provider} rate limit; retrying after ${outcome.retryAfterMs} ms`,
        nextRetryDelay: retryDelayMs(outcome, Context.current().info.attempt, PROVIDER_JITTER),
      });
    case 'transient': {
      throw ApplicationFailure.create({
        type: ErrorType.ProviderUnavailable,
        message: `${provider} unavailable: ${withoutEmails(outcome.detail)}`,
        nextRetryDelay: retryDelayMs(outcome, Context.current().info.attempt, PROVIDER_JITTER),
      });
    }
    case 'auth_failed':
      throw ApplicationFailure.create({
        type: ErrorType.ProviderAuthFailed,
        message:
          outcome.status === 401 || outcome.status === 403
            ? `${provider} rejected the API key (HTTP ${outcome.status}); fix the credential`
            : `${provider} refused our configuration: ${withoutEmails(outcome.detail)}; an operator must fix it`,
        nonRetryable: true,
      });
  }
}

/** An outcome as archived: the payload of data, or the outcome itself with any email in its message masked. */
const archivable = (outcome: ProviderOutcome): unknown =>
  outcome.kind === 'found'
    ? outcome.raw
    : 'detail' in outcome
      ? { ...outcome, detail: withoutEmails(outcome.detail) }
      : outcome;

export const createEnrichmentActivities = (deps: {
  ledger: Ledger;
  providers: ProviderClients;
  scoring: ScoringConfig;
  enrichment: Omit<EnrichmentPolicy, 'companyProviders' | 'personProviders'>;
  now?: () => Date;
  /** The redaction of provider error texts (the configuration's secrets and emails); emails only by default. */
  redact?: Redactor;
  /** Told of each signup's first settled outcome (the worker's receipt-to-settled histogram, src/metrics/pipeline.ts). */
  onSettled?: SettledObserver;
}) => {
  const now = deps.now ?? (() => new Date());
  const redactor = deps.redact ?? emailRedactor;
  const configured = Object.keys(deps.providers) as ProviderName[];

  /**
   * The provider's last answer to this lookup, when it was a `reaskOnce` one (Harmonic's 201 without entity or urn)
   * received within the follow-up window: how long until it may be asked again. Undefined otherwise (an answer of an
   * earlier run, or any other answer): the lookup is asked as usual.
   */
  const reaskOnceAnswer = async (input: ProviderCallInput, nowMs: number) => {
    const answers = await deps.ledger.providerArchive.providerAnswers(input.signupId, input.provider);
    const last = answers.filter((a) => a.lookup === input.lookup).at(-1);
    const body = last?.body as { reaskOnce?: unknown; retryAfterMs?: unknown } | null | undefined;
    if (last?.outcome !== 'queued' || body?.reaskOnce !== true) return undefined;
    const since = Date.parse(last.receivedAt);
    if (nowMs - since > deps.enrichment.queuedFollowUpHours * HOUR_MS) return undefined;
    const wait = typeof body.retryAfterMs === 'number' ? body.retryAfterMs : 0;
    return { remainingMs: since + wait - nowMs };
  };

  return {
    async getEnrichmentPolicy(): Promise<EnrichmentPolicy> {
      const controls = await deps.ledger.health.controls();
      return {
        ...deps.enrichment,
        companyProviders: configured,
        personProviders: configured.filter((p) => deps.providers[p]?.person !== undefined),
        ...(controls.paused ? { paused: { reason: controls.pauseReason } } : {}),
      };
    },

    /** The domain cache: a company enriched since `freshSince` costs nothing again. */
    async lookupCachedCompany(input: {
      domain: string;
      freshSince: string;
    }): Promise<{ fields: IcpFields; provenance: Provenance } | undefined> {
      const cached = await deps.ledger.companyCache.getCachedCompany(input.domain, input.freshSince);
      return cached && { fields: cached.fields, provenance: cached.provenance };
    },

    /**
     * One provider call. Answers that are data (found, not found, queued, out of credits) are returned and archived;
     * throttling and outages are thrown as retryable failures (after the advertised delay); a rejected key is thrown
     * as non-retryable, so the signup fails fast with a reason instead of retrying forever. A `reaskOnce` answer
     * (Harmonic's 201 with nothing to poll) is not asked again before its delay, and is not found after it.
     */
    async callProvider(input: ProviderCallInput): Promise<ProviderCallResult> {
      const signup = await deps.ledger.signups.getSignup(input.signupId);
      // An erased person is looked up no more (no credits spent on them): the signup settles without the data.
      if (signup?.erasedAt) return { kind: 'not_found' };
      const client = deps.providers[input.provider];
      const key = input.lookup === 'company' ? input.domain : signup?.email;
      if (!key) {
        throw ApplicationFailure.create({
          type: ErrorType.SignupNotFound,
          message: `signup ${input.signupId}: nothing to look up (${input.lookup === 'company' ? 'no domain' : 'no email'})`,
          nonRetryable: true,
        });
      }
      const ctx = {
        signupId: input.signupId,
        workflowId: input.workflowId ?? Context.current().info.workflowExecution?.workflowId ?? '',
      };
      const receivedAt = serverNow();
      const earlier = await reaskOnceAnswer(input, Date.parse(receivedAt));
      if (earlier && earlier.remainingMs > 0) {
        // Asked again too soon (a follow-up polls every few minutes): no call, it is still being computed.
        return { kind: 'queued', pollToken: undefined, retryAfterMs: earlier.remainingMs };
      }
      let outcome = input.lookup === 'company' ? await client?.company(key, ctx) : await client?.person?.(key);
      if (!outcome) {
        throw ApplicationFailure.create({
          type: ErrorType.ProviderAuthFailed,
          message: `${input.provider} is not configured for ${input.lookup} lookups`,
          nonRetryable: true,
        });
      }
      // A provider's error text can quote the email looked up or, misconfigured, our key: redacted before it goes
      // into the archive, the failure (the workflow's history) or the trace.
      if ('detail' in outcome) outcome = { ...outcome, detail: redactor.text(outcome.detail) };
      if (earlier && outcome.kind === 'queued' && outcome.reaskOnce) {
        // Still "enrichment triggered" hours later, with nothing to poll: this lookup ends here.
        outcome = { kind: 'not_found', provider: input.provider };
      }
      const archive = (o: ProviderOutcome) =>
        deps.ledger.providerArchive.archiveProviderResponse({
          provider: input.provider,
          lookup: input.lookup,
          // Person lookups are archived under a hash: the email itself is already on the signup row.
          lookupKey: input.lookup === 'person' ? sha256(key) : key,
          signupId: input.signupId,
          outcome: o.kind,
          httpStatus: undefined,
          body: archivable(o),
          receivedAt,
        });
      // The call is made (and maybe paid for): a ledger hiccup while archiving its answer must not fail this attempt,
      // whose retry would pay again or send Clay a second row. The answer goes on to the workflow either way.
      const archiveAfterCall = async (o: ProviderOutcome) => {
        try {
          await archive(o);
        } catch (err) {
          Context.current().log.warn('provider answer not archived', {
            provider: input.provider,
            lookup: input.lookup,
            outcome: o.kind,
            error: err instanceof Error ? err.name : 'unknown',
          });
        }
      };
      // A refused key or configuration fails the signup: archived first, so the health check can name it.
      if (outcome.kind === 'auth_failed') await archiveAfterCall(outcome);
      throwIfFailure(input.provider, outcome);
      await archiveAfterCall(outcome);
      switch (outcome.kind) {
        case 'found':
          return { kind: 'found', fields: outcome.fields, at: now().toISOString() };
        case 'queued':
          return { kind: 'queued', pollToken: outcome.pollToken, retryAfterMs: outcome.retryAfterMs };
        case 'credits_exhausted':
          return { kind: 'credits_exhausted', detail: withoutEmails(outcome.detail) };
        case 'rejected':
          return {
            kind: 'rejected',
            status: outcome.status,
            errorType: outcome.errorType,
            detail: withoutEmails(outcome.detail),
          };
        default:
          return { kind: 'not_found' };
      }
    },

    /** Where a provider's scheduled enrichment stands; throttling and outages are retried like any provider call. */
    async checkScheduledEnrichment(input: {
      provider: ProviderName;
      token: string;
    }): Promise<'pending' | 'complete' | 'not_found'> {
      const state = await deps.providers[input.provider]?.poll?.(input.token);
      if (state === undefined) return 'not_found';
      if (typeof state === 'string') return state;
      throwIfFailure(input.provider, state);
      // A status call the provider refuses for good ends the follow-up, like an enrichment it could not complete.
      return state.kind === 'rejected' ? 'not_found' : 'pending';
    },

    /**
     * Archives an outcome the workflow observed rather than a call returned: a result that came back asynchronously
     * (Clay, through `POST /webhooks/clay`), one that never came (`silent`: Clay out of credits or over its row
     * limit), or a lookup skipped after the provider kept failing for the whole fall-through window (`outage`). The
     * health check counts silent rows and outages.
     */
    async recordAsyncOutcome(input: {
      provider: ProviderName;
      /** Absent for a status poll the caller did not tie to a signup (it is archived under its token). */
      signupId: string | undefined;
      /** The company domain; absent for a person lookup (its email stays on the signup row). */
      domain: string | undefined;
      /** `company` unless said otherwise (outages happen to person lookups and status polls too). */
      lookup?: 'company' | 'person' | 'enrichment_status';
      /** The token a status poll asked about (Harmonic's enrichment urn). */
      token?: string;
      outcome: 'found' | 'not_found' | 'silent' | 'outage';
      /** An outage's last failure. */
      detail?: string;
    }): Promise<void> {
      const lookup = input.lookup ?? 'company';
      await deps.ledger.providerArchive.archiveProviderResponse({
        provider: input.provider,
        lookup,
        lookupKey:
          lookup === 'company' && input.domain
            ? input.domain
            : lookup === 'enrichment_status' && input.token
              ? input.token
              : `signup:${input.signupId ?? 'unknown'}`,
        signupId: input.signupId,
        outcome: input.outcome,
        httpStatus: undefined,
        body: input.detail === undefined ? undefined : { detail: redactor.text(input.detail) },
        receivedAt: serverNow(),
      });
    },

    /**
     * A Clay result `POST /webhooks/clay` archived but could not signal (Temporal was unreachable when it came):
     * read when the wait for the signal ends, so the row is not called silent and sent (and paid for) again. Only a
     * result received since the row was last sent (its archived `queued` answer) counts: on a re-run (a backfill)
     * where Clay stays silent, an earlier run's result is not this row's.
     */
    async findArchivedClayResult(input: {
      signupId: string;
    }): Promise<{ found: boolean; fields: IcpFields } | undefined> {
      const archived = await deps.ledger.providerArchive.providerAnswers(input.signupId, 'clay');
      const sent = archived.filter((r) => r.outcome === 'queued').at(-1);
      if (!sent) return undefined;
      const sentAt = Date.parse(sent.receivedAt);
      for (const r of archived.reverse()) {
        if (Date.parse(r.receivedAt) < sentAt) break;
        if (r.outcome !== 'found' && r.outcome !== 'not_found') continue;
        const result = clayResultSchema.safeParse(r.body);
        if (result.success) return { found: result.data.company_found, fields: clayCompanyFields(result.data) };
      }
      return undefined;
    },

    /** Scores the fields (scoring config of this worker), records the outcome, and caches the company part. */
    async saveEnrichment(input: SaveEnrichmentInput): Promise<IcpScore> {
      const score = scoreIcp(input.fields, deps.scoring, sha256);
      // The person fields of a signup erased while it ran are not stored again (company fields are not personal).
      const before = await deps.ledger.signups.recordingState(input.signupId);
      const erased = before?.erased ?? false;
      const keep = <T extends object>(o: T): T =>
        erased ? (Object.fromEntries(Object.entries(o).filter(([k]) => !isPersonField(k))) as T) : o;
      await deps.ledger.signups.recordEnrichment(input.signupId, {
        status: input.status,
        reason: input.reason,
        fields: keep(input.fields),
        provenance: keep(input.provenance),
        score,
        creditsSpent: input.creditsSpent,
        unavailableProviders: input.unavailableProviders,
        at: input.recordedAt,
      });
      if (before && !before.recordedBefore && isSettled(input.status)) {
        deps.onSettled?.(input.status, before.receivedAt, input.recordedAt ?? now().toISOString());
      }
      if (input.domain && input.cacheCompany) {
        await deps.ledger.companyCache.putCachedCompany(
          input.domain,
          companyPart(input.fields),
          companyPart(input.provenance),
          now().toISOString(),
        );
      }
      return score;
    },
  };
};

export type EnrichmentActivities = ReturnType<typeof createEnrichmentActivities>;
