import { describe, expect, it } from 'vitest';
import { describeStartError, isPermanentStartError } from '../../src/temporal/start-errors';

/** A gRPC error as @grpc/grpc-js makes it, wrapped as the Temporal client wraps it. */
const refused = (code: number, details: string) => {
  const grpc = Object.assign(new Error(`${code} ${details}`), { code, details, metadata: {} });
  return Object.assign(new Error('Failed to start Workflow'), { name: 'ServiceError', cause: grpc });
};

describe('isPermanentStartError', () => {
  it('dead-letters a value over one of the server limits', () => {
    expect(isPermanentStartError(refused(3, 'WorkflowId exceeds maximum allowed length (1200/1000)'))).toBe(true);
  });

  it('retries what an operator fixes once for every signup, and outages', () => {
    const unknownAttribute = 'Namespace default has no mapping defined for search attribute EnrichmentStatus';
    expect(isPermanentStartError(refused(3, unknownAttribute))).toBe(false);
    expect(isPermanentStartError(refused(5, 'Namespace signups is not found.'))).toBe(false);
    expect(isPermanentStartError(refused(14, 'No connection established'))).toBe(false);
    expect(isPermanentStartError(new Error('socket hang up'))).toBe(false);
  });

  it("describes a refusal with the server's own words", () => {
    expect(describeStartError(refused(3, 'WorkflowId exceeds maximum allowed length (1200/1000)'))).toBe(
      'ServiceError: Failed to start Workflow: WorkflowId exceeds maximum allowed length (1200/1000)',
    );
  });
});
