import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { format, resolveConfig } from 'prettier';
import type { BenchResult } from './lib/result';
import { interrupted, stopServicesOnSignal } from './lib/core-services';
import { SUITE } from './suite';

/**
 * `npm run bench [-- P1 P4 …] [--smoke]`: runs the benchmarks of SUITE (or the ones named) in order, writes
 * bench/results/<timestamp>.json and (unless --smoke) bench/results/latest.json and the generated part of
 * docs/performance.md.
 * A benchmark that throws is recorded as failed and the run goes on; the exit code is 1 only then, never for a
 * missed goal (figures are reported, not enforced).
 */

export interface Machine {
  cpu: string;
  cores: number;
  memoryGb: number;
  node: string;
  os: string;
  /** The 1-minute load average when the run started: above `cores`, other work was competing for the CPU. */
  loadAverage: number;
}

export interface RunResult extends BenchResult {
  durationMs: number;
  /** Set when the benchmark threw: its message, and no figures. */
  error?: string;
}

export interface Report {
  machine: Machine;
  startedAt: string;
  durationMs: number;
  smoke: boolean;
  results: RunResult[];
}

export const GENERATED_START = '<!-- bench:generated:start (npm run bench rewrites this part) -->';
export const GENERATED_END = '<!-- bench:generated:end -->';

const ROOT = path.resolve(__dirname, '..');
const RESULTS_DIR = path.join(ROOT, 'bench/results');
const PERFORMANCE_DOC = path.join(ROOT, 'docs/performance.md');

export function machine(): Machine {
  return {
    cpu: os.cpus()[0]?.model.trim() ?? 'unknown',
    cores: os.availableParallelism(),
    memoryGb: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    loadAverage: Math.round(os.loadavg()[0]! * 10) / 10,
  };
}

const cell = (text: string) => text.replaceAll('|', '\\|').replaceAll('\n', ' ');
const formatValue = (value: number) =>
  Number.isInteger(value) ? value.toLocaleString('en-US') : value.toLocaleString('en-US', { maximumFractionDigits: 3 });

/** The generated part of docs/performance.md: the machine, then a table per benchmark. */
export function renderTables(report: Report): string {
  const m = report.machine;
  const lines = [
    `Run of ${report.startedAt}, ` +
      `${(report.durationMs / 1000).toFixed(0)} s, on ${m.cpu}, ${m.cores} cores, ${m.memoryGb} GB, ` +
      `Node ${m.node}, ${m.os}; load average ${m.loadAverage} at the start. Raw figures: \`bench/results/latest.json\`.`,
  ];
  for (const r of report.results) {
    lines.push('', `### ${r.id} — ${r.title}`, '');
    if (r.error !== undefined) {
      lines.push(`**Failed:** ${cell(r.error)}`);
      continue;
    }
    const setup = Object.entries(r.setup)
      .map(([k, v]) => `${k}: ${String(v)}`)
      .join('; ');
    if (setup) lines.push(`Setup: ${cell(setup)}.`, '');
    lines.push('| figure | value | unit | goal | met |', '| --- | ---: | --- | --- | --- |');
    for (const f of r.figures) {
      const met = f.met === undefined ? '' : f.met ? 'yes' : 'no';
      lines.push(`| ${cell(f.name)} | ${formatValue(f.value)} | ${cell(f.unit)} | ${cell(f.goal ?? '')} | ${met} |`);
    }
    const notes = r.figures.filter((f) => f.note);
    if (notes.length > 0) lines.push('', ...notes.map((f) => `- ${f.name}: ${f.note}`));
  }
  return lines.join('\n');
}

/** `doc` with the text between the generated markers replaced (the markers appended when missing). */
export function replaceGenerated(doc: string, tables: string): string {
  const block = `${GENERATED_START}\n\n${tables}\n\n${GENERATED_END}`;
  const start = doc.indexOf(GENERATED_START);
  const end = doc.indexOf(GENERATED_END);
  if (start === -1 || end === -1 || end < start) return `${doc.trimEnd()}\n\n${block}\n`;
  return doc.slice(0, start) + block + doc.slice(end + GENERATED_END.length);
}

async function main(): Promise<number> {
  stopServicesOnSignal();
  const args = process.argv.slice(2);
  const smoke = args.includes('--smoke');
  const wanted = args.filter((a) => !a.startsWith('--')).map((a) => a.toLowerCase());
  const unknown = wanted.filter((id) => !SUITE.some((b) => b.id.toLowerCase() === id));
  if (unknown.length > 0) {
    console.error(`unknown benchmark(s): ${unknown.join(', ')}; the suite: ${SUITE.map((b) => b.id).join(', ')}`);
    return 2;
  }
  const selected = wanted.length > 0 ? SUITE.filter((b) => wanted.includes(b.id.toLowerCase())) : SUITE;

  const startedAt = new Date();
  const results: RunResult[] = [];
  for (const benchmark of selected) {
    if (interrupted() !== undefined) break;
    const log = (line: string) => console.error(`[${benchmark.id}] ${line}`);
    log(`${benchmark.title}${smoke ? ' (smoke)' : ''}`);
    const began = performance.now();
    try {
      const result = await benchmark.run({ smoke, log });
      results.push({ ...result, durationMs: Math.round(performance.now() - began) });
      for (const f of result.figures) {
        const goal = f.goal ? `  goal ${f.goal}: ${f.met ? 'met' : 'NOT met'}` : '';
        log(`  ${f.name}: ${formatValue(f.value)} ${f.unit}${goal}`);
      }
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      log(`FAILED: ${err instanceof Error ? (err.stack ?? message) : message}`);
      results.push({
        id: benchmark.id,
        title: benchmark.title,
        setup: {},
        figures: [],
        durationMs: Math.round(performance.now() - began),
        error: message,
      });
    }
  }

  const signal = interrupted();
  if (signal !== undefined) {
    // The failures of an interrupted run (workers ended by the signal) must not replace the last real figures.
    console.error(`bench: interrupted by ${signal}; no results written`);
    return 1;
  }
  const report: Report = {
    machine: machine(),
    startedAt: startedAt.toISOString(),
    durationMs: Date.now() - startedAt.getTime(),
    smoke,
    results,
  };
  mkdirSync(RESULTS_DIR, { recursive: true });
  const json = `${JSON.stringify(report, null, 2)}\n`;
  const stamped = path.join(RESULTS_DIR, `${report.startedAt.replaceAll(':', '-')}.json`);
  writeFileSync(stamped, json);
  if (smoke) {
    // Smoke figures prove the benchmarks run; they are not figures for the docs.
    console.error(
      `wrote ${path.relative(ROOT, stamped)} (smoke: latest.json and docs/performance.md left as they are)`,
    );
  } else {
    writeFileSync(path.join(RESULTS_DIR, 'latest.json'), json);
    const doc = replaceGenerated(readFileSync(PERFORMANCE_DOC, 'utf8'), renderTables(report));
    // Formatted as `npm run format` would, so the format check passes on the rewritten doc.
    const options = await resolveConfig(PERFORMANCE_DOC);
    writeFileSync(PERFORMANCE_DOC, await format(doc, { ...options, filepath: PERFORMANCE_DOC }));
    console.error(`wrote ${path.relative(ROOT, stamped)}, bench/results/latest.json and docs/performance.md`);
  }
  const failed = results.filter((r) => r.error !== undefined);
  if (failed.length > 0) console.error(`failed: ${failed.map((r) => r.id).join(', ')}`);
  return failed.length > 0 ? 1 : 0;
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
