import type { ProviderOutcome } from '../../domain/provider-outcome';
import { bodyMessage, providerCall, retryAfterMs, type Fetch } from '../http';
import { unmodelledStatus } from '../provider-status';

export interface ClayClientOptions {
  /** The table's webhook source URL (CLAY_WEBHOOK_URL). */
  webhookUrl: string;
  /** The webhook's `x-clay-webhook-auth` token (CLAY_WEBHOOK_AUTH). */
  webhookAuth: string;
  timeoutMs?: number;
  fetch?: Fetch;
}

/** The row we add to the Clay table. Clay echoes `request_id` and `workflow_id` back with the enriched columns. */
export interface ClayRow {
  request_id: string;
  workflow_id: string;
  company_domain: string;
}

const provider = 'clay' as const;

/**
 * Answers about the webhook URL itself, not the row: no such source (404), not a webhook (405), gone (410). Every row
 * would get the same, so they stop the signup like a rejected token: an operator must fix CLAY_WEBHOOK_URL.
 */
const CONFIGURATION_STATUSES = [404, 405, 410];

/**
 * Clay as an asynchronous provider: a row POSTed to the table's webhook is accepted (200) and its result arrives
 * later through the table's HTTP API column at `POST /webhooks/clay`. A 200 therefore means `queued`, never data.
 * Clay's failure mode is silence — out of credits or over the table's row limit it still answers 200 — so the
 * workflow treats a result that does not arrive in time as `provider_silent`. A refused token (401/403) or URL
 * (404/405/410) is `auth_failed`: every row would get it, an operator must fix it.
 */
export function createClayClient(o: ClayClientOptions) {
  return {
    async addRow(row: ClayRow): Promise<ProviderOutcome> {
      const a = await providerCall(provider, o.webhookUrl, {
        method: 'POST',
        headers: { 'x-clay-webhook-auth': o.webhookAuth },
        body: row,
        timeoutMs: o.timeoutMs,
        fetch: o.fetch,
      });
      if ('kind' in a) return a;
      if (a.status >= 200 && a.status < 300) {
        return { kind: 'queued', provider, pollToken: row.request_id, retryAfterMs: undefined };
      }
      if (a.status === 401 || a.status === 403) {
        return {
          kind: 'auth_failed',
          provider,
          status: a.status,
          detail: bodyMessage(a.body) || 'webhook token rejected',
        };
      }
      if (CONFIGURATION_STATUSES.includes(a.status)) {
        const message = bodyMessage(a.body);
        return {
          kind: 'auth_failed',
          provider,
          status: a.status,
          detail:
            `the table's webhook URL answered HTTP ${a.status} (table or webhook source deleted, or a wrong ` +
            `CLAY_WEBHOOK_URL)${message ? `: ${message}` : ''}`,
        };
      }
      if (a.status === 429) return { kind: 'rate_limited', provider, retryAfterMs: retryAfterMs(a.headers, 1_000) };
      // Any other 4xx (a row the table refuses) is permanent for this row; 5xx and timeouts are transient.
      return unmodelledStatus(provider, a.status, { type: undefined, detail: bodyMessage(a.body) });
    },
  };
}

export type ClayClient = ReturnType<typeof createClayClient>;
