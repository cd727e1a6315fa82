import { randomUUID } from 'node:crypto';
import { Client, Connection, WorkflowIdReusePolicy } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { NativeConnection } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { EnrichmentActivities, EnrichmentPolicy, ProviderCallResult } from '../../src/activities/enrichment';
import type { LedgerActivities } from '../../src/activities/ledger';
import type { WriteActivities } from '../../src/activities/writes';
import type { IcpFields } from '../../src/domain/icp/fields';
import type { IcpScore } from '../../src/domain/icp/scoring';
import { EnrichmentStatusKey, SignupAtKey } from '../../src/domain/search-attributes';
import { addSearchAttributes } from '../../src/temporal/search-attributes';
import {
  enrichmentResumedSignal,
  getStatusQuery,
  signupReceivedSignal,
  type SignupEnrichmentCarried,
  type SignupEnrichmentInput,
} from '../../src/workflows/messages';
import { RUN_LIMITS, SignupEnrichmentWorkflow } from '../../src/workflows/signup-enrichment';
import '../support/config';
import { mockedWorkers } from '../support/workflows';

type History = temporal.api.history.v1.IHistory;
type Activities = LedgerActivities & EnrichmentActivities & WriteActivities;

const policy: EnrichmentPolicy = {
  companyProviders: ['clearbit', 'harmonic'],
  personProviders: ['clearbit'],
  requiredFields: ['companyName', 'employees', 'industry', 'country'],
  fieldPreference: {},
  domainCacheDays: 30,
  creditsWaitMaxDays: 7,
  asyncResultTimeoutMinutes: 60,
  queuedFollowUpHours: 48,
};
const full: IcpFields = { companyName: 'Lumenforge', employees: 85, industry: 'Software', country: 'DE' };
const person: IcpFields = { personTitle: 'Staff Engineer', role: 'engineering', seniority: 'senior' };
const found = (fields: IcpFields): ProviderCallResult => ({ kind: 'found', fields, at: '2026-11-24T00:00:00.000Z' });

/** Typed activity mocks: every signup a work email of one company; `provider` answers the lookups. */
function mockActivities(o: {
  provider: (provider: string, lookup: 'company' | 'person', call: number) => ProviderCallResult;
  poll?: (call: number) => 'pending' | 'complete' | 'not_found';
  policy?: Partial<EnrichmentPolicy>;
}) {
  const saved: string[] = [];
  const calls: string[] = [];
  let polls = 0;
  let cached: IcpFields | undefined;
  const activities: Activities = {
    screenSignup: async ({ signupId }) => ({
      signupId,
      status: 'received',
      emailKind: 'work',
      domain: 'lumenforge.io',
      signedUpAt: '2026-11-23T14:05:11.482Z',
      reason: undefined,
    }),
    getEnrichmentPolicy: async () => ({ ...policy, ...o.policy }),
    lookupCachedCompany: async () => (cached ? { fields: cached, provenance: {} } : undefined),
    callProvider: async ({ provider, lookup }) => {
      calls.push(`${provider}:${lookup}`);
      return o.provider(provider, lookup, calls.length);
    },
    checkScheduledEnrichment: async () => o.poll?.(++polls) ?? 'not_found',
    recordAsyncOutcome: async () => undefined,
    findArchivedClayResult: async () => undefined,
    saveEnrichment: async (input) => {
      saved.push(input.signupId);
      if (input.cacheCompany) {
        const { companyName, employees, industry, country } = input.fields;
        cached = { companyName, employees, industry, country };
      }
      const scored = input.fields.industry !== undefined;
      return {
        status: scored ? 'scored' : 'insufficient_data',
        score: scored ? 80 : undefined,
        tier: scored ? 'A' : undefined,
        points: {},
        missingFields: [],
        reason: undefined,
        configVersion: 'test',
        inputHash: 'x',
      } satisfies IcpScore;
    },
    planFanOut: async () => ({
      writes: [],
      skipped: [],
      retry: { initialMs: 30_000, maxMs: 3_600_000, giveUpMs: 72 * 3_600_000 },
    }),
    writeToPosthog: async () => ({ state: 'done', detail: 'ok' }),
    writeToSalesforce: async () => ({ state: 'done', detail: 'ok' }),
    writeToVitally: async () => ({ state: 'done', detail: 'ok' }),
    notifySlack: async () => ({ state: 'done', detail: 'ok' }),
    deliverWebhooks: async () => ({ state: 'done', detail: 'ok' }),
    writeToCustomerio: async () => ({ state: 'done', detail: 'ok' }),
    writeToMixpanel: async () => ({ state: 'done', detail: 'ok' }),
    writeToClose: async () => ({ state: 'done', detail: 'ok' }),
    deliverToHumanic: async () => ({ state: 'done', detail: 'ok' }),
  };
  return { activities, saved, calls };
}

/** Every run of a workflow id, first to last, by following each run's continued-as-new event to the next. */
async function runChain(client: Client, workflowId: string, firstRunId: string) {
  const runs: { runId: string; history: History }[] = [];
  for (let runId: string | null | undefined = firstRunId; runId;) {
    const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
    runs.push({ runId, history });
    const last = history.events?.at(-1);
    runId = last?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId;
  }
  return runs;
}

/** What a second run starts from when the first left nothing but what a test adds. */
const emptyCarried = (): SignupEnrichmentCarried => ({
  run: 2,
  companyDomain: 'lumenforge.io',
  icp: { score: 80, tier: 'A' },
  pause: undefined,
  signups: [],
  pending: [],
  followUps: [],
  policies: [],
  fanOuts: [],
  recent: [],
  settledEarlier: { enriched: 6 },
});

const signalCount = (h: History) => h.events?.filter((e) => e.workflowExecutionSignaledEventAttributes).length ?? 0;

// A burst of one organization's signups on the run's real Temporal server, sent as production's outbox sends them
// (signal-with-start); the activities are typed mocks so that the test measures the workflow, not the providers.
describe('SignupEnrichmentWorkflow continues as new under a burst', () => {
  let client: Client;
  let connection: NativeConnection;

  beforeAll(async () => {
    client = new Client({ connection: await Connection.connect({ address: inject('temporalAddress') }) });
    connection = await NativeConnection.connect({ address: inject('temporalAddress') });
  });

  afterAll(async () => {
    await client?.connection.close();
    await connection?.close();
  });

  it(
    'settles 2,000 signups of one organization, each run far below the history limits',
    { timeout: 240_000 },
    async () => {
      const N = 2_000;
      const taskQueue = `burst-${randomUUID()}`;
      const workflowId = `signup-org-${randomUUID()}`;
      const { activities, saved, calls } = mockActivities({
        provider: (_provider, lookup) => found(lookup === 'company' ? full : person),
      });
      const worker = await mockedWorkers(connection, taskQueue, activities);
      const ids = Array.from({ length: N }, () => randomUUID());
      const sent = await worker.runUntil(async () => {
        const deliver = (signupId: string) =>
          client.workflow.signalWithStart(SignupEnrichmentWorkflow, {
            workflowId,
            taskQueue,
            args: [{ signupId }],
            signal: signupReceivedSignal,
            signalArgs: [{ signupId }],
            workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
            typedSearchAttributes: [
              { key: EnrichmentStatusKey, value: 'received' },
              { key: SignupAtKey, value: new Date('2026-11-23T14:05:11.482Z') },
            ],
            staticSummary: 'Signup enrichment · lumenforge.io',
          });
        // As the outbox sends them: the first delivery starts the workflow; the rest arrive as fast as 20 senders can.
        const first = await deliver(ids[0]!);
        const queue = ids.slice(1);
        await Promise.all(
          Array.from({ length: 20 }, async () => {
            for (let id = queue.shift(); id; id = queue.shift()) await deliver(id);
          }),
        );
        const result = await client.workflow.getHandle<typeof SignupEnrichmentWorkflow>(workflowId).result();
        return { firstRunId: first.signaledRunId, result };
      });

      // Every signup recorded (the ledger calls are local activities: at least once, and idempotent — a workflow task
      // lost under load runs them again); every provider call exactly once: the company paid for once, then served
      // from the domain cache, and one person lookup per signup.
      expect(new Set(saved)).toEqual(new Set(ids));
      expect(calls.filter((c) => c === 'clearbit:company')).toHaveLength(1);
      expect(calls.filter((c) => c === 'clearbit:person')).toHaveLength(N);

      const runs = await runChain(client, workflowId, sent.firstRunId);
      const lengths = runs.map((r) => r.history.events?.length ?? 0);
      console.log(`${N} signups: ${runs.length} runs, history lengths ${lengths.join(', ')}`);
      expect(runs.length).toBeGreaterThanOrEqual(Math.ceil(N / RUN_LIMITS.signupsHandled));
      // Temporal refuses a run past 50,000 events or 50 MB, and 10,000 signals: every run stays far below.
      for (const { history } of runs) {
        expect(history.events!.length).toBeLessThan(15_000);
        expect(Buffer.byteLength(JSON.stringify(history))).toBeLessThan(10 * 1024 * 1024);
        expect(signalCount(history)).toBeLessThanOrEqual(RUN_LIMITS.signalsReceived);
      }
      expect(runs.reduce((n, r) => n + signalCount(r.history), 0)).toBe(N);
      // One chain: every run but the last continued as new; the last completed.
      expect(
        runs.slice(0, -1).every((r) => r.history.events!.at(-1)!.workflowExecutionContinuedAsNewEventAttributes),
      ).toBe(true);
      expect(runs.at(-1)!.history.events!.at(-1)!.workflowExecutionCompletedEventAttributes).toBeTruthy();

      // The last run's result accounts for every signup: those settled in earlier runs are counted by status.
      const { result } = sent;
      const earlier = Object.values(result.settledEarlier ?? {}).reduce((n, c) => n + c, 0);
      expect(earlier + result.signups.length).toBe(N);
      expect(result.signups.every((s) => s.status === 'enriched')).toBe(true);
      expect(result).toMatchObject({ status: 'enriched', companyDomain: 'lumenforge.io', run: runs.length });
      const description = await client.workflow.getHandle(workflowId).describe();
      expect(description.searchAttributes).toMatchObject({
        EnrichmentStatus: ['enriched'],
        CompanyDomain: ['lumenforge.io'],
        IcpTier: ['A'],
      });
    },
  );
});

// What a run hands on, on the time-skipping server (a follow-up window of hours takes milliseconds), with run limits
// lowered through the input so that a chain needs only a few signups.
describe('SignupEnrichmentWorkflow carries its state over continue-as-new', () => {
  let env: TestWorkflowEnvironment;

  beforeAll(async () => {
    env = await TestWorkflowEnvironment.createTimeSkipping({
      server: { executable: { type: 'existing-path', path: inject('temporalTestServer') } },
    });
    await addSearchAttributes(env.connection, 'default');
  });

  afterAll(async () => {
    await env?.teardown();
  });

  async function run(
    mocks: ReturnType<typeof mockActivities>,
    input: SignupEnrichmentInput,
    during: (workflowId: string) => Promise<void>,
  ) {
    const taskQueue = `can-${randomUUID()}`;
    const worker = await mockedWorkers(env.nativeConnection, taskQueue, mocks.activities);
    return worker.runUntil(async () => {
      const workflowId = `signup-${randomUUID()}`;
      const handle = await env.client.workflow.start(SignupEnrichmentWorkflow, {
        workflowId,
        taskQueue,
        args: [input],
      });
      await during(workflowId);
      const result = await handle.result();
      const runs = await runChain(env.client, workflowId, handle.firstExecutionRunId);
      return { result, runs };
    });
  }

  it('carries a follow-up and the pending signups to the next run, and completes the follow-up there', async () => {
    let harmonic = 0;
    const mocks = mockActivities({
      provider: (provider, lookup) => {
        if (lookup === 'person') return found(person);
        if (provider === 'clearbit') return found({ companyName: 'Lumenforge', employees: 85, country: 'DE' });
        // The first lookup is still being computed by Harmonic; afterwards it is known.
        return ++harmonic === 1
          ? { kind: 'queued', pollToken: 'urn:harmonic:enrichment:1', retryAfterMs: undefined }
          : found({ industry: 'Developer Tools' });
      },
      poll: (n) => (n < 2 ? 'pending' : 'complete'),
    });
    const { result, runs } = await run(mocks, { signupId: 's-1', runLimits: { signupsHandled: 2 } }, async (id) => {
      const handle = env.client.workflow.getHandle(id);
      for (const signupId of ['s-2', 's-3', 's-4']) await handle.signal(signupReceivedSignal, { signupId });
    });
    // s-1 and s-2 in the first run; then s-3 and s-4 in the second; the follow-up of s-1 is carried along.
    expect(runs.length).toBeGreaterThanOrEqual(2);
    // s-1 recorded when handled, and again when its follow-up found the company (in the second run).
    expect(mocks.saved.filter((id) => id === 's-1').length).toBeGreaterThanOrEqual(2);
    expect(new Set(mocks.saved)).toEqual(new Set(['s-1', 's-2', 's-3', 's-4']));
    const s1 = result.signups.find((s) => s.signupId === 's-1');
    expect(s1).toMatchObject({ status: 'enriched', fields: { industry: 'Developer Tools' } });
    expect(result.status).toBe('enriched');
    const earlier = Object.values(result.settledEarlier ?? {}).reduce((n, c) => n + c, 0);
    expect(earlier + result.signups.length).toBe(4);
  });

  it('ends the workflow task after a long chain of signups that needed only the (local) ledger calls', async () => {
    // No person provider and the company cached: nothing but local activities, signup after signup.
    const mocks = mockActivities({ provider: () => found(full), policy: { personProviders: [] } });
    // Sixty signups waiting when the run starts (as a continued run finds them): all handled in the first task.
    const pending = Array.from({ length: 60 }, (_, i) => `s-${i + 1}`);
    const carried = { ...emptyCarried(), pending };
    const { result, runs } = await run(mocks, { signupId: 's-1', carried }, async () => undefined);
    expect(new Set(mocks.saved).size).toBe(60);
    expect(result.signups.every((s) => s.status === 'enriched')).toBe(true);
    const timers = runs[0]!.history.events!.filter((e) => e.timerStartedEventAttributes).length;
    expect(timers).toBe(2);
  });

  it('keeps a pause across continue-as-new: the next run calls no provider until enrichment is resumed', async () => {
    const mocks = mockActivities({ provider: (_p, lookup) => found(lookup === 'company' ? full : person) });
    const carried: SignupEnrichmentCarried = {
      ...emptyCarried(),
      pause: { reason: 'provider contract renewal' },
      pending: ['s-7'],
      recent: ['s-6'],
      settledEarlier: { enriched: 6 },
    };
    const { result } = await run(mocks, { signupId: 's-1', carried }, async (id) => {
      const handle = env.client.workflow.getHandle(id);
      // A second delivery of a signup settled in the earlier run is not enriched again.
      await handle.signal(signupReceivedSignal, { signupId: 's-6' });
      for (;;) {
        const s = await handle.query(getStatusQuery);
        if (s.signups[0]?.status === 'paused') {
          expect(s.signups[0].reason).toBe('paused: provider contract renewal');
          expect(s).toMatchObject({ run: 2, settledEarlier: { enriched: 6 } });
          break;
        }
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(mocks.calls).toEqual([]);
      await handle.signal(enrichmentResumedSignal);
    });
    expect(mocks.saved).toEqual(['s-7']);
    expect(result.signups.map((s) => [s.signupId, s.status])).toEqual([['s-7', 'enriched']]);
  });
});
