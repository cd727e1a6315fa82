import { beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { SUITE } from '../../bench/suite';

// Every benchmark of `npm run bench`, small: it still runs end to end and produces its figures. Never how fast — the
// figures are the benchmark's to report, not this test's to judge.
describe('npm run bench, smoke', () => {
  beforeAll(() => {
    // The run's Temporal server and PostgreSQL instead of a server of each benchmark's own.
    process.env.BENCH_TEMPORAL_ADDRESS = inject('temporalAddress');
    process.env.BENCH_DATABASE_URL = inject('postgresUrl');
  });

  it('has benchmarks with distinct ids', () => {
    expect(SUITE.length).toBeGreaterThan(0);
    expect(new Set(SUITE.map((b) => b.id)).size).toBe(SUITE.length);
  });

  it.each(SUITE.map((b) => [b.id, b] as const))(
    '%s produces its figures',
    async (id, benchmark) => {
      const result = await benchmark.run({ smoke: true, log: () => undefined });
      expect(result.id).toBe(id);
      expect(result.figures.length).toBeGreaterThan(0);
      for (const figure of result.figures) {
        expect(Number.isFinite(figure.value), `${figure.name}: ${figure.value}`).toBe(true);
        expect(figure.unit, figure.name).not.toBe('');
        if (figure.goal !== undefined) expect(typeof figure.met, `${figure.name}: met`).toBe('boolean');
      }
    },
    120_000,
  );
});
