import type { Payload, PayloadCodec } from '@temporalio/common';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { PayloadCodecError } from '../temporal/codec';
import { UnreadableBodyError } from './limits';
import { describeIssues } from './schemas';
import { adminTokenMatcher, hasOperatorSession, OPERATOR_SESSION, presentedToken, signIn } from './session';

/**
 * The codec endpoint (the Temporal codec-server protocol): `POST /codec/encode` and `POST /codec/decode` take and give
 * `{"payloads":[{"metadata":{"<key>":"<base64>"},"data":"<base64>"}]}`, so that the Web UI and
 * `temporal … --codec-endpoint <starter>/codec` show decrypted payloads. docs/personal-data.md, "The codec endpoint".
 */

export const CODEC_LIMITS = {
  /** A whole request: Temporal refuses payloads over 2 MB, and base64 adds a third. */
  maxBodyBytes: 4 * 1024 * 1024,
  /** Payloads per request (the Web UI and the CLI send one event's, or one list page's). */
  maxPayloads: 1000,
  /** How long a browser may cache a preflight answer. */
  preflightMaxAgeSeconds: 600,
} as const;

/** What the Web UI sends (Authorization only with "pass access token"). */
const ALLOWED_HEADERS = 'Content-Type, X-Namespace, Authorization';

export interface CodecEndpointDeps {
  /** The deployment's codec; undefined (PAYLOAD_CODEC_KEYS unset) answers 404 saying so. */
  codec: PayloadCodec | undefined;
  /** ADMIN_TOKEN: a bearer token, or the password of `GET /codec/login`. */
  adminToken: string;
  /** Web UI origins allowed to call from a browser (CODEC_CORS_ORIGINS). */
  corsOrigins: readonly string[];
}

const base64 = z.string().regex(/^[A-Za-z0-9+/_-]*={0,2}$/, 'not base64');
const payloadsBody = z.object({
  payloads: z
    .array(
      z.object({
        metadata: z.record(z.string(), base64).optional(),
        data: base64.optional(),
      }),
    )
    .max(CODEC_LIMITS.maxPayloads, `at most ${CODEC_LIMITS.maxPayloads} payloads per request`),
});
type JsonPayload = z.infer<typeof payloadsBody>['payloads'][number];

const fromBase64 = (s: string) => new Uint8Array(Buffer.from(s, 'base64'));
const toBase64 = (b: Uint8Array) => Buffer.from(b).toString('base64');

const fromJson = (p: JsonPayload): Payload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, fromBase64(v)])),
  data: fromBase64(p.data ?? ''),
});

// As protojson writes a Payload (what the `temporal` CLI parses back strictly): empty fields left out.
const toJson = (p: Payload): JsonPayload => {
  const metadata = Object.entries(p.metadata ?? {}).filter(([, v]) => v && v.length > 0);
  return {
    ...(metadata.length > 0 ? { metadata: Object.fromEntries(metadata.map(([k, v]) => [k, toBase64(v)])) } : {}),
    ...(p.data && p.data.length > 0 ? { data: toBase64(p.data) } : {}),
  };
};

export function registerCodecRoutes(app: FastifyInstance, deps: CodecEndpointDeps): void {
  const tokenMatches = adminTokenMatcher(deps.adminToken);
  const allowedOrigin = (request: FastifyRequest) => {
    const origin = request.headers.origin;
    return origin !== undefined && deps.corsOrigins.includes(origin) ? origin : undefined;
  };

  // A scope of its own: its error handler, body limit and CORS headers touch nothing else of the intake.
  void app.register((scope, _options, done) => {
    scope.setErrorHandler((err: Error & { statusCode?: number; code?: string }, request, reply) => {
      if (err instanceof UnreadableBodyError) {
        return reply.code(err.statusCode).send({ error: 'the body cannot be read', issues: err.issues });
      }
      if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || err.statusCode === 413) {
        return reply.code(413).send({ error: `body larger than ${CODEC_LIMITS.maxBodyBytes} bytes` });
      }
      if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
        return reply.code(err.statusCode).send({ error: err.message });
      }
      request.log.error({ err: { name: err.name } }, 'codec request failed');
      return reply.code(500).send({ error: 'internal error' });
    });

    // CORS for the configured Web UI origins only, on every answer (a 401 too, so the UI can show it).
    scope.addHook('onRequest', async (request, reply) => {
      void reply.header('vary', 'Origin');
      const origin = allowedOrigin(request);
      if (origin) {
        void reply.header('access-control-allow-origin', origin).header('access-control-allow-credentials', 'true');
      }
    });

    const authorized = async (request: FastifyRequest, reply: FastifyReply) => {
      if (tokenMatches(presentedToken(request.headers.authorization))) return;
      // The session cookie only from a browser page of an allowed origin (or none: a same-origin or non-browser call).
      const sessionOk =
        hasOperatorSession(deps.adminToken, request) &&
        (request.headers.origin === undefined || allowedOrigin(request) !== undefined);
      if (sessionOk) return;
      return reply.code(401).header('www-authenticate', 'Bearer').send({
        error: 'missing or wrong credentials: send Authorization: Bearer <ADMIN_TOKEN>, or sign in at /codec/login',
      });
    };

    const preflight = async (request: FastifyRequest, reply: FastifyReply) => {
      if (!allowedOrigin(request)) {
        return reply.code(403).send({
          error: `origin ${request.headers.origin ?? '(none)'} is not in CODEC_CORS_ORIGINS (${deps.corsOrigins.join(', ') || 'empty'})`,
        });
      }
      return reply
        .code(204)
        .header('access-control-allow-methods', 'POST, OPTIONS')
        .header('access-control-allow-headers', ALLOWED_HEADERS)
        .header('access-control-max-age', String(CODEC_LIMITS.preflightMaxAgeSeconds))
        .send();
    };

    for (const direction of ['encode', 'decode'] as const) {
      scope.options(`/codec/${direction}`, preflight);
      scope.post(
        `/codec/${direction}`,
        { onRequest: authorized, bodyLimit: CODEC_LIMITS.maxBodyBytes },
        async (request, reply) => {
          const codec = deps.codec;
          if (!codec) {
            return reply.code(404).send({
              error: 'payload encryption is off (PAYLOAD_CODEC_KEYS is not set): there is nothing to encode or decode',
            });
          }
          const body = payloadsBody.safeParse(request.body);
          if (!body.success) {
            return reply.code(400).send({
              error: 'body is not {"payloads":[{"metadata":{…},"data":"<base64>"}]}',
              issues: describeIssues(body.error),
            });
          }
          const payloads = body.data.payloads.map(fromJson);
          try {
            const out = await (direction === 'encode' ? codec.encode(payloads) : codec.decode(payloads));
            return reply.send({ payloads: out.map(toJson) });
          } catch (err) {
            if (err instanceof PayloadCodecError) return reply.code(400).send({ error: err.message });
            throw err;
          }
        },
      );
    }

    // The browser's way in: the Web UI cannot send our bearer token, but with "include cross-origin credentials" on
    // it sends this cookie. The browser asks for ADMIN_TOKEN (any user name) with its own Basic prompt.
    scope.get('/codec/login', async (request, reply) => {
      if (!signIn(deps.adminToken, request, reply, 'signup enrichment operator')) return reply;
      return reply
        .type('text/plain; charset=utf-8')
        .send(
          `Signed in for ${OPERATOR_SESSION.seconds / 3600} hours: the Temporal Web UI (${deps.corsOrigins.join(', ') || 'no origin allowed: set CODEC_CORS_ORIGINS'}) ` +
            'can now decode payloads through this codec endpoint, with "Include cross-origin credentials" on, and ' +
            '/dashboard opens. You can close this tab.\n',
        );
    });

    done();
  }, {});
}
