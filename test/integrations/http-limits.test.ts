import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { heartbeating } from '../../src/activities/support';
import { createSalesforceClient } from '../../src/integrations/salesforce/client';
import { destinationCall, MAX_RESPONSE_BYTES, providerCall } from '../../src/integrations/http';
import type { EnrichedSignup } from '../../src/domain/fan-out';

/** A local HTTP server on an OS-picked port; `requests` sees every request that reached it. */
async function startServer(handler: (req: IncomingMessage, res: ServerResponse) => void) {
  const requests: IncomingMessage[] = [];
  const server: Server = createServer((req, res) => {
    requests.push(req);
    handler(req, res);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

type Running = Awaited<ReturnType<typeof startServer>>;

/** Resolves when the request's connection is closed by the client (the call was aborted, not just abandoned). */
const closedByClient = (req: IncomingMessage) =>
  new Promise<void>((resolve) => req.socket.once('close', () => resolve()));

const waitForRequest = async (server: Running, n = 1) => {
  while (server.requests.length < n) await new Promise((r) => setTimeout(r, 10));
  return server.requests[n - 1]!;
};

describe('limits on outside HTTP calls', () => {
  let huge: Running;
  let declared: Running;
  let silent: Running;
  let salesforce: Running;

  beforeAll(async () => {
    // An answer that never ends: only the byte cap stops reading it.
    huge = await startServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(64 * 1024, 'a');
      const pump = () => {
        while (res.write(chunk));
        res.once('drain', pump);
      };
      res.on('close', () => res.removeAllListeners('drain'));
      pump();
    });
    // An answer that says up front it is too large.
    declared = await startServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(MAX_RESPONSE_BYTES + 1) });
      res.write('{');
    });
    // A server that accepts the request and never answers.
    silent = await startServer(() => undefined);
    // A Salesforce login service that hands out a session, then an org that never answers.
    salesforce = await startServer((req, res) => {
      if (req.url?.startsWith('/services/oauth2/token')) {
        const base = `http://${req.headers.host}`;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            access_token: '00Dxx0000000001!token',
            instance_url: base,
            id: `${base}/id/00Dxx0000000001EAA/005xx0000000001AAA`,
            token_type: 'Bearer',
            issued_at: '1764000000000',
            signature: 'sig',
          }),
        );
      }
    });
  });

  afterAll(async () => {
    for (const s of [huge, declared, silent, salesforce]) await s?.close();
  });

  it('cuts off an endless answer at MAX_RESPONSE_BYTES as a transient outcome', async () => {
    const outcome = await providerCall('clearbit', `${huge.url}/v2/companies/find?domain=acme.com`, {
      timeoutMs: 30_000,
    });
    expect(outcome).toMatchObject({
      kind: 'transient',
      provider: 'clearbit',
      detail: expect.stringContaining(`over the ${MAX_RESPONSE_BYTES}-byte limit`) as unknown,
    });
    // The query (it may carry an email) stays out of the detail.
    expect(JSON.stringify(outcome)).not.toContain('acme.com');
  });

  it('refuses an answer whose Content-Length is over the limit without reading it', async () => {
    const outcome = await destinationCall(`${declared.url}/batch/`, { method: 'POST', body: {}, timeoutMs: 30_000 });
    expect(outcome).toMatchObject({
      kind: 'transient',
      detail: expect.stringContaining(`${MAX_RESPONSE_BYTES + 1} bytes is over`) as unknown,
    });
  });

  it('ends a call to a server that never answers at its deadline, closing the connection', async () => {
    const before = silent.requests.length;
    const outcome = destinationCall(`${silent.url}/resources/accounts`, { method: 'POST', body: {}, timeoutMs: 300 });
    const closed = closedByClient(await waitForRequest(silent, before + 1));
    expect(await outcome).toMatchObject({
      kind: 'transient',
      detail: expect.stringMatching(/TimeoutError/) as unknown,
    });
    await closed;
  });

  it('aborts the call when its activity is cancelled, and the activity ends cancelled', async () => {
    const before = silent.requests.length;
    const env = new MockActivityEnvironment();
    const call = env.run(() =>
      destinationCall(`${silent.url}/batch/`, { method: 'POST', body: {}, timeoutMs: 60_000 }),
    );
    const closed = closedByClient(await waitForRequest(silent, before + 1));
    env.cancel();
    await expect(call).rejects.toBeInstanceOf(CancelledFailure);
    await closed;
  });

  it("gives jsforce's calls the client's deadline (login and org calls alike)", async () => {
    // The login service never answers.
    expect(await salesforceClient(silent.url, 300).writeEnrichment(signup)).toEqual({
      kind: 'transient',
      detail: 'Salesforce unavailable (no answer within DESTINATION_TIMEOUT_MS)',
    });
    // The session is granted, the org never answers.
    const before = salesforce.requests.length;
    const outcome = salesforceClient(salesforce.url, 300).writeEnrichment(signup);
    const closed = closedByClient(await waitForRequest(salesforce, before + 2));
    expect(await outcome).toEqual({
      kind: 'transient',
      detail: 'Salesforce unavailable (no answer within DESTINATION_TIMEOUT_MS)',
    });
    await closed;
  });

  it('ends a cancelled write activity at once even while jsforce (which takes no signal) waits', async () => {
    const before = salesforce.requests.length;
    const env = new MockActivityEnvironment();
    const write = env.run(() => heartbeating(() => salesforceClient(salesforce.url, 60_000).writeEnrichment(signup)));
    await waitForRequest(salesforce, before + 2);
    env.cancel();
    await expect(write).rejects.toBeInstanceOf(CancelledFailure);
  });
});

const signup = {
  signupId: 's-1',
  personKey: 'p-1',
  emailKind: 'work',
  domain: 'acme.com',
  fields: { companyName: 'Acme' },
  provenance: {},
} as unknown as EnrichedSignup;

const salesforceClient = (loginUrl: string, timeoutMs: number) =>
  createSalesforceClient({
    loginUrl,
    apiVersion: '62.0',
    clientId: 'id',
    clientSecret: 'secret',
    username: undefined,
    password: undefined,
    accountExternalIdField: 'Company_Domain__c',
    contactExternalIdField: 'Signup_Person_Id__c',
    leadExternalIdField: 'Signup_Person_Id__c',
    personalEmailPolicy: 'skip',
    onDuplicate: 'fail',
    fieldPolicy: {},
    requestLimitWaitMs: 60_000,
    timeoutMs,
  });
