import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { Provenance } from '../domain/enrichment/merge';
import type { Destination, WriteProgress } from '../domain/fan-out';
import type { IcpFields } from '../domain/icp/fields';
import type { ScoreStatus } from '../domain/icp/scoring';
import type { EmailKind, EnrichmentStatus } from '../domain/status';

export interface SignupEnrichmentInput {
  /** The ledger id of the signup that started this workflow. */
  signupId: string;
}

/** One step of the waterfall, for getStatus and the Web UI: who was asked what, and what it gave. */
export interface TraceEntry {
  source: string;
  lookup: 'company' | 'person' | 'cache';
  outcome: string;
  filled: string[];
}

export interface SignupProgress {
  signupId: string;
  status: EnrichmentStatus;
  emailKind?: EmailKind;
  domain?: string;
  reason?: string;
  fields?: IcpFields;
  provenance?: Provenance;
  missingFields?: string[];
  creditsSpent?: Record<string, number>;
  trace?: TraceEntry[];
  score?: { status: ScoreStatus; score: number | undefined; tier: string | undefined };
  /** Each destination write of the recorded outcome: pending, retrying, done, skipped or failed (with the reason). */
  writes?: Partial<Record<Destination, WriteProgress>>;
}

export interface SignupEnrichmentStatus {
  status: EnrichmentStatus;
  companyDomain: string | undefined;
  icpScore: number | undefined;
  icpTier: string | undefined;
  signups: SignupProgress[];
}

export type SignupEnrichmentResult = SignupEnrichmentStatus;

export interface SignupReceived {
  signupId: string;
}

export const getStatusQuery = defineQuery<SignupEnrichmentStatus>('getStatus');
/** Another person of the same organization signed up while its workflow runs (sent with signal-with-start). */
export const signupReceivedSignal = defineSignal<[SignupReceived]>('signupReceived');
/** Credits were topped up (`enrich credits-restored`): signups waiting for credits retry now instead of later. */
export const creditsRestoredSignal = defineSignal<[{ provider?: string }]>('creditsRestored');

/** A Clay row's result, forwarded by the starter from `POST /webhooks/clay`. */
export interface ClayResultMessage {
  signupId: string;
  found: boolean;
  fields: IcpFields;
}
export const clayResultSignal = defineSignal<[ClayResultMessage]>('clayResult');
