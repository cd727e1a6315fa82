import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { z } from 'zod';
import { runMain } from '../process';
import { clayPlugin } from './clay';
import { clearbitPlugin } from './clearbit';
import { closePlugin } from './close';
import { createDataset, DEFAULT_SEED, DNS_FIXTURE_DOMAINS, FIXTURE_DOMAINS } from './dataset';
import { datasetZone, DNS_RCODE, startDnsServer, type DnsFailure, type DnsServer } from './dns';
import { harmonicPlugin } from './harmonic';
import { humanicPlugin } from './humanic';
import { posthogPlugin } from './posthog';
import { accountTable, salesforcePlugin, seedSalesforceAccounts } from './salesforce';
import { slackPlugin } from './slack';
import { vitallyPlugin } from './vitally';
import { customerioPlugin } from './customerio';
import { mixpanelPlugin } from './mixpanel';
import { webhooksPlugin } from './webhooks';
import {
  DESTINATION_SYSTEMS,
  type DestinationSystem,
  isSandboxSystem,
  parseControlPatch,
  SANDBOX_SYSTEMS,
  SandboxState,
  type ControlPatches,
  type SandboxSystem,
} from './state';

export interface SandboxOptions {
  /** Seed of the data set and of the failure draws (default DEFAULT_SEED). */
  seed?: number;
  /** Initial controls per system, on top of DEFAULT_CONTROLS; `POST /_reset` returns to these. */
  controls?: ControlPatches;
  logger?: FastifyServerOptions['logger'];
  /** Seed Salesforce with a realistic Account table of this many accounts (`accountTable`); 0 or unset: none. */
  salesforceAccounts?: number;
  /**
   * The UDP port of the sandbox's DNS server (src/sandbox/dns.ts), started on 127.0.0.1 when the HTTP server listens
   * and stopped when it closes: 0 or unset, a port the OS picks; `false`, no DNS server.
   */
  dnsPort?: number | false;
}

/**
 * The server's limits. A request must arrive whole within `requestTimeout`; a connection is closed after
 * `connectionTimeout` without traffic, which stays above the longest simulated latency (`latencyMs` ≤ 60 s) so a slow
 * answer is never cut off. `maxParamLength` (Fastify's default 100 answers 404 past it) allows what the real services
 * take in one path segment: a Salesforce external id of up to 255 characters, percent-encoded (up to 12 characters each).
 */
export const SANDBOX_SERVER_OPTIONS = {
  requestTimeout: 30_000,
  connectionTimeout: 120_000,
  keepAliveTimeout: 5_000,
  routerOptions: { maxParamLength: 255 * 12 },
} as const satisfies FastifyServerOptions;

/**
 * The sandbox: every simulated system under its own prefix with the real paths below it, plus the control plane
 * (`/_control/:system`, `/_inspect/:system`, `/_reset`, `/_fixtures`). See src/sandbox/README.md.
 */
export function buildSandbox(options: SandboxOptions = {}): FastifyInstance {
  const seed = options.seed ?? DEFAULT_SEED;
  const dataset = createDataset(seed);
  const state = new SandboxState(seed, options.controls);
  const app = Fastify({ logger: options.logger ?? false, ...SANDBOX_SERVER_OPTIONS });
  app.decorate('sandboxState', state);
  const dns = sandboxDns(app, dataset, options.dnsPort);

  void app.register(clearbitPlugin, { prefix: '/clearbit', state, dataset });
  void app.register(harmonicPlugin, { prefix: '/harmonic', state, dataset });
  void app.register(clayPlugin, { prefix: '/clay', state, dataset });
  void app.register(posthogPlugin, { prefix: '/posthog', state, dataset });
  void app.register(salesforcePlugin, { prefix: '/salesforce', state, dataset });
  void app.register(vitallyPlugin, { prefix: '/vitally', state, dataset });
  void app.register(slackPlugin, { prefix: '/slack', state, dataset });
  void app.register(webhooksPlugin, { prefix: '/webhooks', state, dataset });
  void app.register(customerioPlugin, { prefix: '/customerio', state, dataset });
  void app.register(mixpanelPlugin, { prefix: '/mixpanel', state, dataset });
  void app.register(closePlugin, { prefix: '/close/api/v1', state, dataset });
  void app.register(humanicPlugin, { prefix: '/humanic', state, dataset });

  if (options.salesforceAccounts) {
    seedSalesforceAccounts(state, accountTable(dataset, { count: options.salesforceAccounts }), {
      externalIdField: 'Company_Domain__c',
    });
  }

  const unknownSystem = (name: string) => ({ error: `unknown system: ${name}`, systems: SANDBOX_SYSTEMS });

  app.post<{ Params: { system: string } }>('/_control/:system', (request, reply) => {
    const { system } = request.params;
    if (!isSandboxSystem(system)) return reply.code(404).send(unknownSystem(system));
    const parsed = parseControlPatch(system, request.body);
    if (!parsed.ok) return reply.code(400).send({ error: 'invalid control', issues: parsed.issues });
    // The union over systems does not narrow with `system`; each patch was validated by that system's schema.
    const sys = state.system(system as 'clearbit');
    sys.update(parsed.patch);
    return reply.send({ system, control: sys.control });
  });

  app.get<{ Params: { system: string } }>('/_inspect/:system', (request, reply) => {
    const { system } = request.params;
    if (!isSandboxSystem(system)) return reply.code(404).send(unknownSystem(system));
    return reply.send(inspect(state, system));
  });

  app.post('/_reset', (_request, reply) => {
    state.reset();
    dns.reset();
    return reply.send({ status: 'reset', systems: SANDBOX_SYSTEMS });
  });

  app.get('/_fixtures', async (_request, reply) =>
    reply.send({
      seed,
      companies: dataset.companies.length,
      fixtures: FIXTURE_DOMAINS,
      undeliverable: { noMail: DNS_FIXTURE_DOMAINS.noMail, nxdomain: DNS_FIXTURE_DOMAINS.nxdomain },
      addressOnly: DNS_FIXTURE_DOMAINS.addressOnly,
      dns: await dns.address(),
    }),
  );

  app.addHook('onClose', () => state.close());
  return app;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The sandbox's DNS server once the HTTP server listens (`dnsPort` not false). */
    sandboxDns?: DnsServer;
  }
}

const dnsControl = z
  .object({ failure: z.enum(['servfail', 'silent']).nullable() })
  .partial()
  .strict();

/**
 * The DNS server's lifecycle, control (`POST /_control/dns { failure: "servfail" | "silent" | null }`) and query log
 * (`GET /_inspect/dns`). Not a system of CONTROL_SCHEMAS: it speaks UDP, not HTTP, and has no credits or rate limits.
 */
function sandboxDns(app: FastifyInstance, dataset: ReturnType<typeof createDataset>, port: number | false | undefined) {
  let failure: DnsFailure = null;
  let started: Promise<DnsServer | undefined> | undefined;
  let queries: { name: string; type: number; rcode: number | 'dropped' }[] = [];
  let total = 0;
  const zone = datasetZone({
    mailDomains: (domain) => dataset.byDomain.has(domain),
    addressOnly: [DNS_FIXTURE_DOMAINS.addressOnly],
    noMail: [DNS_FIXTURE_DOMAINS.noMail],
  });
  if (port !== false) {
    // listen() does not wait for an async onListen hook: the control plane awaits `started` instead.
    app.addHook('onListen', async () => {
      started = startDnsServer({
        port: port ?? 0,
        resolve: zone,
        failure: () => failure,
        onQuery: (question, rcode) => {
          total++;
          queries.push({ name: question?.name ?? '(unparsable)', type: question?.type ?? 0, rcode });
          if (queries.length > 1000) queries = queries.slice(-1000);
        },
      }).then(
        (server) => (app.sandboxDns = server),
        (err: unknown) => {
          // A busy port leaves the sandbox without DNS; screening then lets every domain through (a DNS failure).
          app.log.error({ err }, 'sandbox DNS server not started');
          return undefined;
        },
      );
      await started;
    });
    app.addHook('onClose', async () => {
      await started;
      await app.sandboxDns?.close();
      app.sandboxDns = undefined;
    });
  }
  app.post('/_control/dns', (request, reply) => {
    const parsed = dnsControl.safeParse(request.body ?? {});
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => ({ path: i.path.join('.') || '(body)', message: i.message }));
      return reply.code(400).send({ error: 'invalid control', issues });
    }
    if (parsed.data.failure !== undefined) failure = parsed.data.failure;
    return reply.send({ system: 'dns', control: { failure } });
  });
  app.get('/_inspect/dns', async (_request, reply) =>
    reply.send({
      system: 'dns',
      address: (await started)?.address ?? null,
      control: { failure },
      counts: { queries: total, nxdomain: queries.filter((q) => q.rcode === DNS_RCODE.NXDOMAIN).length },
      queries,
    }),
  );
  return {
    /** The server's `host:port` once bound; null when there is none (not listening, `dnsPort: false`, port busy). */
    address: async () => (await started)?.address ?? null,
    reset() {
      failure = null;
      queries = [];
      total = 0;
    },
  };
}

function inspect(state: SandboxState, system: SandboxSystem) {
  const base = state.system(system).inspect();
  if (system === 'clay') return { ...base, rows: { ...state.clay, pendingCallbacks: state.pendingCallbacks } };
  if (isDestinationSystem(system)) {
    const { counts, records, deleted } = state.records[system].inspect();
    return { ...base, counts: { ...base.counts, records: counts }, records, deleted };
  }
  return base;
}

function isDestinationSystem(system: SandboxSystem): system is DestinationSystem {
  return (DESTINATION_SYSTEMS as readonly string[]).includes(system);
}

async function main(): Promise<void> {
  const env = z
    .object({
      SANDBOX_HOST: z.string().min(1).default('127.0.0.1'),
      SANDBOX_PORT: z.coerce.number().int().min(0).max(65535).default(4010),
      SANDBOX_SEED: z.coerce.number().int().default(DEFAULT_SEED),
      // Where the simulated Clay table posts its results (the starter's POST /webhooks/clay) and with what token.
      SANDBOX_CLAY_CALLBACK_URL: z.url().optional(),
      SANDBOX_CLAY_CALLBACK_AUTH: z.string().min(1).optional(),
      // The seeded Salesforce Account table (the weekend re-enrichment's input); 0: an empty org.
      SANDBOX_SALESFORCE_ACCOUNTS: z.coerce.number().int().min(0).max(100_000).default(2500),
      // The DNS server's UDP port (deliverability screening's DNS_SERVERS in sandbox mode).
      SANDBOX_DNS_PORT: z.coerce.number().int().min(0).max(65535).default(4053),
    })
    .parse({
      SANDBOX_HOST: process.env.SANDBOX_HOST?.trim() || undefined,
      SANDBOX_PORT: process.env.SANDBOX_PORT?.trim() || undefined,
      SANDBOX_SEED: process.env.SANDBOX_SEED?.trim() || undefined,
      SANDBOX_CLAY_CALLBACK_URL: process.env.SANDBOX_CLAY_CALLBACK_URL?.trim() || undefined,
      SANDBOX_CLAY_CALLBACK_AUTH: process.env.SANDBOX_CLAY_CALLBACK_AUTH?.trim() || undefined,
      SANDBOX_SALESFORCE_ACCOUNTS: process.env.SANDBOX_SALESFORCE_ACCOUNTS?.trim() || undefined,
      SANDBOX_DNS_PORT: process.env.SANDBOX_DNS_PORT?.trim() || undefined,
    });
  const app = buildSandbox({
    seed: env.SANDBOX_SEED,
    logger: { level: 'info' },
    salesforceAccounts: env.SANDBOX_SALESFORCE_ACCOUNTS,
    dnsPort: env.SANDBOX_DNS_PORT,
    controls: {
      clay: {
        callbackUrl: env.SANDBOX_CLAY_CALLBACK_URL ?? null,
        callbackAuth: env.SANDBOX_CLAY_CALLBACK_AUTH ?? null,
      },
    },
  });
  const address = await app.listen({ host: env.SANDBOX_HOST, port: env.SANDBOX_PORT });
  const { dns } = (await app.inject({ method: 'GET', url: '/_fixtures' })).json<{ dns: string | null }>();
  console.log(`sandbox listening on ${address}, DNS on udp ${dns ?? '(not started)'} (seed ${env.SANDBOX_SEED})`);
  await new Promise<void>((resolve) => {
    const stop = () => void app.close().then(() => resolve());
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}

if (require.main === module) runMain(main);
