/** RFC 5321's limits: a whole address, its local part, a domain name and one of its labels. */
export const MAX_EMAIL_LENGTH = 254;
export const MAX_LOCAL_PART_LENGTH = 64;
export const MAX_DOMAIN_LENGTH = 253;
export const MAX_DOMAIN_LABEL_LENGTH = 63;

// Characters that render as nothing (zero-width, joiners, soft hyphen, BOM, variation selectors) or reorder text
// (bidi controls): `ac\u200Bme.com` looks like acme.com and would be a second company.
/* eslint-disable no-misleading-character-class -- combining marks are listed one by one, on purpose */
const INVISIBLE =
  /[\u00AD\u034F\u061C\u115F\u1160\u17B4\u17B5\u180B-\u180F\u200B-\u200F\u202A-\u202E\u2060-\u206F\u3164\uFE00-\uFE0F\uFEFF\uFFA0]/u;
/* eslint-enable no-misleading-character-class */
// eslint-disable-next-line no-control-regex -- control characters are what this looks for
export const CONTROL_CHARACTERS = /[\u0000-\u001F\u007F-\u009F]/;
// Unicode tag characters (U+E0000–E007F): invisible, and a second spelling of the same address.
const TAGS = /[\u{E0000}-\u{E007F}]/u;
// Characters a URL parser reads as delimiters: `acme.com?x=1` must never become acme.com.
const DELIMITER = /[\s/?#@:;,[\]\\%"<>()]/;
const ASCII_LABEL = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;

export type CanonicalEmail = { email: string; domain: string } | { problem: string };

/**
 * The one canonical form of an address: trimmed, lower-cased, exactly one `@`, and a domain that is a valid
 * hostname in its ASCII (punycode) form without a trailing dot — so `ana@bücher.de`, `ana@xn--bcher-kva.de` and
 * `ana@BÜCHER.DE.` are one company. Says why when the address cannot be used.
 */
export function canonicalEmail(raw: string): CanonicalEmail {
  const trimmed = raw.trim();
  if (CONTROL_CHARACTERS.test(trimmed)) return { problem: 'the email address contains control characters' };
  if (INVISIBLE.test(trimmed) || TAGS.test(trimmed))
    return { problem: 'the email address contains invisible characters' };
  const parts = trimmed.split('@');
  if (parts.length !== 2) return { problem: 'the email address must contain exactly one @' };
  const [local, rawDomain] = parts as [string, string];
  if (local === '' || /\s/.test(local)) return { problem: 'the email address has no valid local part' };
  if (local.length > MAX_LOCAL_PART_LENGTH) {
    return { problem: `the local part of the email address is longer than ${MAX_LOCAL_PART_LENGTH} characters` };
  }
  const domain = canonicalDomain(rawDomain);
  if (typeof domain !== 'string') return domain;
  const email = `${local.toLowerCase()}@${domain}`;
  if (email.length > MAX_EMAIL_LENGTH) {
    return { problem: `the email address is longer than ${MAX_EMAIL_LENGTH} characters` };
  }
  return { email, domain };
}

/** A hostname's canonical ASCII form (IDNA via WHATWG URL, lower case, no trailing dot), or why it is not one. */
export function canonicalDomain(raw: string): string | { problem: string } {
  const input = raw.trim().replace(/\.$/, '');
  const invalid = { problem: 'the email domain is not a valid hostname' };
  if (input === '' || DELIMITER.test(input) || CONTROL_CHARACTERS.test(input) || INVISIBLE.test(input)) return invalid;
  // Bound the work before IDNA processing: a punycode label is never much longer than its Unicode form.
  if (input.length > MAX_DOMAIN_LENGTH * 4) return domainTooLong();
  let ascii: string;
  try {
    ascii = new URL(`http://${input}/`).hostname;
  } catch {
    return invalid;
  }
  if (ascii.length > MAX_DOMAIN_LENGTH) return domainTooLong();
  const labels = ascii.split('.');
  if (labels.length < 2) return { problem: 'the email domain has no top-level domain' };
  for (const label of labels) {
    if (label.length > MAX_DOMAIN_LABEL_LENGTH) {
      return { problem: `a label of the email domain is longer than ${MAX_DOMAIN_LABEL_LENGTH} characters` };
    }
    if (!ASCII_LABEL.test(label)) return invalid;
  }
  // An IP address or a numeric top-level domain is not a company's domain.
  if (/^[0-9]+$/.test(labels.at(-1)!)) return invalid;
  return ascii;
}

function domainTooLong() {
  return { problem: `the email domain is longer than ${MAX_DOMAIN_LENGTH} characters` };
}

export function emailDomain(email: string): string {
  return email.slice(email.lastIndexOf('@') + 1).toLowerCase();
}
