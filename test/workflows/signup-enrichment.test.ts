import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ApplicationFailure } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type {
  EnrichmentActivities,
  EnrichmentPolicy,
  ProviderCallInput,
  ProviderCallResult,
} from '../../src/activities/enrichment';
import type { LedgerActivities, ScreenSignupResult } from '../../src/activities/ledger';
import type { FanOutPlan, WriteActivities, WriteInput, WriteResult } from '../../src/activities/writes';
import type { Destination } from '../../src/domain/fan-out';
import { ErrorType } from '../../src/domain/errors';
import type { IcpFields } from '../../src/domain/icp/fields';
import type { IcpScore } from '../../src/domain/icp/scoring';
import { scoringConfigSchema } from '../../src/domain/icp/scoring-schema';
import type { PersonLookupRule } from '../../src/domain/enrichment/waterfall';
import { addSearchAttributes } from '../../src/temporal/search-attributes';
import {
  clayResultSignal,
  creditsRestoredSignal,
  getStatusQuery,
  signupReceivedSignal,
} from '../../src/workflows/messages';
import { SignupEnrichmentWorkflow } from '../../src/workflows/signup-enrichment';
import '../support/config';
import { mockedWorkers } from '../support/workflows';
import { eventually } from '../support/eventually';

// Workflow logic on the time-skipping test server (days of waiting take milliseconds), with typed activity mocks.
describe('SignupEnrichmentWorkflow', () => {
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

  const policy: EnrichmentPolicy = {
    companyProviders: ['clearbit', 'harmonic'],
    personProviders: ['clearbit'],
    requiredFields: ['companyName', 'employees', 'industry', 'country'],
    fieldPreference: { industryTags: ['harmonic', 'clearbit'] },
    domainCacheDays: 30,
    creditsWaitMaxDays: 7,
    asyncResultTimeoutMinutes: 60,
    queuedFollowUpHours: 48,
  };
  const screened = (kind: 'work' | 'free_mail', domain = 'lumenforge.io'): Omit<ScreenSignupResult, 'signupId'> => ({
    status: kind === 'work' ? 'received' : 'skipped',
    emailKind: kind,
    domain,
    signedUpAt: '2026-11-23T14:05:11.482Z',
    reason: kind === 'work' ? undefined : kind,
  });
  const full: IcpFields = { companyName: 'Lumenforge', employees: 85, industry: 'Software', country: 'DE' };
  const person: IcpFields = { personTitle: 'Staff Engineer', role: 'engineering', seniority: 'senior' };

  interface Mocks {
    screen?: LedgerActivities['screenSignup'];
    provider: (input: ProviderCallInput, call: number) => Promise<ProviderCallResult>;
    cached?: IcpFields;
    policy?: Partial<EnrichmentPolicy>;
    poll?: (token: string, call: number) => Promise<'pending' | 'complete' | 'not_found'>;
    /** The fan-out: which destinations get a write (none by default), and how each write answers. */
    plan?: Partial<FanOutPlan>;
    write?: (destination: Destination, input: WriteInput, call: number) => Promise<WriteResult>;
  }

  async function run(mocks: Mocks, during?: (workflowId: string) => Promise<void>) {
    const taskQueue = `wf-${randomUUID()}`;
    const calls: ProviderCallInput[] = [];
    const saved: Parameters<EnrichmentActivities['saveEnrichment']>[0][] = [];
    const asyncOutcomes: string[] = [];
    const polls: string[] = [];
    const writes: { destination: Destination; key: string }[] = [];
    const writer =
      (destination: Destination) =>
      async (input: WriteInput): Promise<WriteResult> => {
        writes.push({ destination, key: input.idempotencyKey });
        const call = writes.filter((w) => w.destination === destination).length;
        return mocks.write ? mocks.write(destination, input, call) : { state: 'done', detail: `${destination} ok` };
      };
    const activities: LedgerActivities & EnrichmentActivities & WriteActivities = {
      screenSignup: mocks.screen ?? (async ({ signupId }) => ({ signupId, ...screened('work') })),
      getEnrichmentPolicy: async () => ({ ...policy, ...mocks.policy }),
      checkScheduledEnrichment: async ({ token }) => {
        polls.push(token);
        return mocks.poll ? mocks.poll(token, polls.length) : 'not_found';
      },
      recordAsyncOutcome: async ({ provider, outcome }) => {
        asyncOutcomes.push(`${provider}:${outcome}`);
      },
      findArchivedClayResult: async () => undefined,
      lookupCachedCompany: async () => (mocks.cached ? { fields: mocks.cached, provenance: {} } : undefined),
      callProvider: async (input) => {
        calls.push(input);
        return mocks.provider(input, calls.length);
      },
      saveEnrichment: async (input) => {
        saved.push(input);
        return {
          status: input.fields.industry ? 'scored' : 'insufficient_data',
          score: input.fields.industry ? 80 : undefined,
          tier: input.fields.industry ? 'A' : undefined,
          points: {},
          missingFields: [],
          reason: undefined,
          configVersion: 'test',
          inputHash: 'x',
        } satisfies IcpScore;
      },
      planFanOut: async ({ signupId }) => ({
        writes: [],
        skipped: [],
        retry: { initialMs: 30_000, maxMs: 3_600_000, giveUpMs: 72 * 3_600_000 },
        ...mocks.plan,
        ...(mocks.plan?.writes && {
          writes: mocks.plan.writes.map((w) => ({ ...w, idempotencyKey: `${signupId}:${w.destination}` })),
        }),
      }),
      writeToPosthog: writer('posthog'),
      writeToSalesforce: writer('salesforce'),
      writeToVitally: writer('vitally'),
      notifySlack: writer('slack'),
      deliverWebhooks: writer('webhooks'),
      writeToCustomerio: writer('customerio'),
      writeToMixpanel: writer('mixpanel'),
      writeToClose: writer('close'),
      deliverToHumanic: writer('humanic'),
    };
    const worker = await mockedWorkers(env.nativeConnection, taskQueue, activities);
    return worker.runUntil(async () => {
      const workflowId = `signup-${randomUUID()}`;
      const handle = await env.client.workflow.start(SignupEnrichmentWorkflow, {
        workflowId,
        taskQueue,
        args: [{ signupId: 's-1' }],
      });
      await during?.(workflowId);
      const result = await handle.result();
      const description = await handle.describe();
      return {
        result,
        description,
        calls,
        saved,
        asyncOutcomes,
        polls,
        writes,
        status: await handle.query(getStatusQuery),
        // What the Web UI shows as the workflow's current details.
        details: (await handle.query<{ currentDetails?: string }>('__temporal_workflow_metadata')).currentDetails,
      };
    });
  }

  const found = (fields: IcpFields): ProviderCallResult => ({ kind: 'found', fields, at: '2026-11-24T00:00:00.000Z' });

  it('stops at the first provider that fills every required field', async () => {
    const { result, calls, description, status } = await run({
      provider: async (i) => found(i.lookup === 'company' ? full : person),
    });
    expect(calls.map((c) => `${c.provider}:${c.lookup}`)).toEqual(['clearbit:company', 'clearbit:person']);
    expect(calls.every((c) => !('email' in c))).toBe(true);
    expect(result.signups[0]).toMatchObject({
      status: 'enriched',
      fields: { ...full, ...person },
      creditsSpent: { clearbit: 2 },
      provenance: { industry: { source: 'clearbit' } },
    });
    expect(result).toMatchObject({ status: 'enriched', icpScore: 80, icpTier: 'A', companyDomain: 'lumenforge.io' });
    expect(status).toEqual(result);
    expect(description.searchAttributes).toMatchObject({
      EnrichmentStatus: ['enriched'],
      IcpScore: [80],
      IcpTier: ['A'],
      CompanyDomain: ['lumenforge.io'],
    });
  });

  it('asks the next provider only for what is still missing, and keeps the first value of everything else', async () => {
    const { result, calls } = await run({
      provider: async (i) => {
        if (i.lookup === 'person') return found(person);
        if (i.provider === 'clearbit') return found({ ...full, industry: undefined });
        return found({ companyName: 'Lumenforge GmbH', industry: 'Developer Tools', industryTags: ['Observability'] });
      },
    });
    expect(calls.map((c) => `${c.provider}:${c.lookup}`)).toEqual([
      'clearbit:company',
      'harmonic:company',
      'clearbit:person',
    ]);
    expect(result.signups[0]?.fields).toMatchObject({ companyName: 'Lumenforge', industry: 'Developer Tools' });
    expect(result.signups[0]?.provenance).toMatchObject({
      companyName: { source: 'clearbit' },
      industry: { source: 'harmonic' },
    });
    expect(result.signups[0]?.trace?.map((t) => [t.source, t.outcome, t.filled.length > 0])).toEqual([
      ['clearbit', 'found', true],
      ['harmonic', 'found', true],
      ['clearbit', 'found', true],
    ]);
  });

  it('serves a fresh company from the domain cache at zero credits', async () => {
    const { result, calls, saved } = await run({ cached: full, provider: async () => found(person) });
    expect(calls.map((c) => c.lookup)).toEqual(['person']);
    expect(result.signups[0]).toMatchObject({ status: 'enriched', creditsSpent: { clearbit: 1 } });
    // Cached data is not written back as if fresh: the cache expires on the provider's schedule, not ours.
    expect(saved[0]?.cacheCompany).toBe(false);
  });

  it('gives a free-mail signup person enrichment only, and marks it skipped', async () => {
    const { result, calls, description } = await run({
      screen: async ({ signupId }) => ({ signupId, ...screened('free_mail', 'gmail.com') }),
      provider: async () => found(person),
    });
    expect(calls.map((c) => `${c.provider}:${c.lookup}`)).toEqual(['clearbit:person']);
    expect(result.signups[0]).toMatchObject({ status: 'skipped', reason: 'free_mail', fields: person });
    expect(description.searchAttributes.CompanyDomain).toBeUndefined();
    expect(description.searchAttributes.IcpScore).toBeUndefined();
  });

  it('waits for credits when providers ran dry, and completes once they are restored', async () => {
    let restored = false;
    const { result, calls } = await run(
      {
        provider: async (i) => {
          if (!restored) return { kind: 'credits_exhausted', detail: 'over quota' };
          return found(i.lookup === 'company' ? full : person);
        },
      },
      async (workflowId) => {
        const handle = env.client.workflow.getHandle(workflowId);
        // The workflow reaches waiting_for_credits and stays there (time-skipping pauses while we query).
        for (;;) {
          const s = await handle.query(getStatusQuery);
          if (s.status === 'waiting_for_credits') break;
          await new Promise((r) => setTimeout(r, 20));
        }
        expect((await handle.describe()).searchAttributes.EnrichmentStatus).toEqual(['waiting_for_credits']);
        restored = true;
        await handle.signal(creditsRestoredSignal, {});
      },
    );
    expect(result.signups[0]).toMatchObject({ status: 'enriched', fields: { ...full, ...person } });
    // Each provider asked once before the wait, and only the providers needed after it.
    expect(calls.map((c) => `${c.provider}:${c.lookup}`)).toEqual([
      'clearbit:company',
      'harmonic:company',
      'clearbit:person',
      'clearbit:company',
      'clearbit:person',
    ]);
  });

  it('gives up waiting after the bounded wait and completes as partial, a backfill candidate', async () => {
    const { result } = await run({
      provider: async (i) =>
        i.provider === 'clearbit' && i.lookup === 'company'
          ? found({ companyName: 'Lumenforge', employees: 85, country: 'DE' })
          : { kind: 'credits_exhausted', detail: 'over quota' },
    });
    expect(result.signups[0]).toMatchObject({ status: 'partial', missingFields: ['industry'] });
    expect(result.signups[0]?.reason).toBe('missing industry (harmonic out of credits, clearbit out of credits)');
  });

  it('fills the gaps with the result Clay sends back asynchronously', async () => {
    let clayAsked: () => void = () => undefined;
    const asked = new Promise<void>((resolve) => (clayAsked = resolve));
    const { result, calls } = await run(
      {
        policy: { companyProviders: ['clearbit', 'harmonic', 'clay'] },
        provider: async (i) => {
          if (i.lookup === 'person') return found(person);
          if (i.provider === 'clay') {
            expect(i.workflowId).toMatch(/^signup-/);
            clayAsked();
            return { kind: 'queued', pollToken: i.signupId, retryAfterMs: undefined };
          }
          return i.provider === 'clearbit'
            ? found({ companyName: 'Lumenforge', country: 'DE' })
            : { kind: 'not_found' };
        },
      },
      async (workflowId) => {
        await asked;
        await env.client.workflow
          .getHandle(workflowId)
          .signal(clayResultSignal, { signupId: 's-1', found: true, fields: { employees: 85, industry: 'Software' } });
      },
    );
    expect(calls.map((c) => `${c.provider}:${c.lookup}`)).toEqual([
      'clearbit:company',
      'harmonic:company',
      'clay:company',
      'clearbit:person',
    ]);
    expect(result.signups[0]).toMatchObject({
      status: 'enriched',
      creditsSpent: { clearbit: 2, clay: 1 },
      provenance: { employees: { source: 'clay' }, companyName: { source: 'clearbit' } },
    });
  });

  it('reports a Clay that stays silent, and ends partial after the bounded wait', async () => {
    const { result, asyncOutcomes, calls } = await run({
      policy: { companyProviders: ['clearbit', 'clay'] },
      provider: async (i) => {
        if (i.lookup === 'person') return found(person);
        if (i.provider === 'clay') return { kind: 'queued', pollToken: i.signupId, retryAfterMs: undefined };
        return found({ companyName: 'Lumenforge', employees: 85, country: 'DE' });
      },
    });
    expect(result.signups[0]).toMatchObject({ status: 'partial', reason: 'missing industry (clay silent)' });
    expect(asyncOutcomes.length).toBeGreaterThan(1);
    expect(new Set(asyncOutcomes)).toEqual(new Set(['clay:silent']));
    // Re-sent after each wait for credits: a silent Clay is retried, never taken as "no data".
    expect(calls.filter((c) => c.provider === 'clay').length).toBe(asyncOutcomes.length);
  });

  it('follows up a lookup the provider was still computing, and completes the signup when it is done', async () => {
    let harmonicCalls = 0;
    const { result, polls, saved, calls } = await run({
      poll: async (_token, n) => (n < 3 ? 'pending' : 'complete'),
      provider: async (i) => {
        if (i.lookup === 'person') return found(person);
        if (i.provider === 'clearbit') return found({ companyName: 'Lumenforge', employees: 85, country: 'DE' });
        harmonicCalls++;
        return harmonicCalls === 1
          ? { kind: 'queued', pollToken: 'urn:harmonic:enrichment:1', retryAfterMs: undefined }
          : found({ industry: 'Developer Tools', industryTags: ['Observability'] });
      },
    });
    // Recorded at once as partial (the signup was not held), then updated when Harmonic finished.
    expect(saved.map((s) => s.status)).toEqual(['partial', 'enriched']);
    expect(polls).toEqual(['urn:harmonic:enrichment:1', 'urn:harmonic:enrichment:1', 'urn:harmonic:enrichment:1']);
    expect(calls.filter((c) => c.provider === 'harmonic')).toHaveLength(2);
    expect(result.signups[0]).toMatchObject({
      status: 'enriched',
      fields: { industry: 'Developer Tools', companyName: 'Lumenforge' },
      provenance: { industry: { source: 'harmonic' } },
      creditsSpent: { clearbit: 2, harmonic: 1 },
    });
    expect(result.icpScore).toBe(80);
  });

  it('stops following up when the provider finds nothing, or the window closes', async () => {
    const { result, polls } = await run({
      poll: async () => 'not_found',
      provider: async (i) => {
        if (i.lookup === 'person') return found(person);
        if (i.provider === 'clearbit') return { kind: 'queued', pollToken: undefined, retryAfterMs: 60_000 };
        return { kind: 'queued', pollToken: 'urn:x', retryAfterMs: undefined };
      },
      policy: { queuedFollowUpHours: 6 },
    });
    expect(polls).toEqual(['urn:x']);
    // Clearbit's 202 carries no token: it is asked again each round until the window closes.
    expect(result.signups[0]).toMatchObject({ status: 'not_found' });
    expect(result.signups[0]?.trace?.filter((t) => t.outcome === 'follow-up queued')).toEqual([]);
  });

  it('fails fast with a clear reason when a provider rejects the API key', async () => {
    const { result, description } = await run({
      provider: async () => {
        throw ApplicationFailure.create({
          type: ErrorType.ProviderAuthFailed,
          message: 'clearbit rejected the API key (HTTP 401); fix the credential',
          nonRetryable: true,
        });
      },
    });
    expect(result.signups[0]).toMatchObject({ status: 'failed' });
    expect(result.signups[0]?.reason).toContain('rejected the API key');
    expect(description.searchAttributes.EnrichmentStatus).toEqual(['failed']);
  });

  it('retries throttling and outages until the provider answers', async () => {
    const { result, calls } = await run({
      provider: async (i, n) => {
        if (n <= 3) {
          throw ApplicationFailure.create({
            type: ErrorType.ProviderRateLimited,
            message: 'throttled',
            nextRetryDelay: '2 seconds',
          });
        }
        return found(i.lookup === 'company' ? full : person);
      },
    });
    expect(calls.length).toBe(5);
    expect(result.signups[0]?.status).toBe('enriched');
  });

  it('skips a provider down for the whole default window (30 min) and asks the next one', async () => {
    const { result, calls, asyncOutcomes } = await run({
      policy: { providerFallThroughMinutes: 30 },
      provider: async (i) => {
        if (i.provider === 'clearbit') {
          throw ApplicationFailure.create({
            type: ErrorType.ProviderUnavailable,
            message: 'clearbit unavailable: HTTP 503',
            nextRetryDelay: '10 seconds',
          });
        }
        return found(full);
      },
    });
    // Retried for the window (about 180 attempts at 10 s), once; its person lookup is not tried after that.
    expect(calls.filter((c) => c.provider === 'clearbit').length).toBeGreaterThan(100);
    expect(new Set(calls.filter((c) => c.provider === 'clearbit').map((c) => c.lookup))).toEqual(new Set(['company']));
    expect(calls.filter((c) => c.provider === 'harmonic').map((c) => c.lookup)).toEqual(['company']);
    expect(result.signups[0]?.trace?.map((t) => `${t.source}:${t.lookup}:${t.outcome}`)).toEqual([
      'clearbit:company:provider_outage',
      'harmonic:company:found',
    ]);
    expect(result.signups[0]?.trace?.[0]?.detail).toBe('ProviderUnavailable: clearbit unavailable: HTTP 503');
    expect(asyncOutcomes).toEqual(['clearbit:outage']);
    // Enriched without a person: the role was asked of the provider that is down only.
    expect(result.signups[0]?.status).toBe('enriched');
  });

  it('ends a follow-up whose provider is down for the whole window, and counts the outage', async () => {
    const { result, asyncOutcomes } = await run({
      policy: { providerFallThroughMinutes: 30 },
      provider: async (i, n) => {
        if (i.lookup === 'person') return found(person);
        if (i.provider === 'harmonic') return { kind: 'not_found' };
        if (n === 1) return { kind: 'queued', pollToken: undefined, retryAfterMs: undefined };
        throw ApplicationFailure.create({ type: ErrorType.ProviderUnavailable, message: 'clearbit unavailable' });
      },
    });
    expect(result.signups[0]?.status).toBe('not_found');
    expect(result.signups[0]?.trace?.at(-1)).toMatchObject({
      source: 'clearbit',
      outcome: 'follow-up provider_outage',
    });
    expect(asyncOutcomes).toEqual(['clearbit:outage']);
  });

  it('ends a status poll whose provider is down for the whole window, and counts that outage too', async () => {
    const { result, asyncOutcomes, polls } = await run({
      policy: { providerFallThroughMinutes: 30 },
      poll: () =>
        Promise.reject(ApplicationFailure.create({ type: ErrorType.ProviderUnavailable, message: 'harmonic down' })),
      provider: async (i) => {
        if (i.lookup === 'person') return found(person);
        if (i.provider === 'harmonic') return { kind: 'queued', pollToken: 'urn:x', retryAfterMs: undefined };
        return { kind: 'not_found' };
      },
    });
    expect(polls.length).toBeGreaterThan(1);
    expect(result.signups[0]?.status).toBe('not_found');
    expect(asyncOutcomes).toEqual(['harmonic:outage']);
  });

  it('ends a follow-up refused for good for its signup alone, with the reason, and completes the workflow', async () => {
    const { result, polls } = await run({
      poll: () =>
        Promise.reject(
          ApplicationFailure.create({
            type: ErrorType.ProviderAuthFailed,
            message: 'harmonic rejected the API key (HTTP 403)',
            nonRetryable: true,
          }),
        ),
      provider: async (i) => {
        if (i.lookup === 'person') return found(person);
        if (i.provider === 'harmonic') return { kind: 'queued', pollToken: 'urn:x', retryAfterMs: undefined };
        return { kind: 'not_found' };
      },
    });
    expect(polls).toEqual(['urn:x']);
    expect(result.signups[0]).toMatchObject({
      status: 'not_found',
      reason: expect.stringMatching(/^follow-up stopped: .*harmonic rejected the API key/) as unknown,
    });
  });

  it('lets a 429 storm that lasts the whole window fall through too', async () => {
    const { result } = await run({
      policy: { providerFallThroughMinutes: 30 },
      provider: async (i) => {
        if (i.provider === 'clearbit') {
          throw ApplicationFailure.create({
            type: ErrorType.ProviderRateLimited,
            message: 'clearbit rate limit; retrying after 60000 ms',
            nextRetryDelay: '1 minute',
          });
        }
        return found(i.lookup === 'company' ? full : person);
      },
    });
    expect(result.signups[0]?.trace?.map((t) => `${t.source}:${t.lookup}:${t.outcome}`)).toEqual([
      'clearbit:company:provider_outage',
      'harmonic:company:found',
    ]);
    expect(result.signups[0]?.trace?.[0]?.detail).toMatch(/^ProviderRateLimited: /);
  });

  it('moves on at once from a lookup the provider refuses, and fails a signup no company provider answered', async () => {
    const { result, calls } = await run({
      policy: { providerFallThroughMinutes: 30 },
      provider: async () => ({ kind: 'rejected', status: 422, errorType: 'params_invalid', detail: 'Invalid domain' }),
    });
    expect(calls.map((c) => `${c.provider}:${c.lookup}`)).toEqual([
      'clearbit:company',
      'harmonic:company',
      'clearbit:person',
    ]);
    expect(result.signups[0]?.trace?.[0]).toMatchObject({
      outcome: 'rejected',
      errorType: 'params_invalid',
      detail: 'Invalid domain',
    });
    expect(result.signups[0]).toMatchObject({
      status: 'failed',
      reason:
        'missing companyName, employees, industry, country (clearbit rejected the company lookup: params_invalid, ' +
        'harmonic rejected the company lookup: params_invalid, clearbit rejected the person lookup: params_invalid)',
    });
  });

  it('handles later signups of the organization sent by signal, each once', async () => {
    const { result } = await run(
      {
        screen: async ({ signupId }) => ({
          signupId,
          ...(signupId === 's-1' ? screened('free_mail', 'gmail.com') : screened('work')),
        }),
        provider: async (i) => found(i.lookup === 'company' ? full : person),
      },
      async (workflowId) => {
        const handle = env.client.workflow.getHandle(workflowId);
        await handle.signal(signupReceivedSignal, { signupId: 's-1' });
        await handle.signal(signupReceivedSignal, { signupId: 's-2' });
        await handle.signal(signupReceivedSignal, { signupId: 's-2' });
      },
    );
    expect(result.signups.map((s) => [s.signupId, s.status])).toEqual([
      ['s-1', 'skipped'],
      ['s-2', 'enriched'],
    ]);
    // A work-email signup carries the organization, even when a free-mail one came first.
    expect(result).toMatchObject({ status: 'enriched', companyDomain: 'lumenforge.io' });
  });

  it('marks a signup failed when the ledger has lost it', async () => {
    const { result } = await run({
      screen: async () => {
        throw ApplicationFailure.create({ type: ErrorType.SignupNotFound, message: 'gone', nonRetryable: true });
      },
      provider: async () => found(full),
    });
    expect(result.signups[0]).toMatchObject({ status: 'failed', reason: 'gone' });
  });

  it('fails the workflow task on a bug in its own code, instead of marking the signup failed for good', async () => {
    // An activity answer the workflow cannot read (here: none) makes its code throw a TypeError. That must not become
    // a business outcome: the task fails and is retried, so a deploy that fixes the code lets the signup go on.
    // On the run's dev server: the time-skipping server stops skipping time after a failed workflow task.
    const address = inject('temporalAddress');
    const connection = await NativeConnection.connect({ address });
    const client = new Client({ connection: await Connection.connect({ address }) });
    try {
      const taskQueue = `wf-${randomUUID()}`;
      const worker = await Worker.create({
        connection,
        taskQueue,
        workflowBundle: { codePath: inject('workflowBundlePath') },
        activities: { screenSignup: async () => undefined },
      });
      const handle = await worker.runUntil(async () => {
        const started = await client.workflow.start(SignupEnrichmentWorkflow, {
          workflowId: `signup-${randomUUID()}`,
          taskQueue,
          args: [{ signupId: 's-1' }],
        });
        await eventually(async () => {
          const { events } = await started.fetchHistory();
          return events?.some((e) => e.workflowTaskFailedEventAttributes) ? true : undefined;
        });
        return started;
      });
      const { events } = await handle.fetchHistory();
      const failure = events!.find((e) => e.workflowTaskFailedEventAttributes)!.workflowTaskFailedEventAttributes!;
      expect(failure.failure?.message).toMatch(/Cannot read properties of undefined/);
      expect((await handle.describe()).status.name).toBe('RUNNING');
      // No outcome was recorded: nothing in the history says the signup failed.
      expect(events!.some((e) => e.upsertWorkflowSearchAttributesEventAttributes)).toBe(false);
      await handle.terminate('test over');
    } finally {
      await client.connection.close();
      await connection.close();
    }
  });

  describe('fan-out', () => {
    const all = (['posthog', 'salesforce', 'vitally', 'slack', 'webhooks'] as const).map((destination) => ({
      destination,
      idempotencyKey: '',
    }));
    const fail = (type: string, message: string, nonRetryable = false, details?: unknown[]) =>
      ApplicationFailure.create({ type, message, nonRetryable, details });

    it('writes the recorded outcome to every destination of the plan, each once, with its idempotency key', async () => {
      const { result, writes, details } = await run({
        provider: async (i) => found(i.lookup === 'company' ? full : person),
        plan: { writes: all, skipped: [] },
      });
      expect(writes.map((w) => w.destination).sort()).toEqual([
        'posthog',
        'salesforce',
        'slack',
        'vitally',
        'webhooks',
      ]);
      expect(writes.map((w) => w.key)).toContain('s-1:salesforce');
      expect(result.signups[0]?.writes).toMatchObject({
        posthog: { state: 'done', attempts: 1, detail: 'posthog ok' },
        salesforce: { state: 'done' },
        webhooks: { state: 'done' },
      });
      expect(details).toContain('writes: posthog done · salesforce done · vitally done · slack done · webhooks done');
    });

    it('keeps writing to the others while one destination is down, and catches it up when it returns', async () => {
      const { result, writes } = await run({
        provider: async () => found({ ...full, ...person }),
        plan: {
          writes: all.filter((w) => w.destination !== 'slack'),
          skipped: [{ destination: 'slack', reason: 'not a high-value signup' }],
        },
        write: async (destination, _input, call) => {
          if (destination === 'salesforce' && call < 4)
            throw fail(ErrorType.DestinationUnavailable, 'Salesforce unavailable (SERVER_UNAVAILABLE)');
          return { state: 'done', detail: `${destination} ok` };
        },
      });
      // Three quick attempts inside the activity, then the workflow's backoff, then the fourth attempt succeeds.
      expect(writes.filter((w) => w.destination === 'salesforce')).toHaveLength(4);
      expect(writes.filter((w) => w.destination === 'posthog')).toHaveLength(1);
      expect(result.signups[0]?.writes).toMatchObject({
        salesforce: { state: 'done', attempts: 2 },
        posthog: { state: 'done', attempts: 1 },
        slack: { state: 'skipped', reason: 'not a high-value signup' },
      });
    });

    it('shows a write as retrying with the reason while it waits', async () => {
      const { status } = await run(
        {
          provider: async () => found({ ...full, ...person }),
          plan: { writes: all.filter((w) => w.destination === 'salesforce') },
          write: async (_d, _i, call) => {
            if (call <= 3) throw fail(ErrorType.DestinationUnavailable, 'Salesforce unavailable (HTTP 503)');
            return { state: 'done', detail: 'ok' };
          },
        },
        async (workflowId) => {
          const handle = env.client.workflow.getHandle(workflowId);
          // Time skipping is paused while we poll, so the 30 s backoff is still running when we look.
          for (let i = 0; i < 100; i++) {
            const s = await handle.query(getStatusQuery);
            if (s.signups[0]?.writes?.salesforce?.state === 'retrying') {
              expect(s.signups[0].writes.salesforce.reason).toContain('HTTP 503');
              return;
            }
            await new Promise((r) => setTimeout(r, 50));
          }
          throw new Error('never saw the write retrying');
        },
      );
      expect(status.signups[0]?.writes?.salesforce).toMatchObject({ state: 'done', attempts: 2 });
    });

    it('fails a write at once, naming the cause, when the destination rejects the credentials', async () => {
      const { result, writes } = await run({
        provider: async () => found({ ...full, ...person }),
        plan: { writes: all.filter((w) => w.destination === 'salesforce' || w.destination === 'vitally') },
        write: async (destination) => {
          if (destination === 'salesforce') {
            throw fail(ErrorType.DestinationAuthFailed, 'Salesforce rejected the credentials (invalid_client)', true);
          }
          return { state: 'done', detail: 'ok' };
        },
      });
      expect(writes.filter((w) => w.destination === 'salesforce')).toHaveLength(1);
      expect(result.signups[0]?.writes).toMatchObject({
        salesforce: { state: 'failed', attempts: 1, reason: 'Salesforce rejected the credentials (invalid_client)' },
        vitally: { state: 'done' },
      });
      expect(result.status).toBe('enriched');
    });

    it('waits out a spent quota for as long as the destination says, then writes', async () => {
      const { result, description } = await run({
        provider: async () => found({ ...full, ...person }),
        plan: { writes: all.filter((w) => w.destination === 'salesforce') },
        write: async (_d, _i, call) => {
          if (call === 1) {
            throw fail(ErrorType.DestinationQuotaExceeded, 'Salesforce API request limit exceeded', false, [
              { waitMs: 3_600_000 },
            ]);
          }
          return { state: 'done', detail: 'ok' };
        },
      });
      expect(result.signups[0]?.writes?.salesforce).toMatchObject({ state: 'done', attempts: 2 });
      // The second attempt came an hour (of workflow time) later: a durable timer, not a hot retry.
      expect(description.closeTime!.getTime() - description.startTime.getTime()).toBeGreaterThanOrEqual(3_600_000);
    });

    it('gives a write up after the retry window, and says so', async () => {
      const { result, writes } = await run({
        provider: async () => found({ ...full, ...person }),
        plan: {
          writes: all.filter((w) => w.destination === 'vitally'),
          retry: { initialMs: 60_000, maxMs: 3_600_000, giveUpMs: 6 * 3_600_000 },
        },
        write: async () => {
          throw fail(ErrorType.DestinationUnavailable, 'Vitally unavailable (HTTP 502)');
        },
      });
      expect(result.signups[0]?.writes?.vitally?.state).toBe('failed');
      expect(result.signups[0]?.writes?.vitally?.reason).toMatch(/^gave up after \d+ rounds: .*HTTP 502/);
      // Rounds of three quick attempts, 1, 2, 4, ... minutes apart, capped at an hour: about ten in six hours.
      const rounds = result.signups[0]?.writes?.vitally?.attempts ?? 0;
      expect(rounds).toBeGreaterThan(5);
      expect(rounds).toBeLessThan(15);
      expect(writes).toHaveLength(rounds * 3);
    });
  });

  describe('ENRICHMENT_PERSON_LOOKUP=high_value', () => {
    const scoring = scoringConfigSchema.parse(JSON.parse(readFileSync('config/icp-scoring.json', 'utf8')));
    const personLookup: PersonLookupRule = {
      when: 'high_value',
      highValue: { tiers: ['A'], minFundingUsd: 20_000_000 },
      scoring,
    };
    // 3 people in agriculture in Brazil: 35 points with the best role, tier C whatever the role.
    const small: IcpFields = { companyName: 'Fazenda Tres', employees: 3, industry: 'Agriculture', country: 'BR' };

    it('skips the person lookup of a company already known that cannot be high value, and says so', async () => {
      const { result, calls } = await run({
        policy: { personLookup },
        cached: small,
        provider: async () => found(person),
      });
      expect(calls).toEqual([]);
      expect(result.signups[0]).toMatchObject({ status: 'enriched', fields: small, creditsSpent: {} });
      expect(result.signups[0]?.trace?.map((t) => `${t.source}:${t.lookup}:${t.outcome}`)).toEqual([
        'cache:cache:found',
        'policy:person:not_high_value',
      ]);
    });

    it('asks for the person of a company that is high value with the right role (67 points without one, 87 with)', async () => {
      const { result, calls } = await run({
        policy: { personLookup },
        provider: async (i) => found(i.lookup === 'company' ? full : person),
      });
      expect(calls.map((c) => `${c.provider}:${c.lookup}`)).toEqual(['clearbit:company', 'clearbit:person']);
      expect(result.signups[0]).toMatchObject({ status: 'enriched', fields: { ...full, ...person } });
    });

    it('asks for the person of a company that raised enough, whatever its score', async () => {
      const { calls } = await run({
        policy: { personLookup },
        cached: { ...small, totalFundingUsd: 25_000_000 },
        provider: async () => found(person),
      });
      expect(calls.map((c) => `${c.provider}:${c.lookup}`)).toEqual(['clearbit:person']);
    });

    it('gives a free-mail signup no lookup at all: no company, so nothing high value', async () => {
      const { result, calls } = await run({
        policy: { personLookup },
        screen: async ({ signupId }) => ({ signupId, ...screened('free_mail', 'gmail.com') }),
        provider: async () => found(person),
      });
      expect(calls).toEqual([]);
      expect(result.signups[0]).toMatchObject({ status: 'skipped', creditsSpent: {} });
    });

    it('asks always when a person field is required, and under `always` (today, and policies recorded before)', async () => {
      const required = await run({
        policy: { personLookup, requiredFields: [...policy.requiredFields, 'seniority'] },
        cached: small,
        provider: async () => found(person),
      });
      expect(required.calls.map((c) => c.lookup)).toEqual(['person']);
      const always = await run({
        policy: { personLookup: { when: 'always' } },
        cached: small,
        provider: async () => found(person),
      });
      expect(always.calls.map((c) => c.lookup)).toEqual(['person']);
    });
  });
});
