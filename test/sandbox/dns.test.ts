import { Resolver } from 'node:dns/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDataset, DNS_FIXTURE_DOMAINS, FIXTURE_DOMAINS } from '../../src/sandbox/dataset';
import { decodeQuery, DnsFormatError, encodeResponse } from '../../src/sandbox/dns';
import { startSandbox, type RunningSandbox } from '../support/sandbox';

// Real packets: node:dns (c-ares) pointed at the sandbox's DNS server on its OS-picked UDP port.
describe('the sandbox DNS server', () => {
  let sandbox: RunningSandbox;
  let resolver: Resolver;

  beforeAll(async () => {
    sandbox = await startSandbox();
    const fixtures = (await (await fetch(`${sandbox.url}/_fixtures`)).json()) as { dns: string };
    expect(fixtures.dns).toMatch(/^127\.0\.0\.1:\d+$/);
    resolver = new Resolver({ timeout: 500, tries: 1 });
    resolver.setServers([fixtures.dns]);
  });
  afterAll(async () => {
    await sandbox.control('dns', { failure: null });
    await sandbox.close();
  });

  it('answers MX and A for a company domain of the data set', async () => {
    const mx = await resolver.resolveMx(FIXTURE_DOMAINS.clearbitComplete);
    expect(mx.sort((a, b) => a.priority - b.priority)).toEqual([
      { exchange: `mx1.${FIXTURE_DOMAINS.clearbitComplete}`, priority: 10 },
      { exchange: `mx2.${FIXTURE_DOMAINS.clearbitComplete}`, priority: 20 },
    ]);
    const [a] = await resolver.resolve4(FIXTURE_DOMAINS.clearbitComplete);
    expect(a).toMatch(/^192\.0\.2\.\d+$/);
    expect(await resolver.resolve4(`mx1.${FIXTURE_DOMAINS.clearbitComplete}`)).toHaveLength(1);
    // Generated companies too, not only the fixtures.
    const generated = createDataset().companies.at(-1)!.domain;
    expect(await resolver.resolveMx(generated)).toHaveLength(2);
  });

  it('answers NODATA for a type a known name lacks, and for the domain without mail', async () => {
    await expect(resolver.resolve6(FIXTURE_DOMAINS.clearbitComplete)).rejects.toMatchObject({ code: 'ENODATA' });
    await expect(resolver.resolveMx(DNS_FIXTURE_DOMAINS.noMail)).rejects.toMatchObject({ code: 'ENODATA' });
    await expect(resolver.resolve4(DNS_FIXTURE_DOMAINS.noMail)).rejects.toMatchObject({ code: 'ENODATA' });
    await expect(resolver.resolveMx(DNS_FIXTURE_DOMAINS.addressOnly)).rejects.toMatchObject({ code: 'ENODATA' });
    expect(await resolver.resolve4(DNS_FIXTURE_DOMAINS.addressOnly)).toHaveLength(1);
  });

  it('answers NXDOMAIN for a name it does not know', async () => {
    await expect(resolver.resolveMx(DNS_FIXTURE_DOMAINS.nxdomain)).rejects.toMatchObject({ code: 'ENOTFOUND' });
    await expect(resolver.resolve4('nobody-here.example')).rejects.toMatchObject({ code: 'ENOTFOUND' });
    const inspection = await sandbox.inspect<{ counts: { queries: number; nxdomain: number } }>('dns');
    expect(inspection.counts.nxdomain).toBeGreaterThanOrEqual(2);
  });

  it('answers SERVFAIL, or nothing at all, when told to', async () => {
    await sandbox.control('dns', { failure: 'servfail' });
    await expect(resolver.resolveMx(FIXTURE_DOMAINS.clearbitComplete)).rejects.toMatchObject({ code: 'ESERVFAIL' });
    await sandbox.control('dns', { failure: 'silent' });
    await expect(resolver.resolveMx(FIXTURE_DOMAINS.clearbitComplete)).rejects.toMatchObject({ code: 'ETIMEOUT' });
    await sandbox.control('dns', { failure: null });
    expect(await resolver.resolveMx(FIXTURE_DOMAINS.clearbitComplete)).toHaveLength(2);
  });

  it('refuses an invalid control with a 400 naming the field', async () => {
    const res = await fetch(`${sandbox.url}/_control/dns`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ failure: 'sometimes' }),
    });
    expect(res.status).toBe(400);
    expect(JSON.stringify(await res.json())).toContain('failure');
  });

  it('keeps the undeliverable domains out of the data set', () => {
    const dataset = createDataset();
    for (const domain of Object.values(DNS_FIXTURE_DOMAINS)) expect(dataset.byDomain.has(domain)).toBe(false);
  });
});

describe('the DNS wire format', () => {
  const query = (name: string, type: number) => {
    const labels = name.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)]));
    const header = Buffer.from([0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    return Buffer.concat([header, ...labels, Buffer.from([0, 0, type, 0, 1])]);
  };

  it('decodes a query and encodes its answer with the question echoed', () => {
    const q = decodeQuery(query('Quorvalis.com', 15));
    expect(q).toEqual({
      id: 0x1234,
      opcode: 0,
      recursionDesired: true,
      question: { name: 'quorvalis.com', type: 15, class: 1 },
    });
    const res = encodeResponse(q, { rcode: 3, answers: [] });
    expect(res.readUInt16BE(0)).toBe(0x1234);
    expect(res.readUInt16BE(2) & 0x8000).toBe(0x8000);
    expect(res.readUInt16BE(2) & 0xf).toBe(3);
    expect(res.subarray(12)).toEqual(query('quorvalis.com', 15).subarray(12));
  });

  it('refuses malformed packets', () => {
    expect(() => decodeQuery(Buffer.from([1, 2, 3]))).toThrow(DnsFormatError);
    const loop = Buffer.from([0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1]);
    expect(() => decodeQuery(loop)).toThrow(DnsFormatError);
    const truncated = query('quorvalis.com', 15).subarray(0, 20);
    expect(() => decodeQuery(truncated)).toThrow(DnsFormatError);
  });
});
