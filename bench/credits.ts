import { randomUUID } from 'node:crypto';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { loadConfig } from '../src/config';
import { openLedger } from '../src/ledger/ledger';
import { createDataset, createRng } from '../src/sandbox/dataset';
import { buildSandbox } from '../src/sandbox/server';
import { createIntake } from '../src/starter';
import { ensureSearchAttributes } from '../src/temporal/search-attributes';
import { freePort, startDevServer } from '../src/tools/dev-server';
import { ensureTemporalBinaries } from '../src/tools/temporal-binaries';
import { createWorker } from '../src/worker';

/**
 * Credits per signup: N signups (default 1,000) of people drawn from the sandbox's data set — several per company,
 * as real product signups are — run through the whole pipeline (intake, outbox, worker, real HTTP to the sandbox),
 * once with the domain cache and once without. Prints the credits each provider was paid.
 * Usage: npm run bench:credits [-- SIGNUPS]
 */
async function run(signups: number, cacheDays: number, cli: string) {
  const server = await startDevServer({ cli, port: await freePort() });
  const sandbox = buildSandbox({
    controls: {
      clearbit: { rateLimitPerSecond: null },
      harmonic: { rateLimitPerSecond: null },
      clay: { resultDelayMs: 0 },
    },
  });
  const sandboxUrl = await sandbox.listen({ host: '127.0.0.1', port: 0 });
  const port = await freePort();
  const config = loadConfig({
    ...process.env,
    TEMPORAL_ADDRESS: server.address,
    SANDBOX_URL: sandboxUrl,
    PORT: String(port),
    WEBHOOK_SECRET: 'bench-secret',
    CLAY_CALLBACK_SECRET: 'bench-clay-secret',
    DOMAIN_CACHE_DAYS: String(cacheDays),
    LOG_LEVEL: 'silent',
  });
  const ledger = await openLedger({ databaseUrl: undefined });
  const connection = await NativeConnection.connect({ address: server.address });
  await ensureSearchAttributes(connection, config.temporal.namespace);
  const worker = await createWorker({ config, ledger, connection });
  const running = worker.run();
  const intake = createIntake(config, ledger, { outboxPollMs: 100 });
  const base = await intake.app.listen({ host: '127.0.0.1', port });
  await fetch(`${sandboxUrl}/_control/clay`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ callbackUrl: `${base}/webhooks/clay`, callbackAuth: config.clayCallbackSecret }),
  });

  // A quarter of the companies sign up (about 750), so some send several people, each in an organization of its own.
  const dataset = createDataset();
  const rng = createRng(7);
  const companies = dataset.companies.filter(() => rng() < 0.25);
  const ids: string[] = [];
  const began = Date.now();
  for (let i = 0; i < signups; i++) {
    const company = companies[Math.floor(rng() * companies.length)]!;
    const person = company.people[Math.floor(rng() * company.people.length)]!;
    const res = await fetch(`${base}/signups`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer bench-secret' },
      body: JSON.stringify({ email: person.email, organizationId: `bench-${randomUUID()}` }),
    });
    ids.push(((await res.json()) as { signupId: string }).signupId);
  }
  let counts = await ledger.signups.statusCounts();
  while (counts.enrichmentWrites < ids.length) {
    await new Promise((r) => setTimeout(r, 1000));
    counts = await ledger.signups.statusCounts();
    process.stdout.write(`\r  cache ${cacheDays} days: ${counts.enrichmentWrites}/${signups} signups done`);
  }
  const seconds = (Date.now() - began) / 1000;
  const { byStatus } = counts;
  const credits: Record<string, number> = {};
  for (const system of ['clearbit', 'harmonic', 'clay']) {
    credits[system] = (
      (await (await fetch(`${sandboxUrl}/_inspect/${system}`)).json()) as { creditsSpent: number }
    ).creditsSpent;
  }
  const total = Object.values(credits).reduce((a, b) => a + b, 0);
  const enriched = byStatus.enriched ?? 0;
  console.log(
    `\n  ${signups} signups in ${seconds.toFixed(0)} s · statuses ${JSON.stringify(byStatus)}` +
      `\n  credits ${JSON.stringify(credits)} = ${total} · ${(total / signups).toFixed(2)} per signup · ` +
      `${(total / Math.max(enriched, 1)).toFixed(2)} per enriched signup`,
  );

  await intake.close();
  worker.shutdown();
  await running;
  await connection.close();
  await ledger.close();
  await sandbox.close();
  await server.stop();
}

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const signups = Number(process.argv[2] ?? 1000);
  const { cli } = ensureTemporalBinaries();
  console.log(`credits bench: ${signups} signups through the sandbox`);
  console.log('with the domain cache (DOMAIN_CACHE_DAYS=30):');
  await run(signups, 30, cli);
  console.log('without it (DOMAIN_CACHE_DAYS=0):');
  await run(signups, 0, cli);
}

void main();
