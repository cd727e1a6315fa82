import type { EnrichedSignup, WriteOutcome } from '../../domain/fan-out';
import { destinationCall, retryAfterMs, type Fetch } from '../http';

export interface SlackClientOptions {
  timeoutMs?: number;
  fetch?: Fetch;
}

/** Slack incoming-webhook errors that mean the URL itself is dead or wrong: an operator must replace it. */
const DEAD_WEBHOOK = new Set(['invalid_token', 'no_service', 'channel_not_found', 'channel_is_archived', 'no_team']);

/** Posts to an incoming webhook. 200 `ok`; 429 honours `Retry-After`; a dead URL is an auth failure. */
export function createSlackClient(o: SlackClientOptions = {}) {
  return {
    async post(webhookUrl: string, message: { text: string; blocks?: unknown[] }): Promise<WriteOutcome> {
      const a = await destinationCall(webhookUrl, {
        method: 'POST',
        body: message,
        timeoutMs: o.timeoutMs,
        fetch: o.fetch,
      });
      if ('kind' in a) return a;
      const body = typeof a.body === 'string' ? a.body.trim().slice(0, 100) : '';
      if (a.status === 200) return { kind: 'written', detail: 'message posted' };
      if (a.status === 429) {
        return {
          kind: 'rate_limited',
          retryAfterMs: retryAfterMs(a.headers, 30_000),
          detail: 'Slack rate limit (429)',
        };
      }
      if (DEAD_WEBHOOK.has(body) || a.status === 403 || a.status === 404 || a.status === 410) {
        return {
          kind: 'auth_failed',
          detail: `Slack webhook refused (HTTP ${a.status} ${body}); check SLACK_WEBHOOK_URL`,
        };
      }
      if (a.status >= 400 && a.status < 500)
        return { kind: 'rejected', detail: `Slack refused the message (HTTP ${a.status} ${body})` };
      return { kind: 'transient', detail: `Slack unavailable (HTTP ${a.status})` };
    },
  };
}

const money = (usd: number) =>
  usd >= 1e9 ? `$${(usd / 1e9).toFixed(1)}B` : usd >= 1e6 ? `$${Math.round(usd / 1e6)}M` : `$${Math.round(usd / 1e3)}K`;

/** Slack mrkdwn escaping of text we did not write. */
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * The high-value signup message: who signed up, the company, the score and why it scored (the rules that gave the
 * most points), with a plain-text fallback for notifications.
 */
export function signupMessage(s: EnrichedSignup, highValue: boolean): { text: string; blocks: unknown[] } {
  const f = s.fields;
  const company = f.companyName ?? s.organizationName ?? s.domain ?? 'unknown company';
  const who = [s.name, f.personTitle].filter(Boolean).join(', ') || 'Someone';
  const score = s.score?.score === undefined ? 'not scored' : `ICP ${s.score.score}/100, tier ${s.score.tier ?? '?'}`;
  const text = `${highValue ? ':rotating_light: High-value signup' : 'New signup'}: ${who} at ${company} (${score})`;
  const facts = [
    f.employees !== undefined ? `${f.employees.toLocaleString('en-US')} employees` : undefined,
    f.industry,
    f.country,
    f.fundingStage ? f.fundingStage.replace(/_/g, ' ') : undefined,
    f.totalFundingUsd !== undefined ? `raised ${money(f.totalFundingUsd)}` : undefined,
  ].filter(Boolean);
  const why = Object.entries(s.score?.points ?? {})
    .filter(([, p]) => p > 0)
    .sort(([, a], [, b]) => b - a)
    .slice(0, 4)
    .map(([rule, p]) => `${rule} +${p}`);
  const blocks: unknown[] = [
    { type: 'header', text: { type: 'plain_text', text: highValue ? 'High-value signup' : 'New signup' } },
    {
      type: 'section',
      fields: [
        { type: 'mrkdwn', text: `*Person*\n${esc(who)}${s.email ? `\n${esc(s.email)}` : ''}` },
        { type: 'mrkdwn', text: `*Company*\n${esc(company)}${s.domain ? ` (${esc(s.domain)})` : ''}` },
        { type: 'mrkdwn', text: `*Score*\n${score}` },
        { type: 'mrkdwn', text: `*Facts*\n${facts.length > 0 ? esc(facts.join(' · ')) : '—'}` },
      ],
    },
  ];
  if (why.length > 0) blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `Why: ${why.join(', ')}` }] });
  return { text: esc(text), blocks };
}

export type SlackClient = ReturnType<typeof createSlackClient>;
