import { p2EndToEnd } from './p2-end-to-end';
import { p3Backfill } from './p3-backfill';
import type { Benchmark } from './lib/result';

/** Every benchmark of `npm run bench`, in the order of docs/performance.md. */
export const SUITE: Benchmark[] = [p2EndToEnd, p3Backfill];
