import { isGrpcServiceError } from '@temporalio/client';

// gRPC status codes (grpc/status.proto).
const INVALID_ARGUMENT = 3;
const OUT_OF_RANGE = 11;
// Refusals of a value over one of the server's limits ("WorkflowId exceeds maximum allowed length (1200/1000)").
const OVER_A_LIMIT = /exceed|too long|too large|maximum|limit/i;

/**
 * Whether a workflow start was refused for good because of the signup itself: a value over one of Temporal's limits
 * (an id, a summary, a search-attribute value). Such a signup is dead-lettered, not retried. Everything else is
 * retried, including INVALID_ARGUMENT answers an operator fixes once for every signup — a search attribute the
 * namespace does not know ("no mapping defined"), a missing namespace, permissions — so a configuration mistake shows
 * as a growing outbox backlog, never as signups failed in bulk.
 */
export function isPermanentStartError(err: unknown): boolean {
  const grpc = grpcCause(err);
  if (!grpc) return false;
  const code: number = grpc.code;
  return (code === INVALID_ARGUMENT || code === OUT_OF_RANGE) && OVER_A_LIMIT.test(grpc.details);
}

/** A start failure as one line: the client's message and, when there is one, the server's own words. */
export function describeStartError(err: unknown): string {
  const grpc = grpcCause(err);
  const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return grpc && grpc !== err ? `${message}: ${grpc.details}` : message;
}

function grpcCause(err: unknown) {
  for (let e: unknown = err, depth = 0; e !== undefined && e !== null && depth < 5; depth++) {
    if (isGrpcServiceError(e)) return e;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}
