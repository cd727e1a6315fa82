import { execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http2 from 'node:http2';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config';
import { SEARCH_ATTRIBUTES } from '../../src/domain/search-attributes';
import {
  connectClient,
  connectWorker,
  describeConnection,
  TemporalConnectionError,
} from '../../src/temporal/connection';
import {
  MissingSearchAttributesError,
  missingSearchAttributes,
  prepareSearchAttributes,
} from '../../src/temporal/search-attributes';
import { privateDatabaseUrl } from '../support/config';

/**
 * The connection to a secured Temporal, for real: the run's dev server (plaintext) behind TLS terminators this file
 * starts on 127.0.0.1 — one requiring a client certificate (mTLS), one that reads each gRPC request's headers (API
 * key) — with a CA, server and client certificates made here by `openssl`.
 */

const SERVER_NAME = 'temporal.test';
const API_KEY = `test-api-key-${randomUUID()}`;
const root = path.resolve(__dirname, '../..');

let dir: string;
const file = (name: string) => path.join(dir, name);
const stops: (() => Promise<void>)[] = [];
let mtlsAddress: string;
let apiKeyAddress: string;
/** The `authorization` header of every request the API-key terminator forwarded. */
const authorizations: (string | undefined)[] = [];

function openssl(...args: string[]) {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}

/** A CA, and certificates it signs: the server's (for SERVER_NAME only, not 127.0.0.1) and a client's. */
function makeCertificates() {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  for (const ca of ['ca', 'other-ca']) {
    openssl('req', '-x509', ...ec, '-keyout', `${ca}.key`, '-out', `${ca}.pem`, '-days', '2', '-subj', `/CN=${ca}`);
  }
  const sign = (name: string, ext: string) => {
    openssl('req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
    writeFileSync(file(`${name}.ext`), `${ext}\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\n`);
    openssl(
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '2',
      '-extfile',
      `${name}.ext`,
      '-out',
      `${name}.pem`,
    );
  };
  sign('server', `subjectAltName=DNS:${SERVER_NAME}\nextendedKeyUsage=serverAuth`);
  sign('client', 'extendedKeyUsage=clientAuth');
}

function listen(server: net.Server): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(`127.0.0.1:${(server.address() as net.AddressInfo).port}`));
  });
}

/** TLS in front of the dev server, client certificate required: each TLS socket piped to the plaintext port. */
async function startMtlsTerminator(upstream: { host: string; port: number }): Promise<string> {
  const sockets = new Set<net.Socket>();
  const server = tls.createServer(
    {
      key: readFileSync(file('server.key')),
      cert: readFileSync(file('server.pem')),
      ca: readFileSync(file('ca.pem')),
      requestCert: true,
      rejectUnauthorized: true,
      ALPNProtocols: ['h2'],
    },
    (socket) => {
      const up = net.connect(upstream.port, upstream.host);
      for (const s of [socket, up]) {
        sockets.add(s);
        s.on('close', () => sockets.delete(s));
        s.on('error', () => {
          socket.destroy();
          up.destroy();
        });
      }
      socket.pipe(up).pipe(socket);
    },
  );
  server.on('tlsClientError', () => undefined);
  const address = await listen(server);
  stops.push(
    () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  );
  return address;
}

/**
 * TLS in front of the dev server that speaks HTTP/2 itself: each gRPC stream is forwarded to the dev server, its
 * `authorization` header recorded; a request with another key gets UNAUTHENTICATED, as Temporal Cloud answers.
 */
async function startApiKeyTerminator(upstreamAddress: string): Promise<string> {
  const upstream = http2.connect(`http://${upstreamAddress}`);
  upstream.on('error', () => undefined);
  const sessions = new Set<http2.ServerHttp2Session>();
  const server = http2.createSecureServer({
    key: readFileSync(file('server.key')),
    cert: readFileSync(file('server.pem')),
  });
  server.on('session', (session) => {
    sessions.add(session);
    session.on('close', () => sessions.delete(session));
  });
  server.on('stream', (stream, headers) => {
    stream.on('error', () => undefined);
    const authorization = headers.authorization;
    authorizations.push(typeof authorization === 'string' ? authorization : undefined);
    if (authorization !== `Bearer ${API_KEY}`) {
      stream.respond(
        { ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '16', 'grpc-message': 'invalid API key' },
        { endStream: true },
      );
      return;
    }
    const forwarded: http2.OutgoingHttpHeaders = {};
    for (const [name, value] of Object.entries(headers)) {
      if (!name.startsWith(':') || name === ':method' || name === ':path') forwarded[name] = value;
    }
    const request = upstream.request(forwarded);
    request.on('error', () => stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR));
    let trailers: http2.OutgoingHttpHeaders = {};
    request.on('response', (responseHeaders, flags) => {
      const response = Object.fromEntries(
        Object.entries(responseHeaders).filter(([name]) => !name.startsWith(':') || name === ':status'),
      );
      // A trailers-only answer (an error status) ends the stream with its headers.
      if (flags & http2.constants.NGHTTP2_FLAG_END_STREAM) stream.respond(response, { endStream: true });
      else stream.respond(response, { waitForTrailers: true });
    });
    request.on('trailers', (t: http2.IncomingHttpHeaders) => {
      trailers = Object.fromEntries(Object.entries(t).filter(([name]) => !name.startsWith(':')));
    });
    stream.on('wantTrailers', () => stream.sendTrailers(trailers));
    stream.pipe(request);
    request.pipe(stream);
  });
  const address = await listen(server);
  stops.push(
    () =>
      new Promise((resolve) => {
        for (const s of sessions) s.destroy();
        upstream.destroy();
        server.close(() => resolve());
      }),
  );
  return address;
}

/** The configuration start-up builds from these variables, nothing else (no HOME: no user's temporal.toml). */
const configFrom = (env: Record<string, string>) => loadConfig({ LOG_LEVEL: 'silent', ...env });

const mtlsEnv = () => ({
  TEMPORAL_ADDRESS: mtlsAddress,
  TEMPORAL_TLS_SERVER_CA_CERT_PATH: file('ca.pem'),
  TEMPORAL_TLS_SERVER_NAME: SERVER_NAME,
  TEMPORAL_TLS_CLIENT_CERT_PATH: file('client.pem'),
  TEMPORAL_TLS_CLIENT_KEY_PATH: file('client.key'),
});

/** Connects a client and a worker connection from `env`; returns both errors' messages (undefined: connected). */
async function tryBoth(env: Record<string, string>): Promise<(string | undefined)[]> {
  const settings = configFrom(env).temporal.connection;
  return Promise.all([
    connectClient(settings).then(
      (c) => c.close().then(() => undefined),
      (err: Error) => {
        expect(err).toBeInstanceOf(TemporalConnectionError);
        return err.message;
      },
    ),
    connectWorker(settings).then(
      (c) => c.close().then(() => undefined),
      (err: Error) => {
        expect(err).toBeInstanceOf(TemporalConnectionError);
        return err.message;
      },
    ),
  ]);
}

/** `node src/worker.ts` as deployed, until it exits (start-up failures only: a healthy worker would run on). */
function runWorker(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/worker.ts'], {
      cwd: root,
      // No user's temporal.toml: a missing TEMPORAL_CONFIG_FILE reads as none.
      env: { PATH: process.env.PATH, TEMPORAL_CONFIG_FILE: file('none.toml'), LOG_LEVEL: 'silent', ...env },
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'temporal-tls-'));
  makeCertificates();
  const [host, port] = inject('temporalAddress').split(':');
  mtlsAddress = await startMtlsTerminator({ host: host!, port: Number(port) });
  apiKeyAddress = await startApiKeyTerminator(inject('temporalAddress'));
});

afterAll(async () => {
  for (const stop of stops.reverse()) await stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('connecting through TLS', () => {
  it('connects a client and a worker over mTLS with a custom CA and server name, from TEMPORAL_TLS_* variables', async () => {
    const config = configFrom(mtlsEnv());
    expect(describeConnection(config.temporal.connection)).toBe(
      `${mtlsAddress} (namespace default, TLS, custom CA, server name ${SERVER_NAME}, client certificate)`,
    );
    const client = await connectClient(config.temporal.connection);
    try {
      const info = await client.workflowService.getSystemInfo({});
      expect(info.capabilities).toBeTruthy();
    } finally {
      await client.close();
    }
    const worker = await connectWorker(config.temporal.connection);
    try {
      const ns = await worker.workflowService.describeNamespace({ namespace: 'default' });
      expect(ns.namespaceInfo?.name).toBe('default');
    } finally {
      await worker.close();
    }
  });

  it('reads the same settings from a temporal.toml profile (TEMPORAL_CONFIG_FILE, TEMPORAL_PROFILE)', async () => {
    const toml = file('temporal.toml');
    writeFileSync(
      toml,
      [
        '[profile.default]',
        'address = "127.0.0.1:1"',
        '',
        '[profile.secured]',
        `address = "${mtlsAddress}"`,
        'namespace = "default"',
        '[profile.secured.tls]',
        `server_ca_cert_path = "${file('ca.pem')}"`,
        `server_name = "${SERVER_NAME}"`,
        `client_cert_path = "${file('client.pem')}"`,
        `client_key_path = "${file('client.key')}"`,
        '',
      ].join('\n'),
    );
    const config = configFrom({ TEMPORAL_CONFIG_FILE: toml, TEMPORAL_PROFILE: 'secured' });
    expect(config.temporal.external).toBe(true);
    expect(config.temporal.address).toBe(mtlsAddress);
    expect(await tryBoth({ TEMPORAL_CONFIG_FILE: toml, TEMPORAL_PROFILE: 'secured' })).toEqual([undefined, undefined]);
    // A profile that does not exist stops start-up, named.
    expect(() => configFrom({ TEMPORAL_CONFIG_FILE: toml, TEMPORAL_PROFILE: 'prod' })).toThrow(
      /Temporal connection \(profile "prod" of .*temporal\.toml.*\): Profile 'prod' not found/,
    );
  });

  it('names an untrusted server certificate (wrong CA) in one line, for the client, the worker and the worker process', async () => {
    const env = { ...mtlsEnv(), TEMPORAL_TLS_SERVER_CA_CERT_PATH: file('other-ca.pem') };
    const messages = await tryBoth(env);
    for (const message of messages) {
      expect(message).toMatch(
        new RegExp(
          `^cannot connect to Temporal at ${mtlsAddress} \\(namespace default, TLS, custom CA, server name ${SERVER_NAME}, client certificate\\): ` +
            "the server's TLS certificate is not trusted: set TEMPORAL_TLS_SERVER_CA_CERT_PATH",
        ),
      );
      expect(message).not.toContain('\n');
    }
    const run = await runWorker({ ...env, DATABASE_URL: await privateDatabaseUrl() });
    expect(run.code).toBe(1);
    expect(run.output.trim()).toBe(messages[1]);
  });

  it('names a missing client certificate when the server requires one', async () => {
    const { TEMPORAL_TLS_CLIENT_CERT_PATH: _cert, TEMPORAL_TLS_CLIENT_KEY_PATH: _key, ...env } = mtlsEnv();
    const messages = await tryBoth(env);
    for (const message of messages) {
      expect(message).toMatch(
        new RegExp(
          `^cannot connect to Temporal at ${mtlsAddress} \\(namespace default, TLS, custom CA, server name ${SERVER_NAME}\\): ` +
            'the server asked for a client certificate \\(mTLS\\)',
        ),
      );
      expect(message).not.toContain('\n');
    }
  });

  it('refuses half a client certificate, and a file that does not exist, at start-up', () => {
    const { TEMPORAL_TLS_CLIENT_KEY_PATH: _key, ...env } = mtlsEnv();
    expect(() => configFrom(env)).toThrow(/TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH go together/);
    expect(() => configFrom({ ...mtlsEnv(), TEMPORAL_TLS_SERVER_CA_CERT_PATH: file('missing.pem') })).toThrow(
      /Temporal connection .*missing\.pem/,
    );
    expect(() => configFrom({ TEMPORAL_TLS_DISABLE_HOST_VERIFICATION: 'true' })).toThrow(ConfigError);
  });
});

describe('API key', () => {
  const env = () => ({
    TEMPORAL_ADDRESS: apiKeyAddress,
    TEMPORAL_API_KEY: API_KEY,
    TEMPORAL_TLS_SERVER_CA_CERT_PATH: file('ca.pem'),
    TEMPORAL_TLS_SERVER_NAME: SERVER_NAME,
  });

  it('reaches the server as `authorization: Bearer <key>` on every call, the client and the worker', async () => {
    authorizations.length = 0;
    expect(await tryBoth(env())).toEqual([undefined, undefined]);
    expect(authorizations.length).toBeGreaterThanOrEqual(2);
    expect(new Set(authorizations)).toEqual(new Set([`Bearer ${API_KEY}`]));
  });

  it('a refused key is named, never shown: not in the error, the description or the output', async () => {
    const wrong = `wrong-key-${randomUUID()}`;
    const written: string[] = [];
    const stdout = process.stdout.write.bind(process.stdout);
    const stderr = process.stderr.write.bind(process.stderr);
    const capture = (chunk: unknown) => {
      written.push(String(chunk));
      return true;
    };
    process.stdout.write = capture;
    process.stderr.write = capture;
    let messages: (string | undefined)[];
    try {
      messages = await tryBoth({ ...env(), TEMPORAL_API_KEY: wrong });
    } finally {
      process.stdout.write = stdout;
      process.stderr.write = stderr;
    }
    for (const message of messages) {
      expect(message).toMatch(
        new RegExp(
          `^cannot connect to Temporal at ${apiKeyAddress} \\(namespace default, TLS, custom CA, server name ${SERVER_NAME}, API key\\): ` +
            'the server refused our credentials \\(TEMPORAL_API_KEY; UNAUTHENTICATED\\)$',
        ),
      );
    }
    const config = configFrom({ ...env(), TEMPORAL_API_KEY: wrong });
    expect([...messages, describeConnection(config.temporal.connection), ...written].join('\n')).not.toContain(wrong);
  });
});

describe('TEMPORAL_REGISTER_SEARCH_ATTRIBUTES=false', () => {
  const address = () => inject('temporalAddress');
  let namespace: string;

  beforeAll(() => {
    namespace = `fresh-${randomUUID().slice(0, 8)}`;
    execFileSync(inject('temporalCli'), ['operator', 'namespace', 'create', '--address', address(), namespace], {
      stdio: 'pipe',
    });
  });

  it('stops start-up on a namespace lacking our attributes, printing the commands that create them; they do', async () => {
    const config = configFrom({
      TEMPORAL_ADDRESS: address(),
      TEMPORAL_NAMESPACE: namespace,
      TEMPORAL_REGISTER_SEARCH_ATTRIBUTES: 'false',
    });
    expect(config.temporal.registerSearchAttributes).toBe(false);
    const connection = await connectWorker(config.temporal.connection);
    try {
      const error = await prepareSearchAttributes(connection, { namespace, register: false }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(MissingSearchAttributesError);
      const message = (error as Error).message;
      const commands = message.split('\n').filter((l) => l.startsWith('  temporal operator'));
      expect(commands).toEqual(
        SEARCH_ATTRIBUTES.map(
          (k) =>
            `  temporal operator search-attribute create --namespace ${namespace} --name ${k.name} --type ${{ KEYWORD: 'Keyword', INT: 'Int', DATETIME: 'Datetime' }[k.type]}`,
        ),
      );
      expect(message).toContain(`tcld namespace search-attributes add --namespace ${namespace} --search-attribute`);
      // Nothing was registered: the check only read.
      expect(await missingSearchAttributes(connection, namespace)).toEqual(SEARCH_ATTRIBUTES.map((k) => k.name));

      // The worker process stops the same way, with that message alone.
      const run = await runWorker({
        TEMPORAL_ADDRESS: address(),
        TEMPORAL_NAMESPACE: namespace,
        TEMPORAL_REGISTER_SEARCH_ATTRIBUTES: 'false',
        DATABASE_URL: await privateDatabaseUrl(),
      });
      expect(run.code).toBe(1);
      expect(run.output.trim()).toBe(message);

      // Run as printed, the commands create them; then start-up goes on.
      for (const command of commands) {
        const args = command.trim().split(' ').slice(1);
        execFileSync(inject('temporalCli'), [...args, '--address', address()], { stdio: 'pipe' });
      }
      expect(await prepareSearchAttributes(connection, { namespace, register: false })).toEqual([]);
    } finally {
      await connection.close();
    }
  });

  it('falls back to visibility queries when the operator read call is refused', async () => {
    const other = `fresh-${randomUUID().slice(0, 8)}`;
    execFileSync(inject('temporalCli'), ['operator', 'namespace', 'create', '--address', address(), other], {
      stdio: 'pipe',
    });
    const client = await connectClient(
      configFrom({ TEMPORAL_ADDRESS: address(), TEMPORAL_NAMESPACE: other }).temporal.connection,
    );
    try {
      const denied = {
        operatorService: {
          listSearchAttributes: () => Promise.reject(Object.assign(new Error('Request unauthorized.'), { code: 7 })),
        },
        workflowService: client.workflowService,
      } as unknown as Parameters<typeof missingSearchAttributes>[0];
      expect(await missingSearchAttributes(denied, other)).toEqual(SEARCH_ATTRIBUTES.map((k) => k.name));
      expect(await missingSearchAttributes(denied, 'default')).toEqual([]);
    } finally {
      await client.close();
    }
  });
});
