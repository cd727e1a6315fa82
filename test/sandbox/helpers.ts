import type { FastifyInstance } from 'fastify';
import { buildSandbox } from '../../src/sandbox/server';
import type { ControlPatches } from '../../src/sandbox/state';

/** A sandbox without the providers' default rate limits, so a burst of test requests is never throttled. */
export function testSandbox(
  controls: ControlPatches = {},
  options: { salesforceAccounts?: number } = {},
): FastifyInstance {
  return buildSandbox({
    ...options,
    controls: {
      ...controls,
      clearbit: { rateLimitPerSecond: null, ...controls.clearbit },
      harmonic: { rateLimitPerSecond: null, ...controls.harmonic },
      clay: { resultDelayMs: 0, ...controls.clay },
    },
  });
}

export interface Inspection {
  control: Record<string, unknown>;
  counts: { requests: number; byStatus: Record<string, number> };
  creditsSpent: number;
  creditsRemaining: number | null;
  calls: {
    kind: string;
    method: string;
    path: string;
    key: string | null;
    status: number;
    creditsCharged: number;
    note?: string;
  }[];
  rows?: Record<string, number>;
  /** Destinations: what each holds, by record type (see RecordStore in src/sandbox/state.ts). */
  records?: Record<
    string,
    { type: string; key: string; id: string; fields: Record<string, unknown>; writes: number }[]
  >;
}

export async function inspect(app: FastifyInstance, system: string): Promise<Inspection> {
  const res = await app.inject({ method: 'GET', url: `/_inspect/${system}` });
  return res.json<Inspection>();
}

export async function control(app: FastifyInstance, system: string, body: unknown) {
  return app.inject({ method: 'POST', url: `/_control/${system}`, payload: body as object });
}

/** Polls `check` until it returns a value; for results that arrive asynchronously (Clay's callbacks). */
export async function waitFor<T>(check: () => T | undefined | Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('waitFor: timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}
