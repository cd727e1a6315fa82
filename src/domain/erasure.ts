/**
 * Erasure of a person (`enrich forget`, docs/personal-data.md "Erasure"): what each downstream system made of it.
 * `deleted` and `not_found` are done; `listed` is a manual step for an operator (a system without a deletion API);
 * `failed` is retried by the next `enrich forget` of the same person; `not_configured` means nothing was written there.
 */
export type ErasureState = 'deleted' | 'not_found' | 'listed' | 'failed' | 'not_configured';

export const ERASURE_SYSTEMS = [
  'posthog',
  'salesforce',
  'vitally',
  'webhooks',
  'slack',
  'customerio',
  'mixpanel',
  'close',
  'humanic',
] as const;
export type ErasureSystem = (typeof ERASURE_SYSTEMS)[number];

export interface ErasureResult {
  state: ErasureState;
  /** What was done or why not; never the email. */
  detail: string;
}

/** A client's answer to one deletion. */
export type DeletionOutcome = { kind: 'deleted' | 'not_found'; detail: string } | { kind: 'failed'; detail: string };

/** Several deletions in one system (two records, two consumers) as one result: failed if any failed. */
export function combineDeletions(outcomes: DeletionOutcome[], none: string): ErasureResult {
  if (outcomes.length === 0) return { state: 'not_found', detail: none };
  const failed = outcomes.filter((o) => o.kind === 'failed');
  const detail = outcomes.map((o) => o.detail).join('; ');
  if (failed.length > 0) return { state: 'failed', detail };
  return { state: outcomes.some((o) => o.kind === 'deleted') ? 'deleted' : 'not_found', detail };
}

/** Whether a system's erasure is settled (nothing left for a later run to retry). */
export const isSettled = (r: ErasureResult): boolean => r.state !== 'failed';

/** The person fields of a signup's ICP fields and provenance: personal data, dropped on erasure (company ones stay). */
export const PERSON_FIELDS = ['personTitle', 'role', 'seniority'] as const;

export const isPersonField = (field: string): boolean => (PERSON_FIELDS as readonly string[]).includes(field);
