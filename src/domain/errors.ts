/** Every `ApplicationFailure` type this application throws; retry policies list the non-retryable ones by name. */
export const ErrorType = {
  /** The ledger has no signup with the id a workflow was given: retrying cannot make it appear. */
  SignupNotFound: 'SignupNotFound',
} as const;

export type ErrorType = (typeof ErrorType)[keyof typeof ErrorType];
