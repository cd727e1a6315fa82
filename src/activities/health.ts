import { Context } from '@temporalio/activity';
import {
  addDays,
  assessDay,
  assessRecent,
  combineRolling,
  rulesForWindow,
  utcDay,
  type DayCounts,
  type WindowAssessment,
  type Controls,
  type DayAssessment,
  type DayEvidence,
  type HealthRules,
  type Cause,
  type BackfillCandidate,
} from '../domain/health';
import type { CapturedEvent, PosthogPort, SlackPort } from '../domain/ports';
import { dedupeKeyFor, fromPosthog, InvalidSignupError } from '../intake/normalize';
import { recordNormalizedSignup } from '../intake/record';
import { posthogWebhookSchema } from '../intake/schemas';
import { PosthogQueryError } from '../integrations/posthog/client';
import type { Incident } from '../ledger/health';
import type { Ledger } from '../ledger/ledger';
import { describeStartError, isPermanentStartError } from '../temporal/start-errors';
import { startSignup, type SignupFleet } from '../temporal/signups';
import { BACKFILL_PRIORITY, creditsRestoredSignal } from '../workflows/messages';
import { postAlertOnce, serverNow, type AlertResult } from './support';

export interface HealthDeps {
  ledger: Ledger;
  health: {
    rules: HealthRules;
    /** Live mode: PostHog's own count of these events joins the evidence. */
    posthogSignupEvents: string[] | undefined;
    /** On resolution, backfill the incident's window at once (else only propose the command). */
    autoBackfill: boolean;
    backfillConcurrency: number;
    /** The rolling check's window (HEALTH_ROLLING_WINDOW_HOURS). */
    rollingWindowHours: number;
    /**
     * The rolling check's latest interval: its length (HEALTH_CHECK_INTERVAL_MINUTES) and the settled signups with a
     * work email it takes to open an incident (HEALTH_RECENT_MIN_SIGNUPS).
     */
    recent: { minutes: number; minSignups: number };
    /** PII_HASH_KEY: signups a backfill imports from PostHog get the workflow ids the intake would have given them. */
    piiHashKey: string;
  };
  posthog: PosthogPort | undefined;
  alerts: { slack: SlackPort; webhookUrl: string | undefined };
  /** The Temporal client backfills re-enqueue signups with (created on first use). */
  temporal: () => Promise<SignupFleet>;
}

/** PostHog events read per query page by the backfill's import. */
const POSTHOG_IMPORT_PAGE = 500;

export interface ReenqueueInput {
  backfillId: string;
  candidates: Pick<BackfillCandidate, 'id' | 'workflowId'>[];
  /** The backfill workflow's time: signups recorded after it count as done. */
  at: string;
}

export const createHealthActivities = (deps: HealthDeps) => ({
  /** Whether enrichment is paused, and until when alerts are snoozed. */
  getEnrichmentControls(): Promise<Controls> {
    return deps.ledger.health.controls();
  },

  /** How the detector acts on a resolution (from the worker's configuration). */
  getHealthPolicy(): Promise<{ autoBackfill: boolean; backfillConcurrency: number }> {
    return Promise.resolve({
      autoBackfill: deps.health.autoBackfill,
      backfillConcurrency: deps.health.backfillConcurrency,
    });
  },

  /** Assesses one complete UTC day against the trailing days and stores the result (what `enrich health` shows). */
  async checkDay(input: { day: string }): Promise<DayAssessment> {
    const { rules } = deps.health;
    const counts = await deps.ledger.health.dayCounts(addDays(input.day, -rules.trailingDays), input.day);
    const day = counts.at(-1)!;
    const evidence: DayEvidence = await deps.ledger.health.dayEvidence(input.day);
    if (deps.health.posthogSignupEvents && deps.posthog) {
      try {
        const rows = await deps.posthog.dailyEventCounts(
          deps.health.posthogSignupEvents,
          `${input.day}T00:00:00Z`,
          `${addDays(input.day, 1)}T00:00:00Z`,
        );
        evidence.posthogSignups = rows.reduce((sum, r) => sum + r.count, 0);
      } catch (err) {
        // PostHog's numbers are extra evidence: the check goes on without them rather than not at all.
        Context.current().log.warn('PostHog signup count unavailable', { error: (err as Error).message });
      }
    }
    const assessment = assessDay(day, counts.slice(0, -1), evidence, await deps.ledger.health.controls(), rules);
    await deps.ledger.health.saveHealthCheck(assessment, serverNow());
    return assessment;
  },

  /** How the rolling check acts: its window, and what a resolution does (from the worker's configuration). */
  getRollingHealthPolicy(): Promise<{ windowHours: number; autoBackfill: boolean; backfillConcurrency: number }> {
    return Promise.resolve({
      windowHours: deps.health.rollingWindowHours,
      autoBackfill: deps.health.autoBackfill,
      backfillConcurrency: deps.health.backfillConcurrency,
    });
  },

  /**
   * Assesses the `hours` before `to` with the daily rules (the writes a day expected scaled to the window), against
   * the HEALTH_TRAILING_DAYS windows of the same length before it, and the latest check interval (the
   * HEALTH_CHECK_INTERVAL_MINUTES before `to`, no longer than the window) by its own signups: `combineRolling` makes
   * one assessment of the two, so an outage is an incident at the first check after it starts, not half a window
   * later. Not stored: `enrich health` shows complete days.
   */
  async checkWindow(input: { to: string; hours: number }): Promise<WindowAssessment> {
    const rules = rulesForWindow(deps.health.rules, input.hours);
    const ms = input.hours * 60 * 60 * 1000;
    const end = Date.parse(input.to);
    const at = (k: number) => new Date(end - k * ms).toISOString();
    const from = at(1);
    const counts = await deps.ledger.health.windowCounts(from, input.to);
    const trailing: DayCounts[] = [];
    for (let k = 1; k <= rules.trailingDays; k++) {
      trailing.push({ day: at(k + 1), ...(await deps.ledger.health.windowCounts(at(k + 1), at(k))) });
    }
    const evidence = await deps.ledger.health.windowEvidence(from, input.to);
    if (deps.health.posthogSignupEvents && deps.posthog) {
      try {
        const rows = await deps.posthog.dailyEventCounts(deps.health.posthogSignupEvents, from, input.to);
        evidence.posthogSignups = rows.reduce((sum, r) => sum + r.count, 0);
      } catch (err) {
        Context.current().log.warn('PostHog signup count unavailable', { error: (err as Error).message });
      }
    }
    const day = { day: utcDay(end), ...counts };
    const controls = await deps.ledger.health.controls();
    const assessment = assessDay(day, trailing, evidence, controls, rules, `in ${input.hours} h`);
    const minutes = Math.min(deps.health.recent.minutes, input.hours * 60);
    const recentFrom = new Date(end - minutes * 60_000).toISOString();
    const recent = assessRecent(
      await deps.ledger.health.intervalCounts(recentFrom, input.to),
      await deps.ledger.health.windowEvidence(recentFrom, input.to),
      { minutes, minSignups: deps.health.recent.minSignups, minWriteRatio: rules.minWriteRatio },
      { from: recentFrom, to: input.to },
    );
    const open = await deps.ledger.health.openIncident();
    return combineRolling({ ...assessment, from, to: input.to, hours: input.hours }, recent, controls, !!open);
  },

  /** The rolling check's incident: the open one extended to the day of `at`, or a new one. */
  recordIncidentAt(input: { at: string; cause: Cause | undefined }): Promise<{ incident: Incident; opened: boolean }> {
    return deps.ledger.health.recordIncidentAt(input.at, input.cause);
  },

  recordIncidentDay(input: {
    day: string;
    cause: Cause | undefined;
  }): Promise<{ incident: Incident; opened: boolean }> {
    return deps.ledger.health.recordIncidentDay(input.day, input.cause);
  },

  openIncident(): Promise<Incident | undefined> {
    return deps.ledger.health.openIncident();
  },

  resolveIncident(input: { id: string; resolvedDay: string; backfill: string }): Promise<void> {
    return deps.ledger.health.resolveIncident(input.id, input.resolvedDay, input.backfill);
  },

  incidentsAwaitingRecovery(input: { day: string }): Promise<Incident[]> {
    return deps.ledger.health.incidentsAwaitingRecovery(input.day);
  },

  setIncidentRecovery(input: { id: string; recovery: string }): Promise<void> {
    return deps.ledger.health.setRecovery(input.id, input.recovery);
  },

  /**
   * Posts a health message to the alert channel, at most once per key (a retried activity does not post twice; an
   * attempt cut off mid-post is not repeated). Without an alert webhook it is only logged.
   */
  postHealthAlert(input: { key: string; text: string }): Promise<AlertResult> {
    return postAlertOnce(deps, input.key, input.text, 'health alert');
  },

  /** A page of backfill candidates of the window, after `afterId`. */
  listBackfillCandidates(input: {
    from: string;
    to: string;
    afterId: string | undefined;
    limit: number;
  }): Promise<BackfillCandidate[]> {
    return deps.ledger.health.backfillCandidates(input.from, input.to, input.afterId, input.limit);
  },

  /**
   * Re-enqueues signups: marks them in the ledger, then signal-with-start of their `SignupEnrichmentWorkflow` (a new
   * run when the last one closed, the running one otherwise) at backfill priority, and wakes a run waiting for
   * credits. Idempotent: a signup already in its running workflow is not added twice.
   */
  async reenqueueSignups(input: ReenqueueInput): Promise<void> {
    const fleet = await deps.temporal();
    const marked = await deps.ledger.health.markBackfilled(
      input.candidates.map((c) => c.id),
      input.backfillId,
      input.at,
    );
    const recorded = new Map(marked.map((m) => [m.id, m]));
    for (const c of input.candidates) {
      let handle;
      try {
        const row = recorded.get(c.id);
        handle = await startSignup(
          fleet,
          { id: c.id, workflowId: c.workflowId, signedUpAt: row?.signedUpAt, emailDomain: row?.emailDomain },
          { rerunBy: input.backfillId, priority: BACKFILL_PRIORITY },
        );
      } catch (err) {
        // Refused for good: the signup stays dead-lettered and the backfill goes on with the others.
        if (!isPermanentStartError(err)) throw err;
        await deps.ledger.outbox.markStartDeadLettered(c.id, describeStartError(err));
        continue;
      }
      await handle.signal(creditsRestoredSignal, { provider: undefined });
      Context.current().heartbeat(c.id);
    }
  },

  /** Where the re-enqueued signups stand: recorded again since the backfill, or not yet. */
  backfillStates(input: { ids: string[]; since: string }) {
    return deps.ledger.health.backfillStates(input.ids, input.since);
  },

  /**
   * The signup events PostHog recorded in the window (its query API, SIGNUP_EVENTS) that never reached the intake (a
   * disabled webhook destination), recorded now through the intake's own path — normalised as the webhook would have
   * been, de-duplicated by the same keys, due in the outbox — so the backfill that asked finds them among its
   * candidates. Idempotent: a second backfill, or a late delivery, adds nothing. A dry run only counts them. Only with
   * PostHog's numbers on (HEALTH_POSTHOG_CHECK). Returns how many were not received (ids and counts only: no emails).
   */
  async importPosthogSignups(input: { from: string; to: string; dryRun: boolean }): Promise<PosthogImport> {
    const result: PosthogImport = { notReceived: 0, imported: 0, unusable: 0 };
    const events = deps.health.posthogSignupEvents;
    if (!deps.posthog || !events) return result;
    const ctx = Context.current();
    const from = `${input.from}T00:00:00Z`;
    const to = `${addDays(input.to, 1)}T00:00:00Z`;
    for (let offset = 0; ; offset += POSTHOG_IMPORT_PAGE) {
      let page: CapturedEvent[];
      try {
        page = await deps.posthog.capturedEvents(events, from, to, { limit: POSTHOG_IMPORT_PAGE, offset });
      } catch (err) {
        // Throttled or down: retried. Refused for good (key, query): the backfill goes on with what the ledger has.
        const kind = err instanceof PosthogQueryError ? err.outcome.kind : 'transient';
        if (kind === 'transient' || kind === 'rate_limited') throw err;
        ctx.log.warn('PostHog signup events unavailable: nothing imported', { error: (err as Error).message });
        return result;
      }
      for (const captured of page) {
        const payload = {
          event: {
            uuid: captured.uuid,
            event: captured.event,
            distinct_id: captured.distinctId,
            properties: captured.properties,
            timestamp: captured.timestamp,
          },
          person: { properties: captured.personProperties },
        };
        const parsed = posthogWebhookSchema.safeParse(payload);
        let signup;
        try {
          signup = parsed.success ? fromPosthog(parsed.data, new Date(serverNow())) : undefined;
        } catch (err) {
          if (!(err instanceof InvalidSignupError)) throw err;
        }
        if (!signup) {
          // The intake would have answered it 400: counted, never recorded.
          result.unusable++;
          continue;
        }
        if (input.dryRun) {
          if (!(await deps.ledger.signups.isRecorded(signup.eventUuid, dedupeKeyFor(signup)))) result.notReceived++;
          continue;
        }
        const recorded = await recordNormalizedSignup(
          { ledger: deps.ledger, piiHashKey: deps.health.piiHashKey },
          signup,
          payload,
        );
        if (recorded.status !== 'duplicate') {
          result.notReceived++;
          result.imported++;
        }
      }
      ctx.heartbeat(offset);
      if (page.length < POSTHOG_IMPORT_PAGE) break;
    }
    if (result.notReceived > 0 || result.unusable > 0) {
      ctx.log.info('signups PostHog recorded but never delivered', { window: `${input.from}..${input.to}`, ...result });
    }
    return result;
  },

  /** Live mode: PostHog organizations created in the window that never got enrichment properties (never reached us). */
  async posthogOrganizationsWithoutEnrichment(input: { from: string; to: string }): Promise<string[]> {
    if (!deps.posthog || !deps.health.posthogSignupEvents) return [];
    try {
      const rows = await deps.posthog.organizationsWithoutEnrichment(
        `${input.from}T00:00:00Z`,
        `${addDays(input.to, 1)}T00:00:00Z`,
        1000,
      );
      return rows.map((r) => r.key);
    } catch (err) {
      Context.current().log.warn('PostHog organizations unavailable', { error: (err as Error).message });
      return [];
    }
  },
});

/** What `importPosthogSignups` found: signups PostHog recorded that the ledger had not, how many it recorded now. */
export interface PosthogImport {
  notReceived: number;
  imported: number;
  /** Events the intake would have refused (outside its limits, not its shape): not recorded. */
  unusable: number;
}

export type HealthActivities = ReturnType<typeof createHealthActivities>;
