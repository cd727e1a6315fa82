import Fastify, { type FastifyInstance, type FastifyReply, type FastifyServerOptions } from 'fastify';
import type { ZodType } from 'zod';
import type { Ledger } from '../ledger/ledger';
import { registerAdminRoutes, type AdminDeps } from './admin';
import { requireBearer } from './auth';
import { registerCodecRoutes, type CodecEndpointDeps } from './codec';
import { registerDashboardRoutes, type DashboardDeps } from './dashboard';
import type { IntakeAnswer, IntakeMetrics } from './metrics';
import { INTAKE_SERVER_TIMEOUTS } from './timeouts';
import { classifyLedgerError } from '../ledger/errors';
import { INTAKE_LIMITS, readJsonBody, UnreadableBodyError } from './limits';
import { fromDirect, fromPosthog, InvalidSignupError, type NormalizedSignup } from './normalize';
import { recordNormalizedSignup, type RecordedSignup } from './record';
import { clayCompanyFields, clayResultSchema } from '../integrations/clay/result';
import type { ClayResultMessage } from '../workflows/messages';
import { describeIssues, directSignupSchema, posthogWebhookSchema } from './schemas';

export const MAX_BODY_BYTES = INTAKE_LIMITS.maxBodyBytes;
/** Retry-After of a 503 while the ledger is unreachable. */
const LEDGER_RETRY_AFTER_SECONDS = 5;

export interface IntakeDeps {
  ledger: Ledger;
  /** Bearer secret of the signup endpoints only. */
  webhookSecret: string;
  /** Bearer token of the operator API (`/admin/*`). */
  adminToken: string;
  /** Key of the hashed workflow ids of signups without an organization (PII_HASH_KEY). */
  piiHashKey: string;
  /** Bearer secret of Clay callbacks (`/webhooks/clay`); undefined refuses them all. */
  clayCallbackSecret: string | undefined;
  /** Bearer token of `/metrics`; undefined leaves it open (counts only, no personal data). */
  metricsToken?: string;
  signupEvents: readonly string[];
  metrics: IntakeMetrics;
  /** Called after a signup is recorded, to start its workflow without waiting for the next outbox poll. */
  onRecorded: () => void;
  /** Hands a Clay result to the signup's workflow (a signal); resolves false when no such workflow runs. */
  deliverClayResult: (workflowId: string, message: ClayResultMessage) => Promise<boolean>;
  /** Whether Temporal answers; used by /readyz. */
  temporalReady: () => Promise<void>;
  logger?: FastifyServerOptions['logger'];
  now?: () => Date;
  /** The operator API of the `enrich` CLI (`/admin/...`). */
  admin?: Omit<AdminDeps, 'adminToken'>;
  /** The codec endpoint of the Web UI and the `temporal` CLI (`/codec/...`), authorized by ADMIN_TOKEN. */
  codec?: Omit<CodecEndpointDeps, 'adminToken'>;
  /** The health page (`/dashboard`), authorized by ADMIN_TOKEN or the operator session. */
  dashboard?: Omit<DashboardDeps, 'adminToken' | 'ledger'>;
}

type Answer = { status: 'ignored'; event: string } | RecordedSignup;

export function buildIntakeApp(deps: IntakeDeps): FastifyInstance {
  const app = Fastify({
    ...INTAKE_SERVER_TIMEOUTS,
    bodyLimit: MAX_BODY_BYTES,
    // Request logs carry method, url and status; pino's default serializers leave out bodies and headers, so
    // neither emails nor the bearer secret reach the log.
    logger: deps.logger ?? false,
  });
  const now = deps.now ?? (() => new Date());

  // Every body is read by one parser, whatever its Content-Type: JSON in UTF-8 within the intake's limits, or a 4xx
  // that says what is wrong (docs/http-api.md, "Intake limits").
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (request, body, done) => {
    try {
      done(null, readJsonBody(request.headers['content-type'], body as Buffer));
    } catch (err) {
      done(err as Error, undefined);
    }
  });

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, request, reply) => {
    const source = sourceOf(request.url);
    const refuse = (status: number, body: object) => {
      deps.metrics.signups.inc({ source, answer: 'invalid' });
      return reply.code(status).send(body);
    };
    if (err instanceof UnreadableBodyError) {
      return refuse(err.statusCode, { error: 'the body cannot be read', issues: err.issues });
    }
    if (err instanceof InvalidSignupError) {
      return refuse(400, { error: 'the signup is outside the intake limits', issues: err.issues });
    }
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || err.statusCode === 413) {
      return refuse(413, { error: `body larger than ${MAX_BODY_BYTES} bytes` });
    }
    if (err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      return refuse(400, { error: 'the body cannot be read', issues: [{ path: '(body)', message: err.message }] });
    }
    const kind = classifyLedgerError(err);
    if (kind === 'refused_value') {
      // Our checks should have caught it; the database's own message may quote the value, so it stays in the log.
      request.log.error({ err: { name: err.name, code: err.code } }, 'the ledger refused a value of a request');
      return refuse(400, {
        error: 'the body holds a value that cannot be stored',
        issues: [{ path: '(body)', message: `refused by the database (SQLSTATE ${err.code ?? 'unknown'})` }],
      });
    }
    if (kind === 'unavailable') {
      request.log.warn({ err: { name: err.name, code: err.code } }, 'ledger unreachable; asked the sender to retry');
      // Nothing was recorded: 503 asks the sender to send it again (PostHog retries), nothing is half-accepted.
      return reply
        .code(503)
        .header('retry-after', String(LEDGER_RETRY_AFTER_SECONDS))
        .send({ error: 'signup could not be recorded; retry later' });
    }
    if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
      return refuse(err.statusCode, { error: err.message });
    }
    request.log.error({ err: { name: err.name, message: err.message } }, 'intake request failed');
    return reply.code(500).send({ error: 'internal error' });
  });

  app.addHook('onResponse', async (request, reply) => {
    deps.metrics.requestDuration.observe(
      { route: request.routeOptions.url ?? 'unknown', status_code: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });

  // Each caller its own secret: the webhook secret opens only the signup endpoints, never Clay's or the operator API.
  const countRefused = (request: { url: string }) =>
    deps.metrics.signups.inc({ source: sourceOf(request.url), answer: 'unauthorized' });
  const authenticated = requireBearer(deps.webhookSecret, countRefused);
  const clayAuthenticated = requireBearer(deps.clayCallbackSecret, countRefused);

  const parse = <T>(schema: ZodType<T>, body: unknown, reply: FastifyReply, source: string): T | undefined => {
    const parsed = schema.safeParse(body);
    if (parsed.success) return parsed.data;
    deps.metrics.signups.inc({ source, answer: 'invalid' });
    void reply.code(400).send({ error: 'body does not have the expected shape', issues: describeIssues(parsed.error) });
    return undefined;
  };

  const record = async (signup: NormalizedSignup, payload: unknown): Promise<Answer> => {
    const recorded = await recordNormalizedSignup(deps, signup, payload);
    if (recorded.status === 'accepted') deps.onRecorded();
    return recorded;
  };

  const answer = (reply: FastifyReply, source: string, a: Answer) => {
    deps.metrics.signups.inc({ source, answer: a.status satisfies IntakeAnswer });
    return reply.code(202).send(a);
  };

  app.post('/webhooks/posthog', { onRequest: authenticated }, async (request, reply) => {
    const payload = parse(posthogWebhookSchema, request.body, reply, 'posthog');
    if (!payload) return reply;
    if (!deps.signupEvents.includes(payload.event.event)) {
      return answer(reply, 'posthog', { status: 'ignored', event: payload.event.event });
    }
    return answer(reply, 'posthog', await record(fromPosthog(payload, now()), request.body));
  });

  app.post('/signups', { onRequest: authenticated }, async (request, reply) => {
    const body = parse(directSignupSchema, request.body, reply, 'api');
    if (!body) return reply;
    return answer(reply, 'api', await record(fromDirect(body, now()), request.body));
  });

  // Results of our Clay table's HTTP API column: archived, then signalled to the workflow waiting for them.
  app.post('/webhooks/clay', { onRequest: clayAuthenticated }, async (request, reply) => {
    const result = parse(clayResultSchema, request.body, reply, 'clay');
    if (!result) return reply;
    const signup = await deps.ledger.signups.getSignup(result.request_id);
    if (!signup?.workflowId) {
      return reply.code(404).send({ error: 'no signup with this request_id' });
    }
    await deps.ledger.providerArchive.archiveProviderResponse({
      provider: 'clay',
      lookup: 'company',
      lookupKey: result.company_domain ?? signup.emailDomain ?? '',
      signupId: signup.id,
      outcome: result.company_found ? 'found' : 'not_found',
      httpStatus: undefined,
      body: request.body,
      // The intake's clock (a time-skipping test's own): compared with when the row was sent.
      receivedAt: now().toISOString(),
    });
    // The workflow id comes from our ledger, not from the body: a result can only reach its own signup.
    const delivered = await deps.deliverClayResult(signup.workflowId, {
      signupId: signup.id,
      found: result.company_found,
      fields: clayCompanyFields(result),
    });
    return reply.code(202).send({ status: delivered ? 'delivered' : 'archived', signupId: signup.id });
  });

  if (deps.admin) registerAdminRoutes(app, { ...deps.admin, adminToken: deps.adminToken });
  if (deps.codec) registerCodecRoutes(app, { ...deps.codec, adminToken: deps.adminToken });
  if (deps.dashboard) {
    registerDashboardRoutes(app, { ...deps.dashboard, ledger: deps.ledger, adminToken: deps.adminToken });
  }

  app.get('/healthz', (_request, reply) => reply.send({ status: 'ok' }));

  app.get('/readyz', async (_request, reply) => {
    const [ledger, temporal] = await Promise.allSettled([deps.ledger.ping(), deps.temporalReady()]);
    const checks = {
      ledger: ledger.status === 'fulfilled' ? 'ok' : 'unreachable',
      temporal: temporal.status === 'fulfilled' ? 'ok' : 'unreachable',
    };
    const ready = checks.ledger === 'ok' && checks.temporal === 'ok';
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not_ready', checks });
  });

  const metricsAuth = deps.metricsToken === undefined ? {} : { onRequest: requireBearer(deps.metricsToken) };
  app.get('/metrics', metricsAuth, async (_request, reply) => {
    const body = await deps.metrics.registry.metrics();
    return reply.header('content-type', deps.metrics.registry.contentType).send(body);
  });

  return app;
}

function sourceOf(url: string): string {
  return url.startsWith('/webhooks/posthog') ? 'posthog' : url.startsWith('/webhooks/clay') ? 'clay' : 'api';
}
