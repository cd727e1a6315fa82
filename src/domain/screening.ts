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
