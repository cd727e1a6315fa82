import { screenEmail } from './screening';

/** The company domain of an Account: its external id, else its Website's host without `www.`. */
export function accountDomain(externalId: unknown, website: unknown): string | undefined {
  const raw = typeof externalId === 'string' && externalId.trim() ? externalId : website;
  if (typeof raw !== 'string' || !raw.trim()) return undefined;
  const text = raw.trim().toLowerCase();
  let host: string;
  try {
    host = new URL(/^[a-z][a-z0-9+.-]*:\/\//.test(text) ? text : `https://${text}`).hostname;
  } catch {
    return undefined;
  }
  host = host.replace(/^www\./, '').replace(/\.$/, '');
  return /^[a-z0-9-]+(\.[a-z0-9-]+)+$/.test(host) ? host : undefined;
}

/** Why an account's domain is never paid for, or undefined when it may be. */
export function exclusionOf(domain: string, excluded: readonly string[]): string | undefined {
  if (excluded.some((d) => domain === d || domain.endsWith(`.${d}`))) return 'excluded domain';
  const kind = screenEmail(`x@${domain}`).kind;
  if (kind === 'free_mail') return 'personal email domain';
  if (kind === 'disposable') return 'disposable email domain';
  return undefined;
}
