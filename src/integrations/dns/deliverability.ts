import { Resolver } from 'node:dns/promises';
import type { DeliverabilityPort } from '../../domain/ports';
import { decideDeliverability, type Deliverability, type DnsLookup } from '../../domain/screening';

/** How long an answer is kept: a domain that receives mail, or one that does not (NXDOMAIN, NODATA, null MX). */
export const DNS_CACHE_TTL_MS = { answer: 60 * 60_000, negative: 5 * 60_000 } as const;
/** The most domains the cache holds; past it the oldest entry goes. */
export const DNS_CACHE_MAX_ENTRIES = 10_000;
/** Each query is sent twice at most (one retry) before it counts as failed. */
const DNS_TRIES = 2;
/**
 * The most one domain's check may take, whatever the per-query timeouts add up to: it runs inside the screening's local
 * activity (10 s to do its ledger reads and writes too). Past it the domain is let through, like any DNS failure.
 */
export const DNS_CHECK_DEADLINE_MS = 5_000;

export interface DnsDeliverabilityOptions {
  /** `ip:port` entries (DNS_SERVERS); empty: the system's resolvers. */
  servers: readonly string[];
  /** One query's deadline (DNS_TIMEOUT_MS), per try. */
  timeoutMs: number;
  now?: () => number;
}

/** c-ares error codes (node:dns) for "the name does not exist" and "no record of that type". */
const NXDOMAIN = new Set(['ENOTFOUND']);
const NODATA = new Set(['ENODATA']);

async function ask(query: () => Promise<unknown[]>): Promise<{ lookup: DnsLookup; records: unknown[] }> {
  try {
    const records = await query();
    return { lookup: records.length > 0 ? 'found' : 'none', records };
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string' && NXDOMAIN.has(code)) return { lookup: 'nxdomain', records: [] };
    if (typeof code === 'string' && NODATA.has(code)) return { lookup: 'none', records: [] };
    // ETIMEOUT, ESERVFAIL, EREFUSED, ECONNREFUSED, a malformed answer: no verdict from DNS.
    return { lookup: 'failed', records: [] };
  }
}

/**
 * Deliverability screening through DNS: the domain's MX records, then (none found) its A and AAAA records. Answers
 * are cached per domain (DNS_CACHE_TTL_MS, at most DNS_CACHE_MAX_ENTRIES); a failed lookup is not cached, so the next
 * signup of that domain asks again.
 */
export function dnsDeliverability(options: DnsDeliverabilityOptions): DeliverabilityPort {
  const resolver = new Resolver({ timeout: options.timeoutMs, tries: DNS_TRIES });
  if (options.servers.length > 0) resolver.setServers([...options.servers]);
  const now = options.now ?? Date.now;
  const cache = new Map<string, { value: Deliverability; expiresAt: number }>();

  const lookUp = async (domain: string): Promise<Deliverability> => {
    const mx = await ask(() => resolver.resolveMx(domain));
    // RFC 7505: a single MX of preference 0 and exchange "." (c-ares gives "") says the domain takes no mail.
    const nullMx =
      mx.lookup === 'found' &&
      mx.records.length === 1 &&
      (mx.records[0] as { exchange: string }).exchange.replace(/\.$/, '') === '';
    if (mx.lookup !== 'none') return decideDeliverability({ mx: nullMx ? 'null_mx' : mx.lookup });
    const address = await Promise.all([ask(() => resolver.resolve4(domain)), ask(() => resolver.resolve6(domain))]);
    return decideDeliverability({ mx: 'none', address: address.map((a) => a.lookup) });
  };

  return {
    async check(domain) {
      const key = domain.toLowerCase();
      const cached = cache.get(key);
      if (cached && cached.expiresAt > now()) return cached.value;
      cache.delete(key);
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<Deliverability>((resolve) => {
        timer = setTimeout(() => resolve({ deliverable: true, note: 'dns_failed' }), DNS_CHECK_DEADLINE_MS);
      });
      const value = await Promise.race([lookUp(key), deadline]).finally(() => clearTimeout(timer));
      if (value.deliverable && value.note) return value;
      cache.set(key, {
        value,
        expiresAt: now() + (value.deliverable ? DNS_CACHE_TTL_MS.answer : DNS_CACHE_TTL_MS.negative),
      });
      if (cache.size > DNS_CACHE_MAX_ENTRIES) cache.delete(cache.keys().next().value!);
      return value;
    },
  };
}
