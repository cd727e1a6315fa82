import { createHmac, timingSafeEqual } from 'node:crypto';
import type { WriteOutcome } from '../../domain/fan-out';
import { destinationCall, retryAfterMs, type Fetch } from '../http';

export const SIGNATURE_HEADER = 'x-enrichment-signature';
export const DELIVERY_HEADER = 'x-enrichment-delivery';
export const EVENT_HEADER = 'x-enrichment-event';

/** `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`: the timestamp is signed with the body. */
export function signatureHeader(secret: string, body: string, unixSeconds: number): string {
  const mac = createHmac('sha256', secret).update(`${unixSeconds}.${body}`).digest('hex');
  return `t=${unixSeconds},v1=${mac}`;
}

/** The receiving side (as docs/destinations.md's snippet does): valid signature and a timestamp within `toleranceS`. */
export function verifySignature(
  secret: string,
  body: string,
  header: string | undefined,
  nowS = Math.floor(Date.now() / 1000),
  toleranceS = 300,
): boolean {
  const parts = Object.fromEntries((header ?? '').split(',').map((p) => p.split('=', 2) as [string, string]));
  const t = Number(parts.t);
  if (!Number.isInteger(t) || Math.abs(nowS - t) > toleranceS || !parts.v1) return false;
  const expected = Buffer.from(createHmac('sha256', secret).update(`${t}.${body}`).digest('hex'));
  const given = Buffer.from(parts.v1);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** Signed JSON deliveries to the consumers of OUTGOING_WEBHOOK_URLS. */
export function createWebhookClient(o: { secret: string; timeoutMs?: number; fetch?: Fetch }) {
  return {
    /** Delivers `payload`; `deliveryId` is the same on every retry, so a receiver can drop repeats. */
    async deliver(url: string, event: string, deliveryId: string, payload: unknown): Promise<WriteOutcome> {
      const body = JSON.stringify(payload);
      const a = await destinationCall(url, {
        method: 'POST',
        rawBody: body,
        headers: {
          [SIGNATURE_HEADER]: signatureHeader(o.secret, body, Math.floor(Date.now() / 1000)),
          [DELIVERY_HEADER]: deliveryId,
          [EVENT_HEADER]: event,
        },
        timeoutMs: o.timeoutMs,
        fetch: o.fetch,
      });
      const host = new URL(url).host;
      if ('kind' in a) return a;
      if (a.status >= 200 && a.status < 300) return { kind: 'written', detail: `delivered to ${host}` };
      if (a.status === 429)
        return {
          kind: 'rate_limited',
          retryAfterMs: retryAfterMs(a.headers, 10_000),
          detail: `${host} rate limit (429)`,
        };
      if (a.status === 401 || a.status === 403) {
        return {
          kind: 'auth_failed',
          detail: `${host} refused the signature (HTTP ${a.status}); check OUTGOING_WEBHOOK_SECRET`,
        };
      }
      if (a.status >= 400 && a.status < 500 && a.status !== 408 && a.status !== 409) {
        return { kind: 'rejected', detail: `${host} refused the delivery (HTTP ${a.status})` };
      }
      return { kind: 'transient', detail: `${host} unavailable (HTTP ${a.status})` };
    },
  };
}

export type WebhookClient = ReturnType<typeof createWebhookClient>;
