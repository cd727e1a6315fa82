import type { DeletionOutcome } from '../../domain/erasure';
import type { EnrichedSignup, WriteOutcome } from '../../domain/fan-out';
import { isLikelyDeveloper, type SignupSignals } from '../../domain/signup-signals';
import { sha256 } from '../../hash';
import { writeOutcome, type DestinationWording } from '../destination-status';
import { bodyMessage, compact, destinationCall, pathSegment, retryAfterMs, type Fetch } from '../http';
import { enrichmentProperties } from '../posthog/properties';

export interface CustomerioClientOptions {
  /** The Track API v1 base: https://track.customer.io/api/v1 (US) or https://track-eu.customer.io/api/v1 (EU). */
  trackUrl: string;
  siteId: string;
  apiKey: string;
  timeoutMs?: number;
  fetch?: Fetch;
}

/** The event every signup sends once; campaigns (the welcome email) trigger on it. */
export const SIGNED_UP_EVENT = 'signed_up';

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/**
 * A ULID that is the same for every send of one signup's event: its time part is the signup time, its 80 "random"
 * bits come from a hash of the signup id and event name. Customer.io deduplicates events by a ULID `id`, so a retry
 * or a backfill that reaches it again never re-triggers a campaign.
 */
export function eventUlid(signupId: string, signedUpAt: string, name = SIGNED_UP_EVENT): string {
  let time = Math.max(0, Math.min(Date.parse(signedUpAt) || 0, 2 ** 48 - 1));
  let timePart = '';
  for (let i = 0; i < 10; i++) {
    timePart = CROCKFORD[time % 32]! + timePart;
    time = Math.floor(time / 32);
  }
  const bits = BigInt(`0x${sha256(`${signupId}:${name}`).slice(0, 20)}`);
  let random = '';
  for (let i = 15; i >= 0; i--) random += CROCKFORD[Number((bits >> BigInt(i * 5)) & 31n)]!;
  return timePart + random;
}

/** Customer.io's error bodies: a 400 `{ meta: { errors: [...] } }`; 401 and others `{ meta: { error } }`. */
function customerioMessage(body: unknown): string {
  const meta = (body as { meta?: { error?: unknown; errors?: unknown } } | undefined)?.meta;
  if (Array.isArray(meta?.errors) && meta.errors.length > 0) return meta.errors.map(String).join('; ').slice(0, 200);
  if (typeof meta?.error === 'string') return meta.error.slice(0, 200);
  return bodyMessage(body);
}

const CUSTOMERIO: DestinationWording = {
  system: 'Customer.io',
  refused: (what) => what,
  message: customerioMessage,
  retryAfterMs: (headers) => retryAfterMs(headers, 10_000),
};

const unixSeconds = (iso: string) => Math.floor(Date.parse(iso) / 1000);

/**
 * An attribute value as the Track API documents them (string, integer, boolean): a list becomes its items joined by
 * commas (`industry_tags`), an object its JSON text (`enrichment_sources`), so segments and Liquid read plain values.
 */
export function flatAttribute(value: unknown): unknown {
  if (Array.isArray(value))
    return value.map((v) => (typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v))).join(',');
  if (typeof value === 'object' && value !== null) return JSON.stringify(value);
  return value;
}

/** The attributes of the person: the enrichment, `likely_developer`, and the newsletter opt-in when the form sent one. */
export function customerAttributes(s: EnrichedSignup, signals: SignupSignals): Record<string, unknown> {
  const enrichment = Object.entries(enrichmentProperties(s, 'person')).map(([k, v]): [string, unknown] => [
    k,
    flatAttribute(v),
  ]);
  return compact({
    ...Object.fromEntries(enrichment),
    email: s.email,
    name: s.name,
    created_at: unixSeconds(s.signedUpAt),
    company_domain: s.domain,
    organization_id: s.organizationId,
    likely_developer: isLikelyDeveloper(s.fields, signals),
    newsletter_opt_in: signals.newsletterOptIn,
  });
}

/**
 * Customer.io's Track API v1 (Basic auth `site_id:api_key`): the person identified by our person key — never the email,
 * which is an attribute — with `PUT /customers/{id}`, and the `signed_up` event with `POST /customers/{id}/events`.
 */
export function createCustomerioClient(o: CustomerioClientOptions) {
  const auth = `Basic ${Buffer.from(`${o.siteId}:${o.apiKey}`).toString('base64')}`;
  const call = (method: string, path: string, body: unknown) =>
    destinationCall(`${o.trackUrl}${path}`, {
      method,
      headers: { authorization: auth },
      body,
      timeoutMs: o.timeoutMs,
      fetch: o.fetch,
    });

  return {
    async identify(s: EnrichedSignup, signals: SignupSignals): Promise<WriteOutcome> {
      const answer = await call('PUT', `/customers/${pathSegment(s.personKey)}`, customerAttributes(s, signals));
      return writeOutcome(answer, 'the person', CUSTOMERIO);
    },

    async signedUp(s: EnrichedSignup, signals: SignupSignals): Promise<WriteOutcome> {
      // No `timestamp`: Customer.io then uses the time it receives the event, and only an event of the past 72 hours
      // triggers campaigns — a write retried for days (WRITE_GIVE_UP_HOURS) must still send the welcome email.
      const answer = await call('POST', `/customers/${pathSegment(s.personKey)}/events`, {
        name: SIGNED_UP_EVENT,
        id: eventUlid(s.signupId, s.signedUpAt),
        data: compact({
          signed_up_at: unixSeconds(s.signedUpAt),
          likely_developer: isLikelyDeveloper(s.fields, signals),
          newsletter_opt_in: signals.newsletterOptIn,
          signup_method: signals.signupMethod,
          company_name: s.fields.companyName ?? s.organizationName,
          company_domain: s.domain,
          icp_tier: s.score?.tier,
          icp_score: s.score?.score,
        }),
      });
      return writeOutcome(answer, `the ${SIGNED_UP_EVENT} event`, CUSTOMERIO);
    },

    /** `DELETE /customers/{id}`: Customer.io answers 200 whether or not it knew the person. */
    async deletePerson(personKey: string): Promise<DeletionOutcome> {
      const a = await call('DELETE', `/customers/${pathSegment(personKey)}`, undefined);
      if ('kind' in a) return { kind: 'failed', detail: a.detail };
      if (a.status >= 200 && a.status < 300) return { kind: 'deleted', detail: 'Customer.io person deleted' };
      const message = customerioMessage(a.body);
      return { kind: 'failed', detail: `Customer.io answered ${a.status}${message ? `: ${message}` : ''}` };
    },
  };
}

export type CustomerioClient = ReturnType<typeof createCustomerioClient>;
