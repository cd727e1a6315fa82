import { isGrpcServiceError } from '@temporalio/client';

// gRPC status codes (grpc/status.proto) of a request the server will refuse however often it is sent.
const INVALID_ARGUMENT = 3;
const OUT_OF_RANGE = 11;

/**
 * Whether a workflow start was refused for good (an id, summary or search-attribute value over Temporal's limits, a
 * malformed value): such a signup is dead-lettered, not retried. Unreachable servers, timeouts, missing namespaces
 * and permissions are retried: an operator fixes those and every waiting signup then starts.
 */
export function isPermanentStartError(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e !== undefined && e !== null && depth < 5; depth++) {
    if (isGrpcServiceError(e)) {
      const code: number = e.code;
      if (code === INVALID_ARGUMENT || code === OUT_OF_RANGE) return true;
    }
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}
