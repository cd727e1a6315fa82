import { credits } from './credits';
import { p1Intake } from './p1-intake';
import { p4WorkerCost } from './p4-worker-cost';
import type { Benchmark } from './lib/result';

/** Every benchmark of `npm run bench`, in the order of docs/performance.md. */
export const SUITE: Benchmark[] = [p1Intake, p4WorkerCost, credits];
