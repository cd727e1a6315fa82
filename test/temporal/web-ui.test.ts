import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { utcDay } from '../../src/domain/health';
import { EnrichmentStatusKey, SignupAtKey } from '../../src/domain/search-attributes';
import { scheduleDefinitions } from '../../src/temporal/schedules';
import { webUiLinks, webUiListUrl, webUiQueries } from '../../src/temporal/web-ui';
import { WorkflowType } from '../../src/workflows/messages';
import { eventually } from '../support/eventually';
import { startSandbox, type RunningSandbox } from '../support/sandbox';
import { isolatedStack, type IsolatedStack } from '../support/stack';
import { webUiMetadata } from '../support/workflows';

const readme = readFileSync(path.resolve(__dirname, '../../README.md'), 'utf8');
const UI = 'http://127.0.0.1:8233';
/** Every Web UI list link of the README, as written. */
const readmeLinks = [
  ...readme.matchAll(/\]\((http:\/\/127\.0\.0\.1:8233\/namespaces\/[^)\s]+\/workflows\?[^)\s]+)\)/g),
].map((m) => m[1]!);

/** A link's visibility query: decoded from `?query=`, after checking it is encoded as encodeURIComponent encodes. */
function queryOf(link: string): string {
  const url = new URL(link);
  const query = url.searchParams.get('query');
  if (query === null) throw new Error(`${link} has no query`);
  expect(link.slice(link.indexOf('?query=') + '?query='.length)).toBe(encodeURIComponent(query));
  expect(webUiListUrl(UI, decodeURIComponent(url.pathname.split('/')[2]!), query)).toBe(link);
  return query;
}

// The links that open the Web UI pre-filtered (README, `npm start`'s banner): well encoded, and each query one the
// run's Temporal server accepts and answers with the workflows it names.
describe('Web UI links', () => {
  let client: Client;
  const taskQueue = `web-ui-links-${randomUUID()}`;
  const handles: WorkflowHandle[] = [];
  const today = utcDay(Date.now());

  /** A signup workflow as the server lists it (no worker polls its queue: it stays as started). */
  const started = async (status: string, signupAt: string) => {
    const handle = await client.workflow.start(WorkflowType.signupEnrichment, {
      taskQueue,
      workflowId: `web-ui-${status}-${randomUUID()}`,
      args: [{ signupId: randomUUID() }],
      typedSearchAttributes: [
        { key: EnrichmentStatusKey, value: status },
        { key: SignupAtKey, value: new Date(signupAt) },
      ],
    });
    handles.push(handle);
    return handle.workflowId;
  };

  beforeAll(async () => {
    client = new Client({ connection: await Connection.connect({ address: inject('temporalAddress') }) });
  });
  afterAll(async () => {
    for (const handle of handles) await handle.terminate('test over').catch(() => undefined);
    await client?.connection.close();
  });

  /** The workflows of this test's queue the query lists, once visibility has caught up with `expected`. */
  const listed = (query: string, expected: string[]) =>
    eventually(async () => {
      const ids: string[] = [];
      for await (const w of client.workflow.list({ query: `${query} AND TaskQueue="${taskQueue}"` })) {
        ids.push(w.workflowId);
      }
      return ids.sort().join() === [...expected].sort().join() ? ids : undefined;
    }, 30_000);

  it('README links: waiting for credits, failed and signed up since a day, each listing what it says', async () => {
    const queries = readmeLinks.map(queryOf);
    expect(queries).toEqual([
      webUiQueries.withStatus('waiting_for_credits'),
      webUiQueries.withStatus('failed'),
      webUiQueries.signedUpSince('2026-11-20'),
    ]);
    const waiting = await started('waiting_for_credits', '2026-11-21T10:00:00Z');
    const failed = await started('failed', '2026-11-19T23:59:59Z');
    const enriched = await started('enriched', '2026-11-20T00:00:00Z');
    await listed(queries[0]!, [waiting]);
    await listed(queries[1]!, [failed]);
    await listed(queries[2]!, [waiting, enriched]);
  });

  it("npm start's links: the same lists on its UI, today's signups among them", async () => {
    const links = webUiLinks(`${UI}/`, 'default', today);
    expect(links.map((l) => l.label)).toEqual(['waiting for credits', 'failed', 'signed up today']);
    const queries = links.map((l) => queryOf(l.url));
    expect(queries.slice(0, 2)).toEqual(readmeLinks.slice(0, 2).map(queryOf));
    const now = await started('enriching', new Date().toISOString());
    const yesterday = await started('partial', `${utcDay(Date.now() - 86_400_000)}T12:00:00Z`);
    const ids = await listed(queries[2]!, [now]);
    expect(ids).not.toContain(yesterday);
  });

  it('each query is one the temporal CLI takes, as the docs write it', async () => {
    for (const query of [...readmeLinks, ...webUiLinks(UI, 'default', today).map((l) => l.url)].map(queryOf)) {
      const { stdout } = await promisify(execFile)(inject('temporalCli'), [
        'workflow',
        'list',
        '--address',
        inject('temporalAddress'),
        '--query',
        `${query} AND TaskQueue="${taskQueue}"`,
        '-o',
        'json',
      ]);
      expect(Array.isArray(JSON.parse(stdout || '[]'))).toBe(true);
    }
  });
});

// What the Web UI shows of each workflow type the schedules start, run by the real worker against the sandbox and a
// ledger of its own: the schedule's summary, and the details the workflow sets while it runs and when it ends.
describe('Web UI summaries and details of the scheduled workflows', () => {
  const stops: (() => Promise<unknown>)[] = [];
  let sandbox: RunningSandbox;
  let stack: IsolatedStack;
  let client: Client;

  beforeAll(async () => {
    sandbox = await startSandbox({}, { salesforceAccounts: 3 });
    stops.push(() => sandbox.close());
    stack = await isolatedStack({ SANDBOX_URL: sandbox.url, DESTINATIONS: '' }, { stops });
    client = new Client({ connection: await Connection.connect({ address: stack.config.temporal.address }) });
    stops.push(() => client.connection.close());
  });
  afterAll(async () => {
    for (const stop of stops.reverse()) await stop();
  });

  it.each([
    [
      WorkflowType.creditExhaustionDetector,
      'Enrichment health check of the day before · daily schedule',
      /^\*\*Health check of \d{4}-\d\d-\d\d\*\*: /,
    ],
    [
      WorkflowType.salesforceReEnrichment,
      'Salesforce re-enrichment · weekend schedule',
      /^\*Salesforce re-enrichment\* \S+: /,
    ],
    [
      WorkflowType.purgeExpiredRawData,
      'Purge of raw data older than RAW_DATA_RETENTION_DAYS · daily schedule',
      /^purged 0 signup payloads and 0 provider answers received before \S+ \(retention \d+ days\)$/,
    ],
  ])(
    '%s started by its schedule',
    async (type, summary, details) => {
      const definition = scheduleDefinitions(stack.config).find(
        (d) => d.action.type === 'startWorkflow' && d.action.workflowType === type,
      )!;
      // The deployment's definition on an id of this test's own (schedules are per namespace).
      const scheduleId = `${definition.scheduleId}-${randomUUID()}`;
      const schedule = await client.schedule.create({ ...definition, scheduleId, state: { paused: true } });
      stops.push(() => schedule.delete().catch(() => undefined));
      await schedule.trigger();
      const workflowId = await eventually(
        async () => (await schedule.describe()).info.recentActions[0]?.action.workflow.workflowId,
        30_000,
      );
      const handle = client.workflow.getHandle(workflowId);
      await handle.result();
      const ui = await webUiMetadata(handle);
      expect(ui.summary).toBe(summary);
      expect(ui.details).toMatch(details);
    },
    120_000,
  );
});
