import { canonicalEmail } from '../domain/email';
import { keyedHash, sha256 } from '../hash';
import type { NewSignup } from '../ledger/signups';
import { checkSignupTime, checkText, INTAKE_LIMITS, type Issue } from './limits';
import type { DirectSignup, PosthogWebhook } from './schemas';

/** A body of the right shape holding a value outside the intake's limits: answered 400 with its issues. */
export class InvalidSignupError extends Error {
  constructor(readonly issues: Issue[]) {
    super(`invalid signup: ${issues.map((i) => `${i.path} ${i.message}`).join('; ')}`);
    this.name = 'InvalidSignupError';
  }
}

/** A signup from any source, in the shape the ledger records (its fields are the ledger's own). */
export interface NormalizedSignup extends Pick<
  NewSignup,
  | 'source'
  | 'eventUuid'
  | 'email'
  | 'distinctId'
  | 'personId'
  | 'name'
  | 'organizationId'
  | 'organizationName'
  | 'signedUpAt'
> {
  /** Why the signup has no usable email, when it has none: recorded as its `skipped` reason. */
  emailProblem: string | undefined;
  /** Who signed up, for de-duplication: the email when usable, else the distinct id or the raw input. */
  personKey: string;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined);
const idOf = (v: unknown): string | undefined => (typeof v === 'number' ? String(v) : str(v));

export const NO_EMAIL_REASON = 'no email in person.properties.email or event.properties.email';

function readEmail(...candidates: unknown[]): Pick<NormalizedSignup, 'email' | 'emailProblem'> {
  const raw = candidates.map(str).find((c) => c !== undefined);
  if (raw === undefined) return { email: undefined, emailProblem: NO_EMAIL_REASON };
  const canonical = canonicalEmail(raw);
  return 'email' in canonical
    ? { email: canonical.email, emailProblem: undefined }
    : { email: undefined, emailProblem: canonical.problem };
}

/** Collects the issues of the fields read out of free-form properties, which the schema cannot type. */
class FieldChecks {
  readonly issues: Issue[] = [];
  constructor(private readonly now: Date) {}

  text(value: string | undefined, path: string, max: number): string | undefined {
    const problem = value === undefined ? undefined : checkText(value, max);
    if (problem) this.issues.push({ path, message: problem });
    return value;
  }

  time(value: string | undefined, path: string): string | undefined {
    if (value === undefined) return undefined;
    const checked = checkSignupTime(value, this.now);
    if ('problem' in checked) this.issues.push({ path, message: checked.problem });
    return 'iso' in checked ? checked.iso : undefined;
  }

  done<T>(signup: T): T {
    if (this.issues.length > 0) throw new InvalidSignupError(this.issues);
    return signup;
  }
}

/**
 * The signup in a PostHog event. Throws `InvalidSignupError` when a field it reads is outside the intake's limits;
 * an unusable email is not an error but the signup's `skipped` reason.
 */
export function fromPosthog(payload: PosthogWebhook, now: Date): NormalizedSignup {
  const { event, person, groups } = payload;
  const personProps = person?.properties ?? {};
  const eventProps = event.properties ?? {};
  const org = groups?.organization;
  const eventGroups = eventProps.$groups as Record<string, unknown> | undefined;
  const check = new FieldChecks(now);
  const { maxIdLength, maxNameLength } = INTAKE_LIMITS;
  const named = (value: unknown, path: string) => check.text(str(value), path, maxNameLength);
  const firstLast = [
    named(personProps.first_name, 'person.properties.first_name'),
    named(personProps.last_name, 'person.properties.last_name'),
  ]
    .filter(Boolean)
    .join(' ');
  const email = readEmail(personProps.email, eventProps.email);
  const signedUpAt =
    event.timestamp !== undefined
      ? check.time(event.timestamp, 'event.timestamp')
      : check.time(event.captured_at ?? undefined, 'event.captured_at');
  return check.done({
    source: 'posthog',
    eventUuid: event.uuid,
    ...email,
    personKey: email.email ?? `distinct:${event.distinct_id}`,
    distinctId: event.distinct_id,
    personId: str(person?.id),
    name:
      named(personProps.name, 'person.properties.name') ??
      str(person?.name) ??
      str(firstLast) ??
      named(eventProps.name, 'event.properties.name'),
    organizationId:
      org?.id ?? check.text(idOf(eventGroups?.organization), 'event.properties.$groups.organization', maxIdLength),
    organizationName:
      named(org?.properties?.name, 'groups.organization.properties.name') ??
      named(eventProps.organization_name, 'event.properties.organization_name'),
    signedUpAt: signedUpAt ?? now.toISOString(),
  });
}

export function fromDirect(body: DirectSignup, now: Date): NormalizedSignup {
  const email = readEmail(body.email);
  const check = new FieldChecks(now);
  const signedUpAt = check.time(body.signedUpAt, 'signedUpAt');
  return check.done({
    source: 'api',
    eventUuid: undefined,
    ...email,
    personKey: email.email ?? `raw:${body.email.trim().toLowerCase()}`,
    distinctId: undefined,
    personId: undefined,
    name: str(body.name),
    organizationId: body.organizationId,
    organizationName: str(body.organizationName),
    signedUpAt: signedUpAt ?? now.toISOString(),
  });
}

/** An organization id longer than this (in UTF-8 bytes) is hashed into the workflow id (Temporal's limit: 1,000). */
export const MAX_PLAIN_ORGANIZATION_ID_BYTES = 255;
/** The shape of our hashed ids: an organization id that looks like one is hashed too, so ids never collide. */
const HASHED_ID = /^[op][0-9a-f]{24}$/;

/**
 * Workflow id of DESIGN.md 5.2: the PostHog organization id (hashed when very long), else a keyed hash
 * (PII_HASH_KEY, `piiHashKey`) of the person's distinct id (or of the email for sources without one). Never a raw
 * email, nor a plain hash of one that anyone with Web UI access could test a guessed email against. Another key gives
 * the same person another id.
 */
export function workflowIdFor(s: NormalizedSignup, piiHashKey: string): string {
  if (s.organizationId) {
    return Buffer.byteLength(s.organizationId) <= MAX_PLAIN_ORGANIZATION_ID_BYTES && !HASHED_ID.test(s.organizationId)
      ? `signup-${s.organizationId}`
      : `signup-o${sha256(`org:${s.organizationId}`).slice(0, 24)}`;
  }
  const person = s.distinctId ?? s.email ?? s.eventUuid ?? '';
  return `signup-p${keyedHash(piiHashKey, `person:${person}`).slice(0, 24)}`;
}

/** Identity of "the same organization + person": a second delivery with a new event uuid is still a duplicate. */
export function dedupeKeyFor(s: NormalizedSignup): string {
  return sha256(`org:${s.organizationId ?? ''}|person:${s.personKey}`);
}
