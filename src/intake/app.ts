import Fastify, { type FastifyInstance, type FastifyReply, type FastifyServerOptions } from 'fastify';
import type { ZodType } from 'zod';
import { emailDomain } from '../domain/email';
import type { Ledger } from '../ledger/ledger';
import { registerAdminRoutes, type AdminDeps } from './admin';
import { requireBearer } from './auth';
import type { IntakeAnswer, IntakeMetrics } from './metrics';
import {
  dedupeKeyFor,
  describeEmailProblem,
  fromDirect,
  fromPosthog,
  workflowIdFor,
  type NormalizedSignup,
} from './normalize';
import { clayCompanyFields, clayResultSchema } from '../integrations/clay/result';
import type { ClayResultMessage } from '../workflows/messages';
import { describeIssues, directSignupSchema, posthogWebhookSchema } from './schemas';

export const MAX_BODY_BYTES = 1024 * 1024;

export interface IntakeDeps {
  ledger: Ledger;
  /** Bearer secret of the signup endpoints only. */
  webhookSecret: string;
  /** Bearer token of the operator API (`/admin/*`). */
  adminToken: string;
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
}

type Answer =
  | { status: 'ignored'; event: string }
  | { status: 'skipped'; reason: string; signupId: string }
  | { status: 'accepted' | 'duplicate'; signupId: string; workflowId: string };

export function buildIntakeApp(deps: IntakeDeps): FastifyInstance {
  const app = Fastify({
    bodyLimit: MAX_BODY_BYTES,
    // Request logs carry method, url and status; pino's default serializers leave out bodies and headers, so
    // neither emails nor the bearer secret reach the log.
    logger: deps.logger ?? false,
  });
  const now = deps.now ?? (() => new Date());

  // Parse every content type as JSON: a sender with a wrong Content-Type gets a 400 that says what is wrong.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => {
    try {
      done(null, JSON.parse(body as string) as unknown);
    } catch (err) {
      done(
        Object.assign(new Error(`body is not valid JSON: ${(err as Error).message}`), { statusCode: 400 }),
        undefined,
      );
    }
  });

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, request, reply) => {
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || err.statusCode === 413) {
      return reply.code(413).send({ error: `body larger than ${MAX_BODY_BYTES} bytes` });
    }
    if (err.statusCode === 400 || err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') {
      return reply.code(400).send({ error: 'invalid body', issues: [{ path: '(body)', message: err.message }] });
    }
    request.log.error({ err: { name: err.name, message: err.message } }, 'intake request failed');
    // A signup that could not be recorded must be re-sent: 503 asks the sender to retry, nothing is half-accepted.
    return reply.code(503).header('retry-after', '5').send({ error: 'signup could not be recorded; retry later' });
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
    const dedupeKey = dedupeKeyFor(signup);
    const base = {
      source: signup.source,
      eventUuid: signup.eventUuid,
      dedupeKey,
      email: signup.email,
      emailDomain: signup.email === undefined ? undefined : emailDomain(signup.email),
      distinctId: signup.distinctId,
      personId: signup.personId,
      name: signup.name,
      organizationId: signup.organizationId,
      organizationName: signup.organizationName,
      signedUpAt: signup.signedUpAt,
      payload,
    };
    if (signup.emailProblem) {
      const reason = describeEmailProblem(signup.emailProblem);
      const { signup: row } = await deps.ledger.recordSignup({
        ...base,
        workflowId: undefined,
        status: 'skipped',
        statusReason: reason,
      });
      return { status: 'skipped', reason, signupId: row.id };
    }
    const workflowId = workflowIdFor(signup);
    const { duplicate, signup: row } = await deps.ledger.recordSignup({
      ...base,
      workflowId,
      status: 'received',
      statusReason: undefined,
    });
    if (!duplicate) deps.onRecorded();
    return { status: duplicate ? 'duplicate' : 'accepted', signupId: row.id, workflowId: row.workflowId ?? workflowId };
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
    const signup = await deps.ledger.getSignup(result.request_id);
    if (!signup?.workflowId) {
      return reply.code(404).send({ error: 'no signup with this request_id' });
    }
    await deps.ledger.archiveProviderResponse({
      provider: 'clay',
      lookup: 'company',
      lookupKey: result.company_domain ?? signup.emailDomain ?? '',
      signupId: signup.id,
      outcome: result.company_found ? 'found' : 'not_found',
      httpStatus: undefined,
      body: request.body,
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
