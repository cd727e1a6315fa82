import { credits } from './credits';
import type { Benchmark } from './lib/result';

/** Every benchmark of `npm run bench`, in the order of docs/performance.md. */
export const SUITE: Benchmark[] = [credits];
