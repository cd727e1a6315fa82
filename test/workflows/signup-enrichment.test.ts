import { randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { LedgerActivities, ScreenSignupResult } from '../../src/activities/ledger';
import { ErrorType } from '../../src/domain/errors';
import { addSearchAttributes } from '../../src/temporal/search-attributes';
import { getStatusQuery, signupReceivedSignal } from '../../src/workflows/messages';
import { SignupEnrichmentWorkflow } from '../../src/workflows/signup-enrichment';
import '../helpers';

// Workflow logic on the time-skipping test server, with typed activity mocks.
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

  const outcomes: Record<string, Omit<ScreenSignupResult, 'signupId'>> = {
    work: {
      status: 'received',
      emailKind: 'work',
      domain: 'lumenforge.io',
      signedUpAt: '2026-11-23T14:05:11.482Z',
      reason: undefined,
    },
    free: {
      status: 'skipped',
      emailKind: 'free_mail',
      domain: 'gmail.com',
      signedUpAt: '2026-11-23T15:00:00.000Z',
      reason: 'free_mail',
    },
  };

  async function run(
    screen: LedgerActivities['screenSignup'],
    signupId: string,
    during?: (workflowId: string) => Promise<void>,
  ) {
    const taskQueue = `wf-${randomUUID()}`;
    const activities: LedgerActivities = { screenSignup: screen };
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowBundle: { codePath: inject('workflowBundlePath') },
      activities,
    });
    return worker.runUntil(async () => {
      const workflowId = `signup-${randomUUID()}`;
      const handle = await env.client.workflow.start(SignupEnrichmentWorkflow, {
        workflowId,
        taskQueue,
        args: [{ signupId }],
      });
      await during?.(workflowId);
      const result = await handle.result();
      const description = await handle.describe();
      return { result, description, status: await handle.query(getStatusQuery) };
    });
  }

  it('screens a work-email signup and upserts CompanyDomain and SignupAt', async () => {
    const { result, description, status } = await run(async ({ signupId }) => ({ signupId, ...outcomes.work! }), 's-1');
    expect(result).toEqual({
      status: 'received',
      companyDomain: 'lumenforge.io',
      signups: [{ signupId: 's-1', status: 'received', emailKind: 'work', domain: 'lumenforge.io', reason: undefined }],
    });
    expect(status).toEqual(result);
    expect(description.searchAttributes).toMatchObject({
      EnrichmentStatus: ['received'],
      CompanyDomain: ['lumenforge.io'],
      SignupAt: [new Date('2026-11-23T14:05:11.482Z')],
    });
  });

  it('skips a free-mail signup and sets no company domain', async () => {
    const { result, description } = await run(async ({ signupId }) => ({ signupId, ...outcomes.free! }), 's-2');
    expect(result.status).toBe('skipped');
    expect(result.companyDomain).toBeUndefined();
    expect(description.searchAttributes.EnrichmentStatus).toEqual(['skipped']);
    expect(description.searchAttributes.CompanyDomain).toBeUndefined();
  });

  it('handles later signups of the organization sent by signal, each once', async () => {
    let releaseFirst: () => void = () => undefined;
    const firstHeld = new Promise<void>((resolve) => (releaseFirst = resolve));
    const screened: string[] = [];
    const { result } = await run(
      async ({ signupId }) => {
        screened.push(signupId);
        if (signupId === 'first') await firstHeld;
        return { signupId, ...(signupId === 'first' ? outcomes.free! : outcomes.work!) };
      },
      'first',
      async (workflowId) => {
        const handle = env.client.workflow.getHandle(workflowId);
        await handle.signal(signupReceivedSignal, { signupId: 'first' });
        await handle.signal(signupReceivedSignal, { signupId: 'second' });
        await handle.signal(signupReceivedSignal, { signupId: 'second' });
        releaseFirst();
      },
    );
    expect(screened).toEqual(['first', 'second']);
    expect(result.signups.map((s) => [s.signupId, s.status])).toEqual([
      ['first', 'skipped'],
      ['second', 'received'],
    ]);
    // A work-email signup carries the organization, even when a free-mail one came first.
    expect(result).toMatchObject({ status: 'received', companyDomain: 'lumenforge.io' });
  });

  it('marks a signup failed when the ledger has lost it, instead of retrying forever', async () => {
    const { result, description } = await run(async () => {
      throw ApplicationFailure.create({ type: ErrorType.SignupNotFound, message: 'gone', nonRetryable: true });
    }, 's-3');
    expect(result.status).toBe('failed');
    expect(result.signups[0]?.reason).toContain('Activity task failed');
    expect(description.searchAttributes.EnrichmentStatus).toEqual(['failed']);
  });

  it('retries a transient ledger error until it succeeds', async () => {
    let calls = 0;
    const { result } = await run(async ({ signupId }) => {
      calls++;
      if (calls < 3) throw new Error('connection reset');
      return { signupId, ...outcomes.work! };
    }, 's-4');
    expect(calls).toBe(3);
    expect(result.status).toBe('received');
  });
});
