import { DefaultLogger, Runtime } from '@temporalio/worker';
import type { IcpField, IcpFields } from '../src/domain/icp/fields';
import {
  benchSignups,
  boundCredits,
  coverageOf,
  FREE_MAIL_SHARE,
  ZIPF_EXPONENT,
  type BenchSignup,
  type Coverage,
} from './lib/credits-dataset';
import { benchConfig, enrichDirectly, startBenchSandbox, type BenchSandbox } from './lib/credits-direct';
import { IN_FLIGHT, startPipelineStack } from './lib/credits-pipeline';
import type { Benchmark, BenchOptions, BenchResult, Figure } from './lib/result';

/**
 * Credits: the same seeded signups (Zipf company sizes, ~40% free mail) enriched four ways, each against a fresh
 * sandbox whose `/_inspect/<provider>` creditsSpent is the bill —
 * (a) our pipeline for real (intake, worker, ledger, domain cache), with ENRICHMENT_PERSON_LOOKUP `always` and
 *     `high_value`;
 * (b) a Clay-style per-row waterfall: same providers, same order, nothing shared between rows;
 * (c) every provider for every signup;
 * (d) the bound: one paid lookup per distinct company at the cheapest provider that covers it (from the data set's
 *     coverage; no person lookup).
 * Goals (issue #14): ours ≤ 0.5× (b), ≤ 0.3× (c), ≤ 1.2× (d), at equal or better coverage of the required fields.
 * Standalone: `npm run bench:credits [-- SIGNUPS]`.
 */

/**
 * 1,000 signups: our pipeline runs twice (person lookup both ways), about 60 s per 300 signups on a busy 2-core
 * machine, which keeps the whole benchmark near 5 minutes there; `npm run bench:credits -- 2000` for more.
 */
export const SIGNUPS = 1000;
export const SMOKE_SIGNUPS = 50;
const SEED = 14;

interface Approach {
  name: string;
  credits: number;
  /** Of which person lookups (title, role, seniority): the rest paid for companies. */
  personCredits: number;
  coverage: Coverage;
  note?: string;
}

const sum = (credits: Record<string, number>) => Object.values(credits).reduce((a, b) => a + b, 0);

async function withSandbox<T>(run: (sandbox: BenchSandbox) => Promise<T>): Promise<{ result: T; credits: number }> {
  const sandbox = await startBenchSandbox();
  try {
    const result = await run(sandbox);
    return { result, credits: sum(await sandbox.credits()) };
  } finally {
    await sandbox.close();
  }
}

export async function runCredits(signupCount: number, log: (line: string) => void): Promise<BenchResult> {
  // The worker's native runtime logs at INFO otherwise (and warns of every slow task on a busy machine); a runner that
  // installed it already keeps its own.
  if (!Runtime._instance) Runtime.install({ logger: new DefaultLogger('ERROR') });
  const signups = benchSignups(signupCount, SEED);
  const required: IcpField[] = benchConfig('http://127.0.0.1:1').enrichment.requiredFields;
  const approaches: Approach[] = [];

  const stack = await startPipelineStack();
  try {
    for (const mode of ['always', 'high_value'] as const) {
      log(`credits: (a) our pipeline, ENRICHMENT_PERSON_LOOKUP=${mode}, ${signups.length} signups`);
      const { result, credits } = await withSandbox((sandbox) =>
        stack.run(sandbox, signups, { ENRICHMENT_PERSON_LOOKUP: mode }, log),
      );
      approaches.push({
        name: `ours, person lookup ${mode}`,
        credits,
        personCredits: result.personCredits,
        coverage: coverageOf(result.fields, required),
        note: `${result.seconds.toFixed(0)} s through the real worker, limits lifted, ${IN_FLIGHT} signups in flight`,
      });
    }
  } finally {
    await stack.close();
  }
  for (const [mode, name] of [
    ['per_row', 'Clay-style per-row waterfall'],
    ['every_provider', 'every provider for every signup'],
  ] as const) {
    log(`credits: ${name}`);
    const { result, credits } = await withSandbox((sandbox) =>
      enrichDirectly(sandbox, signups, mode, { requiredFields: required, concurrency: 16 }),
    );
    approaches.push({
      name,
      credits,
      personCredits: result.personCredits,
      coverage: coverageOf(result.fields, required),
    });
  }
  const bound = boundCredits(signups);
  approaches.push({
    name: 'bound (one lookup per distinct company)',
    credits: bound.credits,
    personCredits: 0,
    coverage: coverageOf(boundFields(signups, bound.covered, required), required),
    note: 'computed from the data set: no person lookup, so no role',
  });
  return result(signups, required, approaches);
}

/** What the bound would know, for counting: every required field of a covered company, nothing of anyone else. */
function boundFields(signups: readonly BenchSignup[], covered: Set<string>, required: readonly IcpField[]) {
  return signups.map((s): IcpFields | undefined =>
    s.company && covered.has(s.company.domain)
      ? (Object.fromEntries(required.map((f) => [f, true])) as IcpFields)
      : undefined,
  );
}

function result(signups: readonly BenchSignup[], required: readonly IcpField[], approaches: Approach[]): BenchResult {
  const [always, highValue, perRow, every, bound] = approaches as [Approach, Approach, Approach, Approach, Approach];
  const figures: Figure[] = [];
  for (const a of approaches) {
    figures.push(
      { name: `credits, ${a.name}`, value: a.credits, unit: 'credits', note: a.note },
      { name: `credits for person lookups, ${a.name}`, value: a.personCredits, unit: 'credits' },
      {
        name: `credits per enriched signup, ${a.name}`,
        value: round(a.credits / Math.max(a.coverage.enriched, 1)),
        unit: 'credits/signup',
        note: `${a.coverage.enriched} of ${signups.length} signups with every required field`,
      },
      { name: `required-field coverage, ${a.name}`, value: round(a.coverage.requiredPct), unit: '%' },
      { name: `role coverage, ${a.name}`, value: round(a.coverage.rolePct), unit: '%' },
    );
  }
  for (const ours of [always, highValue]) {
    const mode = ours === always ? 'always' : 'high_value';
    for (const [other, limit, label] of [
      [perRow, 0.5, 'the per-row waterfall'],
      [every, 0.3, 'every provider'],
      [bound, 1.2, 'the bound'],
    ] as const) {
      const ratio = ours.credits / Math.max(other.credits, 1);
      const coverageOk = ours.coverage.requiredPct >= other.coverage.requiredPct - 0.05;
      figures.push({
        name: `credits, ours (person lookup ${mode}) ÷ ${label}`,
        value: round(ratio),
        unit: '×',
        goal: `≤ ${limit}× ${label}, at equal or better coverage`,
        met: ratio <= limit && coverageOk,
        note: `required-field coverage ${round(ours.coverage.requiredPct)}% vs ${round(other.coverage.requiredPct)}%${
          coverageOk ? '' : ' (lower)'
        }`,
      });
    }
  }
  // The bound pays for companies only: ours measured on the same terms (the person lookups left out).
  for (const ours of [always, highValue]) {
    const company = ours.credits - ours.personCredits;
    figures.push({
      name: `company-lookup credits, ours (person lookup ${ours === always ? 'always' : 'high_value'}) ÷ the bound`,
      value: round(company / Math.max(bound.credits, 1)),
      unit: '×',
      note: `${company} company credits vs ${bound.credits}; no goal: the issue's bound counts companies only`,
    });
  }
  return {
    id: 'credits',
    title: 'Credits per enriched signup',
    setup: {
      signups: signups.length,
      distinctCompanies: new Set(signups.flatMap((s) => (s.company ? [s.company.domain] : []))).size,
      freeMailShare: round(signups.filter((s) => !s.company).length / Math.max(signups.length, 1)),
      targetFreeMailShare: FREE_MAIL_SHARE,
      zipfExponent: ZIPF_EXPONENT,
      seed: SEED,
      requiredFields: required.join(','),
      rateLimits: 'lifted',
      inFlight: IN_FLIGHT,
    },
    figures,
  };
}

const round = (n: number) => Math.round(n * 100) / 100;

export const credits: Benchmark = {
  id: 'credits',
  title: 'Credits per enriched signup',
  run: (options: BenchOptions) => runCredits(options.smoke ? SMOKE_SIGNUPS : SIGNUPS, options.log),
};

if (require.main === module) {
  const count = Number(process.argv[2] ?? SIGNUPS);
  runCredits(count, (line) => process.stderr.write(`${line}\n`)).then(
    (r) => {
      console.log(JSON.stringify(r.setup));
      for (const f of r.figures) {
        const met = f.met === undefined ? '' : f.met ? '  met' : '  NOT met';
        const note = f.note ? ` — ${f.note}` : '';
        console.log(`${f.name}: ${f.value} ${f.unit}${f.goal ? `  (goal ${f.goal})${met}` : ''}${note}`);
      }
    },
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
