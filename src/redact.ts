/**
 * The one redaction of the pipeline: what every log line (the starter's pino logger, the worker's Temporal Runtime
 * logger, the console of the long-running processes — src/logging.ts) and every outside system's error text (before
 * it becomes a workflow failure or a ledger status) is cleaned of. Emails are personal data; secrets are the values
 * of the configuration's secret variables (`Config.secrets`, derived from the schema by src/config).
 */

/** What an email is replaced with. */
export const EMAIL_MASK = '<email>';
/** What a secret value or a credential header is replaced with. */
export const SECRET_MASK = '<secret>';
/** Shorter values are not redacted (they would mask ordinary words); live mode's secrets are 24 characters at least. */
export const MIN_REDACTED_SECRET_LENGTH = 6;

/**
 * An email as it appears in a message, a query string (`ana%40acme.com`, `%2540` twice encoded) or a JSON or
 * `util.inspect` line: the local part and domain stop at whitespace, quotes, brackets, separators and backslashes, so
 * a JSON escape next to an email survives its masking. The domain has a dot: Temporal's worker identity
 * (`<pid>@<host>`) is not an email.
 */
const EMAIL = /[^\s@<>"'`(),;:=&?/\\[\]{}]+(?:@|%40|%2540)[^\s@<>"'`(),;:=&?/\\[\]{}]*\.[^\s@<>"'`(),;:=&?/\\[\]{}]+/gi;

/**
 * Credential headers, whatever logs them: `"authorization":"…"` (JSON) or `authorization: '…'` (util.inspect).
 * `x-…-secret`, `x-…-token`, `x-…-key` and `x-…-signature` headers are credentials too.
 */
const CREDENTIAL_HEADER =
  /((["']?)(?:authorization|proxy-authorization|cookie|set-cookie|x-[\w-]*(?:secret|token|key|signature)|x-api-key)\2\s*:\s*)(["'])((?:\\.|(?!\3).)*)\3/gi;

/** The text with every email masked; URL-encoded ones too. */
export const withoutEmails = (text: string): string => text.replace(EMAIL, EMAIL_MASK);

export interface Redactor {
  /** The text with every email, every known secret and every credential header's value masked. */
  text(text: string): string;
}

/**
 * A redactor of `secrets` (their values; empty and short ones ignored) and of emails. Each secret is masked as it is,
 * JSON-escaped and URL-encoded, longest first, so a secret that contains another is masked whole.
 */
export function createRedactor(secrets: readonly (string | undefined)[]): Redactor {
  const forms = new Set<string>();
  for (const secret of secrets) {
    if (secret === undefined || secret.length < MIN_REDACTED_SECRET_LENGTH) continue;
    forms.add(secret);
    forms.add(JSON.stringify(secret).slice(1, -1));
    forms.add(encodeURIComponent(secret));
  }
  const ordered = [...forms].sort((a, b) => b.length - a.length);
  return {
    text(text: string): string {
      let out = text;
      for (const form of ordered) if (out.includes(form)) out = out.split(form).join(SECRET_MASK);
      return withoutEmails(out).replace(CREDENTIAL_HEADER, `$1$3${SECRET_MASK}$3`);
    },
  };
}

/** Masks emails only: where no configuration is at hand (a test's activities). */
export const emailRedactor: Redactor = { text: withoutEmails };
