import { disposableEmailBlocklistSet } from 'disposable-email-domains-js';
import { emailDomain } from './email';
import { FREE_MAIL_DOMAINS } from './free-mail-domains';
import type { EmailKind } from './status';

export interface Screening {
  kind: EmailKind;
  domain: string;
}

/** Whether a company lookup may be paid for: only work emails name a company. */
export function screenEmail(email: string): Screening {
  const domain = emailDomain(email);
  if (FREE_MAIL_DOMAINS.has(domain) || FREE_MAIL_DOMAINS.has(registrableSuffix(domain))) {
    return { kind: 'free_mail', domain };
  }
  if (isDisposable(domain) || isDisposable(registrableSuffix(domain))) {
    return { kind: 'disposable', domain };
  }
  return { kind: 'work', domain };
}

/**
 * The package's own `isDisposableEmailDomain` builds its ~9,000-entry Set on every call (twice per signup: about 4 ms of the worker's CPU per signup in a profile):
 * built once here, on first use, with the same normalisation.
 */
let disposable: Set<string> | undefined;
function isDisposable(domain: string): boolean {
  disposable ??= disposableEmailBlocklistSet();
  return disposable.has(domain.trim().toLowerCase());
}

// Sub-domains of a free-mail or disposable host (mx.gmail.com, x.mailinator.com) are as personal as the host.
function registrableSuffix(domain: string): string {
  const labels = domain.split('.');
  return labels.length > 2 ? labels.slice(-2).join('.') : domain;
}

/**
 * What one DNS question about a domain came back with: records (`found`), none of that type (`none`, NODATA), no
 * such domain (`nxdomain`), or no answer we can trust (`failed`: a timeout, SERVFAIL, a refused or unreachable server).
 */
export type DnsLookup = 'found' | 'none' | 'nxdomain' | 'failed';

/** Whether mail to a domain can be delivered, as DNS says; a failure to ask is never a rejection. */
export type Deliverability =
  | { deliverable: true; note?: string }
  | { deliverable: false; reason: 'no_such_domain' | 'no_mail_records' | 'null_mx' };

/**
 * The screening decision (RFC 5321 §5.1): mail goes to the domain's MX hosts; without any MX record, to the domain's
 * own address (the "implicit MX"). So a domain is undeliverable when it does not exist, when it publishes a null MX
 * (RFC 7505: "accepts no mail"), or when it has neither an MX nor an A/AAAA record. A DNS failure at any step leaves
 * the signup deliverable: a resolver outage must never turn away a real customer.
 */
export function decideDeliverability(lookups: {
  mx: DnsLookup | 'null_mx';
  /** Asked only when the MX question found none: the A and AAAA answers. */
  address?: readonly DnsLookup[];
}): Deliverability {
  const { mx, address = [] } = lookups;
  if (mx === 'found') return { deliverable: true };
  if (mx === 'null_mx') return { deliverable: false, reason: 'null_mx' };
  if (mx === 'nxdomain') return { deliverable: false, reason: 'no_such_domain' };
  if (mx === 'failed') return { deliverable: true, note: 'dns_failed' };
  if (address.includes('found')) return { deliverable: true };
  if (address.includes('failed') || address.length === 0) return { deliverable: true, note: 'dns_failed' };
  // NODATA for MX, then NXDOMAIN for the address: the name vanished in between; it has no mail either way.
  return { deliverable: false, reason: address.includes('nxdomain') ? 'no_such_domain' : 'no_mail_records' };
}

/** The `undeliverable` status's reason, as the ledger, getStatus and the dashboard show it. */
export const UNDELIVERABLE_REASONS = {
  no_such_domain: 'undeliverable: the email domain does not exist (NXDOMAIN)',
  no_mail_records: 'undeliverable: the email domain has no MX record and no A/AAAA record to fall back on',
  null_mx: 'undeliverable: the email domain accepts no mail (null MX, RFC 7505)',
} as const;
