import { createHash } from 'node:crypto';
import { normalizeEmail } from '../domain/email';
import type { DirectSignup, PosthogWebhook } from './schemas';

/** A signup from any source, in the shape the ledger records. */
export interface NormalizedSignup {
  source: 'posthog' | 'api';
  eventUuid: string | undefined;
  email: string | undefined;
  /** Why an email was not usable, when it was not. */
  emailProblem: 'missing' | 'invalid' | undefined;
  distinctId: string | undefined;
  personId: string | undefined;
  name: string | undefined;
  organizationId: string | undefined;
  organizationName: string | undefined;
  signedUpAt: string;
  /** Who signed up, for de-duplication: the email when usable, else the distinct id or the raw input. */
  personKey: string;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined);
const idOf = (v: unknown): string | undefined => (typeof v === 'number' ? String(v) : str(v));

function readEmail(...candidates: unknown[]): Pick<NormalizedSignup, 'email' | 'emailProblem'> {
  const raw = candidates.map(str).find((c) => c !== undefined);
  if (raw === undefined) return { email: undefined, emailProblem: 'missing' };
  const email = normalizeEmail(raw);
  return email ? { email, emailProblem: undefined } : { email: undefined, emailProblem: 'invalid' };
}

function isoTime(value: string | undefined, fallback: Date): string {
  const t = value === undefined ? NaN : Date.parse(value);
  return Number.isNaN(t) ? fallback.toISOString() : new Date(t).toISOString();
}

export function fromPosthog(payload: PosthogWebhook, now: Date): NormalizedSignup {
  const { event, person, groups } = payload;
  const personProps = person?.properties ?? {};
  const eventProps = event.properties ?? {};
  const org = groups?.organization;
  const eventGroups = eventProps.$groups as Record<string, unknown> | undefined;
  const firstLast = [str(personProps.first_name), str(personProps.last_name)].filter(Boolean).join(' ');
  const email = readEmail(personProps.email, eventProps.email);
  return {
    source: 'posthog',
    eventUuid: event.uuid,
    ...email,
    personKey: email.email ?? `distinct:${event.distinct_id}`,
    distinctId: event.distinct_id,
    personId: str(person?.id),
    name: str(personProps.name) ?? str(person?.name) ?? str(firstLast) ?? str(eventProps.name),
    organizationId: org?.id ?? idOf(eventGroups?.organization),
    organizationName: str(org?.properties?.name) ?? str(eventProps.organization_name),
    signedUpAt: isoTime(event.timestamp ?? event.captured_at ?? undefined, now),
  };
}

export function fromDirect(body: DirectSignup, now: Date): NormalizedSignup {
  const email = readEmail(body.email);
  return {
    source: 'api',
    eventUuid: undefined,
    ...email,
    personKey: email.email ?? `raw:${body.email.trim().toLowerCase()}`,
    distinctId: undefined,
    personId: undefined,
    name: str(body.name),
    organizationId: body.organizationId,
    organizationName: str(body.organizationName),
    signedUpAt: isoTime(body.signedUpAt, now),
  };
}

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

/**
 * Workflow id of DESIGN.md 5.2: the PostHog organization id, else a hash of the person's distinct id (or of the
 * email for sources without one). Never a raw email: ids are visible to anyone with Web UI access.
 */
export function workflowIdFor(s: NormalizedSignup): string {
  if (s.organizationId) return `signup-${s.organizationId}`;
  const person = s.distinctId ?? s.email ?? s.eventUuid ?? '';
  return `signup-p${sha256(`person:${person}`).slice(0, 24)}`;
}

/** Identity of "the same organization + person": a second delivery with a new event uuid is still a duplicate. */
export function dedupeKeyFor(s: NormalizedSignup): string {
  return sha256(`org:${s.organizationId ?? ''}|person:${s.personKey}`);
}

export function describeEmailProblem(problem: 'missing' | 'invalid'): string {
  return problem === 'missing'
    ? 'no email in person.properties.email or event.properties.email'
    : 'the email address is not valid';
}
