import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { sumCounts, type ReEnrichmentInput, type ReEnrichmentSummary } from '../../src/domain/reenrichment';
import type { Ledger } from '../../src/ledger/ledger';
import { createDataset } from '../../src/sandbox/dataset';
import { accountTable } from '../../src/sandbox/salesforce';
import { getReEnrichmentProgressQuery } from '../../src/workflows/messages';
import { SalesforceReEnrichmentWorkflow } from '../../src/workflows/salesforce-reenrichment';
import { eventually } from '../support/eventually';
import { type RunningSandbox, startSandbox } from '../support/sandbox';
import { isolatedStack, spawnWorker, startWorker } from '../support/stack';

interface AccountRecord {
  id: string;
  fields: Record<string, unknown>;
  writes: number;
}
interface Call {
  kind: string;
  path: string;
  key: string | null;
  status: number;
  creditsCharged: number;
}

const ACCOUNTS = 600;
const SELECTED_KINDS = ['stale', 'missing_fields', 'never_enriched', 'personal'];

// The weekend re-enrichment end to end: a real worker and Temporal server, a PostgreSQL ledger (the domain cache),
// and the sandbox's Salesforce (through jsforce over real HTTP) holding a seeded Account table of 600 accounts.
describe('Salesforce weekend re-enrichment', () => {
  const stops: (() => Promise<unknown>)[] = [];
  let client: Client;

  beforeAll(async () => {
    client = new Client({ connection: await Connection.connect({ address: inject('temporalAddress') }) });
  });

  afterAll(async () => {
    for (const stop of stops.reverse()) await stop();
    await client?.connection.close();
  });

  /** A sandbox with the Account table, a ledger of its own, and (unless told otherwise) a worker. */
  async function pipeline(env: Record<string, string> = {}, options: { worker?: boolean } = {}) {
    const sandbox = await startSandbox({}, { salesforceAccounts: ACCOUNTS });
    stops.push(() => sandbox.close());
    const { config, ledger } = await isolatedStack(
      { SANDBOX_URL: sandbox.url, DESTINATIONS: 'posthog,vitally', ...env },
      { ...options, stops },
    );
    const run = (input: ReEnrichmentInput, workflowId = `salesforce-reenrichment-test-${randomUUID()}`) =>
      client.workflow.start(SalesforceReEnrichmentWorkflow, {
        taskQueue: config.temporal.taskQueue,
        workflowId,
        args: [input],
      });
    return { sandbox, ledger, config, run };
  }

  const accounts = async (sandbox: RunningSandbox) =>
    (await sandbox.inspect<{ records: { Account: AccountRecord[] } }>('salesforce')).records.Account;
  const calls = async (sandbox: RunningSandbox, system: string) =>
    (await sandbox.inspect<{ calls: Call[] }>(system)).calls.filter((c) => c.kind === 'request' && c.key);
  const kindOf = (a: AccountRecord) => a.fields.Sandbox_Kind__c as string;
  const domainOf = (a: AccountRecord) =>
    (a.fields.Company_Domain__c as string | null) ??
    String(a.fields.Website)
      .replace(/^https?:\/\/(www\.)?/, '')
      .replace(/\/.*$/, '');

  it('re-enriches only stale or incomplete accounts, most valuable first, and leaves fresh and excluded ones alone', async () => {
    // The seeded table is deterministic: pick one stale account's domain to exclude by configuration.
    const table = accountTable(createDataset(), { count: ACCOUNTS });
    const dataset = createDataset();
    const stale = table.filter(
      (a) =>
        a.Sandbox_Kind__c === 'stale' &&
        !a._lockedByApproval &&
        dataset.byDomain.get(a.Company_Domain__c as string)?.knownBy.clearbit,
    );
    const excludedDomain = stale[0]!.Company_Domain__c as string;
    const linkedDomain = stale[1]!.Company_Domain__c as string;
    const q = await pipeline({ REENRICH_EXCLUDED_DOMAINS: excludedDomain });
    // A signup of one stale account's company: its organization hears about the new data in PostHog and Vitally.
    const organizationId = `org-${randomUUID()}`;
    await recordSignup(q.ledger, linkedDomain, organizationId);
    // A company a signup refreshed this week is in the domain cache: served from it, not paid for again.
    const cachedDomain = stale[2]!.Company_Domain__c as string;
    const now = new Date().toISOString();
    await q.ledger.companyCache.putCachedCompany(
      cachedDomain,
      { companyName: 'Cached Co', employees: 120, industry: 'Software', country: 'US' },
      { employees: { source: 'clearbit', at: now } },
      now,
    );
    const handle = await q.run({});
    const summary = await handle.result();
    const after = await accounts(q.sandbox);
    expect(summary.fromCache).toBe(1);
    expect((await calls(q.sandbox, 'clearbit')).filter((c) => c.key === cachedDomain)).toEqual([]);
    expect(after.find((a) => domainOf(a) === cachedDomain)!.fields.Enriched_At__c).toBe(now);
    const excluded = after.find((a) => domainOf(a) === excludedDomain)!;

    const byKind = (kind: string) => after.filter((a) => kindOf(a) === kind);
    const selectedKinds = after.filter((a) => SELECTED_KINDS.includes(kindOf(a)));
    expect(summary.state).toBe('done');
    expect(summary.selected).toBe(selectedKinds.length);
    expect(summary.skipped['personal email domain']).toBe(byKind('personal').length);
    expect(summary.skipped['excluded domain']).toBe(1);
    expect(summary.pages).toBe(Math.ceil(summary.selected / 200));

    // Fresh accounts, accounts without a website, personal and excluded ones: never written.
    for (const a of [...byKind('fresh'), ...byKind('no_website'), ...byKind('personal')]) expect(a.writes).toBe(1);
    expect(after.find((a) => a.id === excluded.id)!.writes).toBe(1);
    // Every other selected account written exactly once, stamped with the run, unless Salesforce refused the write
    // (an approval lock) or no provider could answer yet (Harmonic still computing: next weekend).
    const locked = after.filter((a) => isLocked(summary, a.id));
    const seededLocked = table.filter((a) => a._lockedByApproval === true).map((a) => a.Company_Domain__c as string);
    expect(locked.length).toBeGreaterThan(0);
    expect(summary.failed.count).toBe(locked.length);
    for (const e of summary.failed.examples) expect(e.reason).toContain('ENTITY_IS_LOCKED');
    for (const a of locked) expect(seededLocked).toContain(domainOf(a));
    expect(after.filter((a) => a.writes > 2)).toEqual([]);
    const written = after.filter((a) => a.writes === 2);
    expect(written.length).toBe(summary.processed - summary.failed.count);
    for (const a of written) {
      expect(SELECTED_KINDS).toContain(kindOf(a));
      expect(a.fields.Enrichment_Run_Id__c).toBe(handle.workflowId);
    }
    const computing = summary.skipped['harmonic still computing'] ?? 0;
    expect(summary.processed + sumCounts(summary.skipped)).toBe(summary.selected);
    expect(computing).toBe(summary.selected - summary.processed - byKind('personal').length - 1);
    // A missing required field is filled (the default policy fills standard fields only when they are empty).
    const filled = byKind('missing_fields').filter(
      (a) => a.writes === 2 && a.fields.Enrichment_Status__c === 'enriched',
    );
    expect(filled.length).toBeGreaterThan(byKind('missing_fields').length / 2);
    for (const a of filled) expect(a.fields.Industry ?? null).not.toBeNull();
    for (const a of filled) expect(a.fields.NumberOfEmployees ?? null).not.toBeNull();
    expect(summary.reEnriched).toBeGreaterThan(0);

    // Most valuable first: the accounts reach the providers in order of open opportunities.
    const opportunities = new Map(after.map((a) => [domainOf(a), Number(a.fields.Open_Opportunities__c ?? 0)]));
    const order = (await calls(q.sandbox, 'clearbit')).map((c) => opportunities.get(c.key!) ?? 0);
    expect(order.length).toBeGreaterThan(100);
    expect(order).toEqual([...order].sort((a, b) => b - a));
    // Credits: what the sandbox charged is what the summary reports.
    expect(sumCounts(summary.creditsSpent)).toBe(await charged(q.sandbox));

    // The organization of the linked company: its PostHog group and Vitally account carry the refreshed data.
    expect(summary.propagated.organizations).toBe(1);
    const groups = await q.sandbox.inspect<{ records: Record<string, { key: string; writes: number }[]> }>('posthog');
    expect(JSON.stringify(groups.records)).toContain(organizationId);
    const vitally = await q.sandbox.inspect<{ records: { account?: { key: string }[] } }>('vitally');
    expect(vitally.records.account?.map((a) => a.key)).toContain(organizationId);

    // A second run finds only what it could not refresh: nothing is paid for twice.
    const again = await (await q.run({})).result();
    expect(again.selected).toBeLessThan(summary.selected);
    expect(sumCounts(again.creditsSpent)).toBe(0);
  });

  it('stops when the credit budget is spent, exactly, and names what it did not reach', async () => {
    const p = await pipeline();
    const summary = await (await p.run({ creditBudget: 25 })).result();
    expect(summary.state).toBe('budget_spent');
    expect(sumCounts(summary.creditsSpent)).toBe(25);
    expect(await charged(p.sandbox)).toBe(25);
    expect(summary.notReached.count).toBe(summary.selected - summary.processed - sumCounts(summary.skipped));
    expect(summary.notReached.count).toBeGreaterThan(0);
    expect(summary.notReached.reason).toBe('credit budget of 25 spent');
    expect(summary.notReached.examples.length).toBeGreaterThan(0);
  });

  it('writes a page larger than REENRICH_BULK_THRESHOLD back through one Bulk API 2.0 job, per-record errors included', async () => {
    const p = await pipeline({ REENRICH_PAGE_SIZE: '2000', REENRICH_BULK_THRESHOLD: '100' });
    const handle = await p.run({});
    const summary = await handle.result();
    expect(summary).toMatchObject({ state: 'done', pages: 1 });
    const sfCalls = (await p.sandbox.inspect<{ calls: Call[] & { method: string }[] }>('salesforce')).calls;
    const ingest = sfCalls.filter((c) => c.path.includes('/jobs/ingest'));
    expect(ingest.filter((c) => c.path.endsWith('/jobs/ingest'))).toHaveLength(1);
    expect(ingest.some((c) => c.path.endsWith('/batches') && c.status === 201)).toBe(true);
    expect(sfCalls.filter((c) => c.path.includes('/composite/sobjects'))).toEqual([]);
    const after = await accounts(p.sandbox);
    expect(after.filter((a) => a.writes > 2)).toEqual([]);
    expect(after.filter((a) => a.fields.Enrichment_Run_Id__c === handle.workflowId).length).toBe(
      summary.processed - summary.failed.count,
    );
    expect(summary.failed.count).toBeGreaterThan(0);
    for (const e of summary.failed.examples) expect(e.reason).toMatch(/^ENTITY_IS_LOCKED: the entity is locked/);
    // The values arrived typed as the collections path writes them (CSV carries text; Salesforce converts).
    const written = after.find((a) => a.fields.Enrichment_Run_Id__c === handle.workflowId)!;
    expect(written.fields.Enrichment_Status__c).toMatch(/^(enriched|partial|not_found)$/);
  });

  it('with --dry-run and a limit, pays nothing and writes nothing', async () => {
    const p = await pipeline();
    const summary = await (await p.run({ dryRun: true, limit: 50 })).result();
    expect(summary).toMatchObject({ dryRun: true, state: 'limit_reached', processed: 50, reEnriched: 50 });
    expect(await charged(p.sandbox)).toBe(0);
    expect((await calls(p.sandbox, 'clearbit')).length).toBe(0);
    expect((await accounts(p.sandbox)).every((a) => a.writes === 1)).toBe(true);
  });

  it('resumes after a worker is killed mid-run: finished pages are not paid for again, no account written twice', async () => {
    const p = await pipeline({}, { worker: false });
    // Slow lookups, so the kill lands in the middle of a page.
    await p.sandbox.control('clearbit', { latencyMs: 25 });
    let child: ChildProcess | undefined = spawnWorker(p.config, { DESTINATIONS: 'posthog,vitally' });
    try {
      const handle = await p.run({});
      // Page 1 written back, page 2 under way.
      await eventually(async () => {
        const s = await handle.query(getReEnrichmentProgressQuery).catch(() => undefined);
        return s && s.pages >= 2 ? s : undefined;
      }, 120_000);
      const finishedPage = (await accounts(p.sandbox)).filter(
        (a) => a.fields.Enrichment_Run_Id__c === handle.workflowId,
      );
      expect(finishedPage.length).toBeGreaterThan(100);
      const callsBefore = (await calls(p.sandbox, 'clearbit')).length;
      await eventually(async () => ((await calls(p.sandbox, 'clearbit')).length > callsBefore + 30 ? true : undefined));
      child.kill('SIGKILL');
      child = undefined;

      const worker = await startWorker(p.config, p.ledger);
      stops.push(() => worker.shutdown());
      const summary = await handle.result();
      expect(summary.state).toBe('done');

      const perDomain = new Map<string, number>();
      for (const c of await calls(p.sandbox, 'clearbit')) perDomain.set(c.key!, (perDomain.get(c.key!) ?? 0) + 1);
      // No provider call repeated for the page finished before the kill.
      for (const a of finishedPage) expect(perDomain.get(domainOf(a)) ?? 0, domainOf(a)).toBeLessThanOrEqual(1);
      // No account written twice (the seed is the first write).
      const after = await accounts(p.sandbox);
      expect(after.filter((a) => a.writes > 2)).toEqual([]);
      expect(after.filter((a) => a.fields.Enrichment_Run_Id__c === handle.workflowId).length).toBe(
        summary.processed - summary.failed.count,
      );
    } finally {
      child?.kill('SIGKILL');
    }
  });

  it('waits out a Salesforce outage mid-run and finishes when it is back', { timeout: 180_000 }, async () => {
    const p = await pipeline();
    await p.sandbox.control('clearbit', { latencyMs: 10 });
    const handle = await p.run({});
    await eventually(async () => {
      const s = await handle.query(getReEnrichmentProgressQuery).catch(() => undefined);
      return s && s.pages >= 2 ? s : undefined;
    }, 60_000);
    await p.sandbox.control('salesforce', { failureRate: 1 });
    const waiting = await eventually(async () => {
      const s = await handle.query(getReEnrichmentProgressQuery);
      return s.state === 'waiting_for_salesforce' ? s : undefined;
    }, 120_000);
    expect(waiting.waiting).toMatch(/Salesforce unavailable/);
    await p.sandbox.control('salesforce', { failureRate: 0 });
    const summary = await handle.result();
    expect(summary.state).toBe('done');
    const after = await accounts(p.sandbox);
    expect(after.filter((a) => a.writes > 2)).toEqual([]);
    expect(after.filter((a) => a.fields.Enrichment_Run_Id__c === handle.workflowId).length).toBe(
      summary.processed - summary.failed.count,
    );
  });
});

const isLocked = (s: ReEnrichmentSummary, id: string) =>
  s.failed.examples.some((e) => e.accountId.slice(0, 15) === id.slice(0, 15) && e.reason.includes('ENTITY_IS_LOCKED'));

async function charged(sandbox: RunningSandbox): Promise<number> {
  let total = 0;
  for (const system of ['clearbit', 'harmonic'])
    total += (await sandbox.inspect<{ creditsSpent: number }>(system)).creditsSpent;
  return total;
}

async function recordSignup(ledger: Ledger, domain: string, organizationId: string): Promise<void> {
  const key = randomUUID();
  const { signup } = await ledger.signups.recordSignup({
    source: 'api',
    eventUuid: undefined,
    dedupeKey: key,
    workflowId: `signup-${organizationId}`,
    email: `ada@${domain}`,
    emailDomain: domain,
    distinctId: key,
    personId: undefined,
    name: 'Ada Quillon',
    organizationId,
    organizationName: 'Linked Co',
    signedUpAt: new Date().toISOString(),
    status: 'received',
    statusReason: undefined,
    payload: {},
  });
  await ledger.outbox.markWorkflowStarted(signup.id);
  await ledger.signups.recordScreening(signup.id, { emailKind: 'work', status: 'enriching', reason: undefined });
  await ledger.signups.recordEnrichment(signup.id, {
    status: 'enriched',
    reason: undefined,
    fields: { companyName: 'Linked Co', employees: 10, industry: 'Software', country: 'US', role: 'engineering' },
    provenance: {},
    score: undefined,
    creditsSpent: {},
  });
}
