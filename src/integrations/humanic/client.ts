import type { EnrichedSignup, WriteOutcome } from '../../domain/fan-out';
import { bodyMessage, destinationCall, retryAfterMs, type Fetch } from '../http';
import { posthogShapedPayload, type PosthogProjectRef } from './payload';

/** The delivery id header (as on our signed webhooks): the same on every retry of one delivery. */
export const HUMANIC_DELIVERY_HEADER = 'x-enrichment-delivery';

export interface HumanicClientOptions {
  /** The webhook URL Humanic gives under Integrations → PostHog (it identifies the workspace). */
  webhookUrl: string;
  /** Sent as `Authorization: Bearer <key>` when set; Humanic's PostHog webhook URL needs none. */
  apiKey: string | undefined;
  project: PosthogProjectRef;
  organizationGroupIndex: number;
  timeoutMs?: number;
  fetch?: Fetch;
}

/**
 * Humanic, or any consumer of a PostHog webhook destination: the enriched signup POSTed in PostHog's webhook payload
 * shape (./payload.ts), so the consumer's PostHog mapping (`distinct_id`, `properties.email`, `event`, person
 * properties) works unchanged and sees the `enrichment_*` properties. A retry sends the same body (same `event.uuid`)
 * and delivery id.
 */
export function createHumanicClient(o: HumanicClientOptions) {
  return {
    async deliver(s: EnrichedSignup, original: unknown, deliveryId: string): Promise<WriteOutcome> {
      const body = posthogShapedPayload(s, original, o.project, o.organizationGroupIndex);
      const a = await destinationCall(o.webhookUrl, {
        method: 'POST',
        headers: {
          [HUMANIC_DELIVERY_HEADER]: deliveryId,
          ...(o.apiKey ? { authorization: `Bearer ${o.apiKey}` } : {}),
        },
        body,
        timeoutMs: o.timeoutMs,
        fetch: o.fetch,
      });
      if ('kind' in a) return a;
      const message = bodyMessage(a.body);
      const said = message ? `: ${message}` : '';
      if (a.status >= 200 && a.status < 300) return { kind: 'written', detail: `${body.event.event} event delivered` };
      if (a.status === 401 || a.status === 403) {
        return {
          kind: 'auth_failed',
          detail: `Humanic refused the delivery (HTTP ${a.status}${said}); check HUMANIC_WEBHOOK_URL and HUMANIC_API_KEY`,
        };
      }
      if (a.status === 429) {
        return {
          kind: 'rate_limited',
          retryAfterMs: retryAfterMs(a.headers, 10_000),
          detail: 'Humanic rate limit (429)',
        };
      }
      if (a.status >= 400 && a.status < 500 && a.status !== 408 && a.status !== 409) {
        return { kind: 'rejected', detail: `Humanic refused the event (HTTP ${a.status}${said})` };
      }
      return { kind: 'transient', detail: `Humanic unavailable (HTTP ${a.status})` };
    },
  };
}

export type HumanicClient = ReturnType<typeof createHumanicClient>;
