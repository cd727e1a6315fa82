import net, { isIP } from 'node:net';
import tls from 'node:tls';
import { Connection, type ConnectionOptions, type TLSConfig } from '@temporalio/client';
import { loadClientConfigProfile, toClientOptions } from '@temporalio/envconfig';
import type { NativeConnection, NativeConnectionOptions } from '@temporalio/worker';

/**
 * The one way this application connects to Temporal: the worker, the starter, `npm start`, the `enrich` CLI and the
 * schedules all take their connection from here. The settings come from `@temporalio/envconfig`, so TEMPORAL_ADDRESS,
 * TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS_*, TEMPORAL_GRPC_META_* and temporal.toml profiles
 * (TEMPORAL_CONFIG_FILE, TEMPORAL_PROFILE) mean what they mean to the `temporal` CLI.
 */

export interface TemporalConnectionSettings {
  /** host:port of the frontend. */
  address: string;
  namespace: string;
  /** true (system roots), a TLS configuration (custom CA, server name, client certificate) or undefined (plaintext). */
  tls?: TLSConfig | boolean;
  /** Sent as `Authorization: Bearer <key>`; never logged, never in an error message. */
  apiKey?: string;
  /** Extra gRPC metadata (TEMPORAL_GRPC_META_*, a profile's grpc_meta). */
  metadata?: Record<string, string>;
}

/** Where the settings came from, for messages: `TEMPORAL_* variables` or `profile "prod" of /etc/temporal.toml`. */
export interface ResolvedTemporal {
  /** Whether an address was configured (else `npm start` runs a dev server on `address`). */
  configured: boolean;
  connection: TemporalConnectionSettings;
  source: string;
}

/** The variables @temporalio/envconfig reads besides TEMPORAL_*: where the default temporal.toml lives. */
const CONFIG_DIR_VARIABLES = ['HOME', 'XDG_CONFIG_HOME', 'APPDATA'];

/**
 * Resolves the connection as the `temporal` CLI would: a temporal.toml profile (TEMPORAL_CONFIG_FILE, else the user's
 * default file; TEMPORAL_PROFILE, else `default`), overridden by the TEMPORAL_* variables. Empty variables count as
 * unset (an exported .env.example sets them all). Problems are pushed, not thrown, so start-up names all of them.
 */
export function resolveTemporal(
  env: NodeJS.ProcessEnv,
  fallbackAddress: string,
  problems: string[],
): ResolvedTemporal | undefined {
  const vars: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || value.trim() === '') continue;
    if (name.startsWith('TEMPORAL_') || CONFIG_DIR_VARIABLES.includes(name)) vars[name] = value.trim();
  }
  if (['1', 'true'].includes(vars.TEMPORAL_TLS_DISABLE_HOST_VERIFICATION ?? '')) {
    problems.push(
      'TEMPORAL_TLS_DISABLE_HOST_VERIFICATION: the TypeScript SDK always verifies the server certificate; set ' +
        "TEMPORAL_TLS_SERVER_NAME to the name in the server's certificate (and TEMPORAL_TLS_SERVER_CA_CERT_PATH to its CA)",
    );
    return undefined;
  }
  const file = vars.TEMPORAL_CONFIG_FILE;
  const profileName = vars.TEMPORAL_PROFILE;
  const source = file
    ? `profile "${profileName ?? 'default'}" of ${file} (TEMPORAL_CONFIG_FILE) and the TEMPORAL_* variables`
    : 'the TEMPORAL_* variables';
  let profile;
  let options;
  try {
    profile = loadClientConfigProfile({ overrideEnvVars: vars });
    options = toClientOptions(profile);
  } catch (err) {
    // envconfig's messages name the profile or the file, never a key's value.
    const reason = err instanceof Error ? err.message : String(err);
    problems.push(`Temporal connection (${source}): ${reason}`);
    return undefined;
  }
  const { connectionOptions } = options;
  const address = connectionOptions.address;
  const tls = connectionOptions.tls ?? undefined;
  // envconfig drops a certificate without its key (or the reverse) silently: the server would then refuse us.
  if (
    Boolean(vars.TEMPORAL_TLS_CLIENT_CERT_PATH ?? vars.TEMPORAL_TLS_CLIENT_CERT_DATA) !==
    Boolean(vars.TEMPORAL_TLS_CLIENT_KEY_PATH ?? vars.TEMPORAL_TLS_CLIENT_KEY_DATA)
  ) {
    problems.push('TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH go together: set both or neither');
  }
  return {
    configured: address !== undefined,
    source,
    connection: {
      address: address ?? fallbackAddress,
      namespace: options.namespace ?? 'default',
      ...(tls === undefined ? {} : { tls }),
      ...(connectionOptions.apiKey === undefined ? {} : { apiKey: connectionOptions.apiKey }),
      ...(profile.grpcMeta === undefined ? {} : { metadata: profile.grpcMeta }),
    },
  };
}

/** How a connection is described in messages: address, namespace and the kind of security, never a secret. */
export function describeConnection(s: TemporalConnectionSettings): string {
  const tls =
    s.tls === undefined || s.tls === false
      ? 'plaintext'
      : s.tls === true || (!s.tls.serverRootCACertificate && !s.tls.clientCertPair)
        ? 'TLS'
        : [
            'TLS',
            s.tls.serverRootCACertificate ? 'custom CA' : undefined,
            s.tls.serverNameOverride ? `server name ${s.tls.serverNameOverride}` : undefined,
            s.tls.clientCertPair ? 'client certificate' : undefined,
          ]
            .filter(Boolean)
            .join(', ');
  return `${s.address} (namespace ${s.namespace}, ${tls}${s.apiKey ? ', API key' : ''})`;
}

/** Options of a client `Connection` (starter, CLI, schedules). */
export function clientConnectionOptions(s: TemporalConnectionSettings): ConnectionOptions {
  return {
    address: s.address,
    ...(s.tls === undefined ? {} : { tls: s.tls }),
    ...(s.apiKey === undefined ? {} : { apiKey: s.apiKey }),
    ...(s.metadata === undefined ? {} : { metadata: s.metadata }),
  };
}

/** Options of the worker's `NativeConnection`. */
export function nativeConnectionOptions(s: TemporalConnectionSettings): NativeConnectionOptions {
  return {
    address: s.address,
    ...(s.tls === undefined ? {} : { tls: s.tls }),
    ...(s.apiKey === undefined ? {} : { apiKey: s.apiKey }),
    ...(s.metadata === undefined ? {} : { metadata: s.metadata }),
  };
}

/** A connection that could not be made, in one sentence: where, how, what went wrong, and what to check. */
export class TemporalConnectionError extends Error {
  constructor(settings: TemporalConnectionSettings, cause: unknown) {
    super(`cannot connect to Temporal at ${describeConnection(settings)}: ${diagnose(settings, cause)}`);
    this.name = 'TemporalConnectionError';
  }
}

/** Connects a client, checking the server answers (so a TLS or credential problem shows here, not at first use). */
export async function connectClient(
  s: TemporalConnectionSettings,
  options: { connectTimeout?: ConnectionOptions['connectTimeout'] } = {},
): Promise<Connection> {
  // grpc-js hides a refused port or a failed handshake behind "Failed to connect before the deadline": ask first.
  const handshake = await transportProblem(s);
  if (handshake) throw new TemporalConnectionError(s, new Error(handshake));
  let connection: Connection | undefined;
  try {
    connection = await Connection.connect({ ...clientConnectionOptions(s), connectTimeout: '10 seconds', ...options });
    // Connection.connect only checks the channel: a refused credential shows on the first call.
    await connection.workflowService.describeNamespace({ namespace: s.namespace });
    return connection;
  } catch (err) {
    await connection?.close().catch(() => undefined);
    throw new TemporalConnectionError(s, err);
  }
}

/** A client connection that connects on first use (the starter records signups while Temporal is down). */
export function lazyClientConnection(s: TemporalConnectionSettings): Connection {
  return Connection.lazy(clientConnectionOptions(s));
}

/** Connects the worker's native connection and checks the namespace answers. */
export async function connectWorker(s: TemporalConnectionSettings): Promise<NativeConnection> {
  // Loaded here, not at the top: the starter and the CLI import this module and need not load the worker's runtime.
  const { NativeConnection } = await import('@temporalio/worker');
  // The native client reports a refused client certificate as a closed connection, or as the alert, depending on
  // which it reads first: node's handshake names it reliably.
  const handshake = await transportProblem(s);
  if (handshake) throw new TemporalConnectionError(s, new Error(handshake));
  let connection: NativeConnection | undefined;
  try {
    connection = await NativeConnection.connect(nativeConnectionOptions(s));
    await connection.workflowService.describeNamespace({ namespace: s.namespace });
    return connection;
  } catch (err) {
    await connection?.close().catch(() => undefined);
    throw new TemporalConnectionError(s, err);
  }
}

/**
 * A TCP connection and TLS handshake with the connection's settings, as node reports them (undefined: it worked).
 * It waits for the server's first HTTP/2 bytes: under TLS 1.3 a refused client certificate arrives after the handshake.
 */
async function transportProblem(s: TemporalConnectionSettings): Promise<string | undefined> {
  const match = /^\[?(.*?)\]?:(\d+)$/.exec(s.address);
  if (!match) return undefined;
  const [, host = '', port = ''] = match;
  if (s.tls === undefined || s.tls === false) {
    // Plaintext: only whether anything listens (grpc-js would wait out its deadline on a refused port).
    return new Promise((resolve) => {
      const socket = net.connect(Number(port), host, () => {
        socket.destroy();
        resolve(undefined);
      });
      socket.once('error', (err: NodeJS.ErrnoException) => {
        socket.destroy();
        resolve(`${err.code ?? ''} ${err.message}`);
      });
    });
  }
  const options = s.tls === true ? {} : s.tls;
  const pem = (data: Uint8Array | undefined) => (data ? Buffer.from(data) : undefined);
  return new Promise((resolve) => {
    const socket = tls.connect(
      {
        host,
        port: Number(port),
        servername: options.serverNameOverride ?? (isIP(host) ? undefined : host),
        ca: pem(options.serverRootCACertificate),
        cert: pem(options.clientCertPair?.crt),
        key: pem(options.clientCertPair?.key),
        ALPNProtocols: ['h2'],
      },
      () => socket.write('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00'),
    );
    const done = (problem: string | undefined) => {
      socket.destroy();
      resolve(problem);
    };
    socket.setTimeout(10_000, () => done(undefined));
    socket.once('data', () => done(undefined));
    socket.once('error', (err: NodeJS.ErrnoException) => done(`${err.code ?? ''} ${err.message}`));
    socket.once('close', () => done(undefined));
  });
}

/** The messages and codes of an error and its causes. */
function describeError(err: unknown): { text: string; codes: unknown[] } {
  const parts: string[] = [];
  const codes: unknown[] = [];
  for (let e: unknown = err, depth = 0; e !== undefined && e !== null && depth < 5; depth++) {
    const { message, details, code, cause } = e as {
      message?: unknown;
      details?: unknown;
      code?: unknown;
      cause?: unknown;
    };
    parts.push(
      typeof message === 'string' ? message : typeof e === 'string' ? e : '',
      typeof details === 'string' ? details : '',
    );
    codes.push(code);
    e = cause;
  }
  return { text: parts.join(' '), codes };
}

/** The TLS or credential problem behind a failed connection, named in words an operator acts on. */
function diagnose(s: TemporalConnectionSettings, err: unknown): string {
  const { text: raw, codes } = describeError(err);
  const text = s.apiKey ? raw.split(s.apiKey).join('<api key>') : raw;
  const code = codes.find((c) => typeof c === 'number');
  const tls = s.tls !== undefined && s.tls !== false;
  if (
    /certificate required|alert number 116|CertificateRequired|handshake_failure|HandshakeFailure|alert number 40\b/i.test(
      text,
    )
  ) {
    return (
      'the server asked for a client certificate (mTLS) and refused the connection: set TEMPORAL_TLS_CLIENT_CERT_PATH ' +
      'and TEMPORAL_TLS_CLIENT_KEY_PATH to a certificate its CA accepts'
    );
  }
  if (/bad certificate|alert number 42|BadCertificate|unknown ca|alert number 48|UnknownCA/i.test(text)) {
    return 'the server refused our client certificate (TEMPORAL_TLS_CLIENT_CERT_PATH): not signed by a CA it accepts';
  }
  if (
    /self[- ]signed|unable to get local issuer|UnknownIssuer|unable to verify|certificate verify failed|CERTIFICATE_VERIFY_FAILED|invalid peer certificate|InvalidCertificate/i.test(
      text,
    )
  ) {
    return (
      "the server's TLS certificate is not trusted: set TEMPORAL_TLS_SERVER_CA_CERT_PATH to the CA that signed it " +
      '(unset: the system roots)'
    );
  }
  if (/NotValidForName|does not match|altnames|Hostname\/IP|subject ?alt|ERR_TLS_CERT_ALTNAME/i.test(text)) {
    return "the server's TLS certificate is for another name: set TEMPORAL_TLS_SERVER_NAME to the name it carries";
  }
  if (/wrong version number|packet length too long|http2 ?: ?frame|InvalidContentType|CorruptMessage/i.test(text)) {
    return tls
      ? 'the server does not speak TLS on this port: unset TEMPORAL_TLS (and the TEMPORAL_TLS_* paths) or use its TLS port'
      : 'the server expects TLS: set TEMPORAL_TLS=true (and TEMPORAL_TLS_SERVER_CA_CERT_PATH for a private CA)';
  }
  if (code === 16 || /UNAUTHENTICATED|Unauthenticated|valid authentication credentials/.test(text)) {
    return `the server refused our credentials (${s.apiKey ? 'TEMPORAL_API_KEY' : 'no TEMPORAL_API_KEY set'}; UNAUTHENTICATED)`;
  }
  if (code === 7 || /PERMISSION_DENIED|PermissionDenied|permission to/i.test(text)) {
    return `the credentials have no access to namespace ${s.namespace} (PERMISSION_DENIED)`;
  }
  if (code === 5 || /NOT_FOUND|not found/i.test(text)) {
    return `namespace ${s.namespace} does not exist there (TEMPORAL_NAMESPACE)`;
  }
  if (/ECONNREFUSED|Connection refused/i.test(text)) return 'connection refused (is the server up? TEMPORAL_ADDRESS)';
  if (/ENOTFOUND|EAI_AGAIN|dns error|failed to lookup/i.test(text))
    return 'the host name does not resolve (TEMPORAL_ADDRESS)';
  if (/deadline|timed? ?out/i.test(text))
    return 'no answer in time (TEMPORAL_ADDRESS, a firewall, or TLS on one side only)';
  return firstLine(text);
}

function firstLine(text: string): string {
  const line = text.trim().split('\n')[0] ?? '';
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}
