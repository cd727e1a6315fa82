import type { Client } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { HealthRules } from '../domain/health';
import { healthReport, InputError, pauseEnrichment, resumeEnrichment, snoozeAlerts } from '../health/operations';
import type { Ledger } from '../ledger/ledger';
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
}

const daysQuery = z.object({ days: z.coerce.number().int().min(1).max(365).default(7) });
const pauseBody = z.object({ reason: z.string().trim().min(1, 'a reason is required').max(500) });
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
