import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createActivities } from '../../src/activities';
import type { ProviderCallInput } from '../../src/activities/enrichment';
import { createActivityDeps } from '../../src/composition';
import type { Config } from '../../src/config';
import type { Ledger } from '../../src/ledger/ledger';
import { createDataset, type Company } from '../../src/sandbox/dataset';
import { startSignup, type SignupFleet } from '../../src/temporal/signups';
import { createProviderWorkers, workerGroup } from '../../src/worker';
import { BACKFILL_PRIORITY, providerTaskQueue } from '../../src/workflows/messages';
import { eventually } from '../support/eventually';
import { type RunningSandbox, startSandbox } from '../support/sandbox';
import { isolatedStack } from '../support/stack';

/**
 * The order in which one provider's task queue serves its backlog, on the run's dev server with the real workflow
 * and activities: the Clearbit queue has no worker while signups pile up, then one worker taking one call at a time
 * drains it. Each test records the calls in the order that worker took them.
 */
describe('provider task queues: priority and organizations', () => {
  const stops: (() => Promise<unknown>)[] = [];
  let sandbox: RunningSandbox;
  let config: Config;
  let ledger: Ledger;
  let connection: NativeConnection;
  let client: Client;
  let fleet: SignupFleet;
  let activities: ReturnType<typeof createActivities>;
  // Companies Clearbit knows completely: one company lookup fills every required field.
  const companies = createDataset().companies.filter(
    (c) => c.knownBy.clearbit && c.clearbitHasIndustry && !c.quirks && c.people.length > 1,
  );
  let nextCompany = 0;
  const company = (): Company => companies[nextCompany++]!;

  beforeAll(async () => {
    sandbox = await startSandbox();
    stops.push(() => sandbox.close());
    ({ config, ledger } = await isolatedStack(
      { SANDBOX_URL: sandbox.url, ENRICHMENT_PROVIDERS: 'clearbit', DESTINATIONS: '' },
      { stops, worker: false },
    ));
    connection = await NativeConnection.connect({ address: config.temporal.address });
    stops.push(() => connection.close());
    const clientConnection = await Connection.connect({ address: config.temporal.address });
    stops.push(() => clientConnection.close());
    client = new Client({ connection: clientConnection });
    fleet = { client, taskQueue: config.temporal.taskQueue };
    activities = createActivities(createActivityDeps(config, { ledger, temporal: () => Promise.resolve(fleet) }));
    // The workflows' queue and the other providers' queues are served all along; only Clearbit's waits.
    const main = await Worker.create({
      connection,
      taskQueue: config.temporal.taskQueue,
      workflowBundle: { codePath: inject('workflowBundlePath') },
      activities,
    });
    const others = await createProviderWorkers({
      connection,
      taskQueue: config.temporal.taskQueue,
      activities,
      rates: {},
      providers: ['harmonic', 'clay'],
    });
    const workers = workerGroup([main, ...others]);
    const running = workers.run();
    stops.push(async () => {
      workers.shutdown();
      await running;
    });
  });

  afterAll(async () => {
    for (const stop of stops.reverse()) await stop();
  });

  /** Records a work-email signup of `person` in organization `org` and hands it to the org's workflow. */
  async function signUp(org: string, email: string, priority?: typeof BACKFILL_PRIORITY): Promise<string> {
    const workflowId = `signup-${org}`;
    const { signup } = await ledger.signups.recordSignup({
      source: 'api',
      eventUuid: undefined,
      dedupeKey: randomUUID(),
      workflowId,
      email,
      emailDomain: email.split('@')[1],
      distinctId: email,
      personId: undefined,
      name: undefined,
      organizationId: org,
      organizationName: undefined,
      signedUpAt: new Date().toISOString(),
      status: 'received',
      statusReason: undefined,
      payload: {},
    });
    const signedUp = { id: signup.id, workflowId, signedUpAt: signup.signedUpAt, emailDomain: signup.emailDomain };
    await startSignup(fleet, signedUp, priority ? { rerunBy: 'backfill-priority-test', priority } : {});
    return signup.id;
  }

  /** Waits until each workflow has a Clearbit call pending: the whole backlog is on the queue. */
  async function backlogged(workflowIds: string[]): Promise<void> {
    await eventually(async () => {
      for (const id of workflowIds) {
        const { raw } = await client.workflow.getHandle(id).describe();
        if ((raw.pendingActivities ?? []).length === 0) return undefined;
      }
      return true;
    }, 60_000);
  }

  /** Serves the Clearbit queue one call at a time until every signup in `signupIds` is settled; returns the calls. */
  async function drainClearbit(signupIds: string[]): Promise<ProviderCallInput[]> {
    const taken: ProviderCallInput[] = [];
    const worker = await Worker.create({
      connection,
      taskQueue: providerTaskQueue(config.temporal.taskQueue, 'clearbit'),
      maxConcurrentActivityTaskExecutions: 1,
      activities: {
        callProvider: (input: ProviderCallInput) => {
          taken.push(input);
          return activities.callProvider(input);
        },
        checkScheduledEnrichment: (input: Parameters<typeof activities.checkScheduledEnrichment>[0]) =>
          activities.checkScheduledEnrichment(input),
      },
    });
    await workerGroup([worker]).runUntil(() =>
      eventually(async () => {
        for (const id of signupIds) {
          const row = await ledger.signups.getSignup(id);
          if (!row || !['enriched', 'partial', 'not_found'].includes(row.status)) return undefined;
        }
        return true;
      }, 90_000),
    );
    return taken;
  }

  it('serves live signups before a backfill that was queued first', async () => {
    const run = randomUUID().slice(0, 8);
    const orgs = {
      backfill: [0, 1, 2, 3].map((i) => `bf-${run}-${i}`),
      live: [0, 1, 2].map((i) => `live-${run}-${i}`),
    };
    const backfill: string[] = [];
    for (const org of orgs.backfill) backfill.push(await signUp(org, company().people[0]!.email, BACKFILL_PRIORITY));
    const live: string[] = [];
    for (const org of orgs.live) live.push(await signUp(org, company().people[0]!.email));
    await backlogged([...orgs.backfill, ...orgs.live].map((org) => `signup-${org}`));

    const taken = await drainClearbit([...backfill, ...live]);
    const companyLookups = taken.filter((c) => c.lookup === 'company').map((c) => c.signupId);
    expect(companyLookups).toHaveLength(7);
    // Every live company lookup went before every backfill one, though the backfill's were queued first.
    expect(companyLookups.slice(0, 3).sort()).toEqual([...live].sort());
    expect(companyLookups.slice(3).sort()).toEqual([...backfill].sort());
  });

  it("does not leave another organization's signup behind one organization's burst", async () => {
    const run = randomUUID().slice(0, 8);
    const burstCompany = company();
    const burst: string[] = [];
    for (const person of burstCompany.people.slice(0, 6)) burst.push(await signUp(`a-${run}`, person.email));
    const single = await signUp(`b-${run}`, company().people[0]!.email);
    await backlogged([`signup-a-${run}`, `signup-b-${run}`]);

    const taken = await drainClearbit([...burst, single]);
    const order = taken.map((c) => c.signupId);
    // Organization A's signups are worked one after another by its one workflow, so at most one of its calls is
    // queued at a time: B's lookups are served among the first, not after A's whole burst.
    const firstOfB = order.indexOf(single);
    const lastOfA = Math.max(...burst.map((id) => order.lastIndexOf(id)));
    expect(burst.every((id) => order.includes(id))).toBe(true);
    expect(firstOfB).toBeLessThanOrEqual(1);
    expect(order.lastIndexOf(single)).toBeLessThan(lastOfA);
  });
});
