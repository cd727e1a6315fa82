/** The `EnrichmentStatus` vocabulary (docs/architecture.md), shared by the ledger, workflows and search attributes. */
export const ENRICHMENT_STATUSES = [
  'received',
  'enriching',
  'enriched',
  'partial',
  'not_found',
  'skipped',
  'undeliverable',
  'waiting_for_credits',
  'paused',
  'failed',
] as const;

export type EnrichmentStatus = (typeof ENRICHMENT_STATUSES)[number];

/** How a signup's email was classified before any provider is asked about it. */
export type EmailKind = 'work' | 'free_mail' | 'disposable';
