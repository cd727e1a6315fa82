import { credits } from './credits';
import { p1Intake } from './p1-intake';
import { p2EndToEnd } from './p2-end-to-end';
import { p3Backfill } from './p3-backfill';
import { p4WorkerCost } from './p4-worker-cost';
import type { Benchmark } from './lib/result';

/** Every benchmark of `npm run bench`, in the order of docs/performance.md. */
export const SUITE: Benchmark[] = [p1Intake, p2EndToEnd, p3Backfill, p4WorkerCost, credits];
