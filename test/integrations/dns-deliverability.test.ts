import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dnsDeliverability } from '../../src/integrations/dns/deliverability';
import { DNS_FIXTURE_DOMAINS, FIXTURE_DOMAINS } from '../../src/sandbox/dataset';
import { startSandbox, type RunningSandbox } from '../support/sandbox';

// The client over real DNS packets, against the sandbox's DNS server on its OS-picked port.
describe('DNS deliverability client', () => {
  let sandbox: RunningSandbox;
  let server: string;

  beforeAll(async () => {
    sandbox = await startSandbox();
    server = ((await (await fetch(`${sandbox.url}/_fixtures`)).json()) as { dns: string }).dns;
  });
  afterAll(async () => {
    await sandbox.control('dns', { failure: null });
    await sandbox.close();
  });

  const queries = async () => (await sandbox.inspect<{ counts: { queries: number } }>('dns')).counts.queries;

  it('tells deliverable domains from those that cannot receive mail', async () => {
    const dns = dnsDeliverability({ servers: [server], timeoutMs: 500 });
    expect(await dns.check(FIXTURE_DOMAINS.clearbitComplete)).toEqual({ deliverable: true });
    expect(await dns.check(DNS_FIXTURE_DOMAINS.addressOnly)).toEqual({ deliverable: true });
    expect(await dns.check(DNS_FIXTURE_DOMAINS.noMail)).toEqual({ deliverable: false, reason: 'no_mail_records' });
    expect(await dns.check(DNS_FIXTURE_DOMAINS.nxdomain)).toEqual({ deliverable: false, reason: 'no_such_domain' });
  });

  it('caches answers, deliverable or not, and asks again after the negative TTL', async () => {
    let now = 0;
    const dns = dnsDeliverability({ servers: [server], timeoutMs: 500, now: () => now });
    await dns.check(FIXTURE_DOMAINS.clearbitWithoutIndustry);
    await dns.check(DNS_FIXTURE_DOMAINS.nxdomain);
    const before = await queries();
    await dns.check(FIXTURE_DOMAINS.clearbitWithoutIndustry);
    await dns.check(DNS_FIXTURE_DOMAINS.nxdomain.toUpperCase());
    expect(await queries()).toBe(before);
    now += 5 * 60_000 + 1;
    await dns.check(DNS_FIXTURE_DOMAINS.nxdomain);
    await dns.check(FIXTURE_DOMAINS.clearbitWithoutIndustry);
    // The NXDOMAIN is asked again (one MX query); the MX answer is still cached (1 h).
    expect(await queries()).toBe(before + 1);
  });

  it('lets a domain through when DNS fails (SERVFAIL, no answer, no server), and does not cache the failure', async () => {
    const dns = dnsDeliverability({ servers: [server], timeoutMs: 300 });
    await sandbox.control('dns', { failure: 'servfail' });
    expect(await dns.check(DNS_FIXTURE_DOMAINS.noMail)).toEqual({ deliverable: true, note: 'dns_failed' });
    await sandbox.control('dns', { failure: 'silent' });
    expect(await dns.check(DNS_FIXTURE_DOMAINS.nxdomain)).toEqual({ deliverable: true, note: 'dns_failed' });
    await sandbox.control('dns', { failure: null });
    expect(await dns.check(DNS_FIXTURE_DOMAINS.noMail)).toEqual({ deliverable: false, reason: 'no_mail_records' });
    // Nobody listening on the port: refused, not a verdict.
    const nobody = dnsDeliverability({ servers: ['127.0.0.1:9'], timeoutMs: 300 });
    expect(await nobody.check(DNS_FIXTURE_DOMAINS.nxdomain)).toEqual({ deliverable: true, note: 'dns_failed' });
  });
});
