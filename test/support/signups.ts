import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import type { EnrichedSignup } from '../../src/domain/fan-out';
import type { IcpScore } from '../../src/domain/icp/scoring';
import { createDataset, type Company } from '../../src/sandbox/dataset';
import { SECRET } from './config';

type Json = Record<string, unknown>;

export interface PosthogPayload extends Json {
  event: Json & { uuid: string; event: string; distinct_id: string; properties: Json };
  person: Json & { properties: Json };
  groups: Json & { organization: Json & { id: string } };
}

/** The recorded PostHog "user signed up" delivery, with fresh ids (and any overrides) so tests do not collide. */
export function posthogSignup(
  overrides: { email?: string | null; orgId?: string | null; event?: string } = {},
): PosthogPayload {
  const payload = JSON.parse(
    readFileSync(path.join(__dirname, '../fixtures/posthog/user-signed-up.json'), 'utf8'),
  ) as PosthogPayload;
  const orgId = overrides.orgId === undefined ? `org-${randomUUID()}` : overrides.orgId;
  payload.event.uuid = randomUUID();
  payload.event.distinct_id = randomUUID();
  if (overrides.event) payload.event.event = overrides.event;
  if (orgId === null) {
    delete (payload as Partial<PosthogPayload>).groups;
    delete payload.event.properties.$groups;
  } else {
    payload.groups.organization.id = orgId;
    payload.event.properties.$groups = { organization: orgId };
  }
  if (overrides.email === null) {
    delete payload.person.properties.email;
    delete payload.event.properties.$set;
  } else if (overrides.email) {
    payload.person.properties.email = overrides.email;
  }
  return payload;
}

/** Statuses a signup ends in (docs/architecture.md): everything but the ones of a signup still on its way. */
export const UNSETTLED = ['received', 'enriching', 'waiting_for_credits', 'paused'];

const dataset = createDataset();

/** Companies the sandbox's Clearbit knows completely: one paid call each, the waterfall ends at the first provider. */
export const clearbitCompanies: Company[] = dataset.companies.filter(
  (c) => c.knownBy.clearbit && c.clearbitHasIndustry && !c.quirks && c.people.length > 0,
);

/** Companies only Clay knows: the waterfall reaches Clay and waits for its callback. */
export const clayOnlyCompanies: Company[] = dataset.companies.filter(
  (c) => c.knownBy.clay && !c.knownBy.clearbit && !c.knownBy.harmonic && c.people.length > 0,
);

/** A PostHog delivery of a signup by the first person of `company`. */
export const signupOf = (company: Company): PosthogPayload => posthogSignup({ email: company.people[0]!.email });

export interface Delivery {
  status: number;
  retryAfter: string | null;
  body: Record<string, unknown>;
}

/** One delivery over HTTP, as PostHog (or another source) sends it. */
export async function deliver(base: string, path: string, body: unknown, secret = SECRET): Promise<Delivery> {
  const res = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${secret}` },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  return {
    status: res.status,
    retryAfter: res.headers.get('retry-after'),
    body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
  };
}

/** The run ids Temporal holds for `workflowId` (every run, open or closed). */
export async function runsOf(client: Client, workflowId: string): Promise<string[]> {
  const runs: string[] = [];
  for await (const wf of client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) runs.push(wf.runId);
  return runs;
}

/** A score as the ICP scoring gives it, for signups built by hand. */
export const icpScore = (score: number, tier: string): IcpScore => ({
  status: 'scored',
  score,
  tier,
  points: {},
  missingFields: [],
  reason: undefined,
  configVersion: '2026-11-01',
  inputHash: 'h',
});

/** An enriched signup as the fan-out hands it to the destination clients (Ada Quillon, work email, scored 80/A). */
export function enrichedSignup(overrides: Partial<EnrichedSignup> = {}): EnrichedSignup {
  return {
    signupId: 'signup-1',
    personKey: 'person-1',
    distinctId: 'person-1',
    email: undefined,
    name: 'Ada Quillon',
    emailKind: 'work',
    domain: undefined,
    organizationId: undefined,
    organizationName: undefined,
    signedUpAt: '2026-11-24T08:00:00.000Z',
    status: 'enriched',
    reason: undefined,
    fields: {},
    provenance: {},
    score: icpScore(80, 'A'),
    enrichedAt: '2026-11-24T08:00:02.000Z',
    ...overrides,
  };
}
