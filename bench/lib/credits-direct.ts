import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createProviderClients } from '../../src/composition';
import { loadConfig, type Config } from '../../src/config';
import { COMPANY_FIELDS, type IcpField, type IcpFields } from '../../src/domain/icp/fields';
import type { ProviderOutcome } from '../../src/domain/provider-outcome';
import { clayCompanyFields, clayResultSchema } from '../../src/integrations/clay/result';
import { buildSandbox } from '../../src/sandbox/server';
import { COST_ORDER, type BenchProvider, type BenchSignup } from './credits-dataset';

/**
 * The credits benchmark's sandbox, and the two ways of enriching it compares ours with, run with our own provider
 * clients (src/integrations) over HTTP: a Clay-style per-row waterfall and every provider for every signup.
 */

export interface BenchSandbox {
  url: string;
  /** Credits each provider charged so far (`/_inspect/<provider>` creditsSpent). */
  credits(): Promise<Record<BenchProvider, number>>;
  close(): Promise<void>;
}

/** A sandbox with the rate limits lifted and Clay answering at once: credits, not speed, are measured here. */
export async function startBenchSandbox(): Promise<BenchSandbox> {
  const sandbox = buildSandbox({
    controls: {
      clearbit: { rateLimitPerSecond: null },
      harmonic: { rateLimitPerSecond: null },
      clay: { resultDelayMs: 0 },
    },
  });
  const url = await sandbox.listen({ host: '127.0.0.1', port: 0 });
  return {
    url,
    async credits() {
      const spent = {} as Record<BenchProvider, number>;
      for (const system of COST_ORDER) {
        const res = await fetch(`${url}/_inspect/${system}`);
        spent[system] = ((await res.json()) as { creditsSpent: number }).creditsSpent;
      }
      return spent;
    },
    close: () => sandbox.close(),
  };
}

/** The configuration our clients are built from, pointed at `sandboxUrl`. */
export function benchConfig(sandboxUrl: string, env: Record<string, string> = {}): Config {
  return loadConfig({
    ...process.env,
    SANDBOX_URL: sandboxUrl,
    ENRICHMENT_MODE: 'sandbox',
    LOG_LEVEL: 'silent',
    ...env,
  });
}

/** Receives Clay's results (the table's HTTP API column) and hands each to whoever waits for its row. */
async function clayReceiver(): Promise<{
  url: string;
  result(rowId: string): Promise<IcpFields>;
  close(): Promise<void>;
}> {
  const waiting = new Map<string, (fields: IcpFields) => void>();
  const arrived = new Map<string, IcpFields>();
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      const parsed = clayResultSchema.safeParse(JSON.parse(body || '{}'));
      if (parsed.success) {
        const fields = clayCompanyFields(parsed.data);
        const resolve = waiting.get(parsed.data.request_id);
        if (resolve) resolve(fields);
        else arrived.set(parsed.data.request_id, fields);
      }
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/webhooks/clay`,
    result: (rowId) =>
      new Promise((resolve, reject) => {
        const early = arrived.get(rowId);
        if (early) return resolve(early);
        const timer = setTimeout(() => reject(new Error(`no Clay result for row ${rowId} in 30 s`)), 30_000);
        waiting.set(rowId, (fields) => {
          clearTimeout(timer);
          resolve(fields);
        });
      }),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/**
 * `per_row`: a Clay-style table — every row looked up on its own, company providers in cost order until the required
 * company fields are filled, then person providers until the role is known; nothing shared between rows.
 * `every_provider`: every company provider and every person provider for every signup.
 * Free-mail rows get the person lookups only, as ours do (a lookup of gmail.com would find nothing, and nothing
 * found costs no credit in the sandbox: the credits would be the same).
 */
export async function enrichDirectly(
  sandbox: BenchSandbox,
  signups: readonly BenchSignup[],
  mode: 'per_row' | 'every_provider',
  options: { requiredFields: readonly IcpField[]; concurrency: number },
): Promise<{ fields: (IcpFields | undefined)[]; personCredits: number }> {
  const clay = await clayReceiver();
  try {
    await fetch(`${sandbox.url}/_control/clay`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ callbackUrl: clay.url, callbackAuth: 'bench' }),
    });
    const clients = createProviderClients(benchConfig(sandbox.url));
    const requiredCompany = options.requiredFields.filter((f) => COMPANY_FIELDS.includes(f));
    const missing = (fields: IcpFields, wanted: readonly IcpField[]) => wanted.some((f) => fields[f] === undefined);
    const fill = (fields: IcpFields, more: IcpFields): IcpFields => ({ ...more, ...fields });

    const company = async (provider: BenchProvider, domain: string): Promise<IcpFields> => {
      const rowId = randomUUID();
      const outcome = await clients[provider]!.company(domain, { signupId: rowId, workflowId: 'bench' });
      if (provider === 'clay' && outcome.kind === 'queued') return clay.result(rowId);
      return fieldsOf(outcome);
    };
    let personCredits = 0;
    const person = async (provider: BenchProvider, email: string): Promise<IcpFields> => {
      const client = clients[provider];
      if (!client?.person) return {};
      const outcome = await client.person(email);
      if (outcome.kind === 'found') personCredits++;
      return fieldsOf(outcome);
    };
    const personProviders = COST_ORDER.filter((p) => clients[p]?.person !== undefined);

    const enrichOne = async (s: BenchSignup): Promise<IcpFields> => {
      let fields: IcpFields = {};
      if (s.company) {
        for (const provider of COST_ORDER) {
          if (mode === 'per_row' && !missing(fields, requiredCompany)) break;
          fields = fill(fields, await company(provider, s.company.domain));
        }
      }
      for (const provider of personProviders) {
        if (mode === 'per_row' && fields.role !== undefined) break;
        fields = fill(fields, await person(provider, s.email));
      }
      return fields;
    };

    const results = new Array<IcpFields | undefined>(signups.length);
    let next = 0;
    await Promise.all(
      Array.from({ length: options.concurrency }, async () => {
        for (let i = next++; i < signups.length; i = next++) results[i] = await enrichOne(signups[i]!);
      }),
    );
    return { fields: results, personCredits };
  } finally {
    await clay.close();
  }
}

function fieldsOf(outcome: ProviderOutcome): IcpFields {
  if (outcome.kind === 'found') return outcome.fields;
  if (outcome.kind === 'not_found' || outcome.kind === 'queued') return {};
  throw new Error(`${outcome.provider}: ${outcome.kind}${'detail' in outcome ? ` (${outcome.detail})` : ''}`);
}
