import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { EmailKind, EnrichmentStatus } from '../domain/status';

export interface SignupEnrichmentInput {
  /** The ledger id of the signup that started this workflow. */
  signupId: string;
}

export interface SignupProgress {
  signupId: string;
  status: EnrichmentStatus;
  emailKind?: EmailKind;
  domain?: string;
  reason?: string;
}

export interface SignupEnrichmentStatus {
  status: EnrichmentStatus;
  companyDomain: string | undefined;
  signups: SignupProgress[];
}

export type SignupEnrichmentResult = SignupEnrichmentStatus;

export interface SignupReceived {
  signupId: string;
}

export const getStatusQuery = defineQuery<SignupEnrichmentStatus>('getStatus');
/** Another person of the same organization signed up while its workflow runs (sent with signal-with-start). */
export const signupReceivedSignal = defineSignal<[SignupReceived]>('signupReceived');
