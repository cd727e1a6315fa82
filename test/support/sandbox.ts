import type { FastifyInstance } from 'fastify';
import { buildSandbox } from '../../src/sandbox/server';
import type { ControlPatches } from '../../src/sandbox/state';

/** A sandbox without the providers' default rate limits, so a burst of test requests is never throttled. */
export function testSandbox(
  controls: ControlPatches = {},
  options: { salesforceAccounts?: number } = {},
): FastifyInstance {
  return buildSandbox({
    ...options,
    controls: {
      ...controls,
      clearbit: { rateLimitPerSecond: null, ...controls.clearbit },
      harmonic: { rateLimitPerSecond: null, ...controls.harmonic },
      clay: { resultDelayMs: 0, ...controls.clay },
    },
  });
}

export interface Inspection {
  control: Record<string, unknown>;
  counts: { requests: number; byStatus: Record<string, number> };
  creditsSpent: number;
  creditsRemaining: number | null;
  calls: {
    kind: string;
    method: string;
    path: string;
    key: string | null;
    status: number;
    creditsCharged: number;
    note?: string;
  }[];
  rows?: Record<string, number>;
  /** Destinations: what each holds, by record type (see RecordStore in src/sandbox/state.ts). */
  records?: Record<
    string,
    { type: string; key: string; id: string; fields: Record<string, unknown>; writes: number }[]
  >;
  /** Destinations: records deleted through the system's API, by type and system id. */
  deleted?: { type: string; id: string; at: string }[];
}

export async function inspect(app: FastifyInstance, system: string): Promise<Inspection> {
  const res = await app.inject({ method: 'GET', url: `/_inspect/${system}` });
  return res.json<Inspection>();
}

export async function control(app: FastifyInstance, system: string, body: unknown) {
  return app.inject({ method: 'POST', url: `/_control/${system}`, payload: body as object });
}

export interface RunningSandbox {
  url: string;
  control(system: string, patch: Record<string, unknown>): Promise<void>;
  inspect<T = Record<string, unknown>>(system: string): Promise<T>;
  close(): Promise<void>;
}

/**
 * The sandbox on a port of its own (the providers' real wire formats over real HTTP), without the providers' default
 * rate limits unless a test sets them. `clayCallbackUrl` is where its Clay table posts results.
 */
export async function startSandbox(
  controls: ControlPatches = {},
  options: { salesforceAccounts?: number } = {},
): Promise<RunningSandbox> {
  const app = testSandbox(controls, options);
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return {
    url,
    async control(system, patch) {
      const res = await fetch(`${url}/_control/${system}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(patch),
      });
      if (res.status !== 200) throw new Error(`sandbox control ${system}: ${res.status} ${await res.text()}`);
    },
    async inspect<T>(system: string) {
      return (await (await fetch(`${url}/_inspect/${system}`)).json()) as T;
    },
    close: () => app.close(),
  };
}

/** Someone else in the sandbox's Salesforce org (a rep working by hand), creating records through the REST API. */
export interface SalesforceRep {
  /** Creates a record as an insert (the duplicate rules apply) and returns its Id. */
  create(type: 'Account' | 'Contact' | 'Lead', fields: Record<string, unknown>): Promise<string>;
}

export async function salesforceRep(sandbox: RunningSandbox): Promise<SalesforceRep> {
  const login = await fetch(`${sandbox.url}/salesforce/services/oauth2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials&client_id=rep&client_secret=rep',
  });
  if (login.status !== 200) throw new Error(`sandbox Salesforce login: ${login.status} ${await login.text()}`);
  const { access_token: token } = (await login.json()) as { access_token: string };
  return {
    async create(type, fields) {
      const res = await fetch(`${sandbox.url}/salesforce/services/data/v62.0/sobjects/${type}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(fields),
      });
      if (res.status !== 201) throw new Error(`sandbox Salesforce create ${type}: ${res.status} ${await res.text()}`);
      return ((await res.json()) as { id: string }).id;
    },
  };
}
