import { ActivityFailure, ApplicationFailure, proxyActivities, sleep } from '@temporalio/workflow';
import type { WriteActivities, WriteInput, WriteResult, WriteRetryPolicy } from '../activities/writes';
import { ErrorType } from '../domain/errors';
import {
  customerioWrite,
  fanOutPlanning,
  humanicDelivery,
  posthogWrite,
  salesforceWrite,
  slackNotify,
  vitallyWrite,
  webhookDelivery,
  mixpanelWrite,
  closeWrite,
} from './activity-options';
import type { Destination, WriteProgress } from '../domain/fan-out';

const { planFanOut } = proxyActivities<WriteActivities>(fanOutPlanning);
const { writeToPosthog } = proxyActivities<WriteActivities>(posthogWrite);
const { writeToSalesforce } = proxyActivities<WriteActivities>(salesforceWrite);
const { writeToVitally } = proxyActivities<WriteActivities>(vitallyWrite);
const { notifySlack } = proxyActivities<WriteActivities>(slackNotify);
const { deliverWebhooks } = proxyActivities<WriteActivities>(webhookDelivery);
const { writeToCustomerio } = proxyActivities<WriteActivities>(customerioWrite);
const { writeToMixpanel } = proxyActivities<WriteActivities>(mixpanelWrite);
const { writeToClose } = proxyActivities<WriteActivities>(closeWrite);
const { deliverToHumanic } = proxyActivities<WriteActivities>(humanicDelivery);

const WRITERS: Record<Destination, (input: WriteInput) => Promise<WriteResult>> = {
  posthog: writeToPosthog,
  salesforce: writeToSalesforce,
  vitally: writeToVitally,
  slack: notifySlack,
  webhooks: deliverWebhooks,
  customerio: writeToCustomerio,
  mixpanel: writeToMixpanel,
  close: writeToClose,
  humanic: deliverToHumanic,
};

const FINAL_FAILURES: string[] = [
  ErrorType.SignupNotFound,
  ErrorType.DestinationAuthFailed,
  ErrorType.DestinationRejected,
];

/**
 * Writes one recorded signup to every destination of its plan, in parallel; one destination failing never holds up
 * another. `writes` is updated in place (getStatus reads it) and `onChange` publishes it.
 */
export async function fanOut(
  signupId: string,
  writes: Partial<Record<Destination, WriteProgress>>,
  onChange: () => void,
): Promise<void> {
  const plan = await planFanOut({ signupId });
  for (const s of plan.skipped) writes[s.destination] = { state: 'skipped', attempts: 0, reason: s.reason };
  for (const w of plan.writes) writes[w.destination] = { state: 'pending', attempts: 0 };
  onChange();
  await Promise.all(
    plan.writes.map((w) =>
      runWrite(
        { signupId, idempotencyKey: w.idempotencyKey },
        WRITERS[w.destination],
        plan.retry,
        writes[w.destination]!,
        onChange,
      ),
    ),
  );
}

async function runWrite(
  input: WriteInput,
  writer: (input: WriteInput) => Promise<WriteResult>,
  retry: WriteRetryPolicy,
  progress: WriteProgress,
  onChange: () => void,
): Promise<void> {
  const giveUpAt = Date.now() + retry.giveUpMs;
  let backoff = retry.initialMs;
  for (;;) {
    progress.attempts++;
    try {
      const result = await writer(input);
      Object.assign(progress, { state: result.state, detail: result.detail, reason: undefined });
      onChange();
      return;
    } catch (err) {
      const cause = err instanceof ActivityFailure ? err.cause : err;
      const app = cause instanceof ApplicationFailure ? cause : undefined;
      const reason = cause instanceof Error ? cause.message : String(cause);
      const final = app !== undefined && (app.nonRetryable || FINAL_FAILURES.includes(app.type ?? ''));
      const quotaWait =
        app?.type === ErrorType.DestinationQuotaExceeded
          ? ((app.details?.[0] as { waitMs?: number } | undefined)?.waitMs ?? retry.maxMs)
          : undefined;
      const wait = quotaWait ?? backoff;
      if (final || Date.now() + wait > giveUpAt) {
        const why = final ? reason : `gave up after ${progress.attempts} rounds: ${reason}`;
        Object.assign(progress, { state: 'failed', reason: why });
        onChange();
        return;
      }
      Object.assign(progress, { state: 'retrying', reason });
      onChange();
      await sleep(wait);
      if (quotaWait === undefined) backoff = Math.min(backoff * 2, retry.maxMs);
    }
  }
}
