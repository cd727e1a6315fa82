/** Every `ApplicationFailure` type this application throws; retry policies list the non-retryable ones by name. */
export const ErrorType = {
  /** The ledger has no signup with the id a workflow was given: retrying cannot make it appear. */
  SignupNotFound: 'SignupNotFound',
  /** A provider rejected our API key: an operator must fix the credential; retrying only burns time. */
  ProviderAuthFailed: 'ProviderAuthFailed',
  /** A provider throttled us; retried after the delay it advertised (`nextRetryDelay`). */
  ProviderRateLimited: 'ProviderRateLimited',
  /** A network error, timeout or 5xx; retried with backoff. */
  ProviderUnavailable: 'ProviderUnavailable',
} as const;

export type ErrorType = (typeof ErrorType)[keyof typeof ErrorType];
