import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { ErrorType } from '../domain/errors';
import { DESTINATIONS, isHighValue, type Destination, type EnrichedSignup, type WriteOutcome } from '../domain/fan-out';
import type { CloseCompany, DestinationClients } from '../domain/ports';
import { NO_SIGNALS, signupSignals, type SignupSignals } from '../domain/signup-signals';
import { sha256 } from '../hash';
import { signupMessage } from '../integrations/slack/client';
import { inTurn } from '../ledger/destination-links';
import type { Ledger } from '../ledger/ledger';
import { emailRedactor, type Redactor } from '../redact';
import { DESTINATION_JITTER, enrichedSignup, heartbeating, retryDelayMs } from './support';

export interface WriteRetryPolicy {
  /** First wait after a round of attempts failed; doubles up to `maxMs`. */
  initialMs: number;
  maxMs: number;
  /** A write still failing this long after its first attempt is given up (`failed`). */
  giveUpMs: number;
}

export interface FanOutPlan {
  writes: { destination: Destination; idempotencyKey: string }[];
  skipped: { destination: Destination; reason: string }[];
  retry: WriteRetryPolicy;
}

export interface WriteInput {
  signupId: string;
  idempotencyKey: string;
}

export interface WriteResult {
  state: 'done' | 'skipped';
  detail: string;
}

export const WEBHOOK_EVENT = 'signup.enriched';

/** Why nothing is written for a signup whose person was erased (`enrich forget`) while it was still running. */
export const ERASED = 'person erased (enrich forget): nothing written';

/** What the record says, without when it was written: equal content gives equal idempotency keys. */
function contentHash(s: EnrichedSignup): string {
  const score = s.score && {
    status: s.score.status,
    score: s.score.score,
    tier: s.score.tier,
    v: s.score.configVersion,
  };
  const fields = Object.fromEntries(Object.entries(s.fields).sort(([a], [b]) => a.localeCompare(b)));
  return sha256(JSON.stringify({ status: s.status, fields, score })).slice(0, 16);
}

/**
 * A destination's answer with its error text redacted: a refusal can quote what we sent (an email) or, misconfigured,
 * a credential, and the text goes into the workflow's history (the failure) and the ledger (`destination_writes`).
 */
function redacted(outcome: WriteOutcome, redactor: Redactor): WriteOutcome {
  return outcome.kind === 'written' ? outcome : { ...outcome, detail: redactor.text(outcome.detail) };
}

/** A failed outcome (already {@link redacted}) as the failure the retry policies and the workflow understand. */
function failure(destination: Destination, outcome: Exclude<WriteOutcome, { kind: 'written' }>): ApplicationFailure {
  const message = outcome.detail;
  switch (outcome.kind) {
    case 'rate_limited':
      return ApplicationFailure.create({
        type: ErrorType.DestinationRateLimited,
        message,
        nextRetryDelay: retryDelayMs(outcome, Context.current().info.attempt, DESTINATION_JITTER),
      });
    case 'quota_exceeded':
      return ApplicationFailure.create({
        type: ErrorType.DestinationQuotaExceeded,
        message,
        details: [{ waitMs: outcome.waitMs }],
      });
    case 'auth_failed':
      return ApplicationFailure.create({ type: ErrorType.DestinationAuthFailed, message, nonRetryable: true });
    case 'rejected':
      return ApplicationFailure.create({ type: ErrorType.DestinationRejected, message, nonRetryable: true });
    case 'transient': {
      return ApplicationFailure.create({
        type: ErrorType.DestinationUnavailable,
        message: `${destination}: ${message}`,
        nextRetryDelay: retryDelayMs(outcome, Context.current().info.attempt, DESTINATION_JITTER),
      });
    }
  }
}

/**
 * The fan-out: one activity per destination, each idempotent. Every write is keyed by the signup and the content
 * written; the ledger remembers finished keys, so a re-run of the same signup (a backfill) writes nothing again, and
 * the destinations' own keys (PostHog event uuids and group key, Salesforce and Vitally external ids, the webhook
 * delivery id) absorb a retry after a crash. Slack cannot deduplicate: it is claimed in the ledger before sending
 * and never sent twice.
 */
export const createWriteActivities = (deps: {
  ledger: Ledger;
  destinations: DestinationClients;
  retry: WriteRetryPolicy;
  /** The redaction of destination error texts (the configuration's secrets and emails); emails only by default. */
  redact?: Redactor;
}) => {
  const d = deps.destinations;
  const redactor = deps.redact ?? emailRedactor;

  /** The signup as the destinations get it; undefined when its person was erased (nothing is written then). */
  const load = async (signupId: string): Promise<EnrichedSignup | undefined> => {
    const record = await deps.ledger.signups.getSignup(signupId);
    if (!record) {
      throw ApplicationFailure.create({
        type: ErrorType.SignupNotFound,
        message: `signup ${signupId} is not in the ledger`,
        nonRetryable: true,
      });
    }
    return record.erasedAt ? undefined : enrichedSignup(record);
  };

  /** Writes once per idempotency key: skipped when the ledger has it done, recorded when it succeeds or is refused. */
  const idempotent = async (
    destination: Destination,
    input: WriteInput,
    write: (s: EnrichedSignup) => Promise<WriteOutcome>,
  ): Promise<WriteResult> => {
    const previous = await deps.ledger.destinationWrites.getDestinationWrite(destination, input.idempotencyKey);
    if (previous?.state === 'done')
      return { state: 'done', detail: `already written: ${previous.detail ?? ''}`.trim() };
    const signup = await load(input.signupId);
    if (!signup) return { state: 'skipped', detail: ERASED };
    const outcome = redacted(await heartbeating(() => write(signup)), redactor);
    if (outcome.kind === 'written') {
      await deps.ledger.destinationWrites.finishDestinationWrite(
        destination,
        input.idempotencyKey,
        input.signupId,
        'done',
        outcome.detail,
      );
      return { state: 'done', detail: outcome.detail };
    }
    if (outcome.kind === 'auth_failed' || outcome.kind === 'rejected') {
      await deps.ledger.destinationWrites.finishDestinationWrite(
        destination,
        input.idempotencyKey,
        input.signupId,
        'failed',
        outcome.detail,
      );
    }
    throw failure(destination, outcome);
  };

  /** What the signup's recorded payload says beyond its email (none once the retention purge emptied it). */
  const signals = async (signupId: string): Promise<SignupSignals> => {
    const payload = await deps.ledger.signups.getPayload(signupId);
    if (typeof payload !== 'string') return signupSignals(payload);
    try {
      return signupSignals(JSON.parse(payload));
    } catch {
      return NO_SIGNALS;
    }
  };

  const missing = (destination: Destination) =>
    ApplicationFailure.create({
      type: ErrorType.DestinationRejected,
      message: `${destination} is not configured`,
      nonRetryable: true,
    });

  return {
    /** Which destinations this signup goes to, each with its idempotency key (read from the ledger). */
    async planFanOut(input: { signupId: string }): Promise<FanOutPlan> {
      const s = await load(input.signupId);
      if (!s) {
        const configured = DESTINATIONS.filter((destination) => d[destination] !== undefined);
        return {
          writes: [],
          skipped: configured.map((destination) => ({ destination, reason: ERASED })),
          retry: deps.retry,
        };
      }
      const hash = contentHash(s);
      const writes: FanOutPlan['writes'] = [];
      const skipped: FanOutPlan['skipped'] = [];
      const key = (destination: Destination) => `${s.signupId}:${destination}:${hash}`;
      if (d.posthog) writes.push({ destination: 'posthog', idempotencyKey: key('posthog') });
      if (d.salesforce) {
        if (s.emailKind === 'work' || d.salesforce.personalEmailPolicy === 'lead') {
          writes.push({ destination: 'salesforce', idempotencyKey: key('salesforce') });
        } else {
          skipped.push({ destination: 'salesforce', reason: 'personal email (SALESFORCE_PERSONAL_EMAIL_POLICY=skip)' });
        }
      }
      if (d.vitally) {
        // With Vitally's Salesforce sync, the user joins the account synced from the company's Salesforce Account.
        const sync = d.vitally.accounts === 'salesforce_sync';
        const byOrganization = !sync || d.vitally.syncAccountKey === 'organization_id';
        if (byOrganization ? s.organizationId : s.domain) {
          writes.push({ destination: 'vitally', idempotencyKey: key('vitally') });
        } else {
          const reason = !sync
            ? 'no organization id'
            : byOrganization
              ? 'no organization id (VITALLY_SYNC_ACCOUNT_KEY=organization_id)'
              : 'no company domain (VITALLY_ACCOUNTS=salesforce_sync)';
          skipped.push({ destination: 'vitally', reason });
        }
      }
      if (d.slack) {
        const high = isHighValue(s, d.slack.highValue);
        // One message per signup, ever: the key leaves out the content.
        if ((high && d.slack.webhookUrl) || (!high && d.slack.quietWebhookUrl)) {
          writes.push({ destination: 'slack', idempotencyKey: `${s.signupId}:slack` });
        } else {
          skipped.push({ destination: 'slack', reason: high ? 'no Slack webhook' : 'not a high-value signup' });
        }
      }
      if (d.webhooks) {
        if (d.webhooks.urls.length > 0) writes.push({ destination: 'webhooks', idempotencyKey: key('webhooks') });
        else skipped.push({ destination: 'webhooks', reason: 'no OUTGOING_WEBHOOK_URLS' });
      }
      if (d.customerio) writes.push({ destination: 'customerio', idempotencyKey: key('customerio') });
      if (d.mixpanel) writes.push({ destination: 'mixpanel', idempotencyKey: key('mixpanel') });
      if (d.close) writes.push({ destination: 'close', idempotencyKey: key('close') });
      if (d.humanic) writes.push({ destination: 'humanic', idempotencyKey: key('humanic') });
      return { writes, skipped, retry: deps.retry };
    },

    /** The organization group, the person and the `organization_enriched` event. */
    async writeToPosthog(input: WriteInput): Promise<WriteResult> {
      const posthog = d.posthog;
      if (!posthog) throw missing('posthog');
      return idempotent('posthog', input, (s) => posthog.writeEnrichment(s, input.idempotencyKey));
    },

    /** The Account and Contact (or Lead), upserted by external id. */
    async writeToSalesforce(input: WriteInput): Promise<WriteResult> {
      const salesforce = d.salesforce;
      if (!salesforce) throw missing('salesforce');
      return idempotent('salesforce', input, (s) => salesforce.writeEnrichment(s));
    },

    /** The account and user, upserted by externalId. */
    async writeToVitally(input: WriteInput): Promise<WriteResult> {
      const vitally = d.vitally;
      if (!vitally) throw missing('vitally');
      return idempotent('vitally', input, (s) => vitally.writeEnrichment(s));
    },

    /** At most one message per signup: the ledger claims it before the post. */
    async notifySlack(input: WriteInput): Promise<WriteResult> {
      const slack = d.slack;
      if (!slack) throw missing('slack');
      const before = await deps.ledger.destinationWrites.claimDestinationWrite(
        'slack',
        input.idempotencyKey,
        input.signupId,
      );
      if (before === 'done') return { state: 'done', detail: 'already notified' };
      const s = await load(input.signupId);
      if (!s) return { state: 'skipped', detail: ERASED };
      if (before === 'sending') {
        const detail = 'an earlier attempt may have posted (worker stopped mid-call): not re-sent, at most once';
        await deps.ledger.destinationWrites.finishDestinationWrite(
          'slack',
          input.idempotencyKey,
          input.signupId,
          'done',
          detail,
        );
        return { state: 'skipped', detail };
      }
      const high = isHighValue(s, slack.highValue);
      const url = high ? slack.webhookUrl : slack.quietWebhookUrl;
      if (!url) return { state: 'skipped', detail: 'no Slack webhook for this signup' };
      const outcome = redacted(await heartbeating(() => slack.client.post(url, signupMessage(s, high))), redactor);
      if (outcome.kind === 'written') {
        await deps.ledger.destinationWrites.finishDestinationWrite(
          'slack',
          input.idempotencyKey,
          input.signupId,
          'done',
          outcome.detail,
        );
        return { state: 'done', detail: high ? 'high-value message posted' : 'message posted to the quiet channel' };
      }
      // A timeout may have posted: the claim stays `sending`, so no retry sends it again. Any answer means it did not.
      if (!(outcome.kind === 'transient' && /timeout|abort/i.test(outcome.detail))) {
        await deps.ledger.destinationWrites.finishDestinationWrite(
          'slack',
          input.idempotencyKey,
          input.signupId,
          'failed',
          outcome.detail,
        );
      }
      throw failure('slack', outcome);
    },

    /** The enriched signup, signed, to every OUTGOING_WEBHOOK_URLS consumer not yet delivered to. */
    async deliverWebhooks(input: WriteInput): Promise<WriteResult> {
      const webhooks = d.webhooks;
      if (!webhooks) throw missing('webhooks');
      const s = await load(input.signupId);
      if (!s) return { state: 'skipped', detail: ERASED };
      const delivered: string[] = [];
      for (const url of webhooks.urls) {
        const deliveryId = `${input.idempotencyKey}:${sha256(url).slice(0, 8)}`;
        const result = await idempotent('webhooks', { ...input, idempotencyKey: deliveryId }, () =>
          webhooks.client.deliver(url, WEBHOOK_EVENT, deliveryId, { event: WEBHOOK_EVENT, deliveryId, signup: s }),
        );
        delivered.push(result.detail);
      }
      return { state: 'done', detail: delivered.join('; ') };
    },

    /**
     * The person identified with the enrichment, then the `signed_up` event — once per signup, ever: its own key
     * (without the content hash) is recorded done in the ledger after it is sent, so a re-enrichment or a backfill
     * updates the attributes but sends no second event; the event's ULID id lets Customer.io drop a resend after a
     * crash between the send and that record.
     */
    async writeToCustomerio(input: WriteInput): Promise<WriteResult> {
      const customerio = d.customerio;
      if (!customerio) throw missing('customerio');
      const eventKey = `${input.signupId}:customerio:signed_up`;
      return idempotent('customerio', input, async (s) => {
        const found = await signals(s.signupId);
        const person = await customerio.identify(s, found);
        if (person.kind !== 'written') return person;
        const sent = await deps.ledger.destinationWrites.getDestinationWrite('customerio', eventKey);
        if (sent?.state === 'done') return { kind: 'written', detail: 'person updated (signed_up already sent)' };
        const event = await customerio.signedUp(s, found);
        if (event.kind !== 'written') return event;
        await deps.ledger.destinationWrites.finishDestinationWrite(
          'customerio',
          eventKey,
          s.signupId,
          'done',
          'signed_up sent',
        );
        return { kind: 'written', detail: 'person identified, signed_up sent' };
      });
    },

    /** The profile, the company's group profile and the merge of the anonymous pre-signup id. */
    async writeToMixpanel(input: WriteInput): Promise<WriteResult> {
      const mixpanel = d.mixpanel;
      if (!mixpanel) throw missing('mixpanel');
      return idempotent('mixpanel', input, async (s) => mixpanel.writeEnrichment(s, await signals(s.signupId)));
    },

    /**
     * The company's lead (the one recorded for its domain, else found by domain, else created), the person's contact
     * on it, a high-value follow-up. Writers of one company take turns across workers (a lease in the ledger), so two
     * colleagues written at once make one lead; the lead's id is recorded for the next writer.
     */
    async writeToClose(input: WriteInput): Promise<WriteResult> {
      const close = d.close;
      if (!close) throw missing('close');
      return idempotent('close', input, async (s) => {
        const company = await closeCompanyOf(s);
        const highValue = isHighValue(s, close.highValue);
        // A person without a company: their own lead, found by email; the lease is only taken, nothing is recorded.
        const key = company ? `domain:${company.domain}` : `person:${s.personKey}`;
        return inTurn<WriteOutcome>(
          deps.ledger.destinationLinks,
          'close',
          key,
          async (knownLeadId) => {
            const outcome = await close.client.writeEnrichment(s, company, highValue, knownLeadId);
            return { outcome, link: company && outcome.kind === 'written' ? outcome.leadId : undefined };
          },
          () => ({ kind: 'transient', detail: "another worker is writing this company's Close lead" }),
        );
      });
    },

    /** The signup event in PostHog's webhook shape, enriched, to HUMANIC_WEBHOOK_URL; once per idempotency key. */
    async deliverToHumanic(input: WriteInput): Promise<WriteResult> {
      const humanic = d.humanic;
      if (!humanic) throw missing('humanic');
      return idempotent('humanic', input, async (s) =>
        humanic.deliver(s, await deps.ledger.signups.getPayload(s.signupId), input.idempotencyKey),
      );
    },
  };

  /**
   * The company a signup's Close lead stands for: its own work domain; for a free-mail signup, the work domain of the
   * latest other signup of its workflow (the same organization, or the same person without one) that has one.
   */
  async function closeCompanyOf(s: EnrichedSignup): Promise<CloseCompany | undefined> {
    if (s.domain) return { domain: s.domain, name: s.fields.companyName ?? s.organizationName };
    const record = await deps.ledger.signups.getSignup(s.signupId);
    if (!record?.workflowId) return undefined;
    const earlier = (await deps.ledger.signups.listSignupsByWorkflowId(record.workflowId))
      .filter((r) => r.id !== s.signupId && r.emailKind === 'work' && r.emailDomain && !r.erasedAt)
      .filter((r) => (s.organizationId ? r.organizationId === s.organizationId : r.distinctId === s.distinctId))
      .at(-1);
    if (!earlier?.emailDomain) return undefined;
    return {
      domain: earlier.emailDomain,
      name: earlier.icpFields?.companyName ?? earlier.organizationName ?? s.organizationName ?? undefined,
    };
  }
};

export type WriteActivities = ReturnType<typeof createWriteActivities>;
