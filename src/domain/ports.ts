import type { DeletionOutcome } from './erasure';
import type { EnrichedSignup, HighValueRule, WriteOutcome } from './fan-out';
import type { ProviderName, ProviderOutcome } from './provider-outcome';
import type { SignupSignals } from './signup-signals';
import type { Deliverability } from './screening';

/*
 * The ports: what the activities need from the outside systems, as the activities see them. The clients in
 * src/integrations/ implement them; src/composition.ts builds the clients from the configuration and hands them over.
 */

/** One provider as the waterfall sees it: a company lookup by domain, and optionally a person lookup by email. */
export interface CompanyProvider {
  /** `ctx` identifies the signup for asynchronous providers (Clay echoes it back with the result). */
  company(domain: string, ctx: { signupId: string; workflowId: string }): Promise<ProviderOutcome>;
  person?(email: string): Promise<ProviderOutcome>;
  /** Where a scheduled enrichment stands (Harmonic's enrichment urn), for providers that hand out such tokens. */
  poll?(token: string): Promise<'pending' | 'complete' | 'not_found' | ProviderOutcome>;
}

/** The enrichment providers of ENRICHMENT_PROVIDERS that have a client. */
export type ProviderClients = Partial<Record<ProviderName, CompanyProvider>>;

/** PostHog: the enriched signup and organization as captured events, and the queries of the health check. */
export interface PosthogPort {
  writeEnrichment(s: EnrichedSignup, idempotencyKey: string): Promise<WriteOutcome>;
  writeOrganization(s: EnrichedSignup, idempotencyKey: string): Promise<WriteOutcome>;
  dailyEventCounts(
    events: string[],
    from: string,
    to: string,
  ): Promise<{ day: string; event: string; count: number }[]>;
  organizationsWithoutEnrichment(
    from: string,
    to: string,
    limit?: number,
  ): Promise<{ key: string; createdAt: string }[]>;
  /** Events named `events` in [from, to), oldest first, a page at a time (PostHog's query API). */
  capturedEvents(
    events: string[],
    from: string,
    to: string,
    page: { limit: number; offset: number },
  ): Promise<CapturedEvent[]>;
}

/** An event as PostHog recorded it, with its person's properties: what its webhook destination would have sent. */
export interface CapturedEvent {
  uuid: string;
  event: string;
  distinctId: string;
  timestamp: string;
  properties: Record<string, unknown>;
  personProperties: Record<string, unknown>;
}

/** An Account update or any record by id, as Salesforce's update calls take it. */
export type SalesforceRecordUpdate = { Id: string } & Record<string, unknown>;

/** Salesforce: the fan-out's Account and Contact (or Lead), and the weekend re-enrichment's query and updates. */
export interface SalesforcePort {
  readonly personalEmailPolicy: 'skip' | 'lead';
  readonly accountExternalIdField: string;
  writeEnrichment(s: EnrichedSignup): Promise<WriteOutcome>;
  queryPage<T extends Record<string, unknown>>(
    from: { soql: string } | { locator: string },
    batchSize: number,
  ): Promise<{ records: T[]; totalSize: number; next: string | undefined }>;
  updateRecords(type: string, records: SalesforceRecordUpdate[]): Promise<{ id: string; error: string | undefined }[]>;
  updateRecordsBulk(
    type: string,
    records: SalesforceRecordUpdate[],
    pollTimeoutMs: number,
  ): Promise<{ id: string; error: string | undefined }[]>;
  /** The company's Account Id by its external id (the domain); `id` undefined when there is none. */
  accountIdByDomain(domain: string): Promise<{ id: string | undefined } | WriteOutcome>;
}

/** Vitally: the account and user of a signup, or the account alone. */
export interface VitallyPort {
  writeEnrichment(s: EnrichedSignup): Promise<WriteOutcome>;
  writeAccount(s: EnrichedSignup): Promise<WriteOutcome>;
  /** VITALLY_ACCOUNTS: `salesforce_sync` writes users only, to the accounts Vitally's Salesforce sync made. */
  readonly accounts?: 'direct' | 'salesforce_sync';
  /** VITALLY_SYNC_ACCOUNT_KEY: what the synced accounts' externalId holds (`domain` when unset). */
  readonly syncAccountKey?: 'domain' | 'salesforce_id' | 'organization_id';
}

/** A Slack message as an incoming webhook takes it. */
export interface SlackMessage {
  text: string;
  blocks?: unknown[];
}

export interface SlackPort {
  post(webhookUrl: string, message: SlackMessage): Promise<WriteOutcome>;
}

/** Outgoing webhooks: one signed delivery, deduplicated by the consumer on its delivery id. */
export interface WebhookPort {
  deliver(url: string, event: string, deliveryId: string, payload: unknown): Promise<WriteOutcome>;
}

/** Humanic (or any PostHog webhook consumer): the enriched signup in PostHog's webhook payload shape. */
export interface HumanicPort {
  /** `original` is the payload the signup arrived with (PostHog's, when it came from PostHog). */
  deliver(s: EnrichedSignup, original: unknown, deliveryId: string): Promise<WriteOutcome>;
}

/** The destination clients of DESTINATIONS; a destination without one is skipped. */
export interface DestinationClients {
  posthog?: PosthogPort;
  salesforce?: SalesforcePort;
  vitally?: VitallyPort;
  slack?: {
    client: SlackPort;
    webhookUrl: string | undefined;
    quietWebhookUrl: string | undefined;
    highValue: HighValueRule;
  };
  webhooks?: { client: WebhookPort; urls: string[] };
  customerio?: CustomerioPort;
  mixpanel?: MixpanelPort;
  close?: { client: ClosePort; highValue: HighValueRule };
  humanic?: HumanicPort;
}

/** Customer.io: the person identified with the enrichment, and their `signed_up` event (deduplicated by its id). */
export interface CustomerioPort {
  identify(s: EnrichedSignup, signals: SignupSignals): Promise<WriteOutcome>;
  signedUp(s: EnrichedSignup, signals: SignupSignals): Promise<WriteOutcome>;
  /** `enrich forget`: the person and what Customer.io holds of them. */
  deletePerson(personKey: string): Promise<DeletionOutcome>;
}

/** Mixpanel: the person's profile, the company's group profile, and the merge of the pre-signup anonymous id. */
export interface MixpanelPort {
  writeEnrichment(s: EnrichedSignup, signals: SignupSignals): Promise<WriteOutcome>;
  /** `enrich forget`: the person's profile. */
  deletePerson(personKey: string): Promise<DeletionOutcome>;
}

/** The company a Close lead stands for: the signup's own work domain, or the one an earlier signup identified. */
export interface CloseCompany {
  domain: string;
  name: string | undefined;
}

/** Close: one lead per company (or per person without one), a contact per person, follow-up for high-value signups. */
export interface ClosePort {
  /** `knownLeadId`: the company's lead as last recorded (looked up before searching); the written lead is returned. */
  writeEnrichment(
    s: EnrichedSignup,
    company: CloseCompany | undefined,
    highValue: boolean,
    knownLeadId?: string,
  ): Promise<CloseWriteOutcome>;
}

/** A Close write's outcome; a written one names the lead it went to. */
export type CloseWriteOutcome =
  Exclude<WriteOutcome, { kind: 'written' }> | { kind: 'written'; detail: string; leadId?: string };

/** Deliverability screening: what DNS says about a work email's domain (src/integrations/dns/). */
export interface DeliverabilityPort {
  check(domain: string): Promise<Deliverability>;
}
