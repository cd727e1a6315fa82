import { scoresHighValue, type HighValueRule } from '../fan-out';
import { COMPANY_FIELDS, PERSON_FIELDS, type IcpField, type IcpFields } from '../icp/fields';
import { bestPersonFields, scoreIcp, type ScoringConfig } from '../icp/scoring';
import type { ProviderName } from '../provider-outcome';
import { sumCounts } from '../reenrichment';
import type { EnrichmentStatus } from '../status';
import { missingFields } from './merge';

/**
 * The waterfall's decisions, shared by the signup workflow (src/workflows/waterfall.ts) and the weekend
 * re-enrichment (src/activities/reenrichment.ts): which fields to look for, which provider to ask next, whether the
 * budget allows another paid lookup, how long to wait for credits, and what a signup's outcome is called. Pure: the
 * callers do the asking, the waiting and the recording. Taking an answer is `mergeFields` (./merge.ts).
 */

/** What a waterfall looks for: company fields only when there is a company domain, person fields always. */
export interface WantedFields {
  company: IcpField[];
  /**
   * The required person fields, plus `role`: scoring reads the role. Whether a person lookup is paid for when only
   * `role` is missing is `wantsPersonLookup`'s decision.
   */
  person: IcpField[];
  /** The required person fields alone: only these make a signup incomplete. */
  requiredPerson: IcpField[];
}

export function wantedFields(requiredFields: readonly IcpField[], hasCompanyDomain: boolean): WantedFields {
  const company = hasCompanyDomain ? requiredFields.filter((f) => COMPANY_FIELDS.includes(f)) : [];
  const requiredPerson = requiredFields.filter((f) => PERSON_FIELDS.includes(f));
  return { company, person: [...new Set<IcpField>([...requiredPerson, 'role'])], requiredPerson };
}

/**
 * The next provider to ask, in cost order (`order` is cheapest first): the first one still `askable` while a wanted
 * field is missing; undefined when nothing is missing or no provider is left. A provider that fills nothing of what
 * is missing is still asked: only its answer tells.
 */
export function nextProvider(
  order: readonly ProviderName[],
  known: IcpFields,
  wanted: readonly IcpField[],
  askable: (provider: ProviderName) => boolean,
): ProviderName | undefined {
  if (missingFields(known, [...wanted]).length === 0) return undefined;
  return order.find(askable);
}

/**
 * When a person lookup (title, role, seniority) is paid for (ENRICHMENT_PERSON_LOOKUP): `always`, or only for a
 * company that can be high value (`high_value`) — the Slack high-value rule, judged on the company fields known after
 * the company lookups (or the cache) with the best person the scoring rewards. The rule and the scoring travel with
 * it: the workflow decides without another activity.
 */
export type PersonLookupRule =
  { when: 'always' } | { when: 'high_value'; highValue: HighValueRule; scoring: ScoringConfig };

/**
 * Whether to pay for a person lookup, once the company lookups are done. Always under `always` or no rule (a policy
 * recorded before the rule existed), and whenever a person field is required. Under `high_value`, only when the
 * company could be high value: its funding reaches the rule's minimum, or its score with the best-scoring person
 * reaches a high-value tier. A company unknown (free mail, not found), disqualified or unscoreable without the
 * person is not: its role would not change what is done with it.
 */
export function wantsPersonLookup(
  rule: PersonLookupRule | undefined,
  company: IcpFields,
  requiredPerson: readonly IcpField[],
): boolean {
  if (rule === undefined || rule.when === 'always' || requiredPerson.length > 0) return true;
  const bestCase = { ...company, ...bestPersonFields(rule.scoring) };
  // The score is compared, never stored: its input hash is not needed.
  return scoresHighValue(
    scoreIcp(bestCase, rule.scoring, () => ''),
    company,
    rule.highValue,
  );
}

/** `spent` with one more paid lookup of `provider` (a new object: workflow state is replaced, never shared). */
export const withCredit = (spent: Record<string, number>, provider: ProviderName): Record<string, number> => ({
  ...spent,
  [provider]: (spent[provider] ?? 0) + 1,
});

/** Whether a budget of `budget` credits allows one more paid lookup after `spent`. */
export const withinBudget = (spent: Record<string, number>, budget: number): boolean => sumCounts(spent) < budget;

/** First wait for credits, doubled after each unsuccessful retry up to the cap. */
export const FIRST_CREDIT_WAIT_MS = 15 * 60 * 1000;
export const MAX_CREDIT_WAIT_MS = 12 * 60 * 60 * 1000;
export const nextCreditWaitMs = (waitedMs: number): number => Math.min(waitedMs * 2, MAX_CREDIT_WAIT_MS);

/** Providers that may answer later: out of credits, or silent (Clay, when its credits or rows run out). */
export const mayAnswerLater = (outcome: string): boolean =>
  outcome === 'credits_exhausted' || outcome === 'provider_silent';

/** What the waterfall found out about a signup, as far as its recorded status depends on it. */
export interface WaterfallOutcome {
  /** A work email: company data was looked for. Free-mail and disposable signups get person data only. */
  work: boolean;
  missing: readonly IcpField[];
  /** A provider or the domain cache supplied company data. */
  companyKnown: boolean;
  /** No company provider answered at all (each down for the whole window or refusing the lookup). */
  noCompanyAnswer: boolean;
}

/**
 * A signup's recorded status: `skipped` for company data when it is not a work email, `enriched` when nothing
 * required is missing, `partial` when some company data is known, `failed` when no company provider could answer
 * ("not found" would be untrue), `not_found` otherwise.
 */
export function recordedStatus(o: WaterfallOutcome): EnrichmentStatus {
  if (!o.work) return 'skipped';
  if (o.missing.length === 0) return 'enriched';
  if (o.companyKnown) return 'partial';
  return o.noCompanyAnswer ? 'failed' : 'not_found';
}

/** Providers that could not answer and lookups refused for good, for the reason of a signup missing fields. */
export interface Shortfall {
  unavailable: { provider: ProviderName; outcome: string }[];
  rejected: { provider: ProviderName; lookup: 'company' | 'person'; errorType: string }[];
  /** The fall-through window the calls ran under (undefined: unbounded, an older policy). */
  fallThroughMinutes: number | undefined;
}

/**
 * Why fields are still missing, for the signup's reason: ` (clearbit out of credits, harmonic down for 30 min,
 * clay silent, clearbit rejected the person lookup: email_invalid)`, or '' when every provider answered.
 */
export function describeShortfall(r: Shortfall): string {
  const parts = [
    ...r.unavailable.map((u) =>
      u.outcome === 'provider_silent'
        ? `${u.provider} silent`
        : u.outcome === 'provider_outage'
          ? `${u.provider} down for ${r.fallThroughMinutes ?? '?'} min`
          : `${u.provider} out of credits`,
    ),
    ...r.rejected.map((x) => `${x.provider} rejected the ${x.lookup} lookup: ${x.errorType}`),
  ];
  return parts.length === 0 ? '' : ` (${parts.join(', ')})`;
}

/** The reason recorded with a signup still missing required fields (undefined when none is missing). */
export function missingReason(missing: readonly IcpField[], shortfall = ''): string | undefined {
  return missing.length === 0 ? undefined : `missing ${missing.join(', ')}${shortfall}`;
}
