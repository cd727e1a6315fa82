import type { Provenance } from './enrichment/merge';
import type { IcpFields } from './icp/fields';
import type { IcpScore } from './icp/scoring';
import type { EmailKind, EnrichmentStatus } from './status';

/** Where an enriched signup is written, in the order the Web UI lists them. */
export const DESTINATIONS = [
  'posthog',
  'salesforce',
  'vitally',
  'slack',
  'webhooks',
  'customerio',
  'mixpanel',
  'close',
  'humanic',
] as const;
export type Destination = (typeof DESTINATIONS)[number];

/** DESTINATIONS' default: the destinations added later are off unless named in DESTINATIONS. */
export const DEFAULT_DESTINATIONS: readonly Destination[] = ['posthog', 'salesforce', 'vitally', 'slack', 'webhooks'];

/**
 * One destination write as `getStatus` and the Web UI show it: `pending` until its first attempt ends, `retrying`
 * (with the last failure as reason) while the destination is down or over its quota, then `done`, `skipped` (nothing
 * to write, e.g. no organization for Vitally; or already written with the same idempotency key) or `failed` (an
 * operator must act: rejected credentials, a record the destination refuses, or the retry window ran out).
 */
export type WriteState = 'pending' | 'retrying' | 'done' | 'skipped' | 'failed';

export interface WriteProgress {
  state: WriteState;
  attempts: number;
  /** Why it is retrying, skipped or failed. */
  reason?: string;
  /** What was written, e.g. `Account 001… created, Contact 003… updated`. */
  detail?: string;
}

/**
 * What a destination client makes of an answer, whatever its wire format (principle 3 of DESIGN.md, for writes):
 * throttling is retried after the advertised delay, a spent quota is waited out, rejected credentials and records
 * the destination refuses need an operator, anything else is retried with backoff.
 */
export type WriteOutcome =
  | { kind: 'written'; detail: string }
  | { kind: 'rate_limited'; retryAfterMs: number; detail: string }
  | { kind: 'quota_exceeded'; waitMs: number; detail: string }
  | { kind: 'auth_failed'; detail: string }
  | { kind: 'rejected'; detail: string }
  | { kind: 'transient'; detail: string };

/** The enriched signup as every destination receives it (read from the ledger by the write activities). */
export interface EnrichedSignup {
  signupId: string;
  /** The person's stable key: PostHog distinct id, else the ledger id. Salesforce and Vitally external id. */
  personKey: string;
  distinctId: string | undefined;
  email: string | undefined;
  name: string | undefined;
  emailKind: EmailKind | undefined;
  /** The company domain of a work email. */
  domain: string | undefined;
  organizationId: string | undefined;
  organizationName: string | undefined;
  signedUpAt: string;
  status: EnrichmentStatus;
  reason: string | undefined;
  fields: IcpFields;
  provenance: Provenance;
  score: IcpScore | undefined;
  enrichedAt: string | undefined;
}

/** When a signup is worth a Slack alert: a tier in `tiers`, or a company that raised at least `minFundingUsd`. */
export interface HighValueRule {
  tiers: string[];
  minFundingUsd: number | undefined;
}

export const isHighValue = (s: EnrichedSignup, rule: HighValueRule): boolean =>
  scoresHighValue(s.score, s.fields, rule);

/** The high-value rule over a score and the fields it was computed from (the signup's, or a best case of them). */
export function scoresHighValue(score: IcpScore | undefined, fields: IcpFields, rule: HighValueRule): boolean {
  if (score?.status === 'disqualified') return false;
  const tier = score?.tier;
  if (tier !== undefined && rule.tiers.includes(tier)) return true;
  const funding = fields.totalFundingUsd;
  return rule.minFundingUsd !== undefined && funding !== undefined && funding >= rule.minFundingUsd;
}

/** The fields the enrichment filled, for the `organization_enriched` event and messages. */
export function filledFields(fields: IcpFields): string[] {
  return Object.entries(fields)
    .filter(([, v]) => v !== undefined && v !== null && !(Array.isArray(v) && v.length === 0))
    .map(([k]) => k)
    .sort();
}

/** Splits a display name for systems that want first and last names (Salesforce requires a last name). */
export function splitName(name: string | undefined, email: string | undefined): { first?: string; last: string } {
  const parts = (name ?? '').trim().split(/\s+/).filter(Boolean);
  if (parts.length >= 2) return { first: parts.slice(0, -1).join(' '), last: parts.at(-1)! };
  if (parts.length === 1) return { last: parts[0]! };
  const local = email?.split('@')[0];
  return { last: local && local.length > 0 ? local : '[not provided]' };
}
