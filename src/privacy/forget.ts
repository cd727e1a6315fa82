import { canonicalEmail } from '../domain/email';
import {
  combineDeletions,
  isSettled,
  type DeletionOutcome,
  type ErasureResult,
  type ErasureSystem,
} from '../domain/erasure';
import type { WebhookPort } from '../domain/ports';
import { keyedHash, sha256 } from '../hash';
import { EMAIL_KEY, type ErasureTargets, type SubjectSignup } from '../ledger/erasures';
import type { Ledger } from '../ledger/ledger';
import { emailRedactor, type Redactor } from '../redact';

/** The event webhook consumers receive for an erased person: the signup ids they were sent, never the email. */
export const FORGOTTEN_EVENT = 'person.forgotten';

/** What the erasure needs from the downstream systems (undefined: not configured, so nothing was written there). */
export interface ErasureClients {
  posthog?: { deletePerson(distinctId: string): Promise<DeletionOutcome> };
  salesforce?: { deletePerson(personKey: string): Promise<DeletionOutcome[]> };
  vitally?: { deleteUser(externalId: string): Promise<DeletionOutcome> };
  webhooks?: { client: WebhookPort; urls: string[] };
  /** Whether Slack is a destination (its messages cannot be deleted by an incoming webhook: they are listed). */
  slack: boolean;
  customerio?: { deletePerson(personKey: string): Promise<DeletionOutcome> };
  mixpanel?: { deletePerson(personKey: string): Promise<DeletionOutcome> };
  /** Close: the person's contacts (found by email), the follow-ups of their signups, and their own lead. */
  close?: { deletePerson(email: string, signupIds: string[], knownLeadIds?: string[]): Promise<DeletionOutcome[]> };
  /** Whether Humanic is a destination (no deletion API: the signups delivered to it are listed). */
  humanic?: boolean;
}

export interface ForgetDeps {
  ledger: Ledger;
  clients: ErasureClients;
  /** PII_HASH_KEY: the erasure is recorded under the keyed hash of the email. */
  piiHashKey: string;
  /** The redaction of the systems' error texts before they are reported and recorded; emails only by default. */
  redact?: Redactor;
}

export interface ForgetReport {
  /** The erasure's id and the keyed hash it is recorded under (never the email). */
  erasureId: string;
  subjectHash: string;
  /** `false` the first time; `true` when this person was erased before (the ledger had it already). */
  repeated: boolean;
  /** Signups scrubbed by this run (0 on a repeat unless a new signup of the person arrived since). */
  signupsErased: number;
  /** Cells of the ledger where the email was found outside the person's own fields and masked. */
  cellsMasked: number;
  /** Per system; on a repeat, systems settled before are reported as they were and not called again. */
  systems: Partial<Record<ErasureSystem, ErasureResult & { retried?: boolean }>>;
  complete: boolean;
}

/** Input the operator must fix: answered 400 (API) or as a usage error (CLI), naming the problem, never the value. */
export class ForgetInputError extends Error {}

/**
 * Erases a person (`enrich forget --email X`, `POST /admin/forget`): finds their signups, notes where they were
 * written downstream, scrubs the ledger of the email (see ErasuresRepository.scrubAndRecord), records the erasure under
 * the keyed hash of the email, then deletes the person in PostHog, Salesforce, Vitally, Customer.io, Mixpanel and
 * Close, tells the webhook consumers (`person.forgotten`) and lists the Slack messages and the Humanic deliveries. A second run for the same person finds the erasure by its hash,
 * scrubs only what arrived since, and retries only the systems that failed.
 */
export async function forgetPerson(deps: ForgetDeps, rawEmail: unknown): Promise<ForgetReport> {
  if (typeof rawEmail !== 'string' || rawEmail.trim() === '') throw new ForgetInputError('an email is required');
  const canonical = canonicalEmail(rawEmail);
  if ('problem' in canonical) throw new ForgetInputError(canonical.problem);
  const email = canonical.email;
  const subjectHash = keyedHash(deps.piiHashKey, email);
  const { ledger } = deps;

  const before = await ledger.erasures.getErasure(subjectHash);
  const signups = await ledger.erasures.findSubjectSignups(email);
  // Where the person was written, collected before the scrub removes it.
  const targets: ErasureTargets =
    signups.length > 0
      ? {
          personKeys: [...new Set(signups.map((s) => personKeyOf(s, email)))],
          signupIds: signups.map((s) => s.id),
          slackSignupIds: await ledger.erasures.slackNotified(signups.map((s) => s.id)),
        }
      : {};
  const { erasure, cellsMasked } = await ledger.erasures.scrubAndRecord({
    // What the operator typed is swept as well, if it is another spelling of the address (a Unicode domain).
    spellings: [email, rawEmail.trim()],
    emailSha256: sha256(email),
    subjectHash,
    signups,
    targets,
  });

  // The first run, a new signup of the person since the last one, or a destination write that landed after it (it was
  // under way at the time): every system again. Otherwise only what failed.
  const fresh =
    signups.length > 0 ||
    (before !== undefined && (await ledger.erasures.writtenSince(before.signupIds, before.updatedAt)));
  const previous = fresh ? {} : (before?.results ?? erasure.results);
  const keys = [...new Set((erasure.targets.personKeys ?? []).map((k) => decodeKey(k, email)))];
  const signupIds = erasure.signupIds;
  const systems: ForgetReport['systems'] = {};
  const run = async (system: ErasureSystem, erase: () => ErasureResult | Promise<ErasureResult>) => {
    const earlier = previous[system];
    if (earlier && isSettled(earlier)) {
      systems[system] = earlier;
      return;
    }
    let result: ErasureResult;
    try {
      result = await erase();
    } catch (err) {
      result = { state: 'failed', detail: err instanceof Error ? err.message : String(err) };
    }
    systems[system] = {
      ...result,
      detail: (deps.redact ?? emailRedactor).text(result.detail),
      ...(earlier ? { retried: true } : {}),
    };
  };
  const c = deps.clients;
  const nobody = 'no signup of this person in the ledger';

  /** One deletion per key the person was written under, combined into the system's result. */
  const eachKey = async (erase: (key: string) => Promise<DeletionOutcome | DeletionOutcome[]>) => {
    const outcomes: DeletionOutcome[] = [];
    for (const key of keys) outcomes.push(...[await erase(key)].flat());
    return combineDeletions(outcomes, nobody);
  };
  const notConfigured = (name: string): ErasureResult => ({
    state: 'not_configured',
    detail: `${name} is not a destination`,
  });

  const { posthog, salesforce, vitally } = c;
  await run('posthog', () => (posthog ? eachKey((key) => posthog.deletePerson(key)) : notConfigured('PostHog')));
  await run('salesforce', () =>
    salesforce ? eachKey((key) => salesforce.deletePerson(key)) : notConfigured('Salesforce'),
  );
  await run('vitally', () => (vitally ? eachKey((key) => vitally.deleteUser(key)) : notConfigured('Vitally')));
  await run('webhooks', async () => {
    const webhooks = c.webhooks;
    if (!webhooks || webhooks.urls.length === 0) return { state: 'not_configured', detail: 'no OUTGOING_WEBHOOK_URLS' };
    if (signupIds.length === 0) return { state: 'not_found', detail: nobody };
    const outcomes: DeletionOutcome[] = [];
    for (const url of webhooks.urls) {
      const deliveryId = `${erasure.id}:${FORGOTTEN_EVENT}:${sha256(url).slice(0, 8)}`;
      const payload = { event: FORGOTTEN_EVENT, deliveryId, erasureId: erasure.id, signupIds };
      const o = await webhooks.client.deliver(url, FORGOTTEN_EVENT, deliveryId, payload);
      outcomes.push(
        o.kind === 'written'
          ? { kind: 'deleted', detail: `${FORGOTTEN_EVENT} ${o.detail}` }
          : { kind: 'failed', detail: o.detail },
      );
    }
    const result = combineDeletions(outcomes, nobody);
    // The consumers were told; deleting what they hold is theirs to do.
    return result.state === 'deleted'
      ? { state: 'listed', detail: `${result.detail} (each consumer deletes)` }
      : result;
  });
  await run('slack', (): ErasureResult => {
    if (!c.slack) return notConfigured('Slack');
    const posted = erasure.targets.slackSignupIds ?? [];
    if (posted.length === 0) return { state: 'not_found', detail: 'no Slack message was posted for this person' };
    return {
      state: 'listed',
      detail:
        `Slack messages of signup(s) ${posted.join(', ')}: an incoming webhook cannot delete them; ` +
        'delete them by hand in the channel',
    };
  });

  const { customerio, mixpanel } = c;
  await run('customerio', () =>
    customerio ? eachKey((key) => customerio.deletePerson(key)) : notConfigured('Customer.io'),
  );
  await run('mixpanel', () => (mixpanel ? eachKey((key) => mixpanel.deletePerson(key)) : notConfigured('Mixpanel')));
  // Close keys nothing by our person key: the contact is found by the email, the follow-ups by the signup ids. The lead
  // recorded for the person's company is looked at too: Close's search may not see a contact written moments ago.
  const { close } = c;
  await run('close', async () => {
    if (!close) return notConfigured('Close');
    const domain = email.slice(email.lastIndexOf('@') + 1);
    const known = await ledger.destinationLinks.remoteId('close', `domain:${domain}`);
    return combineDeletions(await close.deletePerson(email, signupIds, known ? [known] : []), nobody);
  });
  await run('humanic', async (): Promise<ErasureResult> => {
    if (!c.humanic) return notConfigured('Humanic');
    const delivered = await ledger.erasures.deliveredTo('humanic', signupIds);
    if (delivered.length === 0) return { state: 'not_found', detail: 'no signup of this person was sent to Humanic' };
    return {
      state: 'listed',
      detail:
        `signup(s) ${delivered.join(', ')} were sent to Humanic, which documents no deletion API: ` +
        "delete the person in Humanic's app by hand",
    };
  });

  const complete = Object.values(systems).every(isSettled);
  const recorded = await ledger.erasures.recordResults(subjectHash, systems, complete);
  return {
    erasureId: recorded.id,
    subjectHash,
    repeated: before !== undefined,
    signupsErased: signups.length,
    cellsMasked,
    systems,
    complete,
  };
}

/**
 * The key the person was written under downstream (`enrichedSignup`'s personKey) as the erasure keeps it: a distinct id
 * that is the email is kept as EMAIL_KEY and the positions of its capitals (the next run is given the email again and
 * rebuilds the key exactly; Vitally and PostHog match keys case-sensitively).
 */
function personKeyOf(s: SubjectSignup, email: string): string {
  const key = s.distinctId ?? s.personId ?? s.id;
  if (key.toLowerCase() !== email) return key;
  const capitals = [...key].flatMap((ch, i) => (ch !== ch.toLowerCase() ? [i] : []));
  return `${EMAIL_KEY}${capitals.join(',')}`;
}

function decodeKey(stored: string, email: string): string {
  if (!stored.startsWith(EMAIL_KEY)) return stored;
  const capitals = new Set(stored.slice(EMAIL_KEY.length).split(',').filter(Boolean).map(Number));
  return [...email].map((ch, i) => (capitals.has(i) ? ch.toUpperCase() : ch)).join('');
}
