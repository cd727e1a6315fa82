import type { Client } from '@temporalio/client';
import { createDataset, type Company } from '../../src/sandbox/dataset';
import { posthogSignup, SECRET, type PosthogPayload } from '../helpers';

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
