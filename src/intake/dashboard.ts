import { ScheduleNotFoundError, type Client } from '@temporalio/client';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { addDays, utcDay } from '../domain/health';
import { ENRICHMENT_STATUSES, type EnrichmentStatus } from '../domain/status';
import { classifyLedgerError } from '../ledger/errors';
import type { Ledger } from '../ledger/ledger';
import {
  ATTENTION_STATUSES,
  renderDashboard,
  statusQuery,
  type AttentionStatus,
  type DashboardView,
  type ScheduleRuns,
  type TemporalFacts,
} from './dashboard-html';
import { adminTokenMatcher, hasOperatorSession, presentedToken, signIn } from './session';

export const DASHBOARD_LIMITS = {
  /** Days of the chart and the credits table, today included. */
  days: 14,
  /** The page reloads itself this often. */
  refreshSeconds: 60,
  /** How long the page waits for Temporal's answers (schedules, workflow counts) before it renders without them. */
  temporalTimeoutMs: 3_000,
  /** Next runs shown per schedule. */
  nextRunsShown: 3,
} as const;

export interface DashboardDeps {
  ledger: Ledger;
  /** ADMIN_TOKEN: a bearer token, the Basic password of `/dashboard/login`, or the key of its session cookie. */
  adminToken: string;
  /** The health check's alert threshold (HEALTH_MIN_WRITES), drawn on the chart. */
  minWrites: number;
  /** Where the Web UI is (TEMPORAL_UI_URL) and the namespace; undefined: the counts are not links. */
  webUi: { url: string; namespace: string } | undefined;
  /** What Temporal says; rejects when it does not answer (the page says so and renders the rest). */
  temporal: () => Promise<TemporalFacts>;
  now?: () => Date;
}

/**
 * The schedules' next runs and the workflows of each status that needs a look (the Web UI links list exactly these),
 * each call under a deadline so that a stalled server cannot hold the page.
 */
export function temporalFactsFrom(client: Client, scheduleIds: readonly string[]): () => Promise<TemporalFacts> {
  const deadline = () => Date.now() + DASHBOARD_LIMITS.temporalTimeoutMs;
  const describe = async (id: string): Promise<ScheduleRuns> => {
    try {
      const d = await client.connection.withDeadline(deadline(), () => client.schedule.getHandle(id).describe());
      return {
        id,
        paused: d.state.paused,
        nextRuns: d.info.nextActionTimes.slice(0, DASHBOARD_LIMITS.nextRunsShown).map((t) => t.toISOString()),
        missing: false,
      };
    } catch (err) {
      if (err instanceof ScheduleNotFoundError) return { id, paused: false, nextRuns: [], missing: true };
      throw err;
    }
  };
  const count = async (status: AttentionStatus) => {
    const { count } = await client.connection.withDeadline(deadline(), () =>
      client.workflow.count(statusQuery(status)),
    );
    return [status, count] as const;
  };
  return async () => {
    const [schedules, counts] = await withTimeout(
      Promise.all([Promise.all(scheduleIds.map(describe)), Promise.all(ATTENTION_STATUSES.map(count))]),
      DASHBOARD_LIMITS.temporalTimeoutMs + 500,
    );
    return { schedules, workflowCounts: Object.fromEntries(counts) as Record<AttentionStatus, number> };
  };
}

class TimeoutError extends Error {}

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(`no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Why the schedules are missing from the page, without the error's text (it could name hosts or carry metadata). */
function unreachableReason(err: unknown): string {
  const code = (err as { code?: unknown }).code;
  if (err instanceof TimeoutError || code === 4) {
    return `no answer within ${DASHBOARD_LIMITS.temporalTimeoutMs / 1000} s`;
  }
  return `${(err as Error).name ?? 'error'}${typeof code === 'number' ? ` (gRPC status ${code})` : ''}`;
}

export async function buildDashboardView(deps: DashboardDeps): Promise<DashboardView> {
  const now = (deps.now ?? (() => new Date()))();
  const to = utcDay(now.getTime());
  const from = addDays(to, -(DASHBOARD_LIMITS.days - 1));
  const temporal = deps.temporal().then(
    (facts) => ({ available: true as const, ...facts }),
    (err: unknown) => ({ available: false as const, reason: unreachableReason(err) }),
  );
  const [days, { byStatus }, credits, incidents, controls] = await Promise.all([
    deps.ledger.health.dayCounts(from, to),
    deps.ledger.signups.statusCounts(),
    deps.ledger.dashboard.creditsByDay(from, to),
    deps.ledger.dashboard.openIncidents(),
    deps.ledger.dashboard.alertControls(),
  ]);
  return {
    generatedAt: now.toISOString(),
    refreshSeconds: DASHBOARD_LIMITS.refreshSeconds,
    days,
    minWrites: deps.minWrites,
    statusCounts: Object.fromEntries(ENRICHMENT_STATUSES.map((s) => [s, byStatus[s] ?? 0])) as Record<
      EnrichmentStatus,
      number
    >,
    credits,
    incidents,
    controls,
    temporal: await temporal,
    webUi: deps.webUi,
  };
}

/**
 * `GET /dashboard`, the pipeline's health page, for operators only: `Authorization: Bearer <ADMIN_TOKEN>` (scripts), or
 * the operator session cookie of `GET /dashboard/login` (a browser; the same cookie opens the codec endpoint). A
 * browser without either is sent to the login; anything else gets 401.
 */
export function registerDashboardRoutes(app: FastifyInstance, deps: DashboardDeps): void {
  const tokenMatches = adminTokenMatcher(deps.adminToken);
  const authorized = async (request: FastifyRequest, reply: FastifyReply) => {
    if (tokenMatches(presentedToken(request.headers.authorization))) return;
    if (hasOperatorSession(deps.adminToken, request)) return;
    const browser = request.headers.authorization === undefined && /text\/html/.test(request.headers.accept ?? '');
    if (browser)
      return reply.code(303).header('location', '/dashboard/login').header('cache-control', 'no-store').send();
    return reply.code(401).header('www-authenticate', 'Bearer').send({
      error: 'missing or wrong credentials: send Authorization: Bearer <ADMIN_TOKEN>, or sign in at /dashboard/login',
    });
  };

  // A scope of its own: its error handler (a page, not the intake's answers to signup senders) touches nothing else.
  void app.register((scope, _options, done) => {
    scope.setErrorHandler((err: Error & { code?: string }, request, reply) => {
      const unavailable = classifyLedgerError(err) === 'unavailable';
      request.log.error({ err: { name: err.name, code: err.code } }, 'dashboard failed');
      if (!unavailable) return reply.code(500).type('text/plain; charset=utf-8').send('internal error\n');
      return reply
        .code(503)
        .header('retry-after', String(DASHBOARD_LIMITS.refreshSeconds))
        .type('text/plain; charset=utf-8')
        .send('The ledger is unreachable; try again in a minute.\n');
    });

    scope.get('/dashboard', { onRequest: authorized }, async (_request, reply) => {
      const html = renderDashboard(await buildDashboardView(deps));
      return reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(html);
    });

    scope.get('/dashboard/login', async (request, reply) => {
      if (!signIn(deps.adminToken, request, reply, 'signup enrichment operator')) return reply;
      return reply.code(303).header('location', '/dashboard').send();
    });
    done();
  }, {});
}
