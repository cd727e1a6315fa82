import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Config } from '../../src/config';
import { createIntake, type Intake } from '../../src/starter';
import { dataConverter, EncryptionCodec, type CodecKey } from '../../src/temporal/codec';
import { getStatusQuery } from '../../src/workflows/messages';
import { runEnrich } from '../support/cli';
import { ADMIN_TOKEN, testConfig } from '../support/config';
import { eventually } from '../support/eventually';
import { type RunningSandbox, startSandbox } from '../support/sandbox';
import { clearbitCompanies, deliver, signupOf } from '../support/signups';
import { isolatedStack, startWorker, type IsolatedStack, type RunningWorker } from '../support/stack';

const run = promisify(execFile);
const key = (id: string): CodecKey => ({ id, key: randomBytes(32) });
const env = (...keys: CodecKey[]) => keys.map((k) => `${k.id}:${k.key.toString('base64')}`).join(',');
const b64 = (s: string) => Buffer.from(s).toString('base64');
const unb64 = (s: string | undefined) => Buffer.from(s ?? '', 'base64').toString('utf8');

type JsonPayload = { metadata?: Record<string, string>; data?: string };

/** Every payload of a history in its JSON form (`temporal workflow show -o json`): objects with metadata and data. */
function payloadsOf(json: unknown): JsonPayload[] {
  const found: JsonPayload[] = [];
  const walk = (node: unknown) => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node && typeof node === 'object') {
      const o = node as Record<string, unknown>;
      if (o.metadata && typeof o.metadata === 'object' && ('data' in o || 'encoding' in o.metadata)) {
        found.push(o);
      } else Object.values(o).forEach(walk);
    }
  };
  walk(json);
  return found;
}

/** The history's JSON with every base64 string decoded beside it: a field in a payload cannot hide in its base64. */
function readable(historyJson: string): string {
  const decoded: string[] = [];
  for (const [, s] of historyJson.matchAll(/"([A-Za-z0-9+/=]{8,})"/g)) decoded.push(unb64(s));
  return `${historyJson}\n${decoded.join('\n')}`.toLowerCase();
}

const keyIds = (payloads: JsonPayload[]) =>
  new Set(
    payloads
      .filter((p) => unb64(p.metadata?.encoding) === 'binary/encrypted')
      .map((p) => unb64(p.metadata?.['encryption-key-id'])),
  );

/** docs/personal-data.md's `temporal workflow show … --codec-endpoint …` recipe, as written there. */
function documentedShowCommand(): string {
  const doc = readFileSync(path.join(__dirname, '../../docs/personal-data.md'), 'utf8');
  const line = doc.split('\n').find((l) => /^temporal workflow show .*--codec-endpoint/.test(l.trim()));
  if (!line) throw new Error('docs/personal-data.md gives no `temporal workflow show … --codec-endpoint` command');
  return line.trim();
}

// Payload encryption end to end: the real worker, intake, outbox and sandbox on the run's Temporal server, the codec
// on; the history read straight from the server, through the codec endpoint, by the `temporal` CLI; then a rotation.
describe('payload encryption end to end', () => {
  const stops: (() => Promise<unknown>)[] = [];
  const address = inject('temporalAddress');
  const k1 = key('k1');
  const k2 = key('k2');
  const people = clearbitCompanies.filter((c) => c.people[0]!.knownBy.clearbit);
  const first = people[0]!;
  const second = people[1]!;
  let sandbox: RunningSandbox;
  let stack: IsolatedStack;
  let plain: Client;
  let worker: RunningWorker;
  let intake: Intake;
  let base: string;
  let firstWorkflowId: string;

  const startApp = async (config: Config) => {
    worker = await startWorker(config, stack.ledger);
    intake = createIntake(config, stack.ledger, { outboxPollMs: 200 });
    base = await intake.app.listen({ host: '127.0.0.1', port: 0 });
  };
  const stopApp = async () => {
    await intake.close();
    await worker.shutdown();
  };

  /** Posts a signup of `company`'s first person and waits until its enrichment is recorded; its workflow id. */
  const enrich = async (company: (typeof people)[number]) => {
    const posted = await deliver(base, '/webhooks/posthog', signupOf(company));
    expect(posted.status).toBe(202);
    const { workflowId } = posted.body as { workflowId: string };
    await eventually(async () => {
      const rows = await stack.ledger.signups.listSignupsByWorkflowId(workflowId);
      return rows.length > 0 && rows.every((r) => r.enrichedAt !== null) ? true : undefined;
    }, 60_000);
    return workflowId;
  };
  const historyJson = async (workflowId: string) =>
    historyToJSON(await plain.workflow.getHandle(workflowId).fetchHistory());
  const decode = async (payloads: JsonPayload[], at = base) => {
    const res = await fetch(`${at}/codec/decode`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}`, 'x-namespace': 'default' },
      body: JSON.stringify({ payloads }),
    });
    return { status: res.status, body: (await res.json()) as { payloads: JsonPayload[]; error?: string } };
  };
  const fieldsOf = (company: (typeof people)[number]) => ({
    name: company.name,
    domain: company.domain,
    title: company.people[0]!.title,
    email: company.people[0]!.email,
  });

  beforeAll(async () => {
    sandbox = await startSandbox();
    stops.push(() => sandbox.close());
    stack = await isolatedStack(
      { SANDBOX_URL: sandbox.url, PAYLOAD_CODEC_KEYS: env(k1), ENRICHMENT_PERSON_LOOKUP: 'always' },
      { stops, worker: false },
    );
    const connection = await Connection.connect({ address });
    stops.push(() => connection.close());
    // No data converter: what anyone reading the server's database or API without the keys sees.
    plain = new Client({ connection });
    await startApp(stack.config);
  });

  afterAll(async () => {
    await stopApp().catch(() => undefined);
    for (const stop of stops.reverse()) await stop();
  });

  it('keeps the company name, domain, title and email out of the history; the codec endpoint decodes it in full', async () => {
    firstWorkflowId = await enrich(first);
    const fields = fieldsOf(first);
    // The enrichment found what the history would otherwise carry.
    const [row] = await stack.ledger.signups.listSignupsByWorkflowId(firstWorkflowId);
    expect(row?.enrichedAt).not.toBeNull();

    const json = await historyJson(firstWorkflowId);
    const raw = readable(json);
    for (const [field, value] of Object.entries(fields)) {
      expect(raw, `the raw history holds the ${field}`).not.toContain(value.toLowerCase());
    }
    const payloads = payloadsOf(JSON.parse(json));
    const encrypted = payloads.filter((p) => unb64(p.metadata?.encoding) === 'binary/encrypted');
    expect(encrypted.length).toBeGreaterThan(5);
    expect(keyIds(payloads)).toEqual(new Set(['k1']));
    // Search attributes are indexed in clear: the domain is left out of them while payloads are encrypted.
    const { searchAttributes } = await plain.workflow.getHandle(firstWorkflowId).describe();
    expect(searchAttributes.CompanyDomain).toBeUndefined();
    expect(searchAttributes.SignupAt).toBeDefined();

    const decoded = await decode(encrypted);
    expect(decoded.status).toBe(200);
    expect(decoded.body.payloads).toHaveLength(encrypted.length);
    const clear = decoded.body.payloads.map((p) => unb64(p.data)).join('\n');
    for (const field of ['name', 'domain', 'title'] as const) {
      expect(clear, `the decoded history lacks the ${field}`).toContain(fields[field]);
    }
    expect(decoded.body.payloads.every((p) => unb64(p.metadata?.encoding) !== 'binary/encrypted')).toBe(true);
  });

  it('shows the history decoded with `temporal workflow show --codec-endpoint`, as docs/personal-data.md says', async () => {
    const command = documentedShowCommand()
      .replace('signup-<org id>', firstWorkflowId)
      .replace('http://127.0.0.1:3000', base);
    expect(command, 'a placeholder is left').not.toMatch(/<[^>]*>/);
    const cli = (args: string) =>
      run('bash', ['-c', `"$TEMPORAL_CLI" ${args} -o json --address "$ADDRESS" --namespace default`], {
        env: { ...process.env, TEMPORAL_CLI: inject('temporalCli'), ADDRESS: address, ADMIN_TOKEN },
        maxBuffer: 64 * 1024 * 1024,
      });
    const through = await cli(command.slice('temporal '.length));
    // -o json keeps payloads in base64: decoded, the CLI's carry the fields, in json/plain.
    expect(readable(through.stdout)).toContain(first.name.toLowerCase());
    expect(readable(through.stdout)).toContain(first.people[0]!.title.toLowerCase());
    expect(through.stdout).not.toContain(b64('binary/encrypted'));
    const without = await cli(`workflow show --workflow-id ${firstWorkflowId}`);
    expect(without.stdout).toContain(b64('binary/encrypted'));
    expect(readable(without.stdout)).not.toContain(first.name.toLowerCase());
  });

  it('replays the encrypted history with the codec, and not without it', async () => {
    const history = await plain.workflow.getHandle(firstWorkflowId).fetchHistory();
    const bundle = { workflowBundle: { codePath: inject('workflowBundlePath') } };
    await expect(
      Worker.runReplayHistory({ ...bundle, dataConverter: dataConverter(stack.config) }, history, firstWorkflowId),
    ).resolves.toBeUndefined();
    await expect(Worker.runReplayHistory(bundle, history, firstWorkflowId)).rejects.toThrow();

    // `enrich replay` on the export an operator makes (`temporal workflow show -o json`), with the keys and without.
    const dir = mkdtempSync(path.join(os.tmpdir(), 'codec-replay-'));
    stops.push(() => Promise.resolve(rmSync(dir, { recursive: true, force: true })));
    const file = path.join(dir, 'history.json');
    writeFileSync(file, await historyJson(firstWorkflowId));
    const cliEnv = { WORKFLOW_BUNDLE_PATH: inject('workflowBundlePath'), TEMPORAL_ADDRESS: address };
    const replayed = await runEnrich({ ...cliEnv, PAYLOAD_CODEC_KEYS: env(k1) }, ['replay', file]);
    expect(replayed.stdout).toContain(`${file} replays against today's workflow code`);
    expect(replayed.code).toBe(0);
    const refused = await runEnrich({ ...cliEnv, PAYLOAD_CODEC_KEYS: '' }, ['replay', file]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain(`${file} does not replay`);
  });

  it('rotates: with "k2,k1" old histories still decode and replay, new ones are written under k2', async () => {
    await stopApp();
    const rotated = testConfig({
      SANDBOX_URL: sandbox.url,
      DATABASE_URL: stack.config.databaseUrl!,
      TEMPORAL_TASK_QUEUE: stack.config.temporal.taskQueue,
      ENRICHMENT_PROVIDERS: 'clearbit,harmonic',
      ENRICHMENT_PERSON_LOOKUP: 'always',
      WRITE_RETRY_INITIAL_SECONDS: '1',
      WRITE_RETRY_MAX_MINUTES: '0.05',
      PAYLOAD_CODEC_KEYS: env(k2, k1),
    });
    await startApp(rotated);

    // The old history, through the new deployment: the endpoint decodes it, and the new worker replays it to answer.
    const oldPayloads = payloadsOf(JSON.parse(await historyJson(firstWorkflowId)));
    const decodedOld = await decode(oldPayloads.filter((p) => unb64(p.metadata?.encoding) === 'binary/encrypted'));
    expect(decodedOld.status).toBe(200);
    expect(decodedOld.body.payloads.map((p) => unb64(p.data)).join('\n')).toContain(first.name);
    const client = new Client({ connection: plain.connection, dataConverter: dataConverter(rotated) });
    const status = await client.workflow.getHandle(firstWorkflowId).query(getStatusQuery);
    expect(status.signups[0]?.status).toBeDefined();

    const secondWorkflowId = await enrich(second);
    const newPayloads = payloadsOf(JSON.parse(await historyJson(secondWorkflowId)));
    expect(keyIds(newPayloads)).toEqual(new Set(['k2']));
    expect(readable(await historyJson(secondWorkflowId))).not.toContain(second.name.toLowerCase());
    const decodedNew = await decode(newPayloads.filter((p) => unb64(p.metadata?.encoding) === 'binary/encrypted'));
    expect(decodedNew.body.payloads.map((p) => unb64(p.data)).join('\n')).toContain(second.name);

    // The old key alone cannot read the new history: it names the key id it lacks.
    const oldOnly = new EncryptionCodec([k1]);
    const [one] = newPayloads.filter((p) => unb64(p.metadata?.encoding) === 'binary/encrypted');
    const asPayload = {
      metadata: Object.fromEntries(Object.entries(one!.metadata!).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
      data: Buffer.from(one!.data!, 'base64'),
    };
    await expect(oldOnly.decode([asPayload])).rejects.toThrow(/key id "k2", which PAYLOAD_CODEC_KEYS does not list/);
  });
});
