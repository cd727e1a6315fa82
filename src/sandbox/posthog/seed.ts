import type { FastifyInstance } from 'fastify';
import { sandboxStateOf, type SandboxState } from '../state';
import { ingest, validateEvent, type PosthogEventInput } from './events';

/**
 * Stores events as if they had been captured (groups and persons included), without a request in the call log; for
 * tests that need events on past days. Throws on an event the capture API would refuse. Returns the event uuids.
 * `target` is the sandbox state or the Fastify instance `buildSandbox` returned.
 */
export function seedPosthogEvents(
  target: SandboxState | FastifyInstance,
  events: readonly PosthogEventInput[],
): string[] {
  const state = sandboxStateOf(target, 'seedPosthogEvents');
  const store = state.records.posthog;
  const valid = events.map((raw, i) => {
    const e = validateEvent(raw);
    if (typeof e === 'string') throw new Error(`seedPosthogEvents: event ${i}: ${e}`);
    return e;
  });
  const now = Date.now();
  return valid.map((e) => ingest(store, state.posthogProject, e, now));
}
