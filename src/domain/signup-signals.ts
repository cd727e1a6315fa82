import type { IcpFields } from './icp/fields';

/**
 * What a signup's PostHog payload says beyond the email and organization, for the destinations that act on it
 * (Customer.io's welcome email, Mixpanel's identity merge). Read from the recorded payload; never an email.
 */
export interface SignupSignals {
  /** The distinct id the product saw before signup: `$anon_distinct_id` (PostHog's `$identify` events carry it). */
  anonDistinctId: string | undefined;
  /** How the person signed up: `signup_method` (`email`, `github`, `gitlab`, `google`, ...), lower-cased. */
  signupMethod: string | undefined;
  /** The first referring domain PostHog recorded: `$initial_referring_domain`, lower-cased. */
  initialReferringDomain: string | undefined;
  /** The newsletter opt-in the signup form sent: `newsletter_opt_in` (a boolean, or `"true"` / `"false"`). */
  newsletterOptIn: boolean | undefined;
}

export const NO_SIGNALS: SignupSignals = {
  anonDistinctId: undefined,
  signupMethod: undefined,
  initialReferringDomain: undefined,
  newsletterOptIn: undefined,
};

type Json = Record<string, unknown>;
const objectAt = (value: unknown): Json | undefined =>
  typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : undefined;
const stringOf = (value: unknown): string | undefined =>
  typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
const booleanOf = (value: unknown): boolean | undefined =>
  typeof value === 'boolean' ? value : value === 'true' ? true : value === 'false' ? false : undefined;

/**
 * The signals of a PostHog webhook payload. Each property is looked up in the event's properties, then their `$set`
 * and `$set_once`, then the person's properties: the first that has it wins. Anything else (a `/signups` body, a purged
 * payload) has none.
 */
export function signupSignals(payload: unknown): SignupSignals {
  const root = objectAt(payload);
  const event = objectAt(objectAt(root?.event)?.properties);
  const sources = [
    event,
    objectAt(event?.$set),
    objectAt(event?.$set_once),
    objectAt(objectAt(root?.person)?.properties),
  ];
  const first = <T>(name: string, read: (value: unknown) => T | undefined): T | undefined => {
    for (const source of sources) {
      const value = read(source?.[name]);
      if (value !== undefined) return value;
    }
    return undefined;
  };
  return {
    anonDistinctId: first('$anon_distinct_id', stringOf),
    signupMethod: first('signup_method', stringOf)?.toLowerCase(),
    initialReferringDomain: first('$initial_referring_domain', stringOf)?.toLowerCase(),
    newsletterOptIn: first('newsletter_opt_in', booleanOf),
  };
}

/**
 * Title words that make a developer (whole words, case-insensitive). Not `dev` (a "Business Dev Manager" sells) nor
 * `software` ("Software Sales Executive"): a software engineer or developer has `engineer` or `developer` too.
 */
export const DEVELOPER_TITLE_WORDS = [
  'engineer',
  'engineering',
  'developer',
  'programmer',
  'devops',
  'sre',
  'cto',
  'chief technology officer',
  'architect',
  'data engineer',
  'full-stack',
  'fullstack',
  'backend',
  'frontend',
] as const;

/** Sign-in methods and referring domains of developer platforms. */
export const DEVELOPER_SIGNUP_METHODS = ['github', 'gitlab', 'bitbucket'] as const;
export const DEVELOPER_REFERRING_DOMAINS = ['github.com', 'gitlab.com', 'stackoverflow.com', 'bitbucket.org'] as const;

/**
 * Customer.io's `likely_developer`, as the Clearbit flow tailors its welcome email on it. True when any of:
 * the enriched role is `engineering`; the enriched title has a word of DEVELOPER_TITLE_WORDS; the person signed up with
 * a developer platform's sign-in (DEVELOPER_SIGNUP_METHODS); or first came from one (DEVELOPER_REFERRING_DOMAINS, or a
 * subdomain of one). Otherwise false — including when nothing is known.
 */
export function isLikelyDeveloper(fields: IcpFields, signals: SignupSignals): boolean {
  if (fields.role === 'engineering') return true;
  const title = fields.personTitle?.toLowerCase();
  if (title && DEVELOPER_TITLE_WORDS.some((word) => new RegExp(`(^|[^a-z])${word}([^a-z]|$)`).test(title))) {
    return true;
  }
  const method = signals.signupMethod;
  if (method && DEVELOPER_SIGNUP_METHODS.some((m) => method === m || method.startsWith(`${m}_`))) return true;
  const referrer = signals.initialReferringDomain?.replace(/^www\./, '');
  return (
    referrer !== undefined && DEVELOPER_REFERRING_DOMAINS.some((d) => referrer === d || referrer.endsWith(`.${d}`))
  );
}
