import { createServer } from 'node:http';
import { buildIntakeApp } from '../../src/intake/app';
import { createIntakeMetrics } from '../../src/intake/metrics';
import { openLedger } from '../../src/ledger/ledger';
import { BENCH_SECRET } from './core-services';

/**
 * The server P1 loads, alone in this process so that the load generator does not share its event loop:
 * `ours` — the intake (buildIntakeApp) recording each delivery in the ledger at BENCH_INTAKE_DATABASE_URL before its
 * 202; workflow starts are left out (the outbox starts them after the answer, from another loop);
 * `bare` — node:http reading the same body, JSON.parse, 202. Prints `listening <url>` once ready; SIGTERM stops it.
 */
async function main(): Promise<void> {
  const kind = process.argv[2];
  let url: string;
  let close: () => Promise<void>;
  if (kind === 'ours') {
    const ledger = await openLedger({ databaseUrl: process.env.BENCH_INTAKE_DATABASE_URL });
    if (ledger.engine !== 'postgres') throw new Error('P1 measures the intake over PostgreSQL');
    const app = buildIntakeApp({
      ledger,
      webhookSecret: BENCH_SECRET,
      adminToken: 'bench-admin-token',
      piiHashKey: 'bench-pii-hash-key',
      clayCallbackSecret: undefined,
      signupEvents: ['user signed up'],
      metrics: createIntakeMetrics(ledger.outbox),
      onRecorded: () => undefined,
      deliverClayResult: () => Promise.resolve(true),
      temporalReady: () => Promise.resolve(),
    });
    url = await app.listen({ host: '127.0.0.1', port: 0 });
    close = async () => {
      await app.close();
      await ledger.close();
    };
  } else if (kind === 'bare') {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        JSON.parse(Buffer.concat(chunks).toString('utf8'));
        res.writeHead(202, { 'content-type': 'application/json' });
        res.end('{"status":"accepted"}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    if (typeof address !== 'object' || !address) throw new Error('no address');
    url = `http://127.0.0.1:${address.port}`;
    close = () => new Promise((resolve) => server.close(() => resolve()));
  } else {
    throw new Error(`usage: core-intake-server.ts ours|bare (got ${kind})`);
  }
  process.once('SIGTERM', () => {
    void close().then(() => process.exit(0));
  });
  console.log(`listening ${url}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
