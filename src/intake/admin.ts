import type { Client } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { HealthRules } from '../domain/health';
import { healthReport, InputError, pauseEnrichment, resumeEnrichment, snoozeAlerts } from '../health/operations';
import type { Ledger } from '../ledger/ledger';
import { forgetPerson, ForgetInputError, type ForgetDeps } from '../privacy/forget';
import { requireBearer } from './auth';
import { describeIssues } from './schemas';

export interface AdminDeps {
  ledger: Ledger;
  client: Client;
  /** The task queue of this deployment's signup workflows: pause and resume signal only those. */
  taskQueue: string;
  rules: HealthRules;
  /** ADMIN_TOKEN: the only credential of this API (the webhook secret never opens it). */
  adminToken: string;
  /** `POST /admin/forget`: the downstream systems' deletion clients and PII_HASH_KEY. */
  erasure?: Omit<ForgetDeps, 'ledger'>;
}

const daysQuery = z.object({ days: z.coerce.number().int().min(1).max(365).default(7) });
const pauseBody = z.object({ reason: z.string().trim().min(1, 'a reason is required').max(500) });
// The email itself is checked by forgetPerson (the intake's canonical form); here only its presence and type.
const forgetBody = z.object({ email: z.string({ error: 'email is required (a string)' }) });
const snoozeBody = z.object({
  until: z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}$/, 'YYYY-MM-DD')
    .nullable(),
  reason: z.string().max(500).optional(),
});

/**
 * The operator API behind the `enrich` CLI (it owns the ledger, which the embedded database lets one process open):
 * the daily health table, pause, resume and snooze, behind a bearer token of their own (ADMIN_TOKEN).
 */
export function registerAdminRoutes(app: FastifyInstance, deps: AdminDeps): void {
  const authenticated = requireBearer(deps.adminToken);
  const invalid = (issues: z.ZodError) => ({ error: 'invalid request', issues: describeIssues(issues) });

  app.get('/admin/health', { onRequest: authenticated }, async (request, reply) => {
    const q = daysQuery.safeParse(request.query);
    if (!q.success) return reply.code(400).send(invalid(q.error));
    return reply.send(await healthReport(deps.ledger, deps.rules, q.data.days));
  });

  app.post('/admin/pause', { onRequest: authenticated }, async (request, reply) => {
    const body = pauseBody.safeParse(request.body ?? {});
    if (!body.success) return reply.code(400).send(invalid(body.error));
    const signalled = await pauseEnrichment(deps.ledger, deps, body.data.reason);
    return reply.send({ status: 'paused', reason: body.data.reason, signalled });
  });

  app.post('/admin/resume', { onRequest: authenticated }, async (_request, reply) => {
    const signalled = await resumeEnrichment(deps.ledger, deps);
    return reply.send({ status: 'resumed', signalled });
  });

  // Erasure of a person: never logged with its body, and its errors never echo the email.
  app.post('/admin/forget', { onRequest: authenticated }, async (request, reply) => {
    if (!deps.erasure) return reply.code(404).send({ error: 'erasure is not configured on this starter' });
    const body = forgetBody.safeParse(request.body ?? {});
    if (!body.success) return reply.code(400).send(invalid(body.error));
    try {
      return reply.send(await forgetPerson({ ledger: deps.ledger, ...deps.erasure }, body.data.email));
    } catch (err) {
      if (err instanceof ForgetInputError) return reply.code(400).send({ error: `invalid email: ${err.message}` });
      throw err;
    }
  });

  app.post('/admin/snooze', { onRequest: authenticated }, async (request, reply) => {
    const body = snoozeBody.safeParse(request.body ?? {});
    if (!body.success) return reply.code(400).send(invalid(body.error));
    try {
      await snoozeAlerts(deps.ledger, body.data.until ?? undefined, body.data.reason);
    } catch (err) {
      if (err instanceof InputError) return reply.code(400).send({ error: err.message });
      throw err;
    }
    return reply.send({ status: body.data.until ? 'snoozed' : 'not snoozed', until: body.data.until });
  });
}
