import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';

/*
 * A small authoritative DNS server over UDP for the sandbox's data set (RFC 1035 wire format, section 4): the
 * deliverability screening's resolver is pointed at it in sandbox mode, so the real `node:dns` resolver sends real
 * packets. It answers one question per query (what every stub resolver sends), class IN only, with the AA bit set:
 * MX and A for the data set's domains, NODATA (NOERROR, no answer) for the other types of a known name, NXDOMAIN for
 * a name it does not know, NOTIMP for any opcode but QUERY, FORMERR for a packet it cannot parse. Additional records
 * a resolver sends (an EDNS OPT, RFC 6891) are ignored: the answer never needs more than 512 bytes.
 */

export const DNS_TYPE = { A: 1, NS: 2, CNAME: 5, SOA: 6, MX: 15, TXT: 16, AAAA: 28, ANY: 255 } as const;
export const DNS_RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;
const CLASS_IN = 1;
const HEADER_BYTES = 12;
/** The answers' TTL, seconds: the data set does not change while the sandbox runs. */
const TTL_SECONDS = 300;

export interface DnsQuestion {
  name: string;
  type: number;
  class: number;
}

export interface DnsQuery {
  id: number;
  opcode: number;
  recursionDesired: boolean;
  question: DnsQuestion;
}

export type DnsRecord =
  | { type: typeof DNS_TYPE.A; name: string; address: string }
  | { type: typeof DNS_TYPE.MX; name: string; preference: number; exchange: string };

export interface DnsAnswer {
  rcode: number;
  answers: DnsRecord[];
}

export class DnsFormatError extends Error {}

/** Reads a (possibly compressed, RFC 1035 §4.1.4) domain name at `offset`; returns it and the offset after it. */
function readName(buf: Buffer, offset: number): { name: string; next: number } {
  const labels: string[] = [];
  let pos = offset;
  let next: number | undefined;
  for (let jumps = 0; ;) {
    if (pos >= buf.length) throw new DnsFormatError('name runs past the packet');
    const len = buf[pos]!;
    if ((len & 0xc0) === 0xc0) {
      if (pos + 1 >= buf.length) throw new DnsFormatError('truncated pointer');
      if (++jumps > 16) throw new DnsFormatError('pointer loop');
      next ??= pos + 2;
      pos = ((len & 0x3f) << 8) | buf[pos + 1]!;
      continue;
    }
    if (len & 0xc0) throw new DnsFormatError('unknown label type');
    if (len === 0) return { name: labels.join('.'), next: next ?? pos + 1 };
    if (pos + 1 + len > buf.length) throw new DnsFormatError('label runs past the packet');
    labels.push(buf.toString('latin1', pos + 1, pos + 1 + len));
    if (labels.join('.').length > 253) throw new DnsFormatError('name longer than 255 octets');
    pos += 1 + len;
  }
}

function encodeName(name: string): Buffer {
  const labels = name.replace(/\.$/, '').split('.').filter(Boolean);
  const parts: Buffer[] = [];
  for (const label of labels) {
    const bytes = Buffer.from(label, 'latin1');
    if (bytes.length > 63) throw new DnsFormatError(`label longer than 63 octets: ${label}`);
    parts.push(Buffer.from([bytes.length]), bytes);
  }
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

/** Parses a query: the header and its first question (QDCOUNT must be 1). */
export function decodeQuery(buf: Buffer): DnsQuery {
  if (buf.length < HEADER_BYTES) throw new DnsFormatError('shorter than a header');
  const flags = buf.readUInt16BE(2);
  if (flags & 0x8000) throw new DnsFormatError('a response, not a query');
  const qdcount = buf.readUInt16BE(4);
  if (qdcount !== 1) throw new DnsFormatError(`expected one question, got ${qdcount}`);
  const { name, next } = readName(buf, HEADER_BYTES);
  if (next + 4 > buf.length) throw new DnsFormatError('question runs past the packet');
  return {
    id: buf.readUInt16BE(0),
    opcode: (flags >> 11) & 0xf,
    recursionDesired: Boolean(flags & 0x0100),
    question: { name: name.toLowerCase(), type: buf.readUInt16BE(next), class: buf.readUInt16BE(next + 2) },
  };
}

/** A response to `query`: its question echoed, then the answer records (names written out, not compressed). */
export function encodeResponse(
  query: Pick<DnsQuery, 'id' | 'opcode' | 'recursionDesired'> & { question?: DnsQuestion },
  answer: DnsAnswer,
): Buffer {
  const header = Buffer.alloc(HEADER_BYTES);
  header.writeUInt16BE(query.id, 0);
  // QR=1, the query's opcode, AA=1, RD copied, RA=0 (an authoritative server, not a recursive one).
  const flags =
    0x8000 | ((query.opcode & 0xf) << 11) | 0x0400 | (query.recursionDesired ? 0x0100 : 0) | (answer.rcode & 0xf);
  header.writeUInt16BE(flags, 2);
  header.writeUInt16BE(query.question ? 1 : 0, 4);
  header.writeUInt16BE(answer.answers.length, 6);
  const parts: Buffer[] = [header];
  if (query.question) {
    const q = Buffer.alloc(4);
    q.writeUInt16BE(query.question.type, 0);
    q.writeUInt16BE(query.question.class, 2);
    parts.push(encodeName(query.question.name), q);
  }
  for (const record of answer.answers) {
    const rdata =
      record.type === DNS_TYPE.A
        ? Buffer.from(record.address.split('.').map(Number))
        : Buffer.concat([Buffer.from([record.preference >> 8, record.preference & 0xff]), encodeName(record.exchange)]);
    const fixed = Buffer.alloc(10);
    fixed.writeUInt16BE(record.type, 0);
    fixed.writeUInt16BE(CLASS_IN, 2);
    fixed.writeUInt32BE(TTL_SECONDS, 4);
    fixed.writeUInt16BE(rdata.length, 8);
    parts.push(encodeName(record.name), fixed, rdata);
  }
  return Buffer.concat(parts);
}

/** How the server answers: normally, SERVFAIL to every query, or not at all (a resolver's timeout). */
export type DnsFailure = 'servfail' | 'silent' | null;

export interface DnsServerOptions {
  host?: string;
  /** 0 (default): a port the OS picks. */
  port?: number;
  /** The zone: what a question is answered with. */
  resolve: (question: DnsQuestion) => DnsAnswer;
  /** Read on every query, so a control change applies at once. */
  failure?: () => DnsFailure;
  /** Called for every query received (the sandbox's call log). */
  onQuery?: (question: DnsQuestion | undefined, rcode: number | 'dropped') => void;
}

export interface DnsServer {
  host: string;
  port: number;
  /** `host:port`, as DNS_SERVERS takes it. */
  address: string;
  close(): Promise<void>;
}

/** Starts the server on UDP; resolves once it is bound. */
export async function startDnsServer(options: DnsServerOptions): Promise<DnsServer> {
  const socket: Socket = createSocket('udp4');
  const answer = (msg: Buffer, rinfo: RemoteInfo) => {
    let query: DnsQuery;
    try {
      query = decodeQuery(msg);
    } catch {
      options.onQuery?.(undefined, DNS_RCODE.FORMERR);
      if (msg.length < 2) return;
      const reply = encodeResponse(
        { id: msg.readUInt16BE(0), opcode: 0, recursionDesired: false },
        { rcode: DNS_RCODE.FORMERR, answers: [] },
      );
      socket.send(reply, rinfo.port, rinfo.address);
      return;
    }
    const failure = options.failure?.() ?? null;
    if (failure === 'silent') {
      options.onQuery?.(query.question, 'dropped');
      return;
    }
    const result: DnsAnswer =
      failure === 'servfail'
        ? { rcode: DNS_RCODE.SERVFAIL, answers: [] }
        : query.opcode !== 0
          ? { rcode: DNS_RCODE.NOTIMP, answers: [] }
          : query.question.class !== CLASS_IN
            ? { rcode: DNS_RCODE.REFUSED, answers: [] }
            : options.resolve(query.question);
    options.onQuery?.(query.question, result.rcode);
    socket.send(encodeResponse(query, result), rinfo.port, rinfo.address);
  };
  socket.on('message', answer);
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      socket.off('error', reject);
      resolve();
    });
  });
  const { address: host, port } = socket.address();
  return {
    host,
    port,
    address: `${host}:${port}`,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

/**
 * The data set's zone: every company domain receives mail (MX `mx1.` and `mx2.` of the domain, each with an
 * address, and an address of its own), `addressOnly` domains have an address and no MX (mail goes to the address,
 * RFC 5321 §5.1), `noMail` domains exist with neither, and every other name is NXDOMAIN.
 */
export function datasetZone(zone: {
  mailDomains: (domain: string) => boolean;
  addressOnly: readonly string[];
  noMail: readonly string[];
}): (question: DnsQuestion) => DnsAnswer {
  const address = (name: string) => {
    let h = 0;
    for (const c of name) h = (h * 31 + c.charCodeAt(0)) >>> 0;
    // TEST-NET-1 (RFC 5737): documentation addresses, never routed.
    return `192.0.2.${(h % 254) + 1}`;
  };
  return ({ name, type }) => {
    const mailHost = /^mx[12]\.(.+)$/.exec(name)?.[1];
    const isMail = zone.mailDomains(name);
    const known = isMail || zone.addressOnly.includes(name) || zone.noMail.includes(name);
    if (mailHost !== undefined && zone.mailDomains(mailHost)) {
      return {
        rcode: DNS_RCODE.NOERROR,
        answers: type === DNS_TYPE.A ? [{ type: DNS_TYPE.A, name, address: address(name) }] : [],
      };
    }
    if (!known) return { rcode: DNS_RCODE.NXDOMAIN, answers: [] };
    if (type === DNS_TYPE.MX && isMail) {
      return {
        rcode: DNS_RCODE.NOERROR,
        answers: [
          { type: DNS_TYPE.MX, name, preference: 10, exchange: `mx1.${name}` },
          { type: DNS_TYPE.MX, name, preference: 20, exchange: `mx2.${name}` },
        ],
      };
    }
    if (type === DNS_TYPE.A && !zone.noMail.includes(name)) {
      return { rcode: DNS_RCODE.NOERROR, answers: [{ type: DNS_TYPE.A, name, address: address(name) }] };
    }
    return { rcode: DNS_RCODE.NOERROR, answers: [] };
  };
}
