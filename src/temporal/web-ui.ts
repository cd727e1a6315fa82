import { EnrichmentStatusKey, SignupAtKey } from '../domain/search-attributes';
import type { EnrichmentStatus } from '../domain/status';

/**
 * Visibility queries an operator opens the Web UI with: the same text `temporal workflow list --query` takes. Only
 * signup workflows carry these search attributes, so no workflow-type filter is needed.
 */
export const webUiQueries = {
  withStatus: (status: EnrichmentStatus) => `${EnrichmentStatusKey.name}="${status}"`,
  /** Signups of a UTC day and after (`SignupAt`: when the organization's first signup of the run arrived). */
  signedUpSince: (day: string) => `${SignupAtKey.name}>="${day}T00:00:00Z"`,
};

/** The Web UI's workflow list of `namespace`, filtered by `query`; everything but the UI's base URL encoded. */
export function webUiListUrl(uiBase: string, namespace: string, query: string): string {
  return `${uiBase.replace(/\/$/, '')}/namespaces/${encodeURIComponent(namespace)}/workflows?query=${encodeURIComponent(query)}`;
}

/** The filtered lists `npm start` prints: signups waiting for credits, failed ones, and those of `today` (UTC). */
export function webUiLinks(uiBase: string, namespace: string, today: string): { label: string; url: string }[] {
  return [
    {
      label: 'waiting for credits',
      url: webUiListUrl(uiBase, namespace, webUiQueries.withStatus('waiting_for_credits')),
    },
    { label: 'failed', url: webUiListUrl(uiBase, namespace, webUiQueries.withStatus('failed')) },
    { label: 'signed up today', url: webUiListUrl(uiBase, namespace, webUiQueries.signedUpSince(today)) },
  ];
}
