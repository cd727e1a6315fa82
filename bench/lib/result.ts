/**
 * What every benchmark of `npm run bench` returns: its figures, each with its goal where the issue sets one. The
 * runner (bench/run.ts) writes them as JSON under bench/results/ and as the table in docs/performance.md; a smoke
 * run (`smoke: true`, in `npm test`) checks they are produced, never how fast.
 */
export interface BenchOptions {
  /** A small, quick version: a few requests or signups, enough to prove the benchmark still runs end to end. */
  smoke: boolean;
  /** Progress lines for a long run (stderr); the result is what counts. */
  log: (line: string) => void;
}

export interface Figure {
  /** What is measured, e.g. "durable 202s per second, ours". */
  name: string;
  value: number;
  /** e.g. "req/s", "ms", "×", "credits/signup", "%". */
  unit: string;
  /** The goal as written in the issue, e.g. "≥ 0.3× the bare server", or undefined when the figure has none. */
  goal?: string;
  /** Whether the goal is met (undefined when there is no goal). */
  met?: boolean;
  /** Why a goal is not met, or what the figure depends on. */
  note?: string;
}

export interface BenchResult {
  /** P1, P2, P3, P4, credits. */
  id: string;
  title: string;
  /** How it was run: sizes, concurrency, limits (numbers and short strings). */
  setup: Record<string, string | number | boolean>;
  figures: Figure[];
}

export interface Benchmark {
  id: string;
  title: string;
  run(options: BenchOptions): Promise<BenchResult>;
}
