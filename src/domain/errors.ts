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
  /** A destination (PostHog, Salesforce, Vitally, Slack, a webhook) rejected our credentials: an operator must fix them. */
  DestinationAuthFailed: 'DestinationAuthFailed',
  /** A destination refused the record itself (a required field, a validation rule): retrying sends the same record. */
  DestinationRejected: 'DestinationRejected',
  /**
   * A destination's quota is spent (Salesforce REQUEST_LIMIT_EXCEEDED): not retried by the activity; the workflow
   * waits it out (`details[0].waitMs`) and tries again, showing the write as `retrying`.
   */
  DestinationQuotaExceeded: 'DestinationQuotaExceeded',
  /** A destination throttled us; retried after the delay it advertised. */
  DestinationRateLimited: 'DestinationRateLimited',
  /** A network error, timeout or 5xx from a destination; retried with backoff. */
  DestinationUnavailable: 'DestinationUnavailable',
  /** Salesforce forgot a query cursor (INVALID_QUERY_LOCATOR, e.g. after a long outage): the selection runs again. */
  QueryLocatorExpired: 'QueryLocatorExpired',
} as const;

export type ErrorType = (typeof ErrorType)[keyof typeof ErrorType];
