import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { buildIntakeApp } from '../src/intake/app';
import { createIntakeMetrics } from '../src/intake/metrics';
import { openLedger } from '../src/ledger/ledger';

/**
 * Intake latency: how fast a PostHog delivery is recorded and answered 202 (PostHog disables slow destinations).
 * Real HTTP on 127.0.0.1 and a real ledger (the embedded PGlite, or PostgreSQL with BENCH_DATABASE_URL); workflow
 * starts are left out, they happen after the answer. Usage: npm run bench [-- REQUESTS CONCURRENCY]
 */
async function main(): Promise<void> {
  const total = Number(process.argv[2] ?? 2000);
  const concurrency = Number(process.argv[3] ?? 16);
  const ledger = await openLedger({ databaseUrl: process.env.BENCH_DATABASE_URL });
  const app = buildIntakeApp({
    ledger,
    webhookSecret: 'bench-secret',
    adminToken: 'bench-admin-token',
    clayCallbackSecret: undefined,
    signupEvents: ['user signed up'],
    metrics: createIntakeMetrics(ledger.outbox),
    onRecorded: () => undefined,
    deliverClayResult: () => Promise.resolve(true),
    temporalReady: () => Promise.resolve(),
  });
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  const template = readFileSync(path.join(__dirname, '../test/fixtures/posthog/user-signed-up.json'), 'utf8');

  const send = async (duplicateOf?: string): Promise<number> => {
    const body =
      duplicateOf ??
      template
        .replaceAll('0193a1f2-7c4e-7d10-9a3b-5f2e8c1d4b6a', randomUUID())
        .replaceAll('0193a1f2-5a00-7000-b1c2-d3e4f5a6b7c8', randomUUID());
    const started = performance.now();
    const res = await fetch(`${base}/webhooks/posthog`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer bench-secret' },
      body,
    });
    await res.arrayBuffer();
    if (res.status !== 202) throw new Error(`unexpected ${res.status}`);
    return performance.now() - started;
  };

  for (let i = 0; i < 50; i++) await send(); // warm-up
  const latencies: number[] = [];
  let next = 0;
  const began = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        next++;
        latencies.push(await send());
      }
    }),
  );
  const seconds = (performance.now() - began) / 1000;
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))]!;
  console.log(`intake bench: ${total} signups, concurrency ${concurrency}, ledger ${ledger.engine}`);
  console.log(`  throughput  ${(total / seconds).toFixed(0)} req/s`);
  console.log(
    `  latency ms  p50 ${pct(50).toFixed(2)}  p95 ${pct(95).toFixed(2)}  p99 ${pct(99).toFixed(2)}  max ${latencies.at(-1)!.toFixed(2)}`,
  );
  await app.close();
  await ledger.close();
}

void main();
